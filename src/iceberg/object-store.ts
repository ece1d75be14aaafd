/**
 * The storage the writers need: R2 in production, a Map or a local folder in tests. Keys are
 * object keys; `keyForLocation` turns a table file's URI (`s3://bucket/a/b`) into one (`a/b`).
 */

/** Where files are put and read. */
export interface ObjectStore {
  /** Stores the bytes under the key (overwrites). */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The bytes under the key, or null when absent. */
  get(key: string): Promise<Uint8Array | null>;
}

/**
 * Default location -> key mapping: `s3://bucket/k` and `r2://bucket/k` -> `k`; `file:///abs` ->
 * `/abs`; anything without a scheme is already a key.
 */
export function keyForLocation(location: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i.exec(location);
  if (!m) return location;
  if (m[1]!.toLowerCase() === "file") return m[3] ?? "/";
  return (m[3] ?? "/").slice(1);
}

/** An in-memory ObjectStore (tests, and a model of R2's semantics for the writer). */
export class MemoryObjectStore implements ObjectStore {
  /** The stored objects. */
  readonly objects = new Map<string, Uint8Array>();
  /** Stores a copy of the bytes. */
  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.objects.set(key, bytes.slice());
  }
  /** Returns the stored bytes or null. */
  async get(key: string): Promise<Uint8Array | null> {
    return this.objects.get(key) ?? null;
  }
}
