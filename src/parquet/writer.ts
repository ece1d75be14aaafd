/**
 * Writes rows of an Iceberg schema to one Parquet file, and gathers the column metrics the manifest needs (Iceberg spec "Manifests" fields 108-130; how Java derives
 * them is in shared/iceberg/WRITER-FACTS.md §6): column sizes from the footer's column chunks,
 * value/null/NaN counts and lower/upper bounds computed here from the values themselves, with
 * Java's default truncate(16) for string/binary bounds, or full bounds for the field ids in
 * `fullBounds` (Java's MetricsModes.Full, as MetricsConfig.forPositionDelete sets for `file_path`).
 *
 * Two encoders: the one-pass column encoder (./column-chunk.ts: checks, statistics and pages in
 * one walk over each column, about 4x faster; bench/flush/RESULTS.md) for files whose columns are
 * all of the kinds it handles, and hyparquet-writer's for the rest (binary, uuid, fixed, decimal).
 * test/unit/parquet/column-chunk.test.ts holds the first to the second's values and metrics.
 *
 * Compression: SNAPPY (default, hyparquet-writer's own), GZIP (fflate, synchronous, pure JS),
 * or none. ZSTD is not supported: hyparquet-writer needs a synchronous compressor and there is
 * no pure-JS zstd encoder fit for workerd. Row groups are bounded by `rowGroupRows`; the file
 * is assembled in memory (one flush's file), or streamed a row group at a time (ParquetStreamWriter).
 */
import { gzipSync } from "fflate";
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import { writeMetadata } from "hyparquet-writer/src/metadata.js";
import type { ColumnChunk, RowGroup, SchemaElement } from "hyparquet";
import type { NestedField } from "../iceberg/metadata/types.js";
import { emptyMetrics, type FileMetrics } from "../iceberg/data-file.js";
import { comparePrimitive, parsePrimitive, type Primitive, type PrimitiveValue } from "../iceberg/primitive.js";
import { encodeColumnPages, supportsFastColumn, type ColumnStats, type Row } from "./column-chunk.js";
import { toSingleValue, truncateBound } from "../iceberg/single-value.js";
import { parquetSchema } from "./schema.js";
import { snappyCompress } from "./snappy.js";
import { ColumnBlock } from "./column-block.js";
import type { Pacer } from "../util/pace.js";

/** Parquet compression codecs this writer offers. */
export type ParquetCompression = "snappy" | "gzip" | "none";

/** Options for writeParquet. */
export interface ParquetWriteOptions {
  /** Default "snappy". */
  compression?: ParquetCompression;
  /** Rows per row group (default 100_000). */
  rowGroupRows?: number;
  /** Extra key/value metadata for the footer. */
  kvMetadata?: Record<string, string>;
  /** Field ids whose lower/upper bounds are written whole, not truncated to 16 (metrics mode "full"). */
  fullBounds?: readonly number[];
}

export type { Row };

/** A written Parquet file and the facts a manifest entry needs about it. */
export interface ParquetFile extends FileMetrics {
  bytes: Uint8Array;
  recordCount: bigint;
  /** Row-group start offsets, ascending (manifest field 132). */
  splitOffsets: bigint[];
}

const CODECS = { snappy: "SNAPPY", gzip: "GZIP", none: "UNCOMPRESSED" } as const;

/** Writes the rows (objects, or a ColumnBlock) as one Parquet file with Iceberg field ids, and returns its metrics. */
export function writeParquet(fields: NestedField[], rows: readonly Row[] | ColumnBlock, options: ParquetWriteOptions = {}): ParquetFile {
  const args = prepare(fields, options);
  if (args.stats.every((s) => supportsFastColumn(s.p))) return drain(writeColumns(args, rows));
  return writeWithHyparquet(args, rows instanceof ColumnBlock ? Array.from({ length: rows.length }, (_, i) => rows.row(i)) : rows);
}

/**
 * The same file as writeParquet, written page by page with `pace.spend(bytes)` after each data
 * page, so a Durable Object can answer acks between them (src/util/pace.ts).
 */
export async function writeParquetPaced(fields: NestedField[], rows: readonly Row[] | ColumnBlock, options: ParquetWriteOptions, pace: Pacer): Promise<ParquetFile> {
  const args = prepare(fields, options);
  if (!args.stats.every((s) => supportsFastColumn(s.p))) return writeParquet(fields, rows, options);
  const steps = writeColumns(args, rows);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await pace.spend(step.value);
  }
}

function drain<T>(steps: Generator<number, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The same file written entirely by hyparquet-writer's encoder (the path for binary, uuid, fixed
 * and decimal columns); exported so tests can hold the one-pass path to it.
 */
export function writeParquetWithHyparquet(fields: NestedField[], rows: readonly Row[], options: ParquetWriteOptions = {}): ParquetFile {
  return writeWithHyparquet(prepare(fields, options), rows);
}

interface WriteArgs {
  schema: SchemaElement[];
  stats: ColumnStats[];
  codec: (typeof CODECS)[ParquetCompression];
  rowGroupRows: number;
  kvMetadata: { key: string; value: string }[];
  fullBounds: ReadonlySet<number>;
}

function prepare(fields: NestedField[], options: ParquetWriteOptions): WriteArgs {
  const compression = options.compression ?? "snappy";
  const codec = CODECS[compression];
  if (!codec) throw new TypeError(`unsupported Parquet compression: ${String(compression)}`);
  const rowGroupRows = options.rowGroupRows ?? 100_000;
  if (!(rowGroupRows > 0)) throw new RangeError("rowGroupRows must be positive");
  return {
    schema: parquetSchema(fields),
    stats: fields.map((field) => ({ field, p: parsePrimitive(field.type), nulls: 0n, nans: 0n, min: undefined, max: undefined })),
    codec,
    rowGroupRows,
    kvMetadata: Object.entries(options.kvMetadata ?? {}).map(([key, value]) => ({ key, value })),
    fullBounds: new Set(options.fullBounds ?? []),
  };
}

function writeWithHyparquet({ schema, stats, codec, rowGroupRows, kvMetadata, fullBounds }: WriteArgs, rows: readonly Row[]): ParquetFile {
  const writer = new ByteWriter();
  const pq = new ParquetWriter({
    writer,
    schema,
    codec,
    compressors: { GZIP: (input: Uint8Array) => gzipSync(input) },
    statistics: true,
    kvMetadata,
    createdBy: "DoLake (hyparquet-writer)",
  });
  // One write() per row group keeps the column copies bounded to a row group.
  for (let start = 0; start < rows.length; start += rowGroupRows) {
    const chunk = rows.slice(start, start + rowGroupRows);
    // Booleans PLAIN: hyparquet-writer would RLE-encode them, which Iceberg's vectorized reader
    // (Spark's default read path) refuses ("Cannot support vectorized reads ... with encoding RLE").
    const columnData = stats.map((s) => ({ name: s.field.name, data: columnValues(s, chunk), ...(s.p.kind === "boolean" ? { encoding: "PLAIN" as const } : {}) }));
    void pq.write({ columnData, rowGroupSize: chunk.length });
  }
  void pq.finish();
  const bytes = new Uint8Array(writer.getBuffer());
  return { bytes, recordCount: BigInt(rows.length), splitOffsets: pq.row_groups.map((rg) => chunkStart(rg.columns[0]!)), ...metrics(stats, pq.row_groups.map((rg) => rg.columns), fullBounds) };
}

const COMPRESS: Record<(typeof CODECS)[ParquetCompression], (b: Uint8Array) => Uint8Array> = {
  SNAPPY: snappyCompress,
  GZIP: (b) => gzipSync(b),
  UNCOMPRESSED: (b) => b,
};
const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // "PAR1"

/**
 * The one-pass path (src/parquet/column-chunk.ts) for files whose columns it encodes: pages are
 * built per column per row group and the footer written with hyparquet-writer's metadata writer.
 * Yields the uncompressed bytes of each data page once it is encoded (a point to pause at).
 */
function* writeColumns(args: WriteArgs, rows: readonly Row[] | ColumnBlock): Generator<number, ParquetFile> {
  const w = new ParquetStreamWriter(args);
  const parts: Uint8Array[] = [];
  for (let start = 0; start < rows.length; start += args.rowGroupRows) parts.push(...(yield* w.rowGroupSteps(rows, start, Math.min(rows.length, start + args.rowGroupRows))));
  const { tail, file } = w.finish();
  parts.push(...tail);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) { bytes.set(p, pos); pos += p.length; }
  return { bytes, ...file };
}

/** A ParquetStreamWriter's state between row groups (persisted by a compaction job between slices). */
export interface StreamWriterState {
  offset: number;
  rows: number;
  /** The footer's row-group entries (hyparquet's RowGroup objects). */
  rowGroups: unknown[];
  stats: Array<Pick<ColumnStats, "nulls" | "nans" | "min" | "max">>;
}

/**
 * One Parquet file written a row group at a time with the one-pass encoder: each row group's bytes
 * come out as it is encoded (to stream them to storage), the footer last. Memory: one row group.
 */
export class ParquetStreamWriter {
  private readonly args: WriteArgs;
  private offset = 0;
  private rows = 0;
  private readonly rowGroups: RowGroup[] = [];

  /** Goes on with a file from `save()`'s state: the row groups written so far and the column statistics. */
  static restore(fields: NestedField[], options: ParquetWriteOptions, state: StreamWriterState): ParquetStreamWriter {
    const w = new ParquetStreamWriter(fields, options);
    w.offset = state.offset;
    w.rows = state.rows;
    w.rowGroups.push(...(state.rowGroups as RowGroup[]));
    state.stats.forEach((s, i) => Object.assign(w.args.stats[i]!, s));
    return w;
  }

  /** What the footer will need (row groups' metadata, column statistics so far): grows by one entry per row group. */
  save(): StreamWriterState {
    return { offset: this.offset, rows: this.rows, rowGroups: [...this.rowGroups], stats: this.args.stats.map(({ nulls, nans, min, max }) => ({ nulls, nans, min, max })) };
  }

  /** True when the one-pass encoder handles every column of these fields (else use writeParquet). */
  static supports(fields: NestedField[]): boolean {
    return fields.every((f) => supportsFastColumn(parsePrimitive(f.type)));
  }

  constructor(fields: NestedField[] | WriteArgs, options: ParquetWriteOptions = {}) {
    this.args = Array.isArray(fields) ? prepare(fields, options) : fields;
    if (!this.args.stats.every((s) => supportsFastColumn(s.p))) throw new TypeError("ParquetStreamWriter: a column needs hyparquet-writer's encoder (use writeParquet)");
  }

  /** Bytes written so far. */
  get byteLength(): number {
    return this.offset;
  }

  /** Encodes rows[start, end) as one row group and returns its bytes (the first group's start with the magic). */
  rowGroup(rows: readonly Row[] | ColumnBlock, start = 0, end = rows.length): Uint8Array[] {
    return drain(this.rowGroupSteps(rows, start, end));
  }

  /** rowGroup as steps: yields the uncompressed bytes of each data page once it is encoded (a point to pause at). */
  *rowGroupSteps(rows: readonly Row[] | ColumnBlock, start = 0, end = rows.length): Generator<number, Uint8Array[]> {
    const g = this.beginGroup();
    for (let col = 0; col < this.args.stats.length; col++) yield* this.encodeColumn(g, col, rows, start, end);
    return this.endGroup(g, end - start);
  }

  /** rowGroup, with `pause()` awaited before each column and after each data page (a page's encode and compression is one stretch without a yield). */
  async rowGroupPaced(rows: readonly Row[] | ColumnBlock, pause: () => Promise<void>): Promise<Uint8Array[]> {
    const g = this.beginGroup();
    for (let col = 0; col < this.args.stats.length; col++) {
      await pause();
      const pages = this.encodeColumn(g, col, rows, 0, rows.length);
      while (!pages.next().done) await pause();
    }
    return this.endGroup(g, rows.length);
  }

  private beginGroup(): { parts: Uint8Array[]; groupStart: number; columns: ColumnChunk[]; totalByteSize: bigint } {
    const parts = this.start();
    return { parts, groupStart: this.offset, columns: [], totalByteSize: 0n };
  }

  private *encodeColumn(g: { parts: Uint8Array[]; columns: ColumnChunk[]; totalByteSize: bigint }, col: number, rows: readonly Row[] | ColumnBlock, start: number, end: number): Generator<number, void> {
    const { schema, stats, codec } = this.args;
    const chunk = yield* encodeColumnPages(stats[col]!, rows, start, end, COMPRESS[codec]);
    const element = schema[col + 1]!;
    for (const b of chunk.bytes) g.parts.push(b);
    g.columns.push({
      file_offset: BigInt(this.offset),
      meta_data: {
        type: element.type!,
        encodings: chunk.encodings,
        path_in_schema: [element.name],
        codec,
        num_values: BigInt(chunk.numValues),
        total_uncompressed_size: BigInt(chunk.uncompressedSize),
        total_compressed_size: BigInt(chunk.byteLength),
        data_page_offset: BigInt(this.offset + chunk.dataPageOffset),
        ...(chunk.hasDictionary ? { dictionary_page_offset: BigInt(this.offset) } : {}),
        statistics: chunk.statistics,
      },
    });
    g.totalByteSize += BigInt(chunk.uncompressedSize);
    this.offset += chunk.byteLength;
  }

  private endGroup(g: { parts: Uint8Array[]; groupStart: number; columns: ColumnChunk[]; totalByteSize: bigint }, rows: number): Uint8Array[] {
    this.rows += rows;
    this.rowGroups.push({ columns: g.columns, total_byte_size: g.totalByteSize, num_rows: BigInt(rows), total_compressed_size: BigInt(this.offset - g.groupStart) } as RowGroup);
    return g.parts;
  }

  /** The footer (and the magic, for a file of no row group): the file is complete after these bytes. */
  finish(): { tail: Uint8Array[]; file: Omit<ParquetFile, "bytes">; byteLength: number } {
    const { schema, stats, kvMetadata, fullBounds } = this.args;
    const tail = this.start();
    const footer = new ByteWriter();
    writeMetadata(footer, { version: 2, created_by: "DoLake", schema, num_rows: BigInt(this.rows), row_groups: this.rowGroups, key_value_metadata: kvMetadata } as never);
    footer.appendUint32(0x31524150);
    const bytes = footer.getBytes();
    tail.push(bytes);
    this.offset += bytes.length;
    const groups = this.rowGroups;
    return {
      tail,
      byteLength: this.offset,
      file: { recordCount: BigInt(this.rows), splitOffsets: groups.map((rg) => chunkStart(rg.columns[0]!)), ...metrics(stats, groups.map((rg) => rg.columns), fullBounds) },
    };
  }

  private start(): Uint8Array[] {
    if (this.offset > 0) return [];
    this.offset = MAGIC.length;
    return [MAGIC];
  }
}

function chunkStart(c: ColumnChunk): bigint {
  const md = c.meta_data!;
  return md.dictionary_page_offset !== undefined && md.dictionary_page_offset < md.data_page_offset ? md.dictionary_page_offset : md.data_page_offset;
}

function columnValues(s: ColumnStats, rows: readonly Row[]): (PrimitiveValue | null)[] {
  const { field, p } = s;
  const out = new Array<PrimitiveValue | null>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![field.name];
    if (v === null || v === undefined) {
      if (field.required) throw new TypeError(`column ${field.name} is required but row ${i} has no value`);
      s.nulls++;
      out[i] = null;
      continue;
    }
    checkType(field.name, p, v);
    out[i] = v;
    if ((p.kind === "float" || p.kind === "double") && Number.isNaN(v)) {
      s.nans++;
      continue;
    }
    if (s.min === undefined || comparePrimitive(p, v, s.min) < 0) s.min = v;
    if (s.max === undefined || comparePrimitive(p, v, s.max) > 0) s.max = v;
  }
  return out;
}

function checkType(name: string, p: Primitive, v: PrimitiveValue): void {
  const want: Record<string, string> = {
    boolean: "boolean", int: "number", date: "number", float: "number", double: "number",
    long: "bigint", time: "bigint", timestamp: "bigint", timestamptz: "bigint", decimal: "bigint",
    string: "string", uuid: "string",
  };
  const expected = want[p.kind];
  const ok = expected ? typeof v === expected : v instanceof Uint8Array;
  if (!ok) throw new TypeError(`column ${name} (${p.kind}) cannot hold ${typeof v} ${String(v).slice(0, 40)}`);
  if (p.kind === "int" || p.kind === "date") {
    if (!Number.isInteger(v) || (v as number) < -0x80000000 || (v as number) > 0x7fffffff) throw new TypeError(`column ${name} (${p.kind}) cannot hold ${String(v)}`);
  }
}

function metrics(stats: ColumnStats[], groups: ColumnChunk[][], fullBounds: ReadonlySet<number>): FileMetrics {
  const m = emptyMetrics();
  stats.forEach((s, col) => {
    const id = s.field.id;
    let size = 0n;
    let values = 0n;
    for (const g of groups) {
      size += g[col]!.meta_data!.total_compressed_size;
      values += g[col]!.meta_data!.num_values;
    }
    m.columnSizes.set(id, size);
    m.valueCounts.set(id, values);
    m.nullValueCounts.set(id, s.nulls);
    if (s.p.kind === "float" || s.p.kind === "double") m.nanValueCounts.set(id, s.nans);
    if (s.min !== undefined && s.max !== undefined) {
      const full = fullBounds.has(id);
      const lower = full ? s.min : truncateBound(s.p, s.min, false);
      const upper = full ? s.max : truncateBound(s.p, s.max, true);
      if (lower !== null) m.lowerBounds.set(id, toSingleValue(s.p, lower));
      if (upper !== null) m.upperBounds.set(id, toSingleValue(s.p, upper));
    }
  });
  return m;
}
