// End to end against a real `wrangler dev` (scripts/with-server.mjs): a producer streams while the
// server is killed with SIGKILL and restarted on the same state; after it resumes, every acked event
// is in the tables exactly once (the changelog has one row per event) and the mirror has the
// oracle's row count. With DOLAKE_PYTHON set (npm run test:interop), pyiceberg and DuckDB read the
// tables and compare them row for row with the oracle (test/python/crash).
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM script without types
import { freePort, startServer } from "../../scripts/with-server.mjs";
import { createProducer, type ProducerEvent } from "../../src/client/producer.js";

const TOKEN = "e2e-token";
let server: { url: string; stop(): Promise<void>; child: { pid: number } } | undefined;

afterAll(async () => {
  await server?.stop();
});

async function json(url: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(url, { ...init, headers: { Authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) } });
  return { status: res.status, body: await res.json() };
}

function currentSnapshot(m: any): any {
  return m.snapshots.find((s: any) => BigInt(s["snapshot-id"]) === BigInt(m["current-snapshot-id"]));
}

describe("crash and restart mid-stream", () => {
  it("loses no acked event and doubles none", { timeout: 180_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "dolake-e2e-"));
    const port = await freePort();
    let srv = await startServer({ stateDir, token: TOKEN, port });
    server = srv;
    // The restart may take long on a loaded machine: sends wait for it (timeoutMs) rather than reject.
    const producer = createProducer({ url: srv.url, token: TOKEN, sourceId: "e2e-src", encoding: "binary", maxBatchEvents: 200, reconnectDelayMs: { min: 200, max: 2000 }, timeoutMs: 170_000 });

    // Oracle: live rows per table after all changes.
    const live = { items: new Set<string>(), logs: new Set<string>() };
    const lastN = { items: new Map<string, number>(), logs: new Map<string, number>() };
    let total = 0;
    const rounds = 20;
    const perRound = 250;
    const sends: Promise<void>[] = [];
    let inFlightAtKill = 0;
    for (let r = 0; r < rounds; r++) {
      const events: ProducerEvent[] = [];
      for (let i = 0; i < perRound; i++) {
        const n = r * perRound + i;
        const table = n % 3 === 0 ? "logs" : "items";
        const set = live[table];
        const id = `k${n % 400}`;
        const op = set.has(id) ? (n % 5 === 0 ? "DELETE" : "UPDATE") : "INSERT";
        if (op === "DELETE") set.delete(id);
        else {
          set.add(id);
          lastN[table].set(id, n);
        }
        events.push({ table, rowId: id, operation: op, after: op === "DELETE" ? undefined : { id, n, note: `round ${r}` } });
        total++;
      }
      sends.push(producer.send(events));
      // Kill only while batches are sent and not yet acked (watched for a moment, else again after
      // the next round): the crash must hit batches in flight.
      for (let t = 0; r >= 8 && inFlightAtKill === 0 && producer.inFlightBatches === 0 && t < 50; t++) await new Promise((res) => setTimeout(res, 1));
      if (r >= 8 && inFlightAtKill === 0 && producer.inFlightBatches > 0) {
        inFlightAtKill = producer.inFlightBatches;
        // Hard crash: no graceful shutdown, then a restart on the same state and port.
        process.kill(-srv.child.pid, "SIGKILL");
        await new Promise((res) => setTimeout(res, 500));
        srv = await startServer({ stateDir, token: TOKEN, port });
        server = srv;
      }
    }
    expect(inFlightAtKill, "the kill hit no batch in flight").toBeGreaterThan(0);
    await Promise.all(sends);
    expect(producer.lastAckSequence).toBe(BigInt(total));
    const flushed = await json(`${srv.url}/flush`, { method: "POST" });
    expect(flushed.body.ok).toBe(true);
    await producer.close();

    const status = await json(`${srv.url}/status`);
    expect(status.body.buffer.eventCount).toBe(0);
    expect(status.body.sources).toContainEqual(expect.objectContaining({ sourceDoId: "e2e-src", lastAckSequence: total, lastPersistedSequence: total }));

    let changelogRows = 0;
    for (const table of ["items", "logs"] as const) {
      const mirror = await json(`${srv.url}/v1/namespaces/default/tables/${table}`);
      const s = currentSnapshot(mirror.body.metadata);
      const rows = Number(s.summary["total-records"]) - Number(s.summary["total-position-deletes"] ?? 0);
      expect(rows).toBe(live[table].size);
      const log = await json(`${srv.url}/v1/namespaces/default/tables/${table}__changelog`);
      changelogRows += Number(currentSnapshot(log.body.metadata).summary["total-records"]);
    }
    // Every event exactly once in history: none lost, none doubled.
    expect(changelogRows).toBe(total);

    const python = process.env.DOLAKE_PYTHON;
    if (python) {
      const oracle = join(stateDir, "oracle.json");
      const rows = (t: "items" | "logs") => Object.fromEntries([...live[t]].map((id) => [id, lastN[t].get(id)!]));
      writeFileSync(oracle, JSON.stringify({ live: { items: rows("items"), logs: rows("logs") }, total }));
      const r = spawnSync(python, ["-m", "pytest", join(import.meta.dirname, "../python/crash"), "-q", "-p", "no:cacheprovider"], {
        env: { ...process.env, DOLAKE_URL: srv.url, DOLAKE_TOKEN: TOKEN, CRASH_ORACLE: oracle },
        stdio: "inherit",
      });
      expect(r.status).toBe(0);
    }
  });
});
