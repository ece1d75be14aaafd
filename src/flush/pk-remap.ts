/**
 * Position maps of compactions, so the primary-key index follows a rewrite without moving every
 * entry in the pointer swap's transaction (issue 9; Moonlink keeps such a map too).
 *
 * A compaction step stages, before it commits and in small writes between yields, where each row
 * of the files it rewrites went: per old file, segments of SEGMENT positions as a blob of int32
 * output ordinals (-1 = the row was dropped as deleted), and its output files with their first
 * ordinal. The swap's transaction then only marks the compaction committed and its old files
 * retired (`cdc_pk_files.retired_by`): O(files), not O(rows). From that instant every reader of
 * the index (`SqlPrimaryKeyIndex.lookup`, `forgetPositions`) translates an entry whose file is
 * retired through the map, so the index is never half-applied from a reader's point of view.
 * `foldRemaps` then moves the entries to their new files in chunks of FOLD_CHUNK, each chunk its
 * own transaction (equivalent before and after), and drops the map when no entry names an old
 * file. A crash at any point leaves either a staged map (discarded by the next step) or a
 * committed one (translated until the next step folds it).
 */
import type { PositionRemap } from "../iceberg/compaction.js";
import { encodeTuple, type PartitionTuple } from "../iceberg/partition.js";

/** Positions per map segment: one blob of 4 bytes each (64 KiB; SQLite rows stay far below 2 MB). */
export const SEGMENT = 16_384;
/**
 * Index entries moved per fold transaction (about 5 µs each, plus the transaction's commit: a
 * stretch of 3-4 ms under wrangler dev). The commits were most of the fold's time at 50 a chunk:
 * at 250, a 400,000-row table's whole pass took 35-37 s instead of 70 s (bench/compaction/RESULTS.md).
 */
export const FOLD_CHUNK = 250;
/** Rows per UPDATE ... FROM (VALUES ...): 2 parameters each, plus the file id and the table key. */
const REMAP_CHUNK = 49;

/** Tables and index of the maps (created by the primary-key index's migration). */
export const REMAP_SCHEMA = `
CREATE TABLE IF NOT EXISTS cdc_pk_compactions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  table_key TEXT NOT NULL,
  committed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cdc_pk_remap (
  file_id INTEGER NOT NULL,
  seg INTEGER NOT NULL,
  compaction_id INTEGER NOT NULL,
  min_ord INTEGER NOT NULL,
  max_ord INTEGER NOT NULL,
  targets BLOB NOT NULL,
  PRIMARY KEY (file_id, seg)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cdc_pk_outputs (
  compaction_id INTEGER NOT NULL,
  first INTEGER NOT NULL,
  count INTEGER NOT NULL,
  file_id INTEGER NOT NULL,
  PRIMARY KEY (compaction_id, first)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cdc_pk_index_by_file ON cdc_pk_index (file_id, pos);
`;

/** A location by file id. */
export interface FilePos {
  fileId: number;
  pos: number;
}

/** Reads the committed maps, caching segments and outputs for the life of one lookup. */
export class RemapReader {
  private readonly segments = new Map<string, Int32Array | null>();
  private readonly outputs = new Map<number, Array<{ first: number; count: number; fileId: number }>>();
  private readonly retired = new Map<number, number | null>();
  constructor(private readonly sql: SqlStorage) {}

  /** The compaction that retired this file, or null while it is live. */
  retiredBy(fileId: number): number | null {
    let r = this.retired.get(fileId);
    if (r === undefined) {
      const row = this.sql.exec<{ retired_by: number | null }>("SELECT retired_by FROM cdc_pk_files WHERE id = ?", fileId).toArray()[0];
      r = row?.retired_by ?? null;
      this.retired.set(fileId, r === null ? null : Number(r));
    }
    return r;
  }

  /**
   * Where the row at (a retired file, pos) is now, following later compactions of the output;
   * null when a compaction dropped it as deleted.
   */
  forward(at: FilePos, retiredBy: number): FilePos | null {
    let { fileId, pos } = at;
    for (let by: number | null = retiredBy; by !== null; by = this.retiredBy(fileId)) {
      const seg = this.segment(fileId, Math.floor(pos / SEGMENT));
      const ordinal = seg && pos >= 0 ? (seg[pos % SEGMENT] ?? -1) : -1;
      if (ordinal < 0) return null;
      const outs = this.outputsOf(by);
      let lo = 0;
      let hi = outs.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (outs[mid]!.first <= ordinal) lo = mid;
        else hi = mid - 1;
      }
      const out = outs[lo];
      if (!out || ordinal >= out.first + out.count) return null;
      fileId = out.fileId;
      pos = ordinal - out.first;
    }
    return { fileId, pos };
  }

  /**
   * Every earlier location of the row now at (fileId, pos) whose map is not folded yet (an index
   * entry may still name any of them), newest first, not including (fileId, pos) itself.
   */
  backward(at: FilePos): FilePos[] {
    const found: FilePos[] = [];
    for (let cur: FilePos | undefined = at; cur; ) {
      const out: { compaction_id: number; first: number } | undefined = this.sql
        .exec<{ compaction_id: number; first: number }>(
          "SELECT o.compaction_id, o.first FROM cdc_pk_outputs o JOIN cdc_pk_compactions c ON c.id = o.compaction_id WHERE o.file_id = ? AND c.committed = 1",
          cur.fileId,
        )
        .toArray()[0];
      if (!out) break;
      const ordinal = Number(out.first) + cur.pos;
      const segs: Array<{ file_id: number; seg: number; targets: ArrayBuffer }> = this.sql
        .exec<{ file_id: number; seg: number; targets: ArrayBuffer }>(
          "SELECT file_id, seg, targets FROM cdc_pk_remap WHERE compaction_id = ? AND min_ord <= ? AND max_ord >= ?",
          out.compaction_id,
          ordinal,
          ordinal,
        )
        .toArray();
      cur = undefined;
      for (const s of segs) {
        const i = new Int32Array(s.targets).indexOf(ordinal);
        if (i >= 0) {
          cur = { fileId: Number(s.file_id), pos: Number(s.seg) * SEGMENT + i };
          found.push(cur);
          break;
        }
      }
    }
    return found;
  }

  private segment(fileId: number, seg: number): Int32Array | null {
    const key = `${fileId}:${seg}`;
    let s = this.segments.get(key);
    if (s === undefined) {
      const row = this.sql.exec<{ targets: ArrayBuffer }>("SELECT targets FROM cdc_pk_remap WHERE file_id = ? AND seg = ?", fileId, seg).toArray()[0];
      s = row ? new Int32Array(row.targets) : null;
      this.segments.set(key, s);
    }
    return s;
  }

  private outputsOf(compactionId: number): Array<{ first: number; count: number; fileId: number }> {
    let o = this.outputs.get(compactionId);
    if (!o) {
      o = this.sql
        .exec<{ first: number; count: number; file_id: number }>("SELECT first, count, file_id FROM cdc_pk_outputs WHERE compaction_id = ? ORDER BY first", compactionId)
        .toArray()
        .map((r) => ({ first: Number(r.first), count: Number(r.count), fileId: Number(r.file_id) }));
      this.outputs.set(compactionId, o);
    }
    return o;
  }
}

/** Where a compaction's map is staged, and its partition (for the new files' index rows). */
export interface StageInput {
  tableKey: string;
  remap: PositionRemap;
  partition: PartitionTuple | undefined;
  specId: number;
  /** Called between writes (a macrotask yield, so acks are answered). */
  pause: () => Promise<void>;
}

/** Bytes of map written between two pauses. */
const STAGE_BYTES_PER_PAUSE = 256 * 1024;

/** Stages a compaction's map (not yet visible: the swap's transaction calls commitRemap). Returns its id. */
export async function stageRemap(sql: SqlStorage, input: StageInput): Promise<number> {
  const id = Number(sql.exec<{ id: number }>("INSERT INTO cdc_pk_compactions (table_key) VALUES (?) RETURNING id", input.tableKey).one().id);
  const partition = input.partition ? encodeTuple(input.partition) : null;
  for (const out of input.remap.outputs) {
    sql.exec("INSERT OR IGNORE INTO cdc_pk_files (path, partition, spec_id) VALUES (?, ?, ?)", out.path, partition, input.specId);
    const fileId = Number(sql.exec<{ id: number }>("SELECT id FROM cdc_pk_files WHERE path = ?", out.path).one().id);
    sql.exec("INSERT INTO cdc_pk_outputs (compaction_id, first, count, file_id) VALUES (?, ?, ?, ?)", id, out.first, out.count, fileId);
  }
  let sincePause = 0;
  for (const [path, targets] of input.remap.targets) {
    // A file no entry ever named has no row in cdc_pk_files: nothing to translate.
    const row = sql.exec<{ id: number }>("SELECT id FROM cdc_pk_files WHERE path = ?", path).toArray()[0];
    if (!row) continue;
    // Every segment is stored, even one of deleted rows only: a retired file's missing segment reads as "deleted".
    for (let seg = 0; seg * SEGMENT < Math.max(targets.length, 1); seg++) {
      const part = targets.slice(seg * SEGMENT, (seg + 1) * SEGMENT);
      let min = -1;
      let max = -1;
      for (const o of part) if (o >= 0) { if (min < 0) min = o; max = o; }
      sql.exec("INSERT OR REPLACE INTO cdc_pk_remap (file_id, seg, compaction_id, min_ord, max_ord, targets) VALUES (?, ?, ?, ?, ?, ?)", Number(row.id), seg, id, min, max, new Uint8Array(part.buffer));
      sincePause += part.byteLength;
      if (sincePause >= STAGE_BYTES_PER_PAUSE) {
        sincePause = 0;
        await input.pause();
      }
    }
  }
  return id;
}

/** Makes a staged map current: call inside the transactionSync that swaps the table's pointer (O(files)). */
export function commitRemap(sql: SqlStorage, compactionId: number): void {
  sql.exec("UPDATE cdc_pk_compactions SET committed = 1 WHERE id = ?", compactionId);
  sql.exec("UPDATE cdc_pk_files SET retired_by = ? WHERE id IN (SELECT file_id FROM cdc_pk_remap WHERE compaction_id = ?)", compactionId, compactionId);
}

/** Forgets staged maps that never committed (a failed step, or one a crash interrupted). */
export function discardStagedRemaps(sql: SqlStorage, tableKey?: string): void {
  const ids = sql
    .exec<{ id: number }>(`SELECT id FROM cdc_pk_compactions WHERE committed = 0${tableKey === undefined ? "" : " AND table_key = ?"}`, ...(tableKey === undefined ? [] : [tableKey]))
    .toArray()
    .map((r) => Number(r.id));
  for (const id of ids) dropRemap(sql, id, true);
}

function dropRemap(sql: SqlStorage, id: number, outputsToo: boolean): void {
  // The output files of a staged map hold no entry: their index rows go with it.
  if (outputsToo) sql.exec("DELETE FROM cdc_pk_files WHERE id IN (SELECT file_id FROM cdc_pk_outputs WHERE compaction_id = ?) AND NOT EXISTS (SELECT 1 FROM cdc_pk_index i WHERE i.file_id = cdc_pk_files.id)", id);
  sql.exec("DELETE FROM cdc_pk_remap WHERE compaction_id = ?", id);
  sql.exec("DELETE FROM cdc_pk_outputs WHERE compaction_id = ?", id);
  sql.exec("DELETE FROM cdc_pk_compactions WHERE id = ?", id);
}

/** What the fold needs from the object. */
export interface FoldHost {
  sql: SqlStorage;
  transactionSync<T>(fn: () => T): T;
}

/**
 * Moves the index entries that name files retired by a committed compaction of the table to their
 * rows' new places, FOLD_CHUNK entries per transaction with a pause between, then drops the maps.
 * Returns the entries moved and dropped (dropped: entries of rows a compaction removed as deleted;
 * none in a consistent index). Safe to stop at any point: the rest is still translated. With
 * `limit`, returns (done: false) once about that many entries were moved.
 */
export async function foldRemaps(host: FoldHost, tableKey: string, pause: () => Promise<void>, limit = Infinity): Promise<{ moved: number; dropped: number; done: boolean }> {
  const { sql } = host;
  let moved = 0;
  let dropped = 0;
  const compactions = sql.exec<{ id: number }>("SELECT id FROM cdc_pk_compactions WHERE table_key = ? AND committed = 1 ORDER BY id", tableKey).toArray().map((r) => Number(r.id));
  for (const c of compactions) {
    const files = sql.exec<{ id: number }>("SELECT id FROM cdc_pk_files WHERE retired_by = ?", c).toArray().map((r) => Number(r.id));
    for (const fileId of files) {
      // One reader for the file's chunks: its map segments are read once, not once a chunk (a
      // committed map does not change; maps are only staged and committed under the flush lock
      // this fold runs in). It holds 4 bytes per row of the file.
      const reader = new RemapReader(sql);
      for (;;) {
        const n = host.transactionSync(() => {
          const rows = sql.exec<{ row_id: string; pos: number }>("SELECT row_id, pos FROM cdc_pk_index WHERE file_id = ? LIMIT ?", fileId, FOLD_CHUNK).toArray();
          if (rows.length === 0) {
            sql.exec("DELETE FROM cdc_pk_remap WHERE file_id = ?", fileId);
            sql.exec("DELETE FROM cdc_pk_files WHERE id = ?", fileId);
            return 0;
          }
          const byFile = new Map<number, Array<[string, number]>>();
          const gone: string[] = [];
          for (const r of rows) {
            const to = reader.forward({ fileId, pos: Number(r.pos) }, c);
            if (!to) {
              gone.push(r.row_id);
              continue;
            }
            let list = byFile.get(to.fileId);
            if (!list) byFile.set(to.fileId, (list = []));
            list.push([r.row_id, to.pos]);
          }
          for (const [to, moves] of byFile) {
            for (let j = 0; j < moves.length; j += REMAP_CHUNK) {
              const part = moves.slice(j, j + REMAP_CHUNK);
              sql.exec(
                `UPDATE cdc_pk_index SET file_id = ?, pos = v.column2 FROM (VALUES ${part.map(() => "(?, ?)").join(",")}) AS v WHERE cdc_pk_index.table_key = ? AND cdc_pk_index.row_id = v.column1`,
                to,
                ...part.flat(),
                tableKey,
              );
            }
            moved += moves.length;
          }
          for (let j = 0; j < gone.length; j += 98) {
            const part = gone.slice(j, j + 98);
            sql.exec(`DELETE FROM cdc_pk_index WHERE table_key = ? AND row_id IN (${part.map(() => "?").join(",")})`, tableKey, ...part);
          }
          dropped += gone.length;
          return rows.length;
        });
        if (n === 0) break;
        await pause();
        // A portion done: the rest is still read through the map (the caller goes on later).
        if (moved + dropped >= limit) return { moved, dropped, done: false };
      }
    }
    host.transactionSync(() => dropRemap(sql, c, false));
  }
  return { moved, dropped, done: true };
}

/** True while a committed map of the table is not folded yet. */
export function hasUnfoldedRemap(sql: SqlStorage, tableKey: string): boolean {
  return sql.exec("SELECT 1 FROM cdc_pk_compactions WHERE table_key = ? AND committed = 1 LIMIT 1", tableKey).toArray().length > 0;
}

/** Forgets the maps of a dropped table (inside the drop's transaction). */
export function forgetTableRemaps(sql: SqlStorage, tableKey: string): void {
  for (const r of sql.exec<{ id: number }>("SELECT id FROM cdc_pk_compactions WHERE table_key = ?", tableKey).toArray()) {
    sql.exec("DELETE FROM cdc_pk_files WHERE retired_by = ?", Number(r.id));
    dropRemap(sql, Number(r.id), true);
  }
}

/** Moves the maps of a renamed table to its new key. */
export function moveTableRemaps(sql: SqlStorage, fromKey: string, toKey: string): void {
  forgetTableRemaps(sql, toKey);
  sql.exec("UPDATE cdc_pk_compactions SET table_key = ? WHERE table_key = ?", toKey, fromKey);
}

/** Starts a map a compaction job fills slice by slice (staged: invisible until commitRemap). Returns its id. */
export function beginStagedRemap(sql: SqlStorage, tableKey: string): number {
  return Number(sql.exec<{ id: number }>("INSERT INTO cdc_pk_compactions (table_key) VALUES (?) RETURNING id", tableKey).one().id);
}

function fileIdOf(sql: SqlStorage, path: string, partition: string | null, specId: number): number {
  sql.exec("INSERT OR IGNORE INTO cdc_pk_files (path, partition, spec_id) VALUES (?, ?, ?)", path, partition, specId);
  return Number(sql.exec<{ id: number }>("SELECT id FROM cdc_pk_files WHERE path = ?", path).one().id);
}

/**
 * Stages the map of input rows [from, to) a job's slice read (the segments they fall in, written
 * whole: a segment a later slice goes on with is written again). Every input file gets a file row,
 * so every rewritten row can be located at the job's commit (rebase of deletes landed meanwhile).
 */
export function stageSliceTargets(sql: SqlStorage, id: number, t: { path: string; targets: Int32Array; from: number; to: number }, partition: PartitionTuple | undefined, specId: number): void {
  const fileId = fileIdOf(sql, t.path, partition ? encodeTuple(partition) : null, specId);
  const last = Math.max(0, Math.ceil(t.to / SEGMENT) - 1);
  for (let seg = Math.floor(t.from / SEGMENT); seg <= last; seg++) {
    const part = t.targets.slice(seg * SEGMENT, (seg + 1) * SEGMENT);
    let min = -1;
    let max = -1;
    for (const o of part) if (o >= 0) { if (min < 0) min = o; max = o; }
    sql.exec("INSERT OR REPLACE INTO cdc_pk_remap (file_id, seg, compaction_id, min_ord, max_ord, targets) VALUES (?, ?, ?, ?, ?, ?)", fileId, seg, id, min, max, new Uint8Array(part.buffer));
  }
}

/** Stages the output files a job's slice closed (their ordinal ranges). */
export function stageOutputs(sql: SqlStorage, id: number, outputs: Array<{ path: string; first: number; count: number }>, partition: PartitionTuple | undefined, specId: number): void {
  for (const out of outputs) {
    const fileId = fileIdOf(sql, out.path, partition ? encodeTuple(partition) : null, specId);
    sql.exec("INSERT OR REPLACE INTO cdc_pk_outputs (compaction_id, first, count, file_id) VALUES (?, ?, ?, ?)", id, out.first, out.count, fileId);
  }
}

/** The staged map of an input file read part-way (positions not read yet are -1). */
export function stagedTargets(sql: SqlStorage, id: number, path: string, rows: number): Int32Array {
  const out = new Int32Array(rows).fill(-1);
  for (const r of sql.exec<{ seg: number; targets: ArrayBuffer }>("SELECT r.seg, r.targets FROM cdc_pk_remap r JOIN cdc_pk_files f ON f.id = r.file_id WHERE f.path = ? AND r.compaction_id = ?", path, id).toArray()) {
    const seg = new Int32Array(r.targets.slice(0));
    out.set(seg.subarray(0, Math.max(0, Math.min(seg.length, rows - Number(r.seg) * SEGMENT))), Number(r.seg) * SEGMENT);
  }
  return out;
}

/** Where a staged map sends (input file, position): a location, null for a dropped row, undefined when the map has no such row. */
export function locateStaged(sql: SqlStorage, id: number, path: string, pos: number): { filePath: string; pos: number } | null | undefined {
  const row = sql.exec<{ targets: ArrayBuffer }>("SELECT r.targets FROM cdc_pk_remap r JOIN cdc_pk_files f ON f.id = r.file_id WHERE f.path = ? AND r.seg = ? AND r.compaction_id = ?", path, Math.floor(pos / SEGMENT), id).toArray()[0];
  if (!row || pos < 0) return undefined;
  const i = pos % SEGMENT;
  const seg = new Int32Array(row.targets.slice(0));
  if (i >= seg.length) return undefined;
  const ordinal = seg[i]!;
  if (ordinal < 0) return null;
  const out = sql
    .exec<{ first: number; path: string }>("SELECT o.first, f.path FROM cdc_pk_outputs o JOIN cdc_pk_files f ON f.id = o.file_id WHERE o.compaction_id = ? AND o.first <= ? ORDER BY o.first DESC LIMIT 1", id, ordinal)
    .toArray()[0];
  return out ? { filePath: out.path, pos: ordinal - Number(out.first) } : undefined;
}
