// End to end for dolake/source, against a real `wrangler dev` of the orders example (one Worker:
// the Orders object and DoLake). Seeded random writes through the example's API — single writes
// and all-or-nothing batches, a third of which roll back — while the server (both objects) is
// killed with SIGKILL and restarted on the same state. Afterwards DoLake has acked every committed
// change, the lake's mirror has the source's rows and the changelog every committed change exactly
// once. With DOLAKE_PYTHON set (npm run test:interop) pyiceberg and DuckDB read the lake and compare
// it row for row with the source (test/python/source/check_orders.py).
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM script without types
import { freePort, startServer } from "../../scripts/with-server.mjs";
import { rng } from "../support/rng.js";

const TOKEN = "e2e-token";
const CONFIG = join(import.meta.dirname, "../../examples/orders/wrangler.jsonc");
let server: { url: string; stop(): Promise<void>; child: { pid: number } } | undefined;

afterAll(async () => {
  await server?.stop();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server!.url}${path}`, { method, headers: { Authorization: `Bearer ${TOKEN}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function currentSnapshot(m: any): any {
  return m.snapshots.find((s: any) => BigInt(s["snapshot-id"]) === BigInt(m["current-snapshot-id"]));
}

interface Row {
  id: string;
  customer: string;
  amount_cents: string;
  status: string;
}
type Change = { op: "INSERT" | "UPDATE" | "DELETE"; id: string };

describe("source CDC: the orders example under crashes", () => {
  it("mirrors every committed write exactly once, none that rolled back", { timeout: 300_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "dolake-source-e2e-"));
    const port = await freePort();
    server = await startServer({ stateDir, token: TOKEN, port, config: CONFIG });
    const rand = rng(20261129);
    const live = new Map<string, Row>();
    const changes: Change[] = [];
    // Ids around 2^53: a JS number would round them; they must arrive exact.
    const ids = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? (9007199254740993n + BigInt(i)).toString() : String(i + 1)));
    const pick = () => ids[Math.floor(rand() * ids.length)]!;
    let next = 0;
    // One step of the workload, applied to `state` (a copy of the oracle until the write commits).
    const step = (state: Map<string, Row>): { step: any; change: Change } => {
      const id = pick();
      const cur = state.get(id);
      const n = next++;
      if (!cur) {
        const row = { id, customer: `c${n % 7}`, amount_cents: String(100 + n), status: "new" };
        state.set(id, row);
        return { step: { op: "insert", order: row }, change: { op: "INSERT", id } };
      }
      if (rand() < 0.3) {
        state.delete(id);
        return { step: { op: "delete", id }, change: { op: "DELETE", id } };
      }
      const set = { status: rand() < 0.5 ? "paid" : "shipped", amount_cents: String(n) };
      state.set(id, { ...cur, ...set });
      return { step: { op: "update", id, set }, change: { op: "UPDATE", id } };
    };

    const ROUNDS = 240;
    for (let r = 0; r < ROUNDS; r++) {
      if (r === 80 || r === 170) {
        // Hard crash of the whole Worker (the Orders object mid-pump and DoLake), then a restart on the same state.
        process.kill(-server!.child.pid, "SIGKILL");
        await new Promise((res) => setTimeout(res, 300));
        server = await startServer({ stateDir, token: TOKEN, port, config: CONFIG });
      }
      if (rand() < 0.6) {
        const copy = new Map(live);
        const { step: s, change } = step(copy);
        const res = s.op === "insert" ? await call("POST", "/orders", s.order) : s.op === "delete" ? await call("DELETE", `/orders/${s.id}`) : await call("PATCH", `/orders/${s.id}`, s.set);
        expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
        live.clear();
        for (const [k, v] of copy) live.set(k, v);
        changes.push(change);
      } else {
        const copy = new Map(live);
        const batch = Array.from({ length: 2 + Math.floor(rand() * 3) }, () => step(copy));
        const rollBack = rand() < 0.35;
        // A failing last step (an insert of an existing key) rolls the whole batch back.
        const steps = batch.map((b) => b.step);
        if (rollBack) {
          const dup = { op: "insert", order: [...copy.values()][0] ?? { id: "1", customer: "x", amount_cents: "1" } };
          steps.push(...(copy.size > 0 ? [dup] : [dup, dup]));
        }
        const res = await call("POST", "/orders/batch", { steps });
        if (rollBack) {
          expect(res.status, JSON.stringify(res.body)).toBe(409);
          // The oracle stays as it was.
          continue;
        }
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        live.clear();
        for (const [k, v] of copy) live.set(k, v);
        changes.push(...batch.map((b) => b.change));
      }
    }

    // The source itself holds exactly the oracle.
    const source = (await call("GET", "/orders")).body as Array<Row & { updated_at: number }>;
    expect(source.map(({ id, customer, amount_cents, status }) => ({ id, customer, amount_cents, status }))).toEqual([...live.values()].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1)));

    // The pump catches up after the crashes (alarms resume it), then one flush commits everything.
    const deadline = Date.now() + 120_000;
    let lag: any;
    for (;;) {
      lag = (await call("GET", "/cdc/status")).body.lag;
      if (lag.events === 0 || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(lag).toMatchObject({ events: 0, head: String(changes.length), acked: String(changes.length), lastError: "" });
    const flushed = await call("POST", "/flush");
    expect(flushed.body.ok).toBe(true);

    const mirror = await call("GET", "/v1/namespaces/default/tables/orders");
    const s = currentSnapshot(mirror.body.metadata);
    expect(Number(s.summary["total-records"]) - Number(s.summary["total-position-deletes"] ?? 0)).toBe(live.size);
    const log = await call("GET", "/v1/namespaces/default/tables/orders__changelog");
    expect(Number(currentSnapshot(log.body.metadata).summary["total-records"])).toBe(changes.length);

    const python = process.env.DOLAKE_PYTHON;
    if (python) {
      const oracle = join(stateDir, "oracle.json");
      writeFileSync(oracle, JSON.stringify({ rows: [...live.values()], changes }));
      const r = spawnSync(python, ["-m", "pytest", join(import.meta.dirname, "../python/source"), "-q", "-p", "no:cacheprovider"], {
        env: { ...process.env, DOLAKE_URL: server!.url, DOLAKE_TOKEN: TOKEN, ORDERS_ORACLE: oracle },
        stdio: "inherit",
      });
      expect(r.status).toBe(0);
    }
  });
});
