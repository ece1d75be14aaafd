/**
 * Where a compaction job stands between its slices, in the object's SQLite (issue 9, "long jobs as
 * resumable steps"): one row per table with the job's plan and cursor (dolake_compaction_jobs), the
 * footer's row-group entries of the output file being written (one row each, appended), the bytes
 * written but not sent as a part yet (under 5 MiB, in rows of at most 1 MiB), and the output files
 * closed (their manifest facts and the upload to complete). The position map so far lives in the
 * primary-key index's staged map (pk-remap.ts). Values go through state-codec (bigints stay bigints).
 */
import type { CompactionStats } from "../iceberg/compaction-slice.js";
import type { ClosedOutput, OutputState } from "../iceberg/compaction-output.js";
import type { JobInput, SliceCursor } from "../iceberg/compaction-slice.js";
import type { PartitionTuple } from "../iceberg/partition.js";
import { decodeState, encodeState } from "../util/state-codec.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dolake_compaction_jobs (table_key TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dolake_compaction_job_groups (table_key TEXT NOT NULL, file_no INTEGER NOT NULL, idx INTEGER NOT NULL, meta TEXT NOT NULL, PRIMARY KEY (table_key, file_no, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dolake_compaction_job_pending (table_key TEXT NOT NULL, file_no INTEGER NOT NULL, part INTEGER NOT NULL, offset INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (table_key, file_no, part, offset)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dolake_compaction_job_outputs (table_key TEXT NOT NULL, n INTEGER NOT NULL, closed TEXT NOT NULL, PRIMARY KEY (table_key, n)) WITHOUT ROWID;
`;

/** Bytes of pending output per SQLite row (rows stay under the 2 MB limit). */
const PENDING_ROW_BYTES = 1024 * 1024;

/** A job's plan and progress (everything but the row groups, pending bytes and closed outputs). */
export interface JobState {
  /** Names the job's output files (`<dir>/<jobId>-c<n>.parquet`). */
  jobId: string;
  baseSnapshotId: bigint;
  /** The base snapshot's sequence number: delete files above it landed during the job. */
  baseSeq: bigint;
  schemaId: number;
  tableUuid: string;
  specId: number;
  partition: PartitionTuple;
  dir: string;
  inputs: Array<JobInput & { seq: bigint }>;
  /** Delete files read at the job's start (their positions in the inputs are dropped). */
  deletes: Array<{ path: string; seq: bigint }>;
  /** Delete files the commit retires (they name only input files). */
  retired: string[];
  cursor: SliceCursor;
  slices: number;
  stats: CompactionStats;
  /** The output's state without the open file's row groups and pending bytes (stored apart). */
  output: OutputState;
  /** The staged position map (mirrors; changelogs have no index). */
  remapId?: number;
  startedAt: number;
  /**
   * Bytes of the open file's pending part this state counts in dolake_compaction_job_pending
   * (rows past it were written by a slice that did not save); absent in states saved before it
   * existed, which count every row.
   */
  pendingSaved?: number;
}

/** Where the open file's pending bytes of a job's state are kept: its file number, part and byte count. */
export interface PendingPlace {
  fileNo: number;
  part: number;
  length: number;
}

/** The pending place of a saved (or just loaded) job; undefined when no file is open. */
export function pendingPlace(job: JobState): PendingPlace | undefined {
  const open = job.output.open;
  return open ? { fileNo: job.output.fileNo - 1, part: open.object.parts.length + 1, length: open.object.pending.length } : undefined;
}

/** Creates the tables (idempotent). */
export function migrateJobs(sql: SqlStorage): void {
  sql.exec(SCHEMA);
}

/** The table's job in progress, with its open file's row groups and pending bytes put back; undefined when none. */
export function loadJob(sql: SqlStorage, tableKey: string): JobState | undefined {
  const row = sql.exec<{ state: string }>("SELECT state FROM dolake_compaction_jobs WHERE table_key = ?", tableKey).toArray()[0];
  if (!row) return undefined;
  const job = decodeState<JobState>(row.state);
  const open = job.output.open;
  if (open) {
    open.writer.rowGroups = sql
      .exec<{ meta: string }>("SELECT meta FROM dolake_compaction_job_groups WHERE table_key = ? AND file_no = ? ORDER BY idx", tableKey, job.output.fileNo - 1)
      .toArray()
      .map((r) => decodeState(r.meta));
    const place = pendingPlace(job)!;
    const chunks = sql
      .exec<{ bytes: ArrayBuffer }>("SELECT bytes FROM dolake_compaction_job_pending WHERE table_key = ? AND file_no = ? AND part = ? ORDER BY offset", tableKey, place.fileNo, place.part)
      .toArray()
      .map((r) => new Uint8Array(r.bytes));
    const pending = new Uint8Array(Math.min(job.pendingSaved ?? Infinity, chunks.reduce((n, c) => n + c.length, 0)));
    let at = 0;
    for (const c of chunks) {
      if (at >= pending.length) break;
      pending.set(c.subarray(0, pending.length - at), at);
      at += c.length;
    }
    open.object.pending = pending;
  }
  return job;
}

/**
 * Writes the open file's pending bytes past what the job's saved state held (`saved`, its pending
 * place before the slice), one row of at most 1 MiB at a time with `pause()` between: outside
 * saveJob's transaction, so a slice's end is not one long stretch. Rows past the saved count are
 * ignored by loadJob until saveJob counts them: a crash in between leaves the saved state whole.
 */
export async function savePending(sql: SqlStorage, tableKey: string, job: JobState, saved: PendingPlace | undefined, pause: () => Promise<void>): Promise<void> {
  const now = pendingPlace(job);
  if (!now) return;
  const p = job.output.open!.object.pending;
  const from = saved && saved.fileNo === now.fileNo && saved.part === now.part ? saved.length : 0;
  sql.exec("DELETE FROM dolake_compaction_job_pending WHERE table_key = ? AND file_no = ? AND part = ? AND offset >= ?", tableKey, now.fileNo, now.part, from);
  for (let at = from; at < p.length; at += PENDING_ROW_BYTES) {
    sql.exec("INSERT INTO dolake_compaction_job_pending (table_key, file_no, part, offset, bytes) VALUES (?, ?, ?, ?, ?)", tableKey, now.fileNo, now.part, at, p.slice(at, Math.min(p.length, at + PENDING_ROW_BYTES)));
    await pause();
  }
}

/**
 * Saves a job after a slice: its state, the open file's row groups not saved yet, the count of
 * its pending bytes (savePending must have written them; the rows of an earlier part go) and the
 * outputs the slice closed. Call inside a transaction with the slice's position map, so a crash
 * leaves the previous slice's state whole.
 */
export function saveJob(sql: SqlStorage, tableKey: string, job: JobState, closed: ClosedOutput[]): void {
  const open = job.output.open;
  const { output } = job;
  const slim: JobState = { ...job, pendingSaved: open?.object.pending.length ?? 0, output: { ordinal: output.ordinal, fileNo: output.fileNo, ...(open ? { open: { ...open, writer: { ...open.writer, rowGroups: [] }, object: { ...open.object, pending: new Uint8Array(0) } } } : {}) } };
  sql.exec("INSERT INTO dolake_compaction_jobs (table_key, state) VALUES (?, ?) ON CONFLICT (table_key) DO UPDATE SET state = excluded.state", tableKey, encodeState(slim));
  // The open file is the last one numbered (CompactionOutput numbers a file when it opens it).
  const openNo = output.fileNo - 1;
  sql.exec("DELETE FROM dolake_compaction_job_groups WHERE table_key = ? AND file_no <> ?", tableKey, open ? openNo : -1);
  if (open) {
    const have = Number(sql.exec<{ n: number }>("SELECT count(*) AS n FROM dolake_compaction_job_groups WHERE table_key = ? AND file_no = ?", tableKey, openNo).one().n);
    open.writer.rowGroups.forEach((g, i) => {
      if (i >= have) sql.exec("INSERT INTO dolake_compaction_job_groups (table_key, file_no, idx, meta) VALUES (?, ?, ?, ?)", tableKey, openNo, i, encodeState(g));
    });
    // The pending bytes are the start of the next part: savePending wrote what this slice added
    // (rows of an earlier part, sent since, are dropped here), so a slice writes its own output once.
    const { part, length } = pendingPlace(job)!;
    sql.exec("DELETE FROM dolake_compaction_job_pending WHERE table_key = ? AND (file_no <> ? OR part <> ?)", tableKey, openNo, part);
    const stored = Number(sql.exec<{ n: number }>("SELECT coalesce(sum(length(bytes)), 0) AS n FROM dolake_compaction_job_pending WHERE table_key = ?", tableKey).one().n);
    if (stored !== length) throw new Error(`compaction job ${job.jobId}: ${stored} pending bytes saved but ${length} pending (savePending first)`);
  } else sql.exec("DELETE FROM dolake_compaction_job_pending WHERE table_key = ?", tableKey);
  const done = Number(sql.exec<{ n: number }>("SELECT count(*) AS n FROM dolake_compaction_job_outputs WHERE table_key = ?", tableKey).one().n);
  closed.forEach((c, i) => sql.exec("INSERT OR REPLACE INTO dolake_compaction_job_outputs (table_key, n, closed) VALUES (?, ?, ?)", tableKey, done + i, encodeState(c)));
}

/** The output files the job closed so far, in order. */
export function closedOutputs(sql: SqlStorage, tableKey: string): ClosedOutput[] {
  return sql.exec<{ closed: string }>("SELECT closed FROM dolake_compaction_job_outputs WHERE table_key = ? ORDER BY n", tableKey).toArray().map((r) => decodeState<ClosedOutput>(r.closed));
}

/** Forgets the table's job (it committed or was aborted). */
export function dropJob(sql: SqlStorage, tableKey: string): void {
  for (const t of ["dolake_compaction_jobs", "dolake_compaction_job_groups", "dolake_compaction_job_pending", "dolake_compaction_job_outputs"]) sql.exec(`DELETE FROM ${t} WHERE table_key = ?`, tableKey);
}

/** Upload ids every job in progress still needs (the others a crash left are aborted). */
export function jobUploadIds(sql: SqlStorage): Set<string> {
  const ids = new Set<string>();
  for (const r of sql.exec<{ table_key: string; state: string }>("SELECT table_key, state FROM dolake_compaction_jobs").toArray()) {
    const job = decodeState<JobState>(r.state);
    const open = job.output.open?.object.uploadId;
    if (open) ids.add(open);
    for (const c of closedOutputs(sql, r.table_key)) if (c.object.uploadId) ids.add(c.object.uploadId);
  }
  return ids;
}
