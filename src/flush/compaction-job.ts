/**
 * A compaction job as resumable slices (issue 9): the job is planned once (one partition's small
 * files, read from the table's current snapshot: the base), then each slice reads a bounded amount
 * of input (`maxBytesPerSlice`) into the job's output files and saves where it stands in SQLite
 * (compaction-job-store.ts; the position map so far in pk-remap's staged map), all in one
 * transaction. The caller holds the flush lock per slice, not per job: flushes run between slices,
 * and a new instance of the object (after an eviction or a crash) goes on from the last saved
 * slice, re-sending at most that slice's parts. When the input is exhausted the job's commit is
 * built on the table as it is then (`prepareJobCommit`): what landed since the base (CDC flushes'
 * deletes of input rows, other engines' position deletes) is remapped onto the new files through
 * the map (rebase-deletes.ts); an input file or retired delete file gone aborts the job, as
 * RewriteDataFiles' validation would.
 */
import { loadTable } from "../catalog/commit.js";
import type { CatalogDeps } from "../catalog/deps.js";
import type { TableIdent } from "../catalog/names.js";
import { bindSpec } from "../iceberg/avro-schema.js";
import { commitRewrite, CompactionUnsupportedError, checkColumns, readDeletes, type Rewrite } from "../iceberg/compaction.js";
import { CompactionOutput } from "../iceberg/compaction-output.js";
import { compactionCandidates, readTableFiles, type CompactionConfig, type LiveFile, type TableFiles } from "../iceberg/compaction-plan.js";
import { rewriteSlice, type CompactionStats } from "../iceberg/compaction-slice.js";
import type { DataFile } from "../iceberg/data-file.js";
import type { TableMetadata } from "../iceberg/metadata/types.js";
import type { ObjectStore } from "../iceberg/object-store.js";
import { completeSaved, type UploadTracker } from "../iceberg/object-upload.js";
import { partitionPath } from "../iceberg/partition.js";
import { rebaseRewrite } from "../iceberg/rebase-deletes.js";
import { currentSnapshotId, type TableCommit } from "../iceberg/table-commit.js";
import type { ParquetWriteOptions } from "../parquet/writer.js";
import { closedOutputs, dropJob, loadJob, migrateJobs, pendingPlace, saveJob, savePending, type JobState } from "./compaction-job-store.js";
import { beginStagedRemap, discardStagedRemaps, locateStaged, stageOutputs, stageSliceTargets, stagedTargets } from "./pk-remap.js";

/** What a job's slice needs from the object. */
export interface JobContext {
  deps: CatalogDeps;
  sql: SqlStorage;
  transactionSync<T>(fn: () => T): T;
  store: ObjectStore;
  keyFor: (location: string) => string;
  bucket: R2Bucket;
  ident: TableIdent;
  tableKey: string;
  /** Mirrors keep a position map for the primary-key index; changelogs have none. */
  mirror: boolean;
  config: CompactionConfig;
  parquet: ParquetWriteOptions;
  uploads: UploadTracker;
  /** The yield between stretches of a slice's work: the object's maintenance throttle (src/util/pace.ts). */
  pause: () => Promise<void>;
}

/** Deleted positions of a job's inputs, per object instance (recomputed from the job's delete files after an eviction). */
const deletedCache = new WeakMap<SqlStorage, { key: string; deleted: Map<string, Set<number>> }>();

/**
 * Each table's job as last saved, per object instance (SQLite holds the durable copy; an eviction
 * starts empty): a slice goes on from memory instead of reading back the pending bytes (up to 5
 * MiB) and row groups the previous slice saved, which was one of a slice's longest stretches.
 */
const savedJobs = new WeakMap<SqlStorage, Map<string, JobState>>();

function remember(sql: SqlStorage, tableKey: string, job: JobState): void {
  let jobs = savedJobs.get(sql);
  if (!jobs) savedJobs.set(sql, (jobs = new Map()));
  jobs.set(tableKey, job);
}

/** The multipart uploads the jobs this instance holds in memory are filling (their open output files). */
export function openUploadsInMemory(sql: SqlStorage): Set<string> {
  const ids = new Set<string>();
  for (const job of savedJobs.get(sql)?.values() ?? []) {
    const id = job.output.open?.object.uploadId;
    if (id) ids.add(id);
  }
  return ids;
}

/** Forgets the table's job (it committed or was aborted): its rows in SQLite and its state in memory. */
export function forgetJob(sql: SqlStorage, tableKey: string): void {
  savedJobs.get(sql)?.delete(tableKey); // first: a failing statement below must not leave a stale job in memory
  dropJob(sql, tableKey);
}

/** Plans the table's next job from its current snapshot; undefined when nothing is due (or nothing this code can compact). */
export async function planJob(c: JobContext): Promise<JobState | undefined> {
  const loaded = await loadTable(c.deps, c.ident);
  if (!loaded) return undefined;
  const m = loaded.metadata;
  const files = await readTableFiles(m, c.store, c.keyFor);
  const candidate = files && compactionCandidates(files, c.config).find((x) => !x.skipped);
  if (!files || !candidate) return undefined;
  const schema = m.schemas.find((s) => s["schema-id"] === m["current-schema-id"])!;
  try {
    checkColumns(schema.fields);
    if (candidate.specId !== m["default-spec-id"]) throw new CompactionUnsupportedError(`files of partition spec ${candidate.specId} are not compacted`);
  } catch (e) {
    if (e instanceof CompactionUnsupportedError) return undefined;
    throw e;
  }
  const spec = m["partition-specs"].find((s) => s["spec-id"] === candidate.specId)!;
  const sub = partitionPath(bindSpec(spec, schema), candidate.partition);
  const rewritten = new Map(candidate.files.map((f) => [f.file.filePath, f]));
  const { deleted, retired, read } = await readDeletes(c, candidate.deletes, rewritten);
  const job: JobState = {
    jobId: crypto.randomUUID(),
    baseSnapshotId: files.snapshot["snapshot-id"],
    baseSeq: files.snapshot["sequence-number"] ?? 0n,
    schemaId: m["current-schema-id"],
    tableUuid: m["table-uuid"],
    specId: candidate.specId,
    partition: candidate.partition,
    dir: `${m.location.replace(/\/+$/, "")}/data${sub ? `/${sub}` : ""}`,
    inputs: candidate.files.map((f) => ({ path: f.file.filePath, size: f.file.fileSizeInBytes, seq: f.seq })),
    deletes: read.map((d) => ({ path: d.file.filePath, seq: d.seq })),
    retired: retired.map((d) => d.filePath),
    cursor: { file: 0, row: 0 },
    slices: 0,
    stats: { rewrittenFiles: 0, rewrittenBytes: 0, addedFiles: 0, addedBytes: 0, retiredDeleteFiles: retired.length, rowsKept: 0, rowsDropped: 0 },
    output: { ordinal: 0, fileNo: 0 },
    startedAt: Date.now(),
  };
  if (c.mirror) job.remapId = beginStagedRemap(c.sql, c.tableKey);
  c.transactionSync(() => saveJob(c.sql, c.tableKey, job, []));
  remember(c.sql, c.tableKey, job);
  deletedCache.set(c.sql, { key: `${c.tableKey}/${job.jobId}`, deleted });
  return job;
}

/** The job's deleted positions: from this instance's memory, else read again from its delete files. */
async function deletedOf(c: JobContext, job: JobState): Promise<Map<string, Set<number>>> {
  const key = `${c.tableKey}/${job.jobId}`;
  const hit = deletedCache.get(c.sql);
  if (hit?.key === key) return hit.deleted;
  const rewritten = new Map(job.inputs.map((f) => [f.path, { seq: f.seq }]));
  const deletes = job.deletes.map((d) => ({ file: { filePath: d.path, lowerBounds: new Map(), upperBounds: new Map() }, seq: d.seq }) as unknown as LiveFile);
  const { deleted } = await readDeletes(c, deletes, rewritten);
  deletedCache.set(c.sql, { key, deleted });
  return deleted;
}

/** The job's current schema fields (those of the schema it planned with). */
function fieldsOf(m: TableMetadata, job: JobState) {
  const schema = m.schemas.find((s) => s["schema-id"] === job.schemaId);
  if (!schema) throw new Error(`schema ${job.schemaId} of the compaction job is gone`);
  return schema.fields;
}

/** Runs one slice of the job and saves it; returns true when the job's input is exhausted (ready to commit). */
export async function runSlice(c: JobContext, job: JobState, m: TableMetadata): Promise<boolean> {
  if (job.cursor.file >= job.inputs.length) return true;
  const saved = pendingPlace(job);
  const written: string[] = [];
  const output = new CompactionOutput({
    fields: fieldsOf(m, job), store: c.store, keyFor: c.keyFor, pathOf: (n) => `${job.dir}/${job.jobId}-c${n}.parquet`, partition: job.partition,
    parquet: c.parquet, targetFileSizeBytes: c.config.targetFileSizeBytes, written, pause: c.pause, tracker: c.uploads, job: { resume: job.output },
  });
  const first = job.cursor;
  const slice = await rewriteSlice({
    store: c.store, keyFor: c.keyFor, fields: fieldsOf(m, job), inputs: job.inputs, deleted: await deletedOf(c, job), output, cursor: job.cursor,
    budgetBytes: c.config.maxBytesPerSlice, stats: job.stats, pause: c.pause,
    targetsFor: (path, rows) => (c.mirror && job.remapId !== undefined && path === job.inputs[first.file]?.path && first.row > 0 ? stagedTargets(c.sql, job.remapId, path, rows) : new Int32Array(rows).fill(-1)),
  });
  if (slice.done) await output.finish();
  const state = await output.endSlice();
  const closed = output.closed;
  const next: JobState = { ...job, cursor: slice.cursor, slices: job.slices + 1, output: state };
  next.stats.addedFiles += closed.length;
  next.stats.addedBytes += closed.reduce((n, o) => n + Number(o.file.fileSizeInBytes), 0);
  await savePending(c.sql, c.tableKey, next, saved, c.pause);
  c.transactionSync(() => {
    if (c.mirror && job.remapId !== undefined) {
      for (const t of slice.touched) stageSliceTargets(c.sql, job.remapId, t, job.partition, job.specId);
      stageOutputs(c.sql, job.remapId, closed.map((o) => o.range), job.partition, job.specId);
    }
    saveJob(c.sql, c.tableKey, next, closed);
  });
  Object.assign(job, next);
  remember(c.sql, c.tableKey, job);
  return slice.done;
}

/** The job's commit on the table as it is now, or a reason to abort it. */
export type JobCommit = { commit: TableCommit; rewrite: Rewrite; rebased: boolean; deletesRemapped: number; retiredDeleteFiles: number; rebase: (now: TableMetadata, files: TableFiles) => ReturnType<typeof rebaseRewrite> } | { abort: string };

/** Completes the job's uploads and builds its `replace` commit on the current snapshot (rebased when others committed since the base). */
export async function prepareJobCommit(c: JobContext, job: JobState, written: string[], snapshotId: bigint): Promise<JobCommit> {
  const closed = closedOutputs(c.sql, c.tableKey);
  const exists = async (k: string) => (await c.bucket.head(k)) !== null;
  for (const o of closed) await completeSaved(c.store, o.object, exists, c.uploads);
  written.push(...closed.map((o) => o.file.filePath));
  const loaded = await loadTable(c.deps, c.ident);
  if (!loaded) return { abort: "the table is gone" };
  const now = loaded.metadata;
  const files = await readTableFiles(now, c.store, c.keyFor);
  if (!files) return { abort: "the table has no snapshot" };
  const live = new Map(files.data.map((f) => [f.file.filePath, f.file]));
  const liveDeletes = new Map(files.deletes.map((f) => [f.file.filePath, f.file]));
  const removedData = job.inputs.map((f) => live.get(f.path));
  const retired = job.retired.map((p) => liveDeletes.get(p));
  // RewriteDataFiles' validation: an input file (or a delete file it retires) removed meanwhile fails the job.
  if (removedData.some((f) => !f) || retired.some((f) => !f)) return { abort: "an input file or a delete file it retires was removed meanwhile" };
  const rewrite: Rewrite = { added: closed.map((o) => o.file), removedData: removedData as DataFile[], retired: retired as DataFile[], remappedDeletes: [] };
  const input = { store: c.store, keyFor: c.keyFor, now: BigInt(Date.now()), snapshotId, written, parquet: c.parquet };
  const remapId = job.remapId;
  const rebase = (m: TableMetadata, f: TableFiles) =>
    rebaseRewrite(
      {
        input, schemaId: job.schemaId, tableUuid: job.tableUuid, rewrite,
        isNew: (d) => d.seq > job.baseSeq,
        // Changelogs keep no map: a delete landing on their inputs (none from CDC) aborts the job.
        locate: (path, pos) => (c.mirror && remapId !== undefined ? locateStaged(c.sql, remapId, path, pos) : undefined),
      },
      m,
      f,
    );
  if (currentSnapshotId(now) === job.baseSnapshotId) {
    const commit = await commitRewrite(input, now, files, rewrite);
    return { commit, rewrite, rebased: false, deletesRemapped: 0, retiredDeleteFiles: rewrite.retired.length, rebase };
  }
  const r = await rebase(now, files);
  if (!r) return { abort: "a commit since the job's start cannot be rebased onto (schema change, equality deletes, deletion vectors)" };
  return { commit: r.commit, rewrite, rebased: true, deletesRemapped: r.deletesRemapped, retiredDeleteFiles: r.retiredDeleteFiles, rebase };
}

/** Drops a job: aborts its uploads, deletes its files and its staged map, forgets it. */
export async function abortJob(c: JobContext, job: JobState): Promise<void> {
  savedJobs.get(c.sql)?.delete(c.tableKey); // whatever fails below, the next slice reads the job from SQLite
  const closed = closedOutputs(c.sql, c.tableKey);
  const objects = [...closed.map((o) => o.object), ...(job.output.open ? [job.output.open.object] : [])];
  for (const o of objects) {
    if (o.uploadId === undefined) continue;
    await c.store.resumeUpload?.(o.key, o.uploadId, o.parts).abort().catch(() => undefined);
    c.uploads.ended(o.key, o.uploadId);
  }
  const keys = closed.map((o) => c.keyFor(o.file.filePath));
  for (let i = 0; i < keys.length; i += 1000) await c.bucket.delete(keys.slice(i, i + 1000)).catch(() => undefined);
  c.transactionSync(() => {
    if (c.mirror) discardStagedRemaps(c.sql, c.tableKey);
    forgetJob(c.sql, c.tableKey);
  });
  deletedCache.delete(c.sql);
}

/** The table's job in progress, if any. */
export function jobOf(c: Pick<JobContext, "sql" | "tableKey">): JobState | undefined {
  const saved = savedJobs.get(c.sql)?.get(c.tableKey);
  if (saved) return saved;
  migrateJobs(c.sql);
  const job = loadJob(c.sql, c.tableKey);
  if (job) remember(c.sql, c.tableKey, job);
  return job;
}
