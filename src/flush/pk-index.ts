/**
 * The primary-key index: for each mirror table, row id -> the data file and position holding the
 * row's current version. UPDATE/DELETE become position deletes against that location. Lives in
 * the Durable Object's SQLite and changes only inside the flush's commit transaction.
 * Each file also keeps its partition tuple and spec id, so a flush that deletes rows knows the
 * delete file's partition without reading the table's manifests (files indexed before these
 * columns existed have NULLs there; the writer then falls back to the manifests).
 */
import type { PrimaryKeyIndex, RowLocation } from "../iceberg/cdc-writer.js";
import { remapPosition, type PositionRemap } from "../iceberg/compaction.js";
import { decodeTuple, encodeTuple } from "../iceberg/partition.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cdc_pk_files (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  path TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS cdc_pk_index (
  table_key TEXT NOT NULL,
  row_id TEXT NOT NULL,
  file_id INTEGER NOT NULL,
  pos INTEGER NOT NULL,
  PRIMARY KEY (table_key, row_id)
) WITHOUT ROWID;
`;

/** Columns added after the first release, migrated in place (old rows keep NULL). */
const ADDED_FILE_COLUMNS: [string, string][] = [
  ["partition", "TEXT"],
  ["spec_id", "INTEGER"],
];

const migrated = new WeakSet<SqlStorage>();

function migrate(sql: SqlStorage): void {
  if (migrated.has(sql)) return;
  sql.exec(SCHEMA);
  const have = new Set(sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('cdc_pk_files')").toArray().map((c) => c.name));
  for (const [name, type] of ADDED_FILE_COLUMNS) if (!have.has(name)) sql.exec(`ALTER TABLE cdc_pk_files ADD COLUMN ${name} ${type}`);
  migrated.add(sql);
}

/** Row ids per lookup statement (they travel as one JSON array, so the 100-parameter limit does not apply). */
const LOOKUP_CHUNK = 5_000;
/** Index rows per write statement of a flush's commit (one JSON array each). */
const WRITE_CHUNK = 5_000;
/** DO SQL statements bind at most 100 parameters: file ids per statement of a remap. */
const FILE_CHUNK = 90;
/** Rows per remap statement: 2 parameters each, plus the file id and the table key. */
const REMAP_CHUNK = 49;

/** Forgets the index of a table ("namespace.table") that was dropped. Call inside the drop's transaction. */
export function forgetTableIndex(sql: SqlStorage, tableKey: string): void {
  sql.exec(SCHEMA);
  sql.exec("DELETE FROM cdc_pk_index WHERE table_key = ?", tableKey);
}

/** Moves the index of a renamed table to its new key (its files stay where they are). */
export function moveTableIndex(sql: SqlStorage, fromKey: string, toKey: string): void {
  sql.exec(SCHEMA);
  sql.exec("DELETE FROM cdc_pk_index WHERE table_key = ?", toKey);
  sql.exec("UPDATE cdc_pk_index SET table_key = ? WHERE table_key = ?", toKey, fromKey);
}

/** The index of one table ("namespace.table"). */
export class SqlPrimaryKeyIndex implements PrimaryKeyIndex {
  constructor(
    private readonly sql: SqlStorage,
    private readonly tableKey: string,
  ) {
    migrate(sql);
  }

  /** Locations of the known row ids. */
  lookup(rowIds: string[]): Map<string, RowLocation> {
    const out = new Map<string, RowLocation>();
    const unique = [...new Set(rowIds)];
    for (let i = 0; i < unique.length; i += LOOKUP_CHUNK) {
      const chunk = unique.slice(i, i + LOOKUP_CHUNK);
      // One statement per chunk: the ids travel as one JSON array (a statement binds at most 100 values).
      const rows = this.sql.exec<{ row_id: string; path: string; pos: string; partition: string | null; spec_id: number | null }>(
        `SELECT i.row_id, f.path, CAST(i.pos AS TEXT) AS pos, f.partition, f.spec_id FROM cdc_pk_index i JOIN cdc_pk_files f ON f.id = i.file_id
         WHERE i.table_key = ? AND i.row_id IN (SELECT value FROM json_each(?))`,
        this.tableKey,
        JSON.stringify(chunk),
      );
      for (const r of rows) {
        const loc: RowLocation = { filePath: r.path, pos: BigInt(r.pos) };
        if (r.partition !== null) loc.partition = decodeTuple(r.partition);
        if (r.spec_id !== null) loc.specId = Number(r.spec_id);
        out.set(r.row_id, loc);
      }
    }
    return out;
  }

  /** True while the index holds any live row of this table (it is a CDC mirror). */
  tracksRows(): boolean {
    return this.sql.exec("SELECT 1 FROM cdc_pk_index WHERE table_key = ? LIMIT 1", this.tableKey).toArray().length > 0;
  }

  /** Forgets the rows at these positions (deleted by another engine). Call inside the commit's transactionSync. */
  forgetPositions(positions: ReadonlyArray<{ filePath: string; pos: bigint }>): void {
    for (const p of positions) {
      this.sql.exec(
        "DELETE FROM cdc_pk_index WHERE table_key = ? AND file_id = (SELECT id FROM cdc_pk_files WHERE path = ?) AND pos = CAST(? AS INTEGER)",
        this.tableKey,
        p.filePath,
        p.pos.toString(),
      );
    }
  }

  /** Applies a flush's index changes. Call inside the commit's transactionSync. */
  apply(upserts: Map<string, RowLocation>, deletes: string[]): void {
    const fileIds = new Map<string, number>();
    for (const loc of upserts.values()) {
      if (fileIds.has(loc.filePath)) continue;
      this.sql.exec(
        "INSERT OR IGNORE INTO cdc_pk_files (path, partition, spec_id) VALUES (?, ?, ?)",
        loc.filePath,
        loc.partition ? encodeTuple(loc.partition) : null,
        loc.specId ?? null,
      );
      fileIds.set(loc.filePath, Number(this.sql.exec<{ id: number }>("SELECT id FROM cdc_pk_files WHERE path = ?", loc.filePath).one().id));
    }
    // Thousands of rows per statement, as one JSON array each: this runs inside the commit's
    // transaction, the one part of a flush that cannot yield to acks (bench/flush/RESULTS.md:
    // 25 rows per statement of bound values cost ~2x as much). json_each is read as a plain scan
    // here, not joined against the index (the quadratic UPDATE ... FROM json_each case).
    for (let i = 0; i < deletes.length; i += WRITE_CHUNK) {
      this.sql.exec("DELETE FROM cdc_pk_index WHERE table_key = ? AND row_id IN (SELECT value FROM json_each(?))", this.tableKey, JSON.stringify(deletes.slice(i, i + WRITE_CHUNK)));
    }
    const entries: Array<[string, number, string]> = [];
    for (const [rowId, loc] of upserts) entries.push([rowId, fileIds.get(loc.filePath)!, loc.pos.toString()]);
    for (let i = 0; i < entries.length; i += WRITE_CHUNK) {
      this.sql.exec(
        `INSERT OR REPLACE INTO cdc_pk_index (table_key, row_id, file_id, pos)
         SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), CAST(json_extract(value, '$[2]') AS INTEGER) FROM json_each(?)`,
        this.tableKey,
        JSON.stringify(entries.slice(i, i + WRITE_CHUNK)),
      );
    }
  }

  /**
   * Moves the entries of files a compaction rewrote to where their rows now are (compaction.ts),
   * and forgets the rewritten files. Call inside the transactionSync that swaps the pointer.
   * Entries at positions the compaction dropped as deleted are removed (none in a consistent index).
   */
  remap(remap: PositionRemap, partition: RowLocation["partition"], specId: number): { moved: number; dropped: number } {
    const newIds = new Map<string, number>();
    for (const out of remap.outputs) {
      this.sql.exec("INSERT OR IGNORE INTO cdc_pk_files (path, partition, spec_id) VALUES (?, ?, ?)", out.path, partition ? encodeTuple(partition) : null, specId);
      newIds.set(out.path, Number(this.sql.exec<{ id: number }>("SELECT id FROM cdc_pk_files WHERE path = ?", out.path).one().id));
    }
    const oldFiles = new Map<number, string>();
    for (const path of remap.targets.keys()) {
      const row = this.sql.exec<{ id: number }>("SELECT id FROM cdc_pk_files WHERE path = ?", path).toArray()[0];
      if (row) oldFiles.set(Number(row.id), path);
    }
    const ids = [...oldFiles.keys()];
    let moved = 0;
    let dropped = 0;
    for (let i = 0; i < ids.length; i += FILE_CHUNK) {
      const chunk = ids.slice(i, i + FILE_CHUNK);
      const rows = this.sql
        .exec<{ row_id: string; file_id: number; pos_text: string }>(
          `SELECT row_id, file_id, CAST(pos AS TEXT) AS pos_text FROM cdc_pk_index WHERE table_key = ? AND file_id IN (${chunk.map(() => "?").join(",")})`,
          this.tableKey,
          ...chunk,
        )
        .toArray();
      // Moves grouped by new file, sent as UPDATE ... FROM (VALUES ...): 49 rows a statement instead
      // of one statement a row (a 65k-row step spent 0.9 s in this transaction that way).
      const byFile = new Map<number, Array<[string, string]>>();
      for (const r of rows) {
        const to = remapPosition(remap, oldFiles.get(Number(r.file_id))!, Number(r.pos_text));
        if (!to) {
          this.sql.exec("DELETE FROM cdc_pk_index WHERE table_key = ? AND row_id = ?", this.tableKey, r.row_id);
          dropped++;
          continue;
        }
        const id = newIds.get(to.filePath)!;
        let list = byFile.get(id);
        if (!list) byFile.set(id, (list = []));
        list.push([r.row_id, String(to.pos)]);
        moved++;
      }
      for (const [fileId, moves] of byFile) {
        for (let j = 0; j < moves.length; j += REMAP_CHUNK) {
          const part = moves.slice(j, j + REMAP_CHUNK);
          this.sql.exec(
            `UPDATE cdc_pk_index SET file_id = ?, pos = v.column2 FROM (VALUES ${part.map(() => "(?, CAST(? AS INTEGER))").join(",")}) AS v WHERE cdc_pk_index.table_key = ? AND cdc_pk_index.row_id = v.column1`,
            fileId,
            ...part.flat(),
            this.tableKey,
          );
        }
      }
      this.sql.exec(`DELETE FROM cdc_pk_files WHERE id IN (${chunk.map(() => "?").join(",")})`, ...chunk);
    }
    return { moved, dropped };
  }
}
