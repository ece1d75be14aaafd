/**
 * CDC state kept beside the catalog follows the catalog's table lifecycle: the primary-key index
 * (src/flush/pk-index.ts) and the schema guard's column types (src/ingest/schema-guard.ts). The
 * hook runs inside the catalog's SQLite transaction for the change, so both move together.
 *
 * - drop, purge, unregister, register (a new table under the name): forgotten. The next CDC event
 *   for the name starts a fresh table, with no position deletes aimed at files of the old one.
 * - rename: moved with the table. Its files did not move, so the index still describes them; CDC
 *   events for the old name start a fresh table.
 * - create, register or commit by a REST client with a new current schema: the schema guard takes
 *   its column types, so events are checked against a table made by another writer (a `date` or
 *   `timestamptz` column, say) before the ack, not found unwritable at the flush.
 */
import type { TableChangeHook, TableIdent, TableSchemaHook } from "../catalog/index.js";
import type { SchemaGuard } from "../ingest/schema-guard.js";
import { forgetTableIndex, moveTableIndex } from "../flush/pk-index.js";

const keyOf = (t: TableIdent) => `${t.namespace.join(".")}.${t.name}`;

/** The catalog's TableChangeHook for a DoLake object whose mirrors live in `cdcNamespace()`. */
export function cdcStateHook(sql: SqlStorage, guard: SchemaGuard, cdcNamespace: () => string): TableChangeHook {
  // The schema guard keys columns by source table name: only mirrors in the CDC namespace have any.
  const inCdc = (t: TableIdent) => keyOf({ namespace: t.namespace, name: "" }) === `${cdcNamespace()}.`;
  return (from, to) => {
    if (to) moveTableIndex(sql, keyOf(from), keyOf(to));
    else forgetTableIndex(sql, keyOf(from));
    if (to && inCdc(from) && inCdc(to)) guard.move(from.name, to.name);
    else {
      if (inCdc(from)) guard.forget(from.name);
      if (to && inCdc(to)) guard.forget(to.name);
    }
  };
}

/** The catalog's TableSchemaHook: other writers' schemas of mirror tables become the schema guard's column types. */
export function cdcSchemaHook(guard: SchemaGuard, cdcNamespace: () => string): TableSchemaHook {
  return (ident, schema) => {
    if (ident.namespace.join(".") === cdcNamespace()) guard.recordSchema(ident.name, schema.fields);
  };
}
