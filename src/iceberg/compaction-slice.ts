/**
 * One slice of a compaction job (issue 9, "long jobs as resumable steps"): from a cursor (input
 * file, row), the input row groups are read and their surviving rows added to the job's output
 * until about `budgetBytes` of input were read (at least one row group), then the slice ends at a
 * row-group boundary. The caller persists the cursor, the output's state and the position map of
 * the rows read (src/flush/compaction-job.ts), so the next slice (in this instance of the object
 * or another, after an eviction) goes on from there. Memory: as a step (compaction.ts), plus the
 * position map of the input file being read (4 bytes a row). A whole step (compaction.ts
 * compactPartition) is one slice without a budget.
 */
import { parquetMetadataAsync, parquetRead, type AsyncBuffer, type FileMetaData } from "hyparquet";
import { PARQUET_DECOMPRESSORS } from "../parquet/decompressors.js";
import type { Row } from "../parquet/writer.js";
import { yieldToEvents } from "../util/pace.js";
import type { CompactionOutput } from "./compaction-output.js";
import type { NestedField } from "./metadata/types.js";
import type { ObjectStore } from "./object-store.js";

/** What one step did. */
export interface CompactionStats {
  rewrittenFiles: number;
  rewrittenBytes: number;
  addedFiles: number;
  addedBytes: number;
  retiredDeleteFiles: number;
  rowsKept: number;
  rowsDropped: number;
}

// Raw values as the writer takes them (primitive.ts): micros and days as numbers, not Dates.
const PARSERS = {
  timestampFromMicroseconds: (us: bigint) => us,
  timestampFromMilliseconds: (ms: bigint) => BigInt(ms) * 1000n,
  timestampFromNanoseconds: (ns: bigint) => BigInt(ns) / 1000n,
  dateFromDays: (days: number) => days,
};

/** Values (rows x columns) of a row group decoded in one call; larger row groups are decoded a column at a time. */
const DECODE_VALUES_AT_ONCE = 10_000;

/**
 * The rows [rowStart, rowEnd) of one row group, columns renamed to the current schema's. A yield
 * comes first, and before each column of a large row group: decoding is a stretch acks wait through.
 */
export async function decodeRowGroup(file: AsyncBuffer, meta: FileMetaData, rowStart: number, rowEnd: number, columns: Array<{ name: string; from: string }>, pause: () => Promise<void> = yieldToEvents): Promise<Row[]> {
  const n = rowEnd - rowStart;
  // Column arrays (hyparquet's chunks), not an object per row per read: less for the collector.
  const read = async (cols: string[]): Promise<Map<string, unknown[]>> => {
    const out = new Map(cols.map((c) => [c, new Array<unknown>(n).fill(null)]));
    await parquetRead({
      file, metadata: meta, rowStart, rowEnd, columns: cols, parsers: PARSERS, utf8: false, compressors: PARQUET_DECOMPRESSORS,
      onChunk: (c) => {
        const values = out.get(c.columnName);
        if (!values) return;
        for (let r = Math.max(c.rowStart, rowStart), end = Math.min(c.rowEnd, rowEnd); r < end; r++) values[r - rowStart] = c.columnData[r - c.rowStart] ?? null;
      },
    });
    return out;
  };
  await pause();
  const rows: Row[] = Array.from({ length: n }, () => ({}));
  if (columns.length === 0) return rows;
  const fill = (c: { name: string; from: string }, values: unknown[]) => {
    for (let i = 0; i < n; i++) rows[i]![c.name] = values[i] as Row[string];
  };
  if (n * columns.length <= DECODE_VALUES_AT_ONCE) {
    const got = await read([...new Set(columns.map((c) => c.from))]);
    for (const c of columns) fill(c, got.get(c.from)!);
    return rows;
  }
  for (const c of columns) {
    await pause();
    fill(c, (await read([c.from])).get(c.from)!);
  }
  return rows;
}

/** Input files up to this size are read whole; larger ones by ranges (the footer, then one row group's columns at a time). */
export const WHOLE_READ_BYTES = 8 * 1024 * 1024;

/** An input data file as hyparquet reads it: its bytes, or ranged reads of it when it is large. */
export async function openInput(input: { store: ObjectStore; keyFor: (location: string) => string; wholeReadBytes?: number }, f: { file: { filePath: string; fileSizeInBytes: bigint } }): Promise<AsyncBuffer> {
  const key = input.keyFor(f.file.filePath);
  const size = Number(f.file.fileSizeInBytes);
  const getRange = input.store.getRange?.bind(input.store);
  if (getRange && size > (input.wholeReadBytes ?? WHOLE_READ_BYTES)) {
    return { byteLength: size, slice: async (start: number, end?: number) => toArrayBuffer(await getRange(key, start, (end ?? size) - start)) };
  }
  const bytes = await input.store.get(key);
  if (!bytes) throw new Error(`data file of the current snapshot is missing: ${f.file.filePath}`);
  return toArrayBuffer(bytes);
}

/** The bytes as an ArrayBuffer of their own (what hyparquet reads). */
export function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** The next input row a job reads: file index, and row position in it (a row-group boundary). */
export interface SliceCursor {
  file: number;
  row: number;
}

/** An input file of a job. */
export interface JobInput {
  path: string;
  size: bigint;
}

/** The rows [from, to) of an input file a slice read, and where each went (output ordinal, -1 = deleted). */
export interface SliceTargets {
  path: string;
  targets: Int32Array;
  from: number;
  to: number;
}

/** What one slice needs. */
export interface SliceArgs {
  store: ObjectStore;
  keyFor: (location: string) => string;
  /** The current schema's columns (the output's). */
  fields: NestedField[];
  inputs: JobInput[];
  /** Deleted positions of the input files at the job's start. */
  deleted: Map<string, Set<number>>;
  output: CompactionOutput;
  cursor: SliceCursor;
  /** Bytes of input (compressed column chunks) after which the slice ends (Infinity: all of it). */
  budgetBytes: number;
  /** Input files up to this size are read whole, larger ones by ranges (default WHOLE_READ_BYTES, at most the budget). */
  wholeReadBytes?: number;
  /** The position map of an input file so far (a file resumed mid-way has its earlier rows mapped). */
  targetsFor: (path: string, rows: number) => Int32Array | Promise<Int32Array>;
  /** Counters, added to. */
  stats: CompactionStats;
  /** The yield between stretches of work (default yieldToEvents; the object's maintenance throttle, src/util/pace.ts). */
  pause?: () => Promise<void>;
}

/** What a slice did: the new cursor, whether the input is exhausted, and the map of the rows read. */
export interface SliceResult {
  cursor: SliceCursor;
  done: boolean;
  touched: SliceTargets[];
  bytesRead: number;
}

/** Reads input row groups from the cursor into the output until the budget is spent; see the module comment. */
export async function rewriteSlice(a: SliceArgs): Promise<SliceResult> {
  let { file: fi, row } = a.cursor;
  const touched: SliceTargets[] = [];
  let spent = 0;
  while (fi < a.inputs.length && (spent === 0 || spent < a.budgetBytes)) {
    const input = a.inputs[fi]!;
    const live = { file: { filePath: input.path, fileSizeInBytes: input.size } };
    // A file larger than a slice is read by ranges, so a slice reads only its row groups.
    const file = await openInput({ store: a.store, keyFor: a.keyFor, wholeReadBytes: Math.min(a.wholeReadBytes ?? WHOLE_READ_BYTES, a.budgetBytes) }, live);
    const meta = await parquetMetadataAsync(file);
    const byId = new Map(meta.schema.slice(1).filter((e) => e.field_id !== undefined).map((e) => [e.field_id!, e.name]));
    const columns = a.fields.filter((c) => byId.has(c.id)).map((c) => ({ name: c.name, from: byId.get(c.id)! }));
    const numRows = Number(meta.num_rows);
    const targets = await a.targetsFor(input.path, numRows);
    const gone = a.deleted.get(input.path);
    const from = row;
    if (row === 0) {
      a.stats.rewrittenFiles++;
      a.stats.rewrittenBytes += Number(input.size);
    }
    let rowStart = 0;
    for (const rg of meta.row_groups) {
      const rowEnd = rowStart + Number(rg.num_rows);
      if (rowEnd <= row) {
        rowStart = rowEnd;
        continue;
      }
      if (rowStart !== row) throw new Error(`compaction cursor ${row} of ${input.path} is not at a row group's start`);
      if (spent > 0 && spent >= a.budgetBytes) break;
      const rows = await decodeRowGroup(file, meta, rowStart, rowEnd, columns, a.pause);
      for (let i = 0; i < rows.length; i++) {
        const pos = rowStart + i;
        if (gone?.has(pos)) {
          a.stats.rowsDropped++;
          continue;
        }
        targets[pos] = a.output.add(rows[i]!);
        a.stats.rowsKept++;
        if (a.output.full) await a.output.drain();
      }
      spent += rg.columns.reduce((n, c) => n + Number(c.meta_data?.total_compressed_size ?? 0n), 0) || Math.ceil((Number(input.size) * (rowEnd - rowStart)) / Math.max(1, numRows));
      row = rowStart = rowEnd;
    }
    touched.push({ path: input.path, targets, from, to: row });
    if (row >= numRows) {
      fi++;
      row = 0;
    }
  }
  return { cursor: { file: fi, row }, done: fi >= a.inputs.length, touched, bytesRead: spent };
}
