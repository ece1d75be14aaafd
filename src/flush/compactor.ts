/**
 * Compaction of the object's CDC tables (mirrors and their changelogs), one step at a time: a step
 * compacts one partition of one table (src/iceberg/compaction.ts) and commits it like a flush
 * does, through the catalog's commit point: the new metadata.json is prepared and the position map
 * staged (src/flush/pk-remap.ts), then one SQLite transaction swaps the pointer and marks the map
 * committed (O(files)); from then on the index reads through the map, and the step folds it into
 * the index in small transactions. Steps run between flushes (the caller
 * holds FlushScheduler.exclusive), so no CDC delete can land on the files being rewritten; a REST
 * commit that lands meanwhile (pyiceberg/Spark DELETE) fails the step's pointer check, and the
 * step is redone from the new snapshot (its deletes then apply), at most STEP_ATTEMPTS times.
 * A crash mid-step leaves only unreferenced files (POST /maintenance/remove-orphan-files).
 */
import { abandonPreparedCommit, applyPreparedCommit, deleteDroppedMetadata, loadTable, prepareCommit } from "../catalog/commit.js";

type PreparedCommit = Awaited<ReturnType<typeof prepareCommit>>;
import { depsOf, type CatalogContext } from "../catalog/deps.js";
import { keyOf } from "../catalog/metadata-files.js";
import type { TableIdent } from "../catalog/names.js";
import type { DoLakeConfig } from "../config.js";
import { CHANGELOG_SUFFIX } from "../iceberg/changelog.js";
import { compactionCandidates, readTableFiles, type PartitionCandidate, type TableFiles } from "../iceberg/compaction-plan.js";
import type { CompactionStats } from "../iceberg/compaction-slice.js";
import { yieldToEvents } from "../util/pace.js";
import type { RebasedStep } from "../iceberg/rebase-deletes.js";
import type { TableMetadata } from "../iceberg/metadata/types.js";
import { snapshotsToExpire, unreachableFiles } from "../iceberg/expire.js";
import { CommitFailedError } from "../iceberg/metadata/errors.js";
import { currentSnapshotId, type TableCommit } from "../iceberg/table-commit.js";
import { encodeTuple } from "../iceberg/partition.js";
import { migrate as migrateIndex } from "./pk-index.js";
import { commitRemap, discardStagedRemaps, foldRemaps } from "./pk-remap.js";
import { abortJob, forgetJob, jobOf, openUploadsInMemory, planJob, prepareJobCommit, runSlice, type JobContext } from "./compaction-job.js";
import { jobUploadIds, migrateJobs } from "./compaction-job-store.js";
import { R2ObjectStore } from "./r2-store.js";
import { newSnapshotId } from "./sink.js";
import type { UploadTracker } from "../iceberg/object-upload.js";
import type { ObjectStore, ObjectUpload, UploadedPart } from "../iceberg/object-store.js";

const UPLOADS_SCHEMA = `CREATE TABLE IF NOT EXISTS dolake_compaction_uploads (key TEXT NOT NULL, upload_id TEXT NOT NULL, PRIMARY KEY (key, upload_id)) WITHOUT ROWID`;

/** The multipart uploads of a step in progress, kept in SQLite so a crash mid-step leaves none behind. */
function uploadTracker(sql: SqlStorage): UploadTracker {
  sql.exec(UPLOADS_SCHEMA);
  return {
    started: (key, id) => void sql.exec("INSERT OR IGNORE INTO dolake_compaction_uploads (key, upload_id) VALUES (?, ?)", key, id),
    ended: (key, id) => void sql.exec("DELETE FROM dolake_compaction_uploads WHERE key = ? AND upload_id = ?", key, id),
  };
}

/**
 * Aborts the uploads a crashed slice left (an incomplete upload is no object: remove-orphan-files
 * would not see it), except those a job in progress saved (`keep`, read only when an upload is
 * not among `inUse`, the open uploads of the jobs this instance holds): it goes on with them.
 */
export async function abortLeftUploads(sql: SqlStorage, bucket: R2Bucket, keep: () => ReadonlySet<string> = () => new Set(), inUse: ReadonlySet<string> = new Set()): Promise<number> {
  sql.exec(UPLOADS_SCHEMA);
  const unknown = sql.exec<{ key: string; upload_id: string }>("SELECT key, upload_id FROM dolake_compaction_uploads").toArray().filter((u) => !inUse.has(u.upload_id));
  if (unknown.length === 0) return 0;
  const saved = keep();
  const left = unknown.filter((u) => !saved.has(u.upload_id));
  for (const u of left) {
    await bucket.resumeMultipartUpload(u.key, u.upload_id).abort().catch(() => undefined); // already gone: fine
    sql.exec("DELETE FROM dolake_compaction_uploads WHERE key = ? AND upload_id = ?", u.key, u.upload_id);
  }
  return left.length;
}

/**
 * The store a step reads and writes through: a pause after every R2 call (a macrotask yield; the
 * object's throttle also rests while producers send, src/util/pace.ts). A chain of
 * awaited R2 calls (reading a table's manifests, writing a commit's) did not let the object answer
 * a socket in between (docs/architecture.md "Things learned the hard way").
 */
function pacedStore(store: ObjectStore, pause: () => Promise<void>): ObjectStore {
  const paced = async <T>(p: Promise<T>): Promise<T> => {
    const v = await p;
    await pause();
    return v;
  };
  const pacedUpload = (up: ObjectUpload): ObjectUpload => ({ uploadId: up.uploadId, uploadPart: (n, b) => paced(up.uploadPart(n, b)), complete: () => paced(up.complete()), abort: () => up.abort() });
  return {
    put: (k, b) => paced(store.put(k, b)),
    get: (k) => paced(store.get(k)),
    ...(store.getRange ? { getRange: (k: string, o: number, n: number) => paced(store.getRange!(k, o, n)) } : {}),
    ...(store.startUpload
      ? {
          startUpload: async (k: string) => {
            const up = await paced(store.startUpload!(k));
            return pacedUpload(up);
          },
        }
      : {}),
    ...(store.resumeUpload ? { resumeUpload: (k: string, id: string, parts: readonly UploadedPart[]) => pacedUpload(store.resumeUpload!(k, id, parts)) } : {}),
  };
}

/** Most rows in a row group of a compacted file. */
export const COMPACTED_ROW_GROUP_ROWS = 10_000;

/** How often a step lost to a concurrent commit is redone before it gives up until the next run. */
export const STEP_ATTEMPTS = 3;

/** Compaction counters of one object (in memory: they restart from zero with the object). */
export class CompactionMetrics {
  runs = 0;
  steps = 0;
  filesRewritten = 0;
  bytesRewritten = 0;
  filesAdded = 0;
  bytesAdded = 0;
  deleteFilesRetired = 0;
  rowsDropped = 0;
  snapshotsExpired = 0;
  conflicts = 0;
  failures = 0;
  slices = 0;
  /** Rests maintenance took while producers were sending, and their total length (ms): src/util/pace.ts Throttle. */
  rests = 0;
  restedMs = 0;
  lastRunAt = 0;
  lastError = "";

  /** The counters as Prometheus text. */
  render(): string {
    const lines: string[] = [];
    const counter = (name: string, help: string, value: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`);
    counter("dolake_compaction_runs_total", "Compaction runs (auto or POST /v1/compaction/run).", this.runs);
    counter("dolake_compaction_steps_total", "Compaction steps committed (one partition of one table each).", this.steps);
    counter("dolake_compaction_files_rewritten_total", "Data files removed by compaction.", this.filesRewritten);
    counter("dolake_compaction_bytes_rewritten_total", "Bytes of data files removed by compaction.", this.bytesRewritten);
    counter("dolake_compaction_files_added_total", "Data files written by compaction.", this.filesAdded);
    counter("dolake_compaction_bytes_added_total", "Bytes of data files written by compaction.", this.bytesAdded);
    counter("dolake_compaction_delete_files_retired_total", "Position delete files retired by compaction.", this.deleteFilesRetired);
    counter("dolake_compaction_rows_dropped_total", "Deleted rows dropped by compaction.", this.rowsDropped);
    counter("dolake_compaction_snapshots_expired_total", "Snapshots expired by compaction commits.", this.snapshotsExpired);
    counter("dolake_compaction_conflicts_total", "Compaction jobs rebased onto, or aborted because of, another commit that landed first.", this.conflicts);
    counter("dolake_compaction_slices_total", "Slices of compaction jobs run (a bounded amount of input each; flushes run between them).", this.slices);
    counter("dolake_compaction_failures_total", "Compaction steps that failed.", this.failures);
    counter("dolake_compaction_rests_total", "Rests maintenance took to leave the object's thread to acks while producers were sending.", this.rests);
    counter("dolake_compaction_rested_ms_total", "Milliseconds maintenance rested while producers were sending (it takes at most about half of the thread then).", this.restedMs);
    lines.push("# HELP dolake_compaction_last_run_timestamp_ms When the last compaction run ended (epoch ms, 0 = never).", "# TYPE dolake_compaction_last_run_timestamp_ms gauge", `dolake_compaction_last_run_timestamp_ms ${this.lastRunAt}`);
    return lines.join("\n") + "\n";
  }
}

/** What a compaction step needs from its Durable Object. */
export interface CompactorHost {
  readonly config: DoLakeConfig;
  readonly storage: DurableObjectStorage;
  catalogContext(): CatalogContext;
  /**
   * The yield between stretches of maintenance work (default yieldToEvents): the object passes its
   * Throttle's pause, which rests while producers are sending (src/util/pace.ts).
   */
  readonly maintenancePause?: () => Promise<void>;
  /** The same for deferrable work, the index fold (default yieldToEvents): rests longer. */
  readonly foldPause?: () => Promise<void>;
}

/** What one committed step did (JSON-safe: 64-bit ids as strings). */
export interface StepReport extends CompactionStats {
  table: string;
  partition: string;
  snapshotId: string;
  snapshotsExpired: number;
  indexEntriesMoved: number;
  /** Positions other commits deleted in the rewritten files while the step ran, remapped onto its new files (rebase-deletes.ts). */
  deletesRemapped: number;
  /**
   * Where the step's time went (ms): reading and writing files, staging the position map, preparing
   * the commit, the swap transaction, folding the map into the index (chunked, with yields).
   */
  timings: { rewriteMs: number; stageMs: number; prepareMs: number; swapMs: number; foldMs: number; jobMs: number };
  /** Slices the job took (each a bounded amount of input, saved in SQLite; flushes ran between them). */
  slices: number;
}

/** One table's candidate partitions (GET /v1/compaction/candidates). */
export interface TableCandidates {
  table: string;
  dataFiles: number;
  deleteFiles: number;
  partitions: Array<{ partition: string; smallFiles: number; smallBytes: number; filesNextStep: number; skipped?: string }>;
}

/** Test seam: runs after a step wrote its files and before it commits (a concurrent commit lands here in tests). */
export interface StepHooks {
  beforeCommit?: () => Promise<void>;
  /** Runs after the swap, before the map is folded into the index (tests look at the unfolded index here). */
  afterCommit?: () => Promise<void>;
  /** Index entries folded per slice (default FOLD_PER_SLICE; tests fold small tables in several portions). */
  foldPerSlice?: number;
}

const describePartition = (c: PartitionCandidate) => (c.partition.length ? encodeTuple(c.partition) : "[]");

/** The CDC tables of the object's namespace: every mirror and its changelog. */
export function cdcTables(host: CompactorHost): TableIdent[] {
  const deps = depsOf(host.catalogContext());
  const namespace = [host.config.namespace];
  return deps.store.listTables(namespace, undefined, 100_000).map((name) => ({ namespace, name }));
}

/** The compaction candidates of a table, or undefined when it does not exist. */
export async function tableCandidates(host: CompactorHost, ident: TableIdent): Promise<TableCandidates | undefined> {
  const deps = depsOf(host.catalogContext());
  const loaded = await loadTable(deps, ident);
  if (!loaded) return undefined;
  const files = await readTableFiles(loaded.metadata, new R2ObjectStore(deps.bucket), (l) => keyOf(deps, l));
  const partitions = files ? compactionCandidates(files, host.config.compaction) : [];
  return {
    table: [...ident.namespace, ident.name].join("."),
    dataFiles: files?.data.length ?? 0,
    deleteFiles: files?.deletes.length ?? 0,
    partitions: partitions.map((c) => ({ partition: describePartition(c), smallFiles: c.smallFiles, smallBytes: Number(c.smallBytes), filesNextStep: c.files.length, ...(c.skipped ? { skipped: c.skipped } : {}) })),
  };
}

/** What commitStep needs: the commit, how to rebase it, and the staged position map (mirrors). */
interface CommitArgs {
  host: CompactorHost;
  metrics: CompactionMetrics;
  ident: TableIdent;
  commit: TableCommit;
  store: ObjectStore;
  keyFor: (location: string) => string;
  /** Files written for the commit (manifests, remapped deletes) after the outputs. */
  written: string[];
  outputs: Set<string>;
  staged: number | undefined;
  /** The job's pause (JobContext.pause), taken between preparing the commit and the swap. */
  pause: () => Promise<void>;
  /** Runs inside the swap's transaction (the job's rows go with it). */
  inSwap: () => void;
  rebase: (now: TableMetadata, files: TableFiles) => Promise<RebasedStep | undefined>;
}

/**
 * Commits a rewrite: prepares the metadata, then swaps the pointer and makes the position map
 * current in one transaction (O(files)). When another commit landed first, commits the same
 * rewrite on top of it if only appends and position deletes landed (those remapped onto the new
 * files, rebase-deletes.ts), at most STEP_ATTEMPTS times; otherwise throws the CommitFailedError.
 */
async function commitStep(a: CommitArgs): Promise<{ prepared: PreparedCommit; commit: TableCommit; rebased?: RebasedStep; preparedAt: number }> {
  const ctx = a.host.catalogContext();
  const deps = depsOf(ctx);
  const superseded: string[] = [];
  let commit = a.commit;
  let rebased: RebasedStep | undefined;
  for (let rebase = 0; ; rebase++) {
    let prepared: PreparedCommit | undefined;
    try {
      prepared = await prepareCommit(deps, a.ident, commit.requirements, commit.updates);
      await a.pause();
      const preparedAt = Date.now();
      const p = prepared;
      // O(files): the pointer and the map become current together; no index entry moves here.
      a.host.storage.transactionSync(() => {
        applyPreparedCommit(deps, p);
        if (a.staged !== undefined) commitRemap(a.host.storage.sql, a.staged);
        a.inSwap();
      });
      // The manifests (and remapped deletes) of commits that lost are referenced by nothing.
      for (let i = 0; i < superseded.length; i += 1000) await ctx.bucket.delete(superseded.slice(i, i + 1000).map(a.keyFor)).catch(() => undefined);
      return { prepared: p, commit, ...(rebased ? { rebased } : {}), preparedAt };
    } catch (e) {
      if (prepared) await abandonPreparedCommit(deps, prepared).catch(() => undefined);
      if (!(e instanceof CommitFailedError) || rebase + 1 >= STEP_ATTEMPTS) throw e;
      const lost = a.written.filter((w) => !a.outputs.has(w) && !superseded.includes(w));
      const now = await loadTable(deps, a.ident);
      const nowFiles = now && (await readTableFiles(now.metadata, a.store, a.keyFor));
      const r = now && nowFiles ? await a.rebase(now.metadata, nowFiles) : undefined;
      if (!r) throw e;
      a.metrics.conflicts++;
      superseded.push(...lost);
      commit = r.commit;
      rebased = r;
    }
  }
}

/** What one slice of a table's compaction job did: the job's slices so far, and its step once committed (or why it was aborted). */
export interface SliceReport {
  table: string;
  slices: number;
  step?: StepReport;
  aborted?: string;
  /** Index entries this slice folded from a committed job's map (a slice of fold work only). */
  folded?: number;
}

/** Index entries folded per slice (about 1 s of fold on a loaded machine): a big job's fold does not hold flushes for long. */
export const FOLD_PER_SLICE = 20_000;

/** The context a table's compaction job runs in (exported for tests that drive slices themselves). */
export function jobContext(host: CompactorHost, ident: TableIdent): JobContext {
  const ctx = host.catalogContext();
  const deps = depsOf(ctx);
  const sql = host.storage.sql;
  const pause = host.maintenancePause ?? yieldToEvents;
  migrateJobs(sql);
  return {
    deps, sql, transactionSync: <T>(fn: () => T) => host.storage.transactionSync(fn), store: pacedStore(new R2ObjectStore(ctx.bucket), pause), keyFor: (l: string) => keyOf(deps, l), bucket: ctx.bucket, ident,
    tableKey: [...ident.namespace, ident.name].join("."),
    // Changelogs have no index; a mirror's entries follow their rows through the job's position map.
    mirror: !ident.name.endsWith(CHANGELOG_SUFFIX),
    config: host.config.compaction, uploads: uploadTracker(sql), pause,
    // Row groups of at most 10,000 rows: the next step (and readers) decode a compacted file a
    // row group at a time, and one row group's decoding is a stretch acks wait through.
    parquet: { compression: host.config.parquetCompression, rowGroupRows: Math.min(host.config.parquetRowGroupSize, COMPACTED_ROW_GROUP_ROWS) },
  };
}

/**
 * Runs one slice of the table's compaction job (planning one when none is in progress) and, when
 * its input is exhausted, commits it; undefined when nothing is due. Call between flushes
 * (FlushScheduler.exclusive): the lock is held for one slice, flushes run between slices
 * (src/flush/compaction-job.ts). A job whose commit cannot land is aborted (`aborted`).
 */
export async function compactSlice(host: CompactorHost, metrics: CompactionMetrics, ident: TableIdent, hooks: StepHooks = {}): Promise<SliceReport | undefined> {
  const jc = jobContext(host, ident);
  const { deps, store, keyFor, tableKey, mirror, sql } = jc;
  const ctx = host.catalogContext();
  const storage = { sql, transactionSync: jc.transactionSync };
  const foldPause = host.foldPause ?? yieldToEvents;
  if (mirror) migrateIndex(sql);
  // Decoding every saved job for its uploads was one of a slice's longest stretches: only done when an upload is not an open one of the jobs in memory.
  await abortLeftUploads(sql, ctx.bucket, () => jobUploadIds(sql), openUploadsInMemory(sql));
  let job = jobOf(jc);
  if (!job) {
    if (mirror) {
      // A map left by a crash: a staged one never committed (its files are orphans), a committed one is folded first,
      // so the files this job rewrites have settled entries (and maps never chain deeper than one step).
      discardStagedRemaps(sql, tableKey);
      // In portions, each a slice of its own: flushes run between them (lookups read through the map meanwhile).
      const fold = await foldRemaps(storage, tableKey, foldPause, hooks.foldPerSlice ?? FOLD_PER_SLICE);
      if (!fold.done) return { table: tableKey, slices: 0, folded: fold.moved + fold.dropped };
    }
    job = await planJob(jc);
    if (!job) return undefined;
  }
  const aborted = async (why: string): Promise<SliceReport> => {
    metrics.conflicts++;
    await abortJob(jc, job!);
    return { table: tableKey, slices: job!.slices, aborted: why };
  };
  const loaded = await loadTable(deps, ident);
  if (!loaded || loaded.metadata["table-uuid"] !== job.tableUuid) return aborted("the table is gone");
  const t0 = Date.now();
  let done: boolean;
  try {
    done = await runSlice(jc, job, loaded.metadata);
  } catch (e) {
    // Nothing of the failed slice is saved; the job is dropped rather than retried forever on a file that fails.
    metrics.failures++;
    metrics.lastError = `${tableKey}: ${(e as Error).message}`;
    await abortJob(jc, job).catch(() => undefined);
    throw e;
  }
  metrics.slices++;
  if (!done) return { table: tableKey, slices: job.slices };
  const t1 = Date.now();
  await hooks.beforeCommit?.();
  const written: string[] = [];
  const built = await prepareJobCommit(jc, job, written, newSnapshotId());
  if ("abort" in built) return aborted(built.abort);
  if (built.rebased) metrics.conflicts++;
  let landed: Awaited<ReturnType<typeof commitStep>>;
  const t2 = Date.now();
  try {
    landed = await commitStep({
      host, metrics, ident, commit: built.commit, store, keyFor, written, outputs: new Set(built.rewrite.added.map((f) => f.filePath)), staged: job.remapId, pause: jc.pause,
      inSwap: () => forgetJob(sql, tableKey), rebase: built.rebase,
    });
  } catch (e) {
    const extra = written.filter((w) => !built.rewrite.added.some((f) => f.filePath === w));
    for (let i = 0; i < extra.length; i += 1000) await ctx.bucket.delete(extra.slice(i, i + 1000).map(keyFor)).catch(() => undefined);
    if (e instanceof CommitFailedError) return aborted(`another commit landed: ${e.message}`);
    metrics.failures++;
    metrics.lastError = `${tableKey}: ${(e as Error).message}`;
    await abortJob(jc, job).catch(() => undefined);
    throw e;
  }
  const t3 = landed.preparedAt;
  const t4 = Date.now();
  await hooks.afterCommit?.();
  // The first portion of the fold; the rest by the table's next slices (flushes run in between).
  const moved = mirror ? (await foldRemaps(storage, tableKey, foldPause, hooks.foldPerSlice ?? FOLD_PER_SLICE)).moved : 0;
  const commit = landed.commit;
  await deleteDroppedMetadata(deps, landed.prepared);
  for (let i = 0; i < commit.expiredFiles.length; i += 1000) await ctx.bucket.delete(commit.expiredFiles.slice(i, i + 1000).map(keyFor));
  const expired = commit.updates.find((u) => u.action === "remove-snapshots");
  const snapshotsExpired = expired?.action === "remove-snapshots" ? expired["snapshot-ids"].length : 0;
  const s = { ...job.stats, retiredDeleteFiles: landed.rebased?.retiredDeleteFiles ?? built.retiredDeleteFiles };
  const deletesRemapped = landed.rebased?.deletesRemapped ?? built.deletesRemapped;
  Object.assign(metrics, {
    steps: metrics.steps + 1,
    filesRewritten: metrics.filesRewritten + s.rewrittenFiles,
    bytesRewritten: metrics.bytesRewritten + s.rewrittenBytes,
    filesAdded: metrics.filesAdded + s.addedFiles,
    bytesAdded: metrics.bytesAdded + s.addedBytes,
    deleteFilesRetired: metrics.deleteFilesRetired + s.retiredDeleteFiles,
    rowsDropped: metrics.rowsDropped + s.rowsDropped,
    snapshotsExpired: metrics.snapshotsExpired + snapshotsExpired,
  });
  const timings = { rewriteMs: t1 - t0, stageMs: 0, prepareMs: t3 - t2, swapMs: t4 - t3, foldMs: Date.now() - t4, jobMs: Date.now() - job.startedAt };
  const step: StepReport = { table: tableKey, partition: job.partition.length ? encodeTuple(job.partition) : "[]", snapshotId: String(commit.snapshot["snapshot-id"]), snapshotsExpired, indexEntriesMoved: moved, deletesRemapped, slices: job.slices, timings, ...s };
  return { table: tableKey, slices: job.slices, step };
}

/**
 * Runs the table's compaction job to its commit now (all its slices, one after another); undefined
 * when nothing is due. Call between flushes (FlushScheduler.exclusive). A job aborted because of
 * a concurrent commit is planned again from the new snapshot, at most STEP_ATTEMPTS times.
 */
export async function compactStep(host: CompactorHost, metrics: CompactionMetrics, ident: TableIdent, hooks: StepHooks = {}): Promise<StepReport | undefined> {
  for (let aborts = 0; ; ) {
    const r = await compactSlice(host, metrics, ident, hooks);
    if (!r) return undefined;
    if (r.step) return r.step;
    if (r.aborted !== undefined && ++aborts >= STEP_ATTEMPTS) throw new Error(`compaction of ${r.table} aborted ${aborts} times: ${r.aborted}`);
  }
}

/**
 * Expires the snapshots a table's retention properties let go (docs/maintenance.md) in a commit of
 * its own, for a table no compaction step committed to; deletes the files only they reached.
 * Returns how many snapshots were expired. Call between flushes.
 */
export async function expireSnapshots(host: CompactorHost, metrics: CompactionMetrics, ident: TableIdent): Promise<number> {
  const ctx = host.catalogContext();
  const deps = depsOf(ctx);
  const keyFor = (l: string) => keyOf(deps, l);
  const loaded = await loadTable(deps, ident);
  if (!loaded) return 0;
  const m = loaded.metadata;
  const expired = snapshotsToExpire(m, BigInt(Date.now()));
  if (expired.length === 0) return 0;
  const files = await unreachableFiles(m, expired, [], new R2ObjectStore(ctx.bucket), keyFor);
  const p = await prepareCommit(
    deps,
    ident,
    [{ type: "assert-table-uuid", uuid: m["table-uuid"] }, { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": currentSnapshotId(m) }],
    [{ action: "remove-snapshots", "snapshot-ids": expired }],
  );
  try {
    host.storage.transactionSync(() => applyPreparedCommit(deps, p));
  } catch (e) {
    await abandonPreparedCommit(deps, p).catch(() => undefined);
    if (e instanceof CommitFailedError) return 0; // another commit landed: its own expiry (or the next run) does it
    throw e;
  }
  await deleteDroppedMetadata(deps, p);
  for (let i = 0; i < files.length; i += 1000) await ctx.bucket.delete(files.slice(i, i + 1000).map(keyFor));
  metrics.snapshotsExpired += expired.length;
  return expired.length;
}
