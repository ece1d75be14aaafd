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
import { compactionCandidates, readTableFiles, type PartitionCandidate } from "../iceberg/compaction-plan.js";
import { compactPartition, CompactionUnsupportedError, yieldToEvents, type CompactionInput, type CompactionResult, type CompactionStats } from "../iceberg/compaction.js";
import { rebaseStep } from "../iceberg/rebase-deletes.js";
import { snapshotsToExpire, unreachableFiles } from "../iceberg/expire.js";
import { CommitFailedError } from "../iceberg/metadata/errors.js";
import { currentSnapshotId } from "../iceberg/table-commit.js";
import { encodeTuple } from "../iceberg/partition.js";
import { migrate as migrateIndex } from "./pk-index.js";
import { commitRemap, discardStagedRemaps, foldRemaps, stageRemap } from "./pk-remap.js";
import { R2ObjectStore } from "./r2-store.js";
import { newSnapshotId } from "./sink.js";
import type { UploadTracker } from "../iceberg/object-upload.js";
import type { ObjectStore } from "../iceberg/object-store.js";

const UPLOADS_SCHEMA = `CREATE TABLE IF NOT EXISTS dolake_compaction_uploads (key TEXT NOT NULL, upload_id TEXT NOT NULL, PRIMARY KEY (key, upload_id)) WITHOUT ROWID`;

/** The multipart uploads of a step in progress, kept in SQLite so a crash mid-step leaves none behind. */
function uploadTracker(sql: SqlStorage): UploadTracker {
  sql.exec(UPLOADS_SCHEMA);
  return {
    started: (key, id) => void sql.exec("INSERT OR IGNORE INTO dolake_compaction_uploads (key, upload_id) VALUES (?, ?)", key, id),
    ended: (key, id) => void sql.exec("DELETE FROM dolake_compaction_uploads WHERE key = ? AND upload_id = ?", key, id),
  };
}

/** Aborts the uploads a crashed step left (an incomplete upload is no object: remove-orphan-files would not see it). */
export async function abortLeftUploads(sql: SqlStorage, bucket: R2Bucket): Promise<number> {
  sql.exec(UPLOADS_SCHEMA);
  const left = sql.exec<{ key: string; upload_id: string }>("SELECT key, upload_id FROM dolake_compaction_uploads").toArray();
  for (const u of left) {
    await bucket.resumeMultipartUpload(u.key, u.upload_id).abort().catch(() => undefined); // already gone: fine
    sql.exec("DELETE FROM dolake_compaction_uploads WHERE key = ? AND upload_id = ?", u.key, u.upload_id);
  }
  return left.length;
}

/**
 * The store a step reads and writes through: a macrotask yield after every R2 call. A chain of
 * awaited R2 calls (reading a table's manifests, writing a commit's) did not let the object answer
 * a socket in between (docs/architecture.md "Things learned the hard way").
 */
function pacedStore(store: ObjectStore): ObjectStore {
  const paced = async <T>(p: Promise<T>): Promise<T> => {
    const v = await p;
    await yieldToEvents();
    return v;
  };
  return {
    put: (k, b) => paced(store.put(k, b)),
    get: (k) => paced(store.get(k)),
    ...(store.getRange ? { getRange: (k: string, o: number, n: number) => paced(store.getRange!(k, o, n)) } : {}),
    ...(store.startUpload
      ? {
          startUpload: async (k: string) => {
            const up = await paced(store.startUpload!(k));
            return { uploadId: up.uploadId, uploadPart: (n: number, b: Uint8Array) => paced(up.uploadPart(n, b)), complete: () => paced(up.complete()), abort: () => up.abort() };
          },
        }
      : {}),
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
    counter("dolake_compaction_conflicts_total", "Compaction steps redone because another commit landed first.", this.conflicts);
    counter("dolake_compaction_failures_total", "Compaction steps that failed.", this.failures);
    lines.push("# HELP dolake_compaction_last_run_timestamp_ms When the last compaction run ended (epoch ms, 0 = never).", "# TYPE dolake_compaction_last_run_timestamp_ms gauge", `dolake_compaction_last_run_timestamp_ms ${this.lastRunAt}`);
    return lines.join("\n") + "\n";
  }
}

/** What a compaction step needs from its Durable Object. */
export interface CompactorHost {
  readonly config: DoLakeConfig;
  readonly storage: DurableObjectStorage;
  catalogContext(): CatalogContext;
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
  timings: { rewriteMs: number; stageMs: number; prepareMs: number; swapMs: number; foldMs: number };
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

/** What commitStep needs: the step's input and result, and its staged position map (mirrors). */
interface CommitArgs {
  host: CompactorHost;
  metrics: CompactionMetrics;
  ident: TableIdent;
  input: CompactionInput;
  result: CompactionResult;
  staged: number | undefined;
}

/**
 * Commits a step's rewrite: prepares the metadata, then swaps the pointer and makes the position
 * map current in one transaction (O(files)). When another commit landed first, commits the same
 * rewrite on top of it if only appends and position deletes landed (those remapped onto the new
 * files, rebase-deletes.ts), at most STEP_ATTEMPTS times; otherwise throws the CommitFailedError
 * (the caller redoes the step). Updates `result.commit` and `result.stats` to what landed.
 */
async function commitStep(a: CommitArgs): Promise<{ prepared: PreparedCommit; deletesRemapped: number; preparedAt: number }> {
  const ctx = a.host.catalogContext();
  const deps = depsOf(ctx);
  const { input, result } = a;
  const outputs = new Set(result.rewrite.added.map((f) => f.filePath));
  const superseded: string[] = [];
  let deletesRemapped = 0;
  for (let rebase = 0; ; rebase++) {
    let prepared: PreparedCommit | undefined;
    try {
      prepared = await prepareCommit(deps, a.ident, result.commit.requirements, result.commit.updates);
      await yieldToEvents();
      const preparedAt = Date.now();
      const p = prepared;
      // O(files): the pointer and the map become current together; no index entry moves here.
      a.host.storage.transactionSync(() => {
        applyPreparedCommit(deps, p);
        if (a.staged !== undefined) commitRemap(a.host.storage.sql, a.staged);
      });
      // The manifests (and remapped deletes) of commits that lost are referenced by nothing.
      for (let i = 0; i < superseded.length; i += 1000) await ctx.bucket.delete(superseded.slice(i, i + 1000).map(input.keyFor)).catch(() => undefined);
      return { prepared: p, deletesRemapped, preparedAt };
    } catch (e) {
      if (prepared) await abandonPreparedCommit(deps, prepared).catch(() => undefined);
      if (!(e instanceof CommitFailedError) || rebase + 1 >= STEP_ATTEMPTS) throw e;
      const lost = input.written.filter((w) => !outputs.has(w) && !superseded.includes(w));
      const now = await loadTable(deps, a.ident);
      const nowFiles = now && (await readTableFiles(now.metadata, input.store, input.keyFor));
      const rebased = now && nowFiles ? await rebaseStep(input, result, now.metadata, nowFiles) : undefined;
      if (!rebased) throw e;
      a.metrics.conflicts++;
      superseded.push(...lost);
      result.commit = rebased.commit;
      result.stats.retiredDeleteFiles = rebased.retiredDeleteFiles;
      deletesRemapped = rebased.deletesRemapped;
    }
  }
}

/**
 * Compacts the first due partition of a table and commits it; undefined when nothing is due.
 * Call between flushes (FlushScheduler.exclusive). Throws when the step fails STEP_ATTEMPTS times.
 */
export async function compactStep(host: CompactorHost, metrics: CompactionMetrics, ident: TableIdent, hooks: StepHooks = {}): Promise<StepReport | undefined> {
  const ctx = host.catalogContext();
  const deps = depsOf(ctx);
  const store = pacedStore(new R2ObjectStore(ctx.bucket));
  const keyFor = (l: string) => keyOf(deps, l);
  const tableKey = [...ident.namespace, ident.name].join(".");
  // Changelogs have no index; a mirror's entries follow their rows through the step's position map.
  const mirror = !ident.name.endsWith(CHANGELOG_SUFFIX);
  const sql = host.storage.sql;
  const storage = { sql, transactionSync: <T>(fn: () => T) => host.storage.transactionSync(fn) };
  await abortLeftUploads(sql, ctx.bucket);
  const uploads = uploadTracker(sql);
  if (mirror) {
    migrateIndex(sql);
    // A map left by a crash: a staged one never committed (its files are orphans), a committed one is folded first,
    // so the files this step rewrites have settled entries (and maps never chain deeper than one step).
    discardStagedRemaps(sql, tableKey);
    await foldRemaps(storage, tableKey, yieldToEvents);
  }
  for (let attempt = 1; ; attempt++) {
    const loaded = await loadTable(deps, ident);
    await yieldToEvents();
    if (!loaded) return undefined;
    const files = await readTableFiles(loaded.metadata, store, keyFor);
    const candidate = files && compactionCandidates(files, host.config.compaction).find((c) => !c.skipped);
    if (!files || !candidate) return undefined;
    const written: string[] = [];
    let prepared: PreparedCommit | undefined;
    let staged: number | undefined;
    let committed = false;
    let deletesRemapped = 0;
    try {
      const t0 = Date.now();
      const stepInput: CompactionInput = {
        metadata: loaded.metadata, files, candidate, store, keyFor, written,
        now: BigInt(Date.now()), snapshotId: newSnapshotId(),
        // Row groups of at most 10,000 rows: the next step (and readers) decode a compacted file a
        // row group at a time, and one row group's decoding is a stretch acks wait through.
        parquet: { compression: host.config.parquetCompression, rowGroupRows: Math.min(host.config.parquetRowGroupSize, COMPACTED_ROW_GROUP_ROWS) },
        targetFileSizeBytes: host.config.compaction.targetFileSizeBytes,
        uploads,
      };
      const result = await compactPartition(stepInput);
      const t1 = Date.now();
      if (mirror) staged = await stageRemap(sql, { tableKey, remap: result.remap, partition: candidate.partition, specId: candidate.specId, pause: yieldToEvents });
      const t2 = Date.now();
      await hooks.beforeCommit?.();
      const landed = await commitStep({ host, metrics, ident, input: stepInput, result, staged });
      prepared = landed.prepared;
      deletesRemapped = landed.deletesRemapped;
      const t3 = landed.preparedAt;
      committed = true;
      const t4 = Date.now();
      await hooks.afterCommit?.();
      const moved = mirror ? (await foldRemaps(storage, tableKey, yieldToEvents)).moved : 0;
      const timings = { rewriteMs: t1 - t0, stageMs: t2 - t1, prepareMs: t3 - t2, swapMs: t4 - t3, foldMs: Date.now() - t4 };
      await deleteDroppedMetadata(deps, prepared!);
      for (let i = 0; i < result.commit.expiredFiles.length; i += 1000) await ctx.bucket.delete(result.commit.expiredFiles.slice(i, i + 1000).map(keyFor));
      const expired = result.commit.updates.find((u) => u.action === "remove-snapshots");
      const snapshotsExpired = expired?.action === "remove-snapshots" ? expired["snapshot-ids"].length : 0;
      const s = result.stats;
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
      return { table: tableKey, partition: describePartition(candidate), snapshotId: String(result.commit.snapshot["snapshot-id"]), snapshotsExpired, indexEntriesMoved: moved, deletesRemapped, timings, ...s };
    } catch (e) {
      // After the swap the step is done: what failed is the fold (the map stays and is translated) or a cleanup.
      if (committed) throw e;
      if (staged !== undefined) discardStagedRemaps(sql, tableKey);
      for (let i = 0; i < written.length; i += 1000) await ctx.bucket.delete(written.slice(i, i + 1000).map(keyFor)).catch(() => undefined);
      if (e instanceof CompactionUnsupportedError) return undefined;
      if (e instanceof CommitFailedError && attempt < STEP_ATTEMPTS) {
        metrics.conflicts++;
        continue;
      }
      metrics.failures++;
      metrics.lastError = `${tableKey}: ${(e as Error).message}`;
      throw e;
    }
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
