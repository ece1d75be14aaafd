/**
 * The commit protocol every writer uses (REST clients and the CDC flush alike):
 *
 *   1. prepareCommit (async): read the current pointer and metadata, check requirements, apply
 *      updates, write the new metadata.json to R2. Nothing is visible yet.
 *   2. applyPreparedCommit (sync, inside storage.transactionSync): swap the pointer only if it
 *      still is the one step 1 read; otherwise ConcurrentCommitError and the caller retries.
 *
 * A crash between the two leaves an unreferenced file, never a half commit.
 */
import { applyUpdates, checkRequirements, currentSchema } from "../iceberg/metadata/apply.js";
import { BadRequestError, CommitFailedError } from "../iceberg/metadata/errors.js";
import type { TableMetadata, TableRequirement, TableUpdate } from "../iceberg/metadata/types.js";
import { asDeps, type CatalogDeps, type CatalogTarget } from "./deps.js";
import { noSuchNamespace, noSuchTable } from "./errors.js";
import { deleteOrphan, nextMetadataLocation, readMetadataFile, writeMetadataFile } from "./metadata-files.js";
import { defaultTableLocation, formatIdent, locationsOverlap, requestedTableLocation, type TableIdent } from "./names.js";

/** The pointer moved between prepare and apply: reload, re-check, retry. */
export class ConcurrentCommitError extends CommitFailedError {
  constructor(message: string) {
    super(message);
    this.name = "ConcurrentCommitError";
  }
}

/** A table's current state: its metadata file and parsed metadata. */
export interface LoadedTable {
  metadataLocation: string;
  metadata: TableMetadata;
}

/** A commit whose metadata file is written but not yet visible. */
export interface PreparedCommit {
  ident: TableIdent;
  /** The pointer the commit was prepared from; undefined when it creates the table. */
  baseMetadataLocation: string | undefined;
  /** The metadata at that pointer (undefined when it creates the table). */
  baseMetadata?: TableMetadata;
  /** The new pointer (equal to the base when the updates changed nothing). */
  metadataLocation: string;
  metadata: TableMetadata;
  /** metadata.json text (kept in the SQLite row when small enough). */
  metadataJson: string | null;
  /** False when the updates changed nothing: applying only re-checks the pointer. */
  changed: boolean;
  /** Metadata files this commit drops from the log, deleted once it landed (delete-after-commit). */
  droppedMetadata?: string[];
}

/** Loads a table's current metadata, or undefined when it does not exist. */
export async function loadTable(target: CatalogTarget, ident: TableIdent): Promise<LoadedTable | undefined> {
  const deps = asDeps(target);
  const row = deps.store.getTable(ident);
  if (!row) return undefined;
  return { metadataLocation: row.metadataLocation, metadata: await readMetadataFile(deps, row.metadataLocation, row.metadataJson) };
}

/** Throws BadRequestError unless the metadata is internally consistent (ids it points to exist). */
export function validateMetadata(m: TableMetadata): void {
  const fail = (msg: string): never => {
    throw new BadRequestError(`Invalid table metadata: ${msg}`);
  };
  if (!m.schemas.some((s) => s["schema-id"] === m["current-schema-id"])) fail(`current schema ${m["current-schema-id"]} does not exist`);
  if (!m["partition-specs"].some((s) => s["spec-id"] === m["default-spec-id"])) fail(`default spec ${m["default-spec-id"]} does not exist`);
  if (!m["sort-orders"].some((s) => s["order-id"] === m["default-sort-order-id"])) fail(`default sort order ${m["default-sort-order-id"]} does not exist`);
  const ids = new Set(m.snapshots.map((s) => s["snapshot-id"]));
  for (const [name, ref] of Object.entries(m.refs)) if (!ids.has(ref["snapshot-id"])) fail(`ref ${name} points to unknown snapshot ${ref["snapshot-id"]}`);
  if (m["current-snapshot-id"] !== m.refs.main?.["snapshot-id"]) fail("current-snapshot-id and refs.main differ");
}

/** The starting point of a create transaction: empty, with the uuid and location the updates will assert. */
export function emptyMetadata(location: string, updates: readonly TableUpdate[], now: bigint): TableMetadata {
  const uuid = updates.find((u) => u.action === "assign-uuid");
  const upgrade = updates.some((u) => u.action === "upgrade-format-version");
  return {
    "format-version": upgrade ? 1 : 2,
    "table-uuid": uuid?.action === "assign-uuid" ? uuid.uuid : crypto.randomUUID(),
    location,
    "last-sequence-number": 0n,
    "last-updated-ms": now,
    "last-column-id": 0,
    schemas: [],
    "current-schema-id": -1,
    "partition-specs": [],
    "default-spec-id": -1,
    "last-partition-id": 999,
    properties: {},
    snapshots: [],
    "snapshot-log": [],
    "metadata-log": [],
    "sort-orders": [],
    "default-sort-order-id": -1,
    refs: {},
  };
}

/** Throws BadRequestError when `location` overlaps another table's (purging one would delete the other). */
export function checkLocationFree(deps: CatalogDeps, ident: TableIdent, location: string): void {
  const key = formatIdent(ident);
  for (const other of deps.store.tableLocations()) {
    if (formatIdent(other.ident) !== key && locationsOverlap(other.location, location)) {
      throw new BadRequestError(`Location ${location} overlaps the location of table ${formatIdent(other.ident)}`);
    }
  }
}

/** The default location of a new table, made unique when another table already uses it. */
export function freshTableLocation(deps: CatalogDeps, ident: TableIdent): string {
  const location = defaultTableLocation(deps.warehouse, ident);
  const taken = deps.store.tableLocations().some((t) => locationsOverlap(t.location, location));
  return taken ? `${location}-${crypto.randomUUID().replaceAll("-", "")}` : location;
}

/**
 * Checks `requirements` against the table's current metadata, applies `updates`, and writes the
 * new metadata file. A missing table is created when the requirements include assert-create.
 * Throws CommitFailedError (409) for a failed requirement, BadRequestError (400) for invalid
 * updates, NoSuchTable/NoSuchNamespace (404). Call applyPreparedCommit to make it visible.
 */
export async function prepareCommit(
  target: CatalogTarget,
  ident: TableIdent,
  requirements: readonly TableRequirement[],
  updates: readonly TableUpdate[],
): Promise<PreparedCommit> {
  const deps = asDeps(target);
  const now = deps.now();
  const current = await loadTable(deps, ident);
  let next: TableMetadata;
  if (!current) {
    if (!requirements.some((r) => r.type === "assert-create")) throw noSuchTable(ident);
    if (!deps.store.getNamespace(ident.namespace)) throw noSuchNamespace(ident.namespace);
    checkRequirements(undefined, requirements);
    next = applyUpdates(emptyMetadata(freshTableLocation(deps, ident), updates, now), updates, now);
  } else {
    checkRequirements(current.metadata, requirements);
    next = applyUpdates(current.metadata, updates, now, current.metadataLocation);
    if (next === current.metadata) {
      return { ident, baseMetadataLocation: current.metadataLocation, baseMetadata: current.metadata, metadataLocation: current.metadataLocation, metadata: next, metadataJson: null, changed: false };
    }
  }
  validateMetadata(next);
  // A set-location outside the warehouse (e.g. a replace transaction "LOCATION 'file:/tmp/t'") keeps the table's managed location.
  next.location = requestedTableLocation(deps.warehouse, next.location, () => current?.metadata.location ?? freshTableLocation(deps, ident));
  if (!current || next.location !== current.metadata.location) checkLocationFree(deps, ident, next.location);
  const metadataLocation = nextMetadataLocation(next.location, current?.metadataLocation);
  const metadataJson = await writeMetadataFile(deps, metadataLocation, next);
  const droppedMetadata = current ? droppedMetadataFiles(current, next, metadataLocation) : [];
  return { ident, baseMetadataLocation: current?.metadataLocation, baseMetadata: current?.metadata, metadataLocation, metadata: next, metadataJson, changed: true, droppedMetadata };
}

/**
 * Makes a prepared commit visible. Synchronous: call it inside `storage.transactionSync` (with
 * any other writes that must commit with it). Throws ConcurrentCommitError when the pointer is
 * no longer the one the commit was prepared from (or the table appeared/vanished meanwhile).
 */
export function applyPreparedCommit(target: CatalogTarget, prepared: PreparedCommit): void {
  const { store } = asDeps(target);
  const { ident } = prepared;
  const row = { metadataLocation: prepared.metadataLocation, metadataJson: prepared.metadataJson, location: prepared.metadata.location };
  if (prepared.baseMetadataLocation === undefined) {
    if (!store.getNamespace(ident.namespace)) throw noSuchNamespace(ident.namespace);
    if (!store.insertTable(ident, row)) throw new ConcurrentCommitError(`Requirement failed: table already exists: ${formatIdent(ident)} was created concurrently`);
    return;
  }
  const existing = store.getTable(ident);
  if (!existing) throw new ConcurrentCommitError(`Commit failed: table ${formatIdent(ident)} was dropped concurrently`);
  if (existing.metadataLocation !== prepared.baseMetadataLocation) {
    throw new ConcurrentCommitError(
      `Commit failed: table ${formatIdent(ident)} changed concurrently: current metadata ${existing.metadataLocation}, expected ${prepared.baseMetadataLocation}`,
    );
  }
  if (!prepared.changed) return;
  if (!store.swapTable(ident, prepared.baseMetadataLocation, row)) throw new ConcurrentCommitError(`Commit failed: table ${formatIdent(ident)} changed concurrently`);
}

/**
 * Metadata files a commit drops from the metadata-log, when the table sets
 * `write.metadata.delete-after-commit.enabled` (Java deletes them after the commit likewise).
 */
function droppedMetadataFiles(base: LoadedTable, next: TableMetadata, nextLocation: string): string[] {
  if ((next.properties["write.metadata.delete-after-commit.enabled"] ?? "false").toLowerCase() !== "true") return [];
  const kept = new Set([nextLocation, ...next["metadata-log"].map((e) => e["metadata-file"])]);
  return [...base.metadata["metadata-log"].map((e) => e["metadata-file"]), base.metadataLocation].filter((l) => !kept.has(l));
}

/** Deletes, once a commit has landed, the metadata files it dropped (best effort: orphan removal takes what is left). */
export async function deleteDroppedMetadata(target: CatalogTarget, prepared: PreparedCommit): Promise<void> {
  for (const location of prepared.droppedMetadata ?? []) await deleteOrphan(asDeps(target), location);
}

/** Deletes the metadata file of a prepared commit that will never be applied (best effort). */
export async function abandonPreparedCommit(target: CatalogTarget, prepared: PreparedCommit): Promise<void> {
  if (prepared.changed) await deleteOrphan(asDeps(target), prepared.metadataLocation);
}

/** How many times a server-side commit is re-prepared after losing a race. */
export const COMMIT_ATTEMPTS = 4;

/**
 * Commits several tables atomically (one table is the common case): prepares each, then swaps
 * every pointer in one transaction. A lost race re-prepares everything (requirements are checked
 * again against the new state); other failures abandon the written files and propagate.
 */
export function commitTables(
  deps: CatalogDeps,
  changes: ReadonlyArray<{ ident: TableIdent; requirements: readonly TableRequirement[]; updates: readonly TableUpdate[] }>,
): Promise<PreparedCommit[]> {
  // REST commits of one object run one after another: concurrent ones would each write a metadata
  // file and all but one lose the swap, and N of them in lockstep could exhaust COMMIT_ATTEMPTS.
  // (A CDC flush still races them through prepare/apply and retries; requirements are checked as ever.)
  const previous = commitQueues.get(deps.store) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(() => commitTablesNow(deps, changes));
  commitQueues.set(deps.store, next);
  return next;
}

const commitQueues = new WeakMap<object, Promise<unknown>>();

async function commitTablesNow(
  deps: CatalogDeps,
  changes: ReadonlyArray<{ ident: TableIdent; requirements: readonly TableRequirement[]; updates: readonly TableUpdate[] }>,
): Promise<PreparedCommit[]> {
  const seen = new Set<string>();
  for (const c of changes) {
    const key = formatIdent(c.ident);
    if (seen.has(key)) throw new BadRequestError(`Invalid commit: table ${key} appears more than once`);
    seen.add(key);
  }
  for (let attempt = 1; ; attempt++) {
    const prepared: PreparedCommit[] = [];
    try {
      for (const c of changes) prepared.push(await prepareCommit(deps, c.ident, c.requirements, c.updates));
      // CDC side state that follows these tables' files changes in the same transaction (or refuses).
      const guarded: Array<() => void> = [];
      for (const p of prepared) {
        const work = p.changed ? await deps.commitGuard?.(p.ident, p.baseMetadata, p.metadata) : undefined;
        if (work) guarded.push(work);
      }
      deps.store.transaction(() => {
        for (const p of prepared) applyPreparedCommit(deps, p);
        for (const work of guarded) work();
        for (const p of prepared) {
          if (p.changed && p.baseMetadata?.["current-schema-id"] !== p.metadata["current-schema-id"]) deps.onTableSchema?.(p.ident, currentSchema(p.metadata));
        }
      });
      for (const p of prepared) await deleteDroppedMetadata(deps, p);
      return prepared;
    } catch (e) {
      await Promise.all(prepared.map((p) => abandonPreparedCommit(deps, p)));
      if (!(e instanceof ConcurrentCommitError) || attempt >= COMMIT_ATTEMPTS) throw e;
    }
  }
}
