/**
 * metadata.json files in R2: naming (`<location>/metadata/<V>-<uuid>.metadata.json`, V padded
 * to 5 digits as Java and pyiceberg do), writing, reading, and a small in-memory cache of parsed
 * files (they are immutable, so a location is a perfect cache key). Metadata handed out from
 * here is deep-frozen: derive new metadata with applyUpdates, never by mutation.
 */
import { parseTableMetadata, stringifyTableMetadata } from "../iceberg/metadata/json.js";
import type { TableMetadata } from "../iceberg/metadata/types.js";
import type { CatalogDeps } from "./deps.js";
import { BadRequestError, storageUnavailable } from "./errors.js";
import { r2KeyOf } from "./names.js";

const VERSION = /\/(\d+)-[^/]*\.metadata\.json$/;

/** The version number of a metadata file from its name, or -1 when it has none. */
export function metadataVersion(location: string | undefined): number {
  const m = location ? VERSION.exec(location) : null;
  return m ? Number.parseInt(m[1] as string, 10) : -1;
}

/** The location of the next metadata file of a table, after `previous` (undefined for a new table). */
export function nextMetadataLocation(tableLocation: string, previous: string | undefined): string {
  const version = metadataVersion(previous) + 1;
  return `${tableLocation}/metadata/${String(version).padStart(5, "0")}-${crypto.randomUUID()}.metadata.json`;
}

/** The R2 key of a location in the warehouse; BadRequestError when it is outside. */
export function keyOf(deps: CatalogDeps, location: string): string {
  const key = r2KeyOf(deps.warehouse, location);
  if (key === undefined) throw new BadRequestError(`Location is outside the warehouse: ${location}`);
  return key;
}

const CACHE_SIZE = 32;
const parsed = new Map<string, TableMetadata>();

/** Freezes a value and everything in it: cached metadata is shared, so nobody may change it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function remember(location: string, metadata: TableMetadata): void {
  deepFreeze(metadata);
  parsed.delete(location);
  parsed.set(location, metadata);
  if (parsed.size > CACHE_SIZE) parsed.delete(parsed.keys().next().value as string);
}

/** Writes a metadata file; a failed write is a 503 (nothing was committed). Returns the text. */
export async function writeMetadataFile(deps: CatalogDeps, location: string, metadata: TableMetadata): Promise<string> {
  const text = stringifyTableMetadata(metadata);
  try {
    await deps.bucket.put(keyOf(deps, location), text, { httpMetadata: { contentType: "application/json" } });
  } catch (e) {
    if (e instanceof BadRequestError) throw e;
    throw storageUnavailable(`Could not write ${location}: ${(e as Error).message}`);
  }
  remember(location, metadata);
  return text;
}

/** Parsed metadata of a file, from the row's cached text, memory, or R2 (in that order). */
export async function readMetadataFile(deps: CatalogDeps, location: string, cachedText?: string | null): Promise<TableMetadata> {
  const hit = parsed.get(location);
  if (hit) return hit;
  let text = cachedText ?? undefined;
  if (text === undefined) {
    let object: R2ObjectBody | null;
    try {
      object = await deps.bucket.get(keyOf(deps, location));
    } catch (e) {
      if (e instanceof BadRequestError) throw e;
      throw storageUnavailable(`Could not read ${location}: ${(e as Error).message}`);
    }
    if (!object) throw new BadRequestError(`Metadata file does not exist: ${location}`);
    text = await object.text();
  }
  let metadata: TableMetadata;
  try {
    metadata = parseTableMetadata(text);
  } catch (e) {
    throw new BadRequestError(`Invalid metadata file ${location}: ${(e as Error).message}`);
  }
  remember(location, metadata);
  return metadata;
}

/** Deletes a metadata file nobody points to (a lost commit race); failures are only logged. */
export async function deleteOrphan(deps: CatalogDeps, location: string): Promise<void> {
  parsed.delete(location);
  try {
    await deps.bucket.delete(keyOf(deps, location));
  } catch (e) {
    console.warn(`catalog: could not delete orphan metadata ${location}: ${(e as Error).message}`);
  }
}
