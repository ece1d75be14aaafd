/**
 * One compaction step of one partition (issue 9; Iceberg's RewriteDataFiles with position deletes
 * applied): the chosen small data files are read row group by row group (hyparquet), the rows their
 * position deletes remove are dropped, the survivors are written to new data files with the same
 * field ids, spec and partition, and one `replace` snapshot removes the rewritten files and retires
 * the delete files that reference nothing else (table-commit.ts). Nothing is visible until the
 * caller commits the returned TableCommit; the returned PositionRemap tells the primary-key index,
 * in the same transaction, where each surviving row moved.
 *
 * Memory of a step: one input file's bytes (ranged reads of one row group's columns above
 * WHOLE_READ_BYTES), one decoded row group, the survivors of at most one output row group waiting
 * to be encoded, at most one multipart part (5 MiB) of output (compaction-output.ts), the deleted
 * positions of the rewritten files, and 4 bytes per input row for the position map.
 */
import type { ParquetWriteOptions } from "../parquet/writer.js";
import { CompactionOutput } from "./compaction-output.js";
import { rewriteSlice, type CompactionStats } from "./compaction-slice.js";
import type { UploadTracker } from "./object-upload.js";
import { bindSpec } from "./avro-schema.js";
import type { DataFile } from "./data-file.js";
import type { NestedField, TableMetadata } from "./metadata/types.js";
import type { ObjectStore } from "./object-store.js";
import { partitionPath } from "./partition.js";
import { DELETE_FILE_PATH_ID, readPositionDeletes } from "./position-deletes.js";
import { compareCodePoints, parsePrimitive } from "./primitive.js";
import { commitSnapshot, type TableCommit } from "./table-commit.js";
import type { LiveFile, PartitionCandidate, TableFiles } from "./compaction-plan.js";
import { yieldToEvents } from "../util/pace.js";

/** A table this step cannot rewrite faithfully (the caller skips it and says why). */
export class CompactionUnsupportedError extends Error {}

/** Where the rows of rewritten files went: old path -> per old position, an output ordinal or -1 (deleted). */
export interface PositionRemap {
  targets: Map<string, Int32Array>;
  /** Output files in ordinal order: rows first..first+count-1 are positions 0.. of `path`. */
  outputs: Array<{ path: string; first: number; count: number }>;
}

/** The new location of (old file, old position): a location, null when the row was deleted, undefined when the file was not rewritten. */
export function remapPosition(remap: PositionRemap, filePath: string, pos: number): { filePath: string; pos: number } | null | undefined {
  const t = remap.targets.get(filePath);
  if (!t) return undefined;
  const ordinal = pos >= 0 && pos < t.length ? t[pos]! : -1;
  if (ordinal < 0) return null;
  let lo = 0;
  let hi = remap.outputs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (remap.outputs[mid]!.first <= ordinal) lo = mid;
    else hi = mid - 1;
  }
  const out = remap.outputs[lo]!;
  return { filePath: out.path, pos: ordinal - out.first };
}

/** What one step needs. */
export interface CompactionInput {
  metadata: TableMetadata;
  files: TableFiles;
  candidate: PartitionCandidate;
  store: ObjectStore;
  keyFor: (location: string) => string;
  now: bigint;
  snapshotId: bigint;
  uuid?: () => string;
  parquet: ParquetWriteOptions;
  /** Output files are cut at this many (estimated, uncompressed) bytes. */
  targetFileSizeBytes: number;
  /** Locations written are appended here as they are written (delete them if the step fails). */
  written: string[];
  /** Learns the multipart uploads in progress (to abort them after a crash). */
  uploads?: UploadTracker;
  /** Input files up to this size are read whole, larger ones by ranges (default WHOLE_READ_BYTES). */
  wholeReadBytes?: number;
}


/** The step's snapshot (not yet committed), where rows moved, and what it wrote. */
export interface CompactionResult {
  commit: TableCommit;
  remap: PositionRemap;
  stats: CompactionStats;
  rewrite: Rewrite;
}



/** Throws CompactionUnsupportedError for columns hyparquet would not read back exactly (decimals as doubles, nested types). */
export function checkColumns(fields: NestedField[]): void {
  for (const f of fields) {
    if (typeof f.type !== "string") throw new CompactionUnsupportedError(`column ${f.name} is of a nested type (not compacted)`);
    if (parsePrimitive(f.type).kind === "decimal") throw new CompactionUnsupportedError(`column ${f.name} is a decimal (read back as a double: not compacted)`);
  }
}

/** Deleted positions of the rewritten files, and the delete files that reference nothing else. */
export async function readDeletes(input: Pick<CompactionInput, "store" | "keyFor">, deletes: LiveFile[], rewritten: Map<string, { seq: bigint }>): Promise<{ deleted: Map<string, Set<number>>; retired: DataFile[]; read: LiveFile[] }> {
  const deleted = new Map<string, Set<number>>();
  const retired: DataFile[] = [];
  const read: LiveFile[] = [];
  const paths = [...rewritten.keys()].sort(compareCodePoints);
  const text = new TextDecoder();
  for (const d of deletes) {
    // Full file_path bounds (position-deletes.ts) say which files a delete file may touch.
    const lo = d.file.lowerBounds.get(DELETE_FILE_PATH_ID);
    const hi = d.file.upperBounds.get(DELETE_FILE_PATH_ID);
    if (lo && hi) {
      const [l, h] = [text.decode(lo), text.decode(hi)];
      if (!paths.some((p) => compareCodePoints(p, l) >= 0 && compareCodePoints(p, h) <= 0)) continue;
    }
    const bytes = await input.store.get(input.keyFor(d.file.filePath));
    if (!bytes) throw new Error(`delete file of the current snapshot is missing: ${d.file.filePath}`);
    read.push(d);
    let onlyRewritten = true;
    for (const r of await readPositionDeletes(bytes)) {
      const path = r.filePath;
      const target = rewritten.get(path);
      if (!target) {
        onlyRewritten = false;
        continue;
      }
      // A position delete applies to data files whose data sequence number is not above its own (spec "Scan Planning").
      if (d.seq < target.seq) continue;
      let s = deleted.get(path);
      if (!s) deleted.set(path, (s = new Set()));
      s.add(Number(r.pos));
    }
    if (onlyRewritten) retired.push(d.file);
  }
  return { deleted, retired, read };
}


/** Runs one compaction step of one partition; see the module comment. */
export async function compactPartition(input: CompactionInput): Promise<CompactionResult> {
  const { metadata: m, candidate, store, keyFor } = input;
  const schema = m.schemas.find((s) => s["schema-id"] === m["current-schema-id"])!;
  checkColumns(schema.fields);
  if (candidate.specId !== m["default-spec-id"]) throw new CompactionUnsupportedError(`files of partition spec ${candidate.specId} (not the default spec) are not compacted`);
  const spec = m["partition-specs"].find((s) => s["spec-id"] === candidate.specId)!;
  const uuid = input.uuid ?? (() => crypto.randomUUID());
  const sub = partitionPath(bindSpec(spec, schema), candidate.partition);
  const dir = `${m.location.replace(/\/+$/, "")}/data${sub ? `/${sub}` : ""}`;
  const batch = uuid();
  const written = input.written;
  const rewritten = new Map(candidate.files.map((f) => [f.file.filePath, f]));
  const { deleted, retired } = await readDeletes(input, candidate.deletes, rewritten);
  const stats: CompactionStats = { rewrittenFiles: 0, rewrittenBytes: 0, addedFiles: 0, addedBytes: 0, retiredDeleteFiles: retired.length, rowsKept: 0, rowsDropped: 0 };
  const remap: PositionRemap = { targets: new Map(), outputs: [] };
  const output = new CompactionOutput({
    fields: schema.fields, store, keyFor, pathOf: (n) => `${dir}/${batch}-c${n}.parquet`, partition: candidate.partition,
    parquet: input.parquet, targetFileSizeBytes: input.targetFileSizeBytes, written, pause: yieldToEvents, ...(input.uploads ? { tracker: input.uploads } : {}),
  });
  try {
    await rewriteSlice({
      store, keyFor, fields: schema.fields, deleted, output, stats, cursor: { file: 0, row: 0 }, budgetBytes: Infinity,
      inputs: candidate.files.map((f) => ({ path: f.file.filePath, size: f.file.fileSizeInBytes })),
      ...(input.wholeReadBytes !== undefined ? { wholeReadBytes: input.wholeReadBytes } : {}),
      targetsFor: (path, rows) => {
        const targets = new Int32Array(rows).fill(-1);
        remap.targets.set(path, targets);
        return targets;
      },
    });
    await output.finish();
  } catch (e) {
    await output.abort();
    throw e;
  }
  const added = output.added;
  remap.outputs = output.ranges;
  stats.addedFiles = added.length;
  stats.addedBytes = output.addedBytes;
  const rewrite: Rewrite = { added, removedData: candidate.files.map((f) => f.file), retired, remappedDeletes: [] };
  const commit = await commitRewrite(input, m, input.files, rewrite);
  return { commit, remap, stats, rewrite };
}

/** The files a step adds and removes (rebase-deletes.ts commits them again onto a newer snapshot). */
export interface Rewrite {
  added: DataFile[];
  removedData: DataFile[];
  /** Delete files retired: they reference only rewritten files. */
  retired: DataFile[];
  /** Position deletes committed by others during the step, remapped onto the added files. */
  remappedDeletes: DataFile[];
}

/** The `replace` snapshot of a rewrite on top of `base` (whose current snapshot's files are `files`). */
export function commitRewrite(input: Pick<CompactionInput, "store" | "keyFor" | "now" | "snapshotId" | "uuid" | "written">, base: TableMetadata, files: TableFiles, rewrite: Rewrite): Promise<TableCommit> {
  const removed = new Set([...rewrite.removedData, ...rewrite.retired].map((f) => f.filePath));
  return commitSnapshot({
    base,
    createUpdates: [],
    dataFiles: rewrite.added,
    // Same sequence number as the added files: the remapped deletes apply to them (spec "Scan Planning").
    deleteFiles: rewrite.remappedDeletes,
    store: input.store,
    keyFor: input.keyFor,
    now: input.now,
    snapshotId: input.snapshotId,
    uuid: input.uuid ?? (() => crypto.randomUUID()),
    written: input.written,
    summary: { "dolake.compaction": "bin-pack" },
    replace: { removedData: rewrite.removedData, removedDeletes: rewrite.retired, manifests: files.manifests.filter((mf) => mf.entries.some((e) => e.status !== 2 && removed.has(e.dataFile.filePath))) },
  });
}
