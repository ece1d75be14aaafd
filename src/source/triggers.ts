/**
 * The capture side of source CDC: SQLite triggers that write every INSERT, UPDATE and DELETE of a
 * captured table into the outbox, inside the statement (and so the transaction) that made the
 * change. A rolled-back transaction rolls its outbox rows back with it; a committed one cannot
 * commit without them.
 *
 * Row images are built by SQLite's json_object(), which writes integers exactly (64-bit values
 * never pass through a JS number here); the pump parses them BigInt-safely.
 */
import { OUTBOX_TABLE, SYSTEM_PREFIX } from "./outbox.js";

/** How a column's values travel, from its declared type (SQLite affinity rules, section 3.1 of datatype3). */
export type ColumnKind = "int" | "double" | "text" | "bool" | "blob" | "numeric";

/** A captured column. */
export interface CapturedColumn {
  name: string;
  kind: ColumnKind;
  /** Position in the primary key (1-based), 0 when not part of it. */
  pk: number;
}

/** A captured table as the triggers were generated for it. */
export interface CapturedTable {
  name: string;
  columns: CapturedColumn[];
}

/** Message of the error a write gets when the outbox is at its bound (the text SQLite raises). */
export const OUTBOX_FULL = "dolake_cdc: outbox full";
/** Message of the error a write gets when its table changed after the triggers were generated. */
export const SCHEMA_STALE = "dolake_cdc: schema changed";

/** The kind of a declared type, by SQLite's affinity rules; BOOL/BOOLEAN travel as booleans. */
export function kindOf(declared: string): ColumnKind {
  const t = declared.toUpperCase();
  if (/^\s*BOOL(EAN)?\s*$/.test(t)) return "bool";
  if (t.includes("INT")) return "int";
  if (t.includes("CHAR") || t.includes("CLOB") || t.includes("TEXT")) return "text";
  if (t.includes("BLOB") || t.trim() === "") return "blob";
  if (t.includes("REAL") || t.includes("FLOA") || t.includes("DOUB")) return "double";
  return "numeric";
}

/** Quotes an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes an SQL string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** User tables of the database (not SQLite's, Cloudflare's or ours). */
export function userTables(sql: SqlStorage): string[] {
  return sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .toArray()
    .map((r) => r.name)
    .filter((n) => !n.startsWith("sqlite_") && !n.startsWith("_cf_") && !n.startsWith(SYSTEM_PREFIX));
}

/** Reads a table's columns and primary key from SQLite. */
export function describeTable(sql: SqlStorage, table: string): CapturedTable {
  const rows = sql.exec<{ name: string; type: string; pk: number }>("SELECT name, type, pk FROM pragma_table_info(?)", table).toArray();
  if (rows.length === 0) throw new Error(`dolake_cdc: no table ${JSON.stringify(table)} to capture`);
  return { name: table, columns: rows.map((r) => ({ name: r.name, kind: kindOf(r.type ?? ""), pk: Number(r.pk) })) };
}

/** The JSON value of one column of a row image (`ref` is NEW or OLD). */
function valueExpr(ref: string, c: CapturedColumn): string {
  const v = `${ref}.${ident(c.name)}`;
  if (c.kind === "bool") return `CASE WHEN ${v} IS NULL THEN NULL WHEN ${v} THEN json('true') ELSE json('false') END`;
  // JSON has no bytes: blobs travel as hex text.
  if (c.kind === "blob") return `CASE WHEN typeof(${v}) = 'blob' THEN hex(${v}) ELSE ${v} END`;
  return v;
}

/** json_object() of a whole row. */
function imageExpr(ref: string, t: CapturedTable): string {
  return `json_object(${t.columns.map((c) => `${literal(c.name)}, ${valueExpr(ref, c)}`).join(", ")})`;
}

/** The primary key as the event's rowId: the value's text, a JSON array for composite keys, else rowid. */
function rowIdExpr(ref: string, t: CapturedTable): string {
  const pk = t.columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
  if (pk.length === 0) return `CAST(${ref}.rowid AS TEXT)`;
  if (pk.length === 1) return `CAST(${ref}.${ident(pk[0]!.name)} AS TEXT)`;
  return `json_array(${pk.map((c) => `${ref}.${ident(c.name)}`).join(", ")})`;
}

/** True when OLD and NEW have the same key. */
function sameKey(t: CapturedTable): string {
  const pk = t.columns.filter((c) => c.pk > 0);
  if (pk.length === 0) return "OLD.rowid IS NEW.rowid";
  return pk.map((c) => `OLD.${ident(c.name)} IS NEW.${ident(c.name)}`).join(" AND ");
}

const NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

/**
 * Refuses the statement (RAISE(ABORT) undoes it) when the outbox holds `maxOutboxEvents` events
 * not yet trimmed, or when the table no longer has the columns the trigger was generated for
 * (an ALTER TABLE outside `migrate`): a write is refused rather than captured incompletely.
 */
function guards(t: CapturedTable, maxOutboxEvents: number): string {
  const full = `SELECT RAISE(ABORT, ${literal(`${OUTBOX_FULL}: ${maxOutboxEvents} changes are waiting for DoLake; the write was refused`)}) WHERE (SELECT max(seq) FROM ${OUTBOX_TABLE}) - (SELECT min(seq) FROM ${OUTBOX_TABLE}) + 1 >= ${maxOutboxEvents};`;
  const stale = `SELECT RAISE(ABORT, ${literal(`${SCHEMA_STALE}: ${t.name} changed after its CDC triggers were made; run DDL through cdc.migrate() or call cdc.refresh()`)}) WHERE (SELECT count(*) FROM pragma_table_info(${literal(t.name)})) != ${t.columns.length};`;
  return `${full}\n  ${stale}`;
}

function insertRow(op: string, ref: "NEW" | "OLD", t: CapturedTable, before: string, after: string): string {
  return `INSERT INTO ${OUTBOX_TABLE} (ts, tbl, op, row_id, before, after) VALUES (${NOW_MS}, ${literal(t.name)}, '${op}', ${rowIdExpr(ref, t)}, ${before}, ${after});`;
}

/** Name of one of a table's triggers. */
export function triggerName(table: string, kind: "ins" | "upd" | "key" | "del"): string {
  return `${SYSTEM_PREFIX}${table}_${kind}`;
}

/** CREATE TRIGGER statements for one table: insert, update (same key), key change (delete + insert), delete. */
export function triggerSql(t: CapturedTable, maxOutboxEvents: number): Array<{ name: string; sql: string }> {
  const q = ident(t.name);
  const g = guards(t, maxOutboxEvents);
  const make = (kind: "ins" | "upd" | "key" | "del", event: string, when: string, body: string) => {
    const name = triggerName(t.name, kind);
    return { name, sql: `CREATE TRIGGER ${ident(name)} AFTER ${event} ON ${q} FOR EACH ROW${when} BEGIN\n  ${g}\n  ${body}\nEND` };
  };
  return [
    make("ins", "INSERT", "", insertRow("INSERT", "NEW", t, "NULL", imageExpr("NEW", t))),
    make("upd", "UPDATE", ` WHEN ${sameKey(t)}`, insertRow("UPDATE", "NEW", t, imageExpr("OLD", t), imageExpr("NEW", t))),
    make("key", "UPDATE", ` WHEN NOT (${sameKey(t)})`, `${insertRow("DELETE", "OLD", t, imageExpr("OLD", t), "NULL")}\n  ${insertRow("INSERT", "NEW", t, "NULL", imageExpr("NEW", t))}`),
    make("del", "DELETE", "", insertRow("DELETE", "OLD", t, imageExpr("OLD", t), "NULL")),
  ];
}

/**
 * Makes the triggers of `tables` match their current schema: creates missing ones, replaces
 * stale ones, drops ours on tables no longer captured. Returns the captured tables. Run inside
 * one transaction so no change slips between the old triggers and the new.
 */
export function installTriggers(sql: SqlStorage, tables: string[], maxOutboxEvents: number): CapturedTable[] {
  const existing = new Map(
    sql
      .exec<{ name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE ? ESCAPE '\\'", `${SYSTEM_PREFIX.replaceAll("_", "\\_")}%`)
      .toArray()
      .map((r) => [r.name, r.sql]),
  );
  const wanted = new Set<string>();
  const captured = tables.map((name) => describeTable(sql, name));
  for (const t of captured) {
    for (const trig of triggerSql(t, maxOutboxEvents)) {
      wanted.add(trig.name);
      if (existing.get(trig.name) === trig.sql) continue;
      if (existing.has(trig.name)) sql.exec(`DROP TRIGGER ${ident(trig.name)}`);
      sql.exec(trig.sql);
    }
  }
  for (const name of existing.keys()) if (!wanted.has(name)) sql.exec(`DROP TRIGGER ${ident(name)}`);
  return captured;
}
