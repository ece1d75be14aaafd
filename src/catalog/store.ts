/**
 * The catalog's state in the Durable Object's SQLite: namespaces with their properties, and
 * tables with their current metadata pointer. This table is the commit point: a pointer moves
 * only by compare-and-swap on the location it was read at, so the CDC writer and REST clients
 * can commit to the same table without either assuming it is alone.
 *
 * Synchronous by design (storage.sql is), so a caller can swap pointers and change its own
 * tables in one `storage.transactionSync`.
 */
import { LEVEL_SEPARATOR, namespaceFromKey, namespaceKey, type Namespace, type TableIdent } from "./names.js";

/** One table row: where its metadata is, and (when small enough) the metadata text itself. */
export interface TableRow {
  metadataLocation: string;
  /** metadata.json text, or null when too large to keep in a row (then read it from R2). */
  metadataJson: string | null;
  /** The table's location (from its metadata), for overlap checks. */
  location: string;
}

/** Metadata larger than this (UTF-8 bytes) is not cached in its SQLite row (values are limited to 2 MB). */
export const MAX_CACHED_METADATA_BYTES = 1_500_000;

/** What the catalog logic needs from storage. */
export interface CatalogStore {
  /** Runs fn in one synchronous transaction (all or nothing). */
  transaction<T>(fn: () => T): T;
  /** A namespace's properties, or undefined when it does not exist. */
  getNamespace(ns: Namespace): Record<string, string> | undefined;
  /** Direct children of `parent` (top level when undefined), in key order after `afterKey`. */
  listNamespaces(parent: Namespace | undefined, afterKey: string | undefined, limit: number): Namespace[];
  /** Inserts a namespace; false when it exists already. */
  insertNamespace(ns: Namespace, properties: Record<string, string>): boolean;
  /** Replaces a namespace's properties. */
  updateNamespace(ns: Namespace, properties: Record<string, string>): void;
  /** Deletes a namespace; false when it did not exist. */
  deleteNamespace(ns: Namespace): boolean;
  /** True when the namespace has a child namespace. */
  hasChildNamespaces(ns: Namespace): boolean;
  /** Number of tables in a namespace. */
  countTables(ns: Namespace): number;
  /** A table's row, or undefined. */
  getTable(ident: TableIdent): TableRow | undefined;
  /** Table names of a namespace, in order, after `afterName`. */
  listTables(ns: Namespace, afterName: string | undefined, limit: number): string[];
  /** Inserts a table; false when one exists already under that name. */
  insertTable(ident: TableIdent, row: TableRow): boolean;
  /** Moves a table's pointer from `expected` to `row`; false (and no change) when the pointer is not `expected`. */
  swapTable(ident: TableIdent, expected: string, row: TableRow): boolean;
  /** Deletes a table; false when it did not exist. */
  deleteTable(ident: TableIdent): boolean;
  /** Renames a table (the destination must not exist; checked by the caller). */
  renameTable(from: TableIdent, to: TableIdent): void;
  /** Every table's identifier and location (for location overlap checks). */
  tableLocations(): Array<{ ident: TableIdent; location: string }>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS catalog_namespaces (
  ns TEXT PRIMARY KEY,          -- levels joined by U+001F
  properties TEXT NOT NULL      -- JSON object of strings
);
CREATE TABLE IF NOT EXISTS catalog_tables (
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  metadata_location TEXT NOT NULL,
  metadata_json TEXT,           -- NULL when larger than MAX_CACHED_METADATA_BYTES
  location TEXT NOT NULL,
  PRIMARY KEY (ns, name)
);`;

const initialized = new WeakSet<SqlStorage>();

/** The CatalogStore over a Durable Object's SQLite storage. */
export class SqlCatalogStore implements CatalogStore {
  private readonly sql: SqlStorage;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    if (!initialized.has(this.sql)) {
      this.sql.exec(SCHEMA);
      initialized.add(this.sql);
    }
  }

  transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(fn);
  }

  getNamespace(ns: Namespace): Record<string, string> | undefined {
    const rows = this.sql.exec<{ properties: string }>("SELECT properties FROM catalog_namespaces WHERE ns = ?", namespaceKey(ns)).toArray();
    return rows[0] ? (JSON.parse(rows[0].properties) as Record<string, string>) : undefined;
  }

  listNamespaces(parent: Namespace | undefined, afterKey: string | undefined, limit: number): Namespace[] {
    const prefix = parent ? namespaceKey(parent) + LEVEL_SEPARATOR : "";
    const rows = this.sql
      .exec<{ ns: string }>(
        `SELECT ns FROM catalog_namespaces
         WHERE substr(ns, 1, length(?1)) = ?1 AND length(ns) > length(?1)
           AND instr(substr(ns, length(?1) + 1), char(31)) = 0 AND ns > ?2
         ORDER BY ns LIMIT ?3`,
        prefix,
        afterKey ?? "",
        limit,
      )
      .toArray();
    return rows.map((r) => namespaceFromKey(r.ns));
  }

  insertNamespace(ns: Namespace, properties: Record<string, string>): boolean {
    const cursor = this.sql.exec("INSERT INTO catalog_namespaces (ns, properties) VALUES (?, ?) ON CONFLICT DO NOTHING", namespaceKey(ns), JSON.stringify(properties));
    return cursor.rowsWritten > 0;
  }

  updateNamespace(ns: Namespace, properties: Record<string, string>): void {
    this.sql.exec("UPDATE catalog_namespaces SET properties = ? WHERE ns = ?", JSON.stringify(properties), namespaceKey(ns));
  }

  deleteNamespace(ns: Namespace): boolean {
    return this.sql.exec("DELETE FROM catalog_namespaces WHERE ns = ?", namespaceKey(ns)).rowsWritten > 0;
  }

  hasChildNamespaces(ns: Namespace): boolean {
    return this.listNamespaces(ns, undefined, 1).length > 0;
  }

  countTables(ns: Namespace): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM catalog_tables WHERE ns = ?", namespaceKey(ns)).one().n;
  }

  getTable(ident: TableIdent): TableRow | undefined {
    const rows = this.sql
      .exec<{ metadata_location: string; metadata_json: string | null; location: string }>(
        "SELECT metadata_location, metadata_json, location FROM catalog_tables WHERE ns = ? AND name = ?",
        namespaceKey(ident.namespace),
        ident.name,
      )
      .toArray();
    const r = rows[0];
    return r ? { metadataLocation: r.metadata_location, metadataJson: r.metadata_json, location: r.location } : undefined;
  }

  listTables(ns: Namespace, afterName: string | undefined, limit: number): string[] {
    return this.sql
      .exec<{ name: string }>("SELECT name FROM catalog_tables WHERE ns = ? AND name > ? ORDER BY name LIMIT ?", namespaceKey(ns), afterName ?? "", limit)
      .toArray()
      .map((r) => r.name);
  }

  insertTable(ident: TableIdent, row: TableRow): boolean {
    const cursor = this.sql.exec(
      "INSERT INTO catalog_tables (ns, name, metadata_location, metadata_json, location) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      namespaceKey(ident.namespace),
      ident.name,
      row.metadataLocation,
      cacheable(row.metadataJson),
      row.location,
    );
    return cursor.rowsWritten > 0;
  }

  swapTable(ident: TableIdent, expected: string, row: TableRow): boolean {
    const cursor = this.sql.exec(
      "UPDATE catalog_tables SET metadata_location = ?, metadata_json = ?, location = ? WHERE ns = ? AND name = ? AND metadata_location = ?",
      row.metadataLocation,
      cacheable(row.metadataJson),
      row.location,
      namespaceKey(ident.namespace),
      ident.name,
      expected,
    );
    return cursor.rowsWritten > 0;
  }

  deleteTable(ident: TableIdent): boolean {
    return this.sql.exec("DELETE FROM catalog_tables WHERE ns = ? AND name = ?", namespaceKey(ident.namespace), ident.name).rowsWritten > 0;
  }

  renameTable(from: TableIdent, to: TableIdent): void {
    this.sql.exec(
      "UPDATE catalog_tables SET ns = ?, name = ? WHERE ns = ? AND name = ?",
      namespaceKey(to.namespace),
      to.name,
      namespaceKey(from.namespace),
      from.name,
    );
  }

  tableLocations(): Array<{ ident: TableIdent; location: string }> {
    return this.sql
      .exec<{ ns: string; name: string; location: string }>("SELECT ns, name, location FROM catalog_tables")
      .toArray()
      .map((r) => ({ ident: { namespace: namespaceFromKey(r.ns), name: r.name }, location: r.location }));
  }
}

function cacheable(json: string | null): string | null {
  if (json === null) return null;
  // A UTF-16 unit is at most 3 UTF-8 bytes: only measure exactly when it could matter.
  if (json.length * 3 <= MAX_CACHED_METADATA_BYTES) return json;
  return new TextEncoder().encode(json).length <= MAX_CACHED_METADATA_BYTES ? json : null;
}
