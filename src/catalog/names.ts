/**
 * Namespace and table names, and where a table lives. Every name a client sends is validated
 * here before it can reach SQLite or an R2 key, so nothing can escape its table's location:
 * no '.' or '..' as a whole level, no control characters (the %1F level separator included),
 * bounded length and depth. '/' and '\' are allowed in names (Iceberg allows them; the RCK
 * tests them) and never become path separators: a default location percent-encodes them.
 */
import { BadRequestError } from "../iceberg/metadata/errors.js";

/** A namespace: one string per level, outermost first. */
export type Namespace = string[];

/** A table identifier. */
export interface TableIdent {
  namespace: Namespace;
  name: string;
}

/** The unit separator: joins namespace levels in URLs (%1F) and in the catalog's SQLite keys. */
export const LEVEL_SEPARATOR = "\x1f";
/** Longest namespace level or table name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;
/** Deepest namespace. */
export const MAX_NAMESPACE_DEPTH = 16;

const CONTROL = /[\u0000-\u001f\u007f]/;
/** '.' or '..', also percent-encoded (%2e): a URL parser or an S3 client may decode and resolve it. */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/** Throws BadRequestError unless `name` is a safe namespace level or table name. */
export function validateName(name: unknown, what: string): string {
  if (typeof name !== "string" || name.length === 0) throw new BadRequestError(`Invalid ${what}: must be a non-empty string`);
  if (new TextEncoder().encode(name).length > MAX_NAME_BYTES) throw new BadRequestError(`Invalid ${what}: longer than ${MAX_NAME_BYTES} bytes`);
  if (CONTROL.test(name)) throw new BadRequestError(`Invalid ${what} ${JSON.stringify(name)}: control characters are not allowed`);
  if (name === "." || name === "..") throw new BadRequestError(`Invalid ${what} ${JSON.stringify(name)}: '.' and '..' are not allowed`);
  return name;
}

/** Throws BadRequestError unless `levels` is a valid, non-empty namespace. */
export function validateNamespace(levels: unknown): Namespace {
  if (!Array.isArray(levels) || levels.length === 0) throw new BadRequestError("Invalid namespace: must be a non-empty list of strings");
  if (levels.length > MAX_NAMESPACE_DEPTH) throw new BadRequestError(`Invalid namespace: deeper than ${MAX_NAMESPACE_DEPTH} levels`);
  return levels.map((level) => validateName(level, "namespace level"));
}

/** A namespace from its URL path segment (levels joined by %1F, already percent-decoded). */
export function namespaceFromPath(segment: string): Namespace {
  return validateNamespace(segment.split(LEVEL_SEPARATOR));
}

/** The key a namespace is stored under (levels joined by the unit separator). */
export function namespaceKey(ns: Namespace): string {
  return ns.join(LEVEL_SEPARATOR);
}

/** A namespace from its stored key. */
export function namespaceFromKey(key: string): Namespace {
  return key.split(LEVEL_SEPARATOR);
}

/** Human form for messages: levels joined by '.'. */
export function formatNamespace(ns: Namespace): string {
  return ns.join(".");
}

/** Human form of a table identifier for messages. */
export function formatIdent(ident: TableIdent): string {
  return `${formatNamespace(ident.namespace)}.${ident.name}`;
}

/** A validated TableIdent from a REST `TableIdentifier` object. */
export function identFromJson(value: unknown, what = "table identifier"): TableIdent {
  if (typeof value !== "object" || value === null) throw new BadRequestError(`Invalid ${what}: expected {namespace, name}`);
  const o = value as { namespace?: unknown; name?: unknown };
  return { namespace: validateNamespace(o.namespace), name: validateName(o.name, "table name") };
}

/** Where tables live: `s3://<bucket>/<warehouse>`; R2 keys are the path after the bucket. */
export interface Warehouse {
  bucketName: string;
  warehouse: string;
}

/** `s3://<bucket>/<warehouse>` without a trailing slash. */
export function warehouseRoot(w: Warehouse): string {
  return `s3://${w.bucketName}/${w.warehouse}`;
}

/**
 * A name as one path segment of a location: '%', '/', '\\', '?' and '#' percent-encoded (so
 * "a/b" is never the namespace a.b, and Java's S3URI does not cut a key at '?' or '#'); every
 * other name is its own segment, unchanged.
 */
export function locationSegment(name: string): string {
  return name.replace(/[%/\\?#]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

/** The default location of a table: `s3://<bucket>/<warehouse>/<ns levels>/<table>` (levels through locationSegment). */
export function defaultTableLocation(w: Warehouse, ident: TableIdent): string {
  return [warehouseRoot(w), ...ident.namespace.map(locationSegment), locationSegment(ident.name)].join("/");
}

/**
 * The R2 key of an `s3://<bucket>/...` location, or undefined when it is outside the warehouse
 * or not a plain path (empty, '.' or '..' segments, also as %2e, control characters, backslashes).
 * Every location-to-key conversion (metadata files, flush writers, purge, orphan removal) goes here.
 */
export function r2KeyOf(w: Warehouse, location: string): string | undefined {
  const prefix = `s3://${w.bucketName}/`;
  for (const scheme of ["s3://", "s3a://", "s3n://"]) {
    const p = prefix.replace("s3://", scheme);
    if (!location.startsWith(p)) continue;
    const key = location.slice(p.length);
    const segments = key.split("/");
    if (segments[0] !== w.warehouse || segments.length < 2) return undefined;
    if (segments.some((s) => s === "" || DOT_SEGMENT.test(s) || CONTROL.test(s) || s.includes("\\"))) return undefined;
    return key;
  }
  return undefined;
}

/**
 * True when `location` names this warehouse (`s3://<bucket>/<warehouse>` or below, also s3a/s3n),
 * whether or not it is a valid table location: such a location is validated, never replaced.
 */
export function claimsWarehouse(w: Warehouse, location: string): boolean {
  return ["s3://", "s3a://", "s3n://"].some((scheme) => {
    const root = `${scheme}${w.bucketName}/${w.warehouse}`;
    return location === root || location.startsWith(`${root}/`);
  });
}

/**
 * The location a table gets when a client asks for `requested`: DoLake manages table locations,
 * so a location inside the warehouse is validated and used, and any other (another bucket, a
 * `file:` path: places this catalog's storage cannot serve) is replaced by `managed()`, the
 * table's catalog-chosen location. Engines always use the location the catalog answers with.
 */
export function requestedTableLocation(w: Warehouse, requested: unknown, managed: () => string): string {
  if (typeof requested === "string" && !claimsWarehouse(w, requested.replace(/\/+$/, ""))) return managed();
  return validateTableLocation(w, requested);
}

/** Throws BadRequestError unless `location` is a table location inside the warehouse; returns it without a trailing '/'. */
export function validateTableLocation(w: Warehouse, location: unknown): string {
  if (typeof location !== "string") throw new BadRequestError("Invalid location: must be a string");
  const trimmed = location.replace(/\/+$/, "");
  if (r2KeyOf(w, trimmed) === undefined) {
    throw new BadRequestError(`Invalid location ${JSON.stringify(location)}: tables must live under ${warehouseRoot(w)}/ (plain path segments only)`);
  }
  return trimmed;
}

/** True when one location is the other or contains it (purging one would delete the other's files). */
export function locationsOverlap(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}
