// Runs the catalog in Node, outside workerd: a DurableObjectStorage over node:sqlite and an
// in-memory R2 bucket, just enough of each for src/catalog. Lets Node-only tools (ajv over the
// official spec) check every response the real handlers produce.
import { DatabaseSync } from "node:sqlite";
import { handleCatalogRequest, type CatalogContext } from "../../../src/catalog/index.js";
import type { Env } from "../../../src/env.js";

/** A DurableObjectStorage with `sql.exec` and `transactionSync` over an in-memory SQLite. */
export function sqliteStorage(): DurableObjectStorage {
  const db = new DatabaseSync(":memory:");
  let depth = 0;
  const sql = {
    exec(query: string, ...bindings: unknown[]) {
      if (bindings.length === 0 && query.trim().split(";").filter((s) => s.trim()).length > 1) {
        db.exec(query);
        return { toArray: () => [], one: () => undefined, rowsWritten: 0 };
      }
      const stmt = db.prepare(query);
      const params = bindings as Array<string | number | null>;
      if (/^\s*select/i.test(query)) {
        const rows = stmt.all(...params) as Record<string, unknown>[];
        return {
          toArray: () => rows,
          one: () => {
            if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}`);
            return rows[0];
          },
          rowsWritten: 0,
        };
      }
      const result = stmt.run(...params);
      return { toArray: () => [], one: () => undefined, rowsWritten: Number(result.changes) };
    },
  };
  const transactionSync = <T>(fn: () => T): T => {
    const name = `sp${depth++}`;
    db.exec(`SAVEPOINT ${name}`);
    try {
      const out = fn();
      db.exec(`RELEASE ${name}`);
      return out;
    } catch (e) {
      db.exec(`ROLLBACK TO ${name}`);
      db.exec(`RELEASE ${name}`);
      throw e;
    } finally {
      depth--;
    }
  };
  return { sql, transactionSync } as unknown as DurableObjectStorage;
}

/** An R2Bucket holding objects in a Map (put, get, head, delete, list by prefix). */
export function memoryBucket(): R2Bucket & { objects: Map<string, string> } {
  const objects = new Map<string, string>();
  const bucket = {
    objects,
    async put(key: string, value: string) {
      objects.set(key, String(value));
      return { key };
    },
    async get(key: string) {
      const text = objects.get(key);
      return text === undefined ? null : { key, text: async () => text };
    },
    async head(key: string) {
      return objects.has(key) ? { key } : null;
    },
    async delete(keys: string | string[]) {
      for (const k of Array.isArray(keys) ? keys : [keys]) objects.delete(k);
    },
    async list(opts: { prefix?: string; limit?: number }) {
      const all = [...objects.keys()].filter((k) => k.startsWith(opts.prefix ?? "")).sort();
      const page = all.slice(0, opts.limit ?? 1000);
      return { objects: page.map((key) => ({ key })), truncated: page.length < all.length, cursor: undefined };
    },
  };
  return bucket as unknown as R2Bucket & { objects: Map<string, string> };
}

/** A catalog context as the Durable Object builds it, over the fakes above. */
export function nodeCatalog(env: Partial<Env> = {}): CatalogContext {
  return {
    storage: sqliteStorage(),
    bucket: memoryBucket(),
    warehouse: "warehouse",
    env: { LAKE_TOKEN: "test-token", BUCKET_NAME: "dolake-warehouse", ...env } as Env,
  };
}

/** Sends one request to the catalog handler (no Worker auth in front: the handler is what is tested). */
export async function call(ctx: CatalogContext, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = body;
  return handleCatalogRequest(new Request(`http://lake.test${path}`, init), ctx);
}
