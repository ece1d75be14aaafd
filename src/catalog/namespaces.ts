/**
 * Namespace logic: multi-level namespaces with string properties. A namespace's parent must
 * exist (as in Polaris and Lakekeeper), except through ensureNamespace, which creates every
 * missing level for the CDC writer. No HTTP here.
 */
import { asDeps, type CatalogDeps, type CatalogTarget } from "./deps.js";
import { BadRequestError, CatalogError, namespaceExists, namespaceNotEmpty, noSuchNamespace } from "./errors.js";
import { locationSegment, validateNamespace, warehouseRoot, type Namespace, type Warehouse } from "./names.js";

/** Properties a client may not set: they are answered by the catalog. */
const RESERVED = new Set(["location"]);

/**
 * A namespace's location, `s3://<bucket>/<warehouse>/<ns levels>`: the prefix of its tables'
 * default locations. Engines that place tables themselves (Trino appends `<table>-<uuid>`) read it
 * from the namespace's `location` property; without it Trino 476 creates the table to learn its
 * location and then refuses the location as non-empty.
 */
export function namespaceLocation(w: Warehouse, ns: Namespace): string {
  return [warehouseRoot(w), ...ns.map(locationSegment)].join("/");
}

/** Stored properties as clients see them: with the catalog's `location`. */
function answered(deps: CatalogDeps, ns: Namespace, props: Record<string, string>): Record<string, string> {
  return { ...props, location: namespaceLocation(deps.warehouse, ns) };
}

/**
 * The client's properties without reserved keys. `location` may be sent only as the namespace's
 * own location (`CREATE SCHEMA ... WITH (location = <the default>)`, trailing '/' allowed): DoLake
 * manages locations and cannot move a namespace elsewhere, so any other value is refused.
 */
function withoutReserved(deps: CatalogDeps, ns: Namespace, props: Record<string, string>): Record<string, string> {
  const rest = { ...props };
  for (const key of Object.keys(rest)) {
    if (!RESERVED.has(key)) continue;
    const own = namespaceLocation(deps.warehouse, ns);
    if (key === "location" && (rest[key] ?? "").replace(/\/+$/, "") === own) {
      delete rest[key];
      continue;
    }
    throw new BadRequestError(`Property ${key} is managed by the catalog: this namespace's location is ${own}`);
  }
  return rest;
}

function checkProperties(properties: unknown): Record<string, string> {
  if (properties === undefined || properties === null) return {};
  if (typeof properties !== "object" || Array.isArray(properties)) throw new BadRequestError("Invalid properties: expected a map of strings");
  for (const [k, v] of Object.entries(properties)) {
    if (typeof v !== "string") throw new BadRequestError(`Invalid property ${k}: values must be strings`);
  }
  return properties as Record<string, string>;
}

/** Creates a namespace; 404 when its parent is missing, 409 when it exists. Returns its properties with `location`. */
export function createNamespace(deps: CatalogDeps, ns: Namespace, properties: unknown): Record<string, string> {
  const props = withoutReserved(deps, ns, checkProperties(properties));
  return deps.store.transaction(() => {
    const parent = ns.slice(0, -1);
    if (parent.length > 0 && !deps.store.getNamespace(parent)) throw noSuchNamespace(parent);
    if (!deps.store.insertNamespace(ns, props)) throw namespaceExists(ns);
    return answered(deps, ns, props);
  });
}

/** Creates every missing level of a namespace; true when the namespace itself was created. */
export function ensureNamespace(target: CatalogTarget, ns: Namespace): boolean {
  const deps = asDeps(target);
  const levels = validateNamespace(ns);
  return deps.store.transaction(() => {
    let created = false;
    for (let i = 1; i <= levels.length; i++) created = deps.store.insertNamespace(levels.slice(0, i), {});
    return created;
  });
}

/** A namespace's properties with its `location`; 404 when missing. */
export function loadNamespace(deps: CatalogDeps, ns: Namespace): Record<string, string> {
  const props = deps.store.getNamespace(ns);
  if (!props) throw noSuchNamespace(ns);
  return answered(deps, ns, props);
}

/** Drops an empty namespace: 404 when missing, 409 NamespaceNotEmptyException when it has tables or children. */
export function dropNamespace(deps: CatalogDeps, ns: Namespace): void {
  deps.store.transaction(() => {
    if (!deps.store.getNamespace(ns)) throw noSuchNamespace(ns);
    const tables = deps.store.countTables(ns);
    if (tables > 0) throw namespaceNotEmpty(ns, `${tables} table(s)`);
    if (deps.store.hasChildNamespaces(ns)) throw namespaceNotEmpty(ns, "namespaces");
    deps.store.deleteNamespace(ns);
  });
}

/** The outcome of a properties update, as the REST response reports it. */
export interface PropertiesChange {
  updated: string[];
  removed: string[];
  missing: string[];
}

/** Sets and removes namespace properties atomically; 422 when a key is both set and removed. */
export function updateNamespaceProperties(deps: CatalogDeps, ns: Namespace, updates: unknown, removals: unknown): PropertiesChange {
  const set = checkProperties(updates);
  if (removals !== undefined && removals !== null && (!Array.isArray(removals) || removals.some((r) => typeof r !== "string"))) {
    throw new BadRequestError("Invalid removals: expected a list of strings");
  }
  const remove = (removals ?? []) as string[];
  const both = remove.filter((k) => k in set);
  if (both.length > 0) {
    throw new CatalogError("unprocessable", `Cannot set and remove the same properties: ${both.join(", ")}`);
  }
  for (const key of [...Object.keys(set), ...remove]) if (RESERVED.has(key)) throw new BadRequestError(`Property ${key} is managed by the catalog and cannot be set or removed`);
  return deps.store.transaction(() => {
    const props = deps.store.getNamespace(ns);
    if (!props) throw noSuchNamespace(ns);
    const removed = remove.filter((k) => k in props);
    const missing = remove.filter((k) => !(k in props));
    for (const k of removed) delete props[k];
    Object.assign(props, set);
    deps.store.updateNamespace(ns, props);
    return { updated: Object.keys(set), removed, missing };
  });
}
