/**
 * Trigger overhead: the same writes into two identical tables of one SQLite database, one captured
 * by dolake/source's triggers (outbox row per change, guards), one not. Each write is its own
 * transaction, as one Durable Object request's write is. Rounds alternate between the tables so
 * both see the same machine load. Runs over node:sqlite (bench/lib/sqlite-storage.ts), file-backed.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Outbox } from "../../src/source/outbox.js";
import { installTriggers } from "../../src/source/triggers.js";
import { sqliteStorage } from "../lib/sqlite-storage.js";

/** Writes/s of one kind of write on one table. */
export interface OverheadResult {
  op: string;
  plain: number;
  captured: number;
}

/** Runs `rounds` rounds of `perRound` inserts, updates and deletes on both tables (`memory`: CPU only, no file). */
export function runOverhead(rounds: number, perRound: number, memory = false): OverheadResult[] {
  const storage = sqliteStorage({ path: memory ? ":memory:" : join(mkdtempSync(join(tmpdir(), "dolake-bench-source-")), "db.sqlite") });
  const sql = storage.sql;
  for (const t of ["plain", "captured"]) {
    sql.exec(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount_cents INTEGER NOT NULL, status TEXT NOT NULL, note TEXT, updated_at INTEGER NOT NULL)`);
  }
  const outbox = new Outbox(sql);
  storage.transactionSync(() => {
    outbox.createSlot("bench");
    installTriggers(sql, ["captured"], 10_000_000);
  });
  const ms: Record<string, { plain: number; captured: number; n: number }> = { insert: { plain: 0, captured: 0, n: 0 }, update: { plain: 0, captured: 0, n: 0 }, delete: { plain: 0, captured: 0, n: 0 } };
  const time = (table: "plain" | "captured", op: string, f: (t: string, id: number) => void, ids: number[]) => {
    const t0 = performance.now();
    for (const id of ids) storage.transactionSync(() => f(table, id));
    ms[op]![table] += performance.now() - t0;
  };
  const ops: Array<[string, (t: string, id: number) => void]> = [
    ["insert", (t, id) => sql.exec(`INSERT INTO ${t} (id, customer, amount_cents, status, note, updated_at) VALUES (?, ?, ?, 'new', ?, ?)`, id, `customer ${id % 97}`, id * 7, "some note text of moderate length", Date.now())],
    ["update", (t, id) => sql.exec(`UPDATE ${t} SET status = 'paid', amount_cents = amount_cents + 1, updated_at = ? WHERE id = ?`, Date.now(), id)],
    ["delete", (t, id) => sql.exec(`DELETE FROM ${t} WHERE id = ?`, id)],
  ];
  for (let r = 0; r < rounds; r++) {
    const ids = Array.from({ length: perRound }, (_, i) => r * perRound + i + 1);
    const half = ids.filter((id) => id % 2 === 0);
    for (const [op, f] of ops) {
      const these = op === "delete" ? half : ids;
      // Alternate which table goes first, so neither always runs on a warmer cache.
      const order: Array<"plain" | "captured"> = r % 2 === 0 ? ["plain", "captured"] : ["captured", "plain"];
      for (const t of order) time(t, op, f, these);
      ms[op]!.n += these.length;
    }
    // The pump's part: acked changes are trimmed, so the outbox stays small as in production.
    outbox.updateSlot("bench", outbox.head());
  }
  return Object.entries(ms).map(([op, m]) => ({ op, plain: (m.n / m.plain) * 1000, captured: (m.n / m.captured) * 1000 }));
}
