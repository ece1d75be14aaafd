/**
 * Table lifecycle logic: create (also staged, and create-if-missing for the CDC writer),
 * register, rename, drop with purge. Storage goes through CatalogStore; no HTTP here.
 */
import { currentSchema } from "../iceberg/metadata/apply.js";
import { newTableMetadata, type NewTableInput } from "../iceberg/metadata/new-table.js";
import type { TableMetadata } from "../iceberg/metadata/types.js";
import { checkLocationFree, ConcurrentCommitError, freshTableLocation, loadTable, validateMetadata, type LoadedTable } from "./commit.js";
import { asDeps, type CatalogDeps, type CatalogTarget } from "./deps.js";
import { BadRequestError, noSuchNamespace, noSuchTable, tableExists } from "./errors.js";
import { deleteOrphan, keyOf, nextMetadataLocation, readMetadataFile, writeMetadataFile } from "./metadata-files.js";
import { ensureNamespace } from "./namespaces.js";
import { formatIdent, locationsOverlap, r2KeyOf, requestedTableLocation, type TableIdent } from "./names.js";

/** What creating a table takes: NewTableInput without location/now (location optional). */
export interface CreateTableInput extends Omit<NewTableInput, "location" | "now" | "tableUuid"> {
  /** Used when inside the warehouse; otherwise (and by default) `<warehouse>/<namespace path>/<table>`. */
  location?: string;
}

/** Builds the metadata of a new table (fresh ids, validated location) without storing anything. */
export function newTable(deps: CatalogDeps, ident: TableIdent, input: CreateTableInput): TableMetadata {
  if (!deps.store.getNamespace(ident.namespace)) throw noSuchNamespace(ident.namespace);
  if (deps.store.getTable(ident)) throw tableExists(ident);
  const location = input.location !== undefined ? requestedTableLocation(deps.warehouse, input.location, () => freshTableLocation(deps, ident)) : freshTableLocation(deps, ident);
  checkLocationFree(deps, ident, location);
  return newTableMetadata({ ...input, location, now: deps.now() });
}

/** Creates a table: writes `00000-<uuid>.metadata.json` and inserts the pointer. 409 when it exists. */
export async function createTable(target: CatalogTarget, ident: TableIdent, input: CreateTableInput): Promise<LoadedTable> {
  const deps = asDeps(target);
  const metadata = newTable(deps, ident, input);
  const metadataLocation = nextMetadataLocation(metadata.location, undefined);
  const metadataJson = await writeMetadataFile(deps, metadataLocation, metadata);
  try {
    deps.store.transaction(() => {
      if (!deps.store.getNamespace(ident.namespace)) throw noSuchNamespace(ident.namespace);
      if (!deps.store.insertTable(ident, { metadataLocation, metadataJson, location: metadata.location })) throw tableExists(ident);
      deps.onTableSchema?.(ident, currentSchema(metadata));
    });
  } catch (e) {
    await deleteOrphan(deps, metadataLocation);
    throw e;
  }
  return { metadataLocation, metadata };
}

/**
 * The table, creating its namespace (every level) and itself on first sight. For the CDC
 * writer: safe against a concurrent creator (whoever loses loads the winner's table).
 */
export async function createTableIfMissing(
  target: CatalogTarget,
  ident: TableIdent,
  input: CreateTableInput,
): Promise<LoadedTable & { created: boolean }> {
  const deps = asDeps(target);
  const existing = await loadTable(deps, ident);
  if (existing) return { ...existing, created: false };
  ensureNamespace(deps, ident.namespace);
  try {
    return { ...(await createTable(deps, ident, input)), created: true };
  } catch (e) {
    const raced = await loadTable(deps, ident);
    if (raced) return { ...raced, created: false };
    throw e;
  }
}

/** Registers an existing metadata file (inside the warehouse) as a table; `overwrite` replaces a pointer. */
export async function registerTable(deps: CatalogDeps, ident: TableIdent, metadataLocation: string, overwrite: boolean): Promise<LoadedTable> {
  if (!deps.store.getNamespace(ident.namespace)) throw noSuchNamespace(ident.namespace);
  if (!overwrite && deps.store.getTable(ident)) throw tableExists(ident);
  keyOf(deps, metadataLocation);
  if (!metadataLocation.endsWith(".metadata.json")) throw new BadRequestError(`Invalid metadata-location: ${metadataLocation} is not a .metadata.json file`);
  const metadata = await readMetadataFile(deps, metadataLocation);
  validateMetadata(metadata);
  if (r2KeyOf(deps.warehouse, metadata.location) === undefined) {
    throw new BadRequestError(`Cannot register ${formatIdent(ident)}: its location ${metadata.location} is outside the warehouse`);
  }
  const row = { metadataLocation, metadataJson: null, location: metadata.location };
  deps.store.transaction(() => {
    if (!deps.store.getNamespace(ident.namespace)) throw noSuchNamespace(ident.namespace);
    if (overwrite) deps.store.deleteTable(ident);
    if (!deps.store.insertTable(ident, row)) throw tableExists(ident);
    deps.onTableChange?.(ident, undefined); // whatever was known of a table of this name is not this table
    deps.onTableSchema?.(ident, currentSchema(metadata));
  });
  return { metadataLocation, metadata };
}

/** Renames a table (its location stays). 404 when the source or the destination namespace is missing, 409 when the destination exists. */
export function renameTable(deps: CatalogDeps, from: TableIdent, to: TableIdent): void {
  deps.store.transaction(() => {
    if (!deps.store.getTable(from)) throw noSuchTable(from);
    if (!deps.store.getNamespace(to.namespace)) throw noSuchNamespace(to.namespace);
    if (deps.store.getTable(to)) throw tableExists(to);
    deps.store.renameTable(from, to);
    deps.onTableChange?.(from, to);
  });
}

/**
 * Drops a table. With purge, every object under its location is deleted afterwards, unless
 * another table's location overlaps it (then only the pointer goes, and this is logged).
 */
export async function dropTable(deps: CatalogDeps, ident: TableIdent, purge: boolean): Promise<void> {
  const row = deps.store.getTable(ident);
  if (!row) throw noSuchTable(ident);
  const dropped = deps.store.transaction(() => {
    const gone = deps.store.deleteTable(ident);
    if (gone) deps.onTableChange?.(ident, undefined);
    return gone;
  });
  if (!dropped) throw noSuchTable(ident);
  if (!purge) return;
  const shared = deps.store.tableLocations().find((t) => locationsOverlap(t.location, row.location));
  if (shared) {
    console.warn(`catalog: not purging ${row.location}: it overlaps table ${formatIdent(shared.ident)}`);
    return;
  }
  await purgePrefix(deps, `${keyOf(deps, row.location)}/`);
}

/** Removes a table from the catalog, leaving every file in place; returns its last state. */
export async function unregisterTable(deps: CatalogDeps, ident: TableIdent): Promise<LoadedTable> {
  const table = await loadTable(deps, ident);
  if (!table) throw noSuchTable(ident);
  deps.store.transaction(() => {
    // Only the state returned may be the one unregistered: a commit in between must not be lost.
    if (deps.store.getTable(ident)?.metadataLocation !== table.metadataLocation) throw new ConcurrentCommitError(`Table ${formatIdent(ident)} changed while unregistering; retry`);
    deps.store.deleteTable(ident);
    deps.onTableChange?.(ident, undefined);
  });
  return table;
}

/** Deletes every R2 object under a key prefix, 1000 at a time. */
export async function purgePrefix(deps: CatalogDeps, prefix: string): Promise<number> {
  // Always list from the start: the previous page is gone, so no cursor can go stale.
  let deleted = 0;
  for (;;) {
    const page = await deps.bucket.list({ prefix, limit: 1000 });
    const keys = page.objects.map((o) => o.key);
    if (keys.length === 0) return deleted;
    await deps.bucket.delete(keys);
    deleted += keys.length;
  }
}
