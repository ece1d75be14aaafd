/**
 * A stand-in for a Durable Object's SQLite storage in Node (node:sqlite): `sql.exec` with cursors
 * (iterable, toArray, one), statements prepared once per query text (as workerd caches them),
 * and `transactionSync` as BEGIN/COMMIT (nested: savepoints). In workerd every event's writes
 * commit together when the event ends; here each top-level transactionSync commits, which is
 * what one WebSocket message (one append) costs there too.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";

/** Options of the stand-in. */
export interface SqliteStorageOptions {
  /** ":memory:" (CPU only) or a file path (WAL, synchronous=NORMAL). */
  path?: string;
}

/** A DurableObjectStorage with `sql` and `transactionSync` over node:sqlite. */
export function sqliteStorage(options: SqliteStorageOptions = {}): DurableObjectStorage & { db: DatabaseSync } {
  const db = new DatabaseSync(options.path ?? ":memory:");
  if (options.path && options.path !== ":memory:") {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
  }
  const cache = new Map<string, { stmt: StatementSync; returns: boolean }>();
  let depth = 0;
  const cursor = (rows: Record<string, unknown>[], written: number) => ({
    toArray: () => rows,
    one: () => {
      if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}`);
      return rows[0];
    },
    [Symbol.iterator]: () => rows[Symbol.iterator](),
    rowsWritten: written,
  });
  const sql = {
    exec(query: string, ...bindings: unknown[]) {
      let entry = cache.get(query);
      if (!entry) {
        if (bindings.length === 0 && query.split(";").filter((s) => s.trim()).length > 1) {
          db.exec(query);
          return cursor([], 0);
        }
        entry = { stmt: db.prepare(query), returns: /^\s*(select|with)\b|\breturning\b/i.test(query) };
        cache.set(query, entry);
      }
      const params = bindings as Array<string | number | null | Uint8Array>;
      if (entry.returns) return cursor(entry.stmt.all(...params) as Record<string, unknown>[], 0);
      const r = entry.stmt.run(...params);
      return cursor([], Number(r.changes));
    },
  };
  const transactionSync = <T>(fn: () => T): T => {
    const top = depth === 0;
    const name = `sp${depth++}`;
    db.exec(top ? "BEGIN" : `SAVEPOINT ${name}`);
    try {
      const out = fn();
      db.exec(top ? "COMMIT" : `RELEASE ${name}`);
      return out;
    } catch (e) {
      db.exec(top ? "ROLLBACK" : `ROLLBACK TO ${name}; RELEASE ${name}`);
      throw e;
    } finally {
      depth--;
    }
  };
  return { sql, transactionSync, db } as unknown as DurableObjectStorage & { db: DatabaseSync };
}
