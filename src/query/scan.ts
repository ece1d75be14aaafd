/**
 * The scan planner and reader (runs in the Worker): a table's snapshot (current or as of an
 * instant / snapshot id) -> manifest list -> manifests -> data files with their position deletes,
 * read with hyparquet (only the needed columns), PLUS the durable buffer's acked-but-unflushed
 * changes: positions the primary-key index holds for a changed row are dropped and the buffer's
 * last image per row id is appended. The object hands over the table pointer, buffer and index
 * positions in one synchronous turn (query-state.ts), so the union is always consistent.
 */
import { parquetReadObjects, type RowGroup } from "hyparquet";
import { PARQUET_DECOMPRESSORS } from "../parquet/decompressors.js";
import { openR2Parquet, type OpenedParquet } from "../parquet/r2-async-buffer.js";
import { HttpError } from "../http/errors.js";
import { r2KeyOf, type Warehouse } from "../catalog/names.js";
import { FileContent, EntryStatus, type DataFile } from "../iceberg/data-file.js";
import { readPositionDeletes } from "../iceberg/position-deletes.js";
import { readManifest } from "../iceberg/manifest.js";
import { readManifestList } from "../iceberg/manifest-list.js";
import { parseTableMetadata } from "../iceberg/metadata/json.js";
import type { NestedField, PartitionSpec, Schema, Snapshot, TableMetadata } from "../iceberg/metadata/types.js";
import { evolveSchema, jsonRowToIceberg } from "../iceberg/schema-infer.js";
import type { JsonObject } from "../util/json.js";
import type { BufferedChangeRow, TableState } from "./buffered-state.js";
import { pruneReason, pruneRowGroup, type RangeTerm } from "./prune.js";
import { DateValue, Timestamp, toQueryValue, type Value } from "./values.js";

export { toQueryValue } from "./values.js";

/** When to read a table: now (with the buffer), at an instant (epoch ms), or at a snapshot id. */
export type AsOf = { kind: "now" } | { kind: "instant"; ms: number } | { kind: "snapshot"; id: bigint };

/** What a query read, for `stats` and `/v1/query/plan`. */
export interface ScanStats {
  filesScanned: number;
  filesPruned: number;
  rowGroupsScanned: number;
  bufferedEventsIncluded: number;
  bytesRead: number;
  /** Per table: the files and buffered events read (plan). */
  files: Array<{ table: string; path: string; records: number; deletes: number; pruned?: string }>;
}

/** Values (rows x columns) one query may hold: ~63 bytes each measured (bench/query), so ~60 MiB of a 128 MB isolate. Above it: 413. */
export const MAX_CELLS = 1_000_000;

/** Reading context: the bucket, the warehouse (to map locations to keys), stats, the budget. */
export interface ScanContext {
  bucket: R2Bucket;
  warehouse: Warehouse;
  asOf: AsOf;
  stats: ScanStats;
  cells: { used: number };
  /** Only plan: list files, read no data. */
  planOnly: boolean;
}

/** A table read into rows: column names and values. */
export interface ScannedTable {
  columns: string[];
  rows: Value[][];
  snapshotId: bigint | null;
}

async function getBytes(ctx: ScanContext, location: string): Promise<Uint8Array> {
  const key = r2KeyOf(ctx.warehouse, location);
  if (key === undefined) throw new HttpError(500, "InternalServerError", `location outside the warehouse: ${location}`);
  const obj = await ctx.bucket.get(key);
  if (!obj) throw new HttpError(503, "ServiceUnavailableException", `file missing from storage: ${location}`);
  const bytes = new Uint8Array(await obj.arrayBuffer());
  ctx.stats.bytesRead += bytes.byteLength;
  return bytes;
}

/** The table metadata of a state (cached text, else read from R2). */
export async function metadataOf(ctx: ScanContext, state: TableState): Promise<TableMetadata | undefined> {
  if (!state.metadataLocation) return undefined;
  const text = state.metadataJson ?? new TextDecoder().decode(await getBytes(ctx, state.metadataLocation));
  return parseTableMetadata(text);
}

/** The snapshot a query reads, per `asOf`; undefined for an empty table (or before its first snapshot). */
export function chooseSnapshot(m: TableMetadata, asOf: AsOf, table: string): Snapshot | undefined {
  if (asOf.kind === "snapshot") {
    const s = m.snapshots.find((x) => x["snapshot-id"] === asOf.id);
    if (!s) throw new HttpError(404, "NoSuchSnapshotException", `Table ${table} has no snapshot ${asOf.id}`);
    return s;
  }
  if (asOf.kind === "instant") {
    let best: Snapshot | undefined;
    for (const e of m["snapshot-log"]) {
      if (Number(e["timestamp-ms"]) <= asOf.ms) best = m.snapshots.find((x) => x["snapshot-id"] === e["snapshot-id"]) ?? best;
    }
    return best;
  }
  return m.snapshots.find((x) => x["snapshot-id"] === m["current-snapshot-id"]);
}

const PARSERS = {
  timestampFromMicroseconds: (us: bigint) => new Timestamp(us, true),
  timestampFromMilliseconds: (ms: bigint) => new Timestamp(BigInt(ms) * 1000n, true),
  timestampFromNanoseconds: (ns: bigint) => new Timestamp(BigInt(ns) / 1000n, true),
  dateFromDays: (days: number) => new DateValue(days),
};

/** Lists live data files of a snapshot with the positions their delete files remove. */
async function planFiles(ctx: ScanContext, m: TableMetadata, snapshot: Snapshot): Promise<Array<{ file: DataFile; spec: PartitionSpec; deleted: Set<bigint> }>> {
  const list = readManifestList(await getBytes(ctx, snapshot["manifest-list"]));
  const data: Array<{ file: DataFile; seq: bigint; spec: PartitionSpec }> = [];
  const deletes: Array<{ file: DataFile; seq: bigint }> = [];
  const schema = m.schemas.find((s) => s["schema-id"] === m["current-schema-id"])!;
  const manifests = await mapAhead(list, OPEN_AHEAD, (mf) => getBytes(ctx, mf.manifestPath));
  for (const [k, mf] of list.entries()) {
    const spec = m["partition-specs"].find((s) => s["spec-id"] === mf.partitionSpecId)!;
    for (const e of readManifest(manifests[k]!, spec, schema)) {
      if (e.status === EntryStatus.DELETED) continue;
      const seq = e.sequenceNumber ?? mf.sequenceNumber;
      if (e.dataFile.content === FileContent.DATA) data.push({ file: e.dataFile, seq, spec });
      else if (e.dataFile.content === FileContent.POSITION_DELETES) deletes.push({ file: e.dataFile, seq });
      else throw new HttpError(400, "BadRequestException", `Equality delete files are not supported by the query engine (${e.dataFile.filePath})`);
    }
  }
  const deleted = new Map<string, Array<{ pos: bigint; seq: bigint }>>();
  const deleteRows = ctx.planOnly ? [] : await mapAhead(deletes, OPEN_AHEAD, async (d) => readPositionDeletes(await getBytes(ctx, d.file.filePath)));
  for (const [k, rows] of deleteRows.entries()) {
    const d = deletes[k]!;
    for (const r of rows) {
      let l = deleted.get(r.filePath);
      if (!l) deleted.set(r.filePath, (l = []));
      l.push({ pos: r.pos, seq: d.seq });
    }
  }
  // A position delete applies to data files whose data sequence number is not above its own (spec: "Scan Planning").
  return data.map(({ file, seq, spec }) => ({ file, spec, deleted: new Set((deleted.get(file.filePath) ?? []).filter((d) => d.seq >= seq).map((d) => d.pos)) }));
}

/** Counts `rows` x `columns` values against the query's budget; 413 beyond it. */
export function charge(ctx: ScanContext, rows: number, columns: number, table: string): void {
  ctx.cells.used += rows * Math.max(columns, 1);
  if (ctx.cells.used > MAX_CELLS) {
    throw new HttpError(413, "QueryTooLargeException", `Query reads more than ${MAX_CELLS} values (table ${table}); narrow it with a WHERE on partition or sorted columns, fewer columns, or asOf`);
  }
}

/** Min and max of a file's column in a row group, as query values (undefined when not recorded). */
function rowGroupStats(group: RowGroup, column: string | undefined, type: string): [Value | undefined, Value | undefined] {
  const stats = column === undefined ? undefined : group.columns.find((c) => c.meta_data?.path_in_schema.join(".") === column)?.meta_data?.statistics;
  const min = stats?.min_value ?? stats?.min;
  const max = stats?.max_value ?? stats?.max;
  return [min === undefined || min === null ? undefined : toQueryValue(min, type), max === undefined || max === null ? undefined : toQueryValue(max, type)];
}

/** Data files opened ahead of the one being read: R2 round trips overlap, memory holds at most this many small files (2 MiB) or footers. */
const OPEN_AHEAD = 8;

/** A data file's footer, and for a small file its bytes (src/parquet/r2-async-buffer.ts). */
function openDataFile(ctx: ScanContext, file: DataFile): Promise<OpenedParquet> {
  const key = r2KeyOf(ctx.warehouse, file.filePath);
  if (key === undefined) throw new HttpError(500, "InternalServerError", `location outside the warehouse: ${file.filePath}`);
  return openR2Parquet(ctx.bucket, key, Number(file.fileSizeInBytes), {
    parsers: PARSERS,
    onRead: (n) => (ctx.stats.bytesRead += n),
    missing: () => new HttpError(503, "ServiceUnavailableException", `file missing from storage: ${file.filePath}`),
  });
}

/** `fn` over every item with at most `limit` running at once; results in item order. */
async function mapAhead<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `open(item)` for each item, in order, keeping up to `ahead` started before they are taken. */
async function* openAhead<T, R>(items: readonly T[], ahead: number, open: (item: T) => Promise<R>): AsyncGenerator<[T, Promise<R>]> {
  const started: Array<Promise<R>> = [];
  const start = (i: number) => {
    if (i < items.length && started[i] === undefined) {
      const p = open(items[i]!);
      p.catch(() => undefined); // awaited when taken; a failure before then is not unhandled
      started[i] = p;
    }
  };
  for (let i = 0; i < items.length; i++) {
    for (let j = i; j < i + ahead; j++) start(j);
    const p = started[i]!;
    delete started[i];
    yield [items[i]!, p];
  }
}

/**
 * Reads one data file's live rows into `rows`: ranged R2 reads of its footer and of the column
 * chunks of the row groups the WHERE terms cannot rule out (Parquet statistics); columns are found
 * by Iceberg field id (a renamed column keeps its id), by name in files without ids.
 */
async function* readDataFile(ctx: ScanContext, opened: Promise<OpenedParquet>, fields: NestedField[], wanted: boolean[], terms: RangeTerm[], deleted: (pos: bigint) => boolean, table: string, charged: boolean): AsyncGenerator<Value[][]> {
  const { buffer, meta } = await opened;
  const byId = new Map<number, string>();
  const names = new Set<string>();
  for (const s of meta.schema.slice(1)) {
    if (s.field_id !== undefined && s.field_id !== null) byId.set(Number(s.field_id), s.name);
    names.add(s.name);
  }
  const inFile = fields.map((f) => (byId.size > 0 ? byId.get(f.id) : names.has(f.name) ? f.name : undefined));
  const cols = [...new Set(inFile.filter((c, i): c is string => wanted[i]! && c !== undefined))];
  let rowStart = 0;
  for (const group of meta.row_groups) {
    const n = Number(group.num_rows);
    const start = rowStart;
    rowStart += n;
    if (pruneRowGroup(fields, terms, (f) => rowGroupStats(group, inFile[fields.indexOf(f)], f.type as string))) continue;
    ctx.stats.rowGroupsScanned++;
    if (charged) charge(ctx, n, cols.length, table);
    const objects = cols.length > 0
      ? await parquetReadObjects({ file: buffer, metadata: meta, columns: cols, rowStart: start, rowEnd: start + n, parsers: PARSERS, compressors: PARQUET_DECOMPRESSORS })
      : Array.from({ length: n }, () => ({}));
    const rows: Value[][] = [];
    objects.forEach((r, k) => {
      if (deleted(BigInt(start + k))) return;
      rows.push(fields.map((f, i) => (wanted[i] && inFile[i] !== undefined ? toQueryValue((r as Record<string, unknown>)[inFile[i]!], f.type as string) : null)));
    });
    yield rows;
  }
}

/** A table read as chunks of rows (a row group's, then the buffer's), for executors that filter or aggregate as they go. */
export interface TableChunks {
  columns: string[];
  snapshotId: bigint | null;
  chunks: AsyncGenerator<Value[][]>;
}

/** Reads one table: its snapshot's rows, then (when reading now) the buffer's changes applied by row id. Holds all rows (charged against the budget). */
export async function scanTable(ctx: ScanContext, state: TableState, needed: Set<string> | "*", terms: RangeTerm[] = []): Promise<ScannedTable> {
  const t = await scanChunks(ctx, state, needed, terms, true);
  const rows: Value[][] = [];
  for await (const chunk of t.chunks) for (const r of chunk) rows.push(r);
  return { columns: t.columns, rows, snapshotId: t.snapshotId };
}

/**
 * Reads one table chunk by chunk; with `charged` each chunk read counts against the query's value
 * budget, without it the consumer counts what it keeps.
 */
export async function scanChunks(ctx: ScanContext, state: TableState, needed: Set<string> | "*", terms: RangeTerm[], charged: boolean): Promise<TableChunks> {
  const table = state.name;
  const m = await metadataOf(ctx, state);
  const snapshot = m ? chooseSnapshot(m, ctx.asOf, table) : undefined;
  const schemaId = snapshot?.["schema-id"] ?? m?.["current-schema-id"];
  let schema: Schema | undefined = m?.schemas.find((s) => s["schema-id"] === (ctx.asOf.kind === "now" ? m["current-schema-id"] : schemaId));
  const live = ctx.asOf.kind === "now";
  const buffered = live ? state.buffered : [];
  const lastById = new Map<string, BufferedChangeRow>();
  for (const c of buffered) {
    lastById.delete(c.rowId);
    lastById.set(c.rowId, c);
  }
  const images = [...lastById.values()].filter((c) => c.operation !== "DELETE").map((c) => c.after as JsonObject);
  if (images.length > 0) {
    try {
      schema = evolveSchema(schema, m?.["last-column-id"] ?? 0, 0, images, { detectTimestamps: state.detectTimestamps }).schema;
    } catch {
      // The schema guard refuses conflicting batches before the ack, so this only happens for
      // tables changed by an outside writer: keep the table's schema; images convert per column.
    }
  }
  const fields = (schema?.fields ?? []).filter((f) => typeof f.type === "string");
  const columns = fields.map((f) => f.name);
  const wanted = fields.map((f) => needed === "*" || needed.has(f.name));
  const dropped = new Map<string, Set<bigint>>();
  if (live) {
    for (const [path, positions] of state.replaced) {
      let s = dropped.get(path);
      if (!s) dropped.set(path, (s = new Set()));
      for (const pos of positions) s.add(BigInt(pos));
    }
  }
  // Files are planned (and pruned) now, so stats and plans are complete before any row is read.
  const planned: Array<{ file: DataFile; deleted: Set<bigint>; gone: Set<bigint> | undefined }> = [];
  if (m && snapshot) {
    for (const { file, spec, deleted } of await planFiles(ctx, m, snapshot)) {
      const gone = dropped.get(file.filePath);
      const pruned = pruneReason(file, fields, terms, spec);
      if (pruned) {
        ctx.stats.filesPruned++;
        ctx.stats.files.push({ table, path: file.filePath, records: Number(file.recordCount), deletes: 0, pruned });
        continue;
      }
      ctx.stats.files.push({ table, path: file.filePath, records: Number(file.recordCount), deletes: deleted.size + (gone?.size ?? 0) });
      ctx.stats.filesScanned++;
      planned.push({ file, deleted, gone });
    }
  }
  // Every event of the buffer counts as included, not only the last per row.
  ctx.stats.bufferedEventsIncluded += buffered.length;
  async function* chunks(): AsyncGenerator<Value[][]> {
    if (ctx.planOnly) return;
    for await (const [{ deleted, gone }, opened] of openAhead(planned, OPEN_AHEAD, (p) => openDataFile(ctx, p.file))) {
      yield* readDataFile(ctx, opened, fields, wanted, terms, (pos) => deleted.has(pos) || gone?.has(pos) === true, table, charged);
    }
    const tail: Value[][] = [];
    for (const c of lastById.values()) if (c.operation !== "DELETE") tail.push(imageRow(schema, fields, wanted, c.after as JsonObject));
    if (charged) charge(ctx, tail.length, columns.length, table);
    if (tail.length > 0) yield tail;
  }
  return { columns, snapshotId: snapshot?.["snapshot-id"] ?? null, chunks: chunks() };
}

/** One JSON row image as query values of the table's columns. */
export function imageRow(schema: Schema | undefined, fields: Schema["fields"], wanted: boolean[], image: JsonObject): Value[] {
  let converted: Record<string, unknown> = image;
  try {
    if (schema) converted = jsonRowToIceberg(schema, image);
  } catch {
    // An image that does not fit (outside writer changed the schema): raw JSON values per column.
  }
  return fields.map((f, i) => (wanted[i] ? toQueryValue(converted[f.name] ?? null, f.type as string) : null));
}
