/**
 * The primary-key index: for each mirror table, row id -> the data file and position holding the
 * row's current version. UPDATE/DELETE become position deletes against that location. Lives in
 * the Durable Object's SQLite and changes only inside the flush's commit transaction.
 * Each file also keeps its partition tuple and spec id, so a flush that deletes rows knows the
 * delete file's partition without reading the table's manifests (files indexed before these
 * columns existed have NULLs there; the writer then falls back to the manifests).
 * Entries of files a compaction rewrote are translated through its position map until they are
 * folded (src/flush/pk-remap.ts): readers always see where each row is now.
 */
import type { PrimaryKeyIndex, RowLocation } from "../iceberg/cdc-writer.js";
import { decodeTuple, encodeTuple } from "../iceberg/partition.js";
import { forgetTableRemaps, moveTableRemaps, REMAP_SCHEMA, RemapReader } from "./pk-remap.js";

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
  // The compaction that rewrote the file (its entries are translated through that map until folded).
  ["retired_by", "INTEGER"],
];

const migrated = new WeakSet<SqlStorage>();

/** Creates (or migrates) the index's tables, the compaction maps' included; cheap after the first call. */
export function migrate(sql: SqlStorage): void {
  if (migrated.has(sql)) return;
  sql.exec(SCHEMA);
  const have = new Set(sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('cdc_pk_files')").toArray().map((c) => c.name));
  for (const [name, type] of ADDED_FILE_COLUMNS) if (!have.has(name)) sql.exec(`ALTER TABLE cdc_pk_files ADD COLUMN ${name} ${type}`);
  sql.exec(REMAP_SCHEMA);
  migrated.add(sql);
}

/** Row ids per lookup statement (they travel as one JSON array, so the 100-parameter limit does not apply). */
const LOOKUP_CHUNK = 5_000;
/** Index rows per write statement of a flush's commit (one JSON array each). */
const WRITE_CHUNK = 5_000;

/** Forgets the index of a table ("namespace.table") that was dropped. Call inside the drop's transaction. */
export function forgetTableIndex(sql: SqlStorage, tableKey: string): void {
  migrate(sql);
  sql.exec("DELETE FROM cdc_pk_index WHERE table_key = ?", tableKey);
  forgetTableRemaps(sql, tableKey);
}

/** Moves the index of a renamed table to its new key (its files stay where they are). */
export function moveTableIndex(sql: SqlStorage, fromKey: string, toKey: string): void {
  migrate(sql);
  sql.exec("DELETE FROM cdc_pk_index WHERE table_key = ?", toKey);
  sql.exec("UPDATE cdc_pk_index SET table_key = ? WHERE table_key = ?", toKey, fromKey);
  moveTableRemaps(sql, fromKey, toKey);
}

/** The index of one table ("namespace.table"). */
export class SqlPrimaryKeyIndex implements PrimaryKeyIndex {
  constructor(
    private readonly sql: SqlStorage,
    private readonly tableKey: string,
  ) {
    migrate(sql);
  }

  /** Locations of the known row ids (entries of rewritten files translated to where their rows are now). */
  lookup(rowIds: string[]): Map<string, RowLocation> {
    const out = new Map<string, RowLocation>();
    const unique = [...new Set(rowIds)];
    let reader: RemapReader | undefined;
    const files = new Map<number, { path: string; partition: string | null; spec_id: number | null }>();
    for (let i = 0; i < unique.length; i += LOOKUP_CHUNK) {
      const chunk = unique.slice(i, i + LOOKUP_CHUNK);
      // One statement per chunk: the ids travel as one JSON array (a statement binds at most 100 values).
      const rows = this.sql.exec<{ row_id: string; file_id: number; path: string; pos: string; partition: string | null; spec_id: number | null; retired_by: number | null }>(
        `SELECT i.row_id, i.file_id, f.path, CAST(i.pos AS TEXT) AS pos, f.partition, f.spec_id, f.retired_by FROM cdc_pk_index i JOIN cdc_pk_files f ON f.id = i.file_id
         WHERE i.table_key = ? AND i.row_id IN (SELECT value FROM json_each(?))`,
        this.tableKey,
        JSON.stringify(chunk),
      );
      for (const r of rows) {
        let file: { path: string; partition: string | null; spec_id: number | null } = r;
        let pos = BigInt(r.pos);
        if (r.retired_by !== null) {
          // A compaction rewrote the file and its map is not folded yet: the row is where the map says.
          reader ??= new RemapReader(this.sql);
          const to = reader.forward({ fileId: Number(r.file_id), pos: Number(r.pos) }, Number(r.retired_by));
          if (!to) continue; // dropped by the compaction as deleted: no live version
          let f = files.get(to.fileId);
          if (!f) files.set(to.fileId, (f = this.sql.exec<{ path: string; partition: string | null; spec_id: number | null }>("SELECT path, partition, spec_id FROM cdc_pk_files WHERE id = ?", to.fileId).one()));
          file = f;
          pos = BigInt(to.pos);
        }
        const loc: RowLocation = { filePath: file.path, pos };
        if (file.partition !== null) loc.partition = decodeTuple(file.partition);
        if (file.spec_id !== null) loc.specId = Number(file.spec_id);
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
    const reader = new RemapReader(this.sql);
    for (const p of positions) {
      const file = this.sql.exec<{ id: number }>("SELECT id FROM cdc_pk_files WHERE path = ?", p.filePath).toArray()[0];
      if (!file) continue;
      const at = { fileId: Number(file.id), pos: Number(p.pos) };
      // The entry may still name where the row was before a compaction whose map is not folded yet.
      for (const l of [at, ...reader.backward(at)]) {
        this.sql.exec("DELETE FROM cdc_pk_index WHERE table_key = ? AND file_id = ? AND pos = ?", this.tableKey, l.fileId, l.pos);
      }
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
}
