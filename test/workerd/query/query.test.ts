import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { parseJson } from "../../../src/util/json.js";
import { AUTH, bufferedAck, closeAll, configure, openSocket, type TestSocket } from "../helpers.js";

afterEach(() => closeAll());

async function query(sql: string, opts: { params?: unknown[]; asOf?: unknown; path?: string } = {}): Promise<{ status: number; body: any }> {
  const res = await SELF.fetch(`http://lake${opts.path ?? "/v1/query"}`, {
    method: "POST",
    headers: { ...AUTH, "Content-Type": "application/json" },
    body: JSON.stringify({ sql, params: opts.params, asOf: opts.asOf }),
  });
  return { status: res.status, body: parseJson(await res.text()) };
}

async function flush(): Promise<void> {
  const res = await SELF.fetch("http://lake/flush", { method: "POST", headers: AUTH });
  expect(res.status).toBe(200);
}

let batchNo = 0;
async function connect(source: string): Promise<TestSocket> {
  const s = await openSocket();
  s.sendJson({ type: "connect", sourceDoId: source, protocolVersion: 1 });
  await s.next();
  return s;
}

let seq = 0;
async function send(s: TestSocket, source: string, events: Array<{ op?: string; table: string; rowId: string; after?: object | null }>): Promise<void> {
  const batch = ++batchNo;
  s.sendJson({
    type: "cdc_batch",
    sourceDoId: source,
    sequenceNumber: batch,
    events: events.map((e) => ({ sequence: ++seq, timestamp: 1736800000000 + seq, operation: e.op ?? "INSERT", table: e.table, rowId: e.rowId, after: e.after ?? null })),
  });
  // Its own buffered ack: after a flush the socket also receives persisted acks.
  await bufferedAck(s, batch);
}

describe("POST /v1/query", () => {
  it("answers the product page's queries over flushed and buffered rows", async () => {
    const s = await connect("q-seed");
    const now = Date.now();
    const hourAgo = new Date(now - 3_600_000).toISOString();
    const twoDaysAgo = new Date(now - 48 * 3_600_000).toISOString();
    const today = new Date(now).toISOString().slice(0, 10);
    await send(s, "q-seed", [
      { table: "orders", rowId: "o1", after: { id: "o1", amount: 10.5, created_at: hourAgo } },
      { table: "orders", rowId: "o2", after: { id: "o2", amount: 4.5, created_at: hourAgo } },
      { table: "orders", rowId: "o3", after: { id: "o3", amount: 100, created_at: twoDaysAgo } },
      { table: "inventory", rowId: "SKU-123", after: { product_id: "SKU-123", product_name: "Lamp", quantity: 3, reorder_point: 5 } },
      { table: "inventory", rowId: "SKU-124", after: { product_id: "SKU-124", product_name: "Desk", quantity: 30, reorder_point: 5 } },
      { table: "events", rowId: "e1", after: { user_id: "u1", date: today } },
      { table: "events", rowId: "e2", after: { user_id: "u2", date: today } },
      { table: "events", rowId: "e3", after: { user_id: "u1", date: today } },
      { table: "events", rowId: "e4", after: { user_id: "u3", date: "2020-01-01" } },
    ]);
    await flush();
    // Acked, not flushed: a new order and an update of o2.
    await send(s, "q-seed", [
      { table: "orders", rowId: "o4", after: { id: "o4", amount: 1, created_at: hourAgo } },
      { op: "UPDATE", table: "orders", rowId: "o2", after: { id: "o2", amount: 5.5, created_at: hourAgo } },
    ]);
    const revenue = await query(`
      SELECT date_trunc('hour', created_at) AS hour, SUM(amount) AS revenue, COUNT(*) AS orders
      FROM orders WHERE created_at >= NOW() - INTERVAL '24 hours' GROUP BY 1 ORDER BY 1`);
    expect(revenue.status, JSON.stringify(revenue.body)).toBe(200);
    expect(revenue.body.rows).toHaveLength(1);
    expect(revenue.body.rows[0].revenue).toBe(17); // 10.5 + 5.5 (updated, unflushed) + 1 (new, unflushed)
    expect(revenue.body.rows[0].orders).toBe(3);
    expect(revenue.body.columns.map((c: any) => c.name)).toEqual(["hour", "revenue", "orders"]);
    expect(revenue.body.stats.bufferedEventsIncluded).toBe(2);
    expect(revenue.body.stats.filesScanned).toBeGreaterThan(0);
    expect(Object.keys(revenue.body.snapshots)).toEqual(["default.orders"]);

    const sku = await query("SELECT * FROM inventory WHERE product_id = ?", { params: ["SKU-123"] });
    expect(sku.body.rows).toEqual([{ product_id: "SKU-123", product_name: "Lamp", quantity: 3, reorder_point: 5 }]);
    const active = await query("SELECT COUNT(DISTINCT user_id) AS active FROM events WHERE date = CURRENT_DATE");
    expect(active.body.rows).toEqual([{ active: 2 }]);
    const low = await query("SELECT product_name, quantity FROM inventory WHERE quantity < reorder_point");
    expect(low.body.rows).toEqual([{ product_name: "Lamp", quantity: 3 }]);

    const history = await query("SELECT * FROM orders WHERE id = ? ORDER BY _commit_timestamp DESC", { params: ["o2"] });
    expect(history.status, JSON.stringify(history.body)).toBe(200);
    expect(history.body.rows.map((r: any) => [r._operation, r.amount])).toEqual([
      ["UPDATE", 5.5],
      ["INSERT", 4.5],
    ]);
  });

  it("sees an acked write at once, and not the old version after an unflushed UPDATE or DELETE", async () => {
    const s = await connect("q-fresh");
    await send(s, "q-fresh", [
      { table: "fresh", rowId: "a", after: { k: "a", v: 1 } },
      { table: "fresh", rowId: "b", after: { k: "b", v: 2 } },
      { table: "fresh", rowId: "c", after: { k: "c", v: 3 } },
    ]);
    expect((await query("SELECT k, v FROM fresh ORDER BY k")).body.rows).toEqual([
      { k: "a", v: 1 },
      { k: "b", v: 2 },
      { k: "c", v: 3 },
    ]);
    await flush();
    await send(s, "q-fresh", [
      { op: "UPDATE", table: "fresh", rowId: "a", after: { k: "a", v: 10 } },
      { op: "DELETE", table: "fresh", rowId: "b" },
      { table: "fresh", rowId: "d", after: { k: "d", v: 4 } },
    ]);
    const r = await query("SELECT k, v FROM fresh ORDER BY k");
    expect(r.body.rows).toEqual([
      { k: "a", v: 10 },
      { k: "c", v: 3 },
      { k: "d", v: 4 },
    ]);
    // After the flush the answer is the same, read from the snapshot alone.
    await flush();
    const after = await query("SELECT k, v FROM fresh ORDER BY k");
    expect(after.body.rows).toEqual(r.body.rows);
    expect(after.body.stats.bufferedEventsIncluded).toBe(0);
  });

  it("reads a table as of a snapshot id and an instant", async () => {
    const s = await connect("q-asof");
    await send(s, "q-asof", [{ table: "hist", rowId: "a", after: { k: "a", v: 1 } }]);
    await flush();
    const first = await query("SELECT v FROM hist");
    const snap = first.body.snapshots["default.hist"];
    const between = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await send(s, "q-asof", [{ op: "UPDATE", table: "hist", rowId: "a", after: { k: "a", v: 2 } }]);
    await flush();
    expect((await query("SELECT v FROM hist")).body.rows).toEqual([{ v: 2 }]);
    expect((await query("SELECT v FROM hist", { asOf: { snapshotId: snap } })).body.rows).toEqual([{ v: 1 }]);
    expect((await query("SELECT v FROM hist", { asOf: new Date(between).toISOString() })).body.rows).toEqual([{ v: 1 }]);
    expect((await query("SELECT v FROM hist", { asOf: between })).body.rows).toEqual([{ v: 1 }]);
  });

  it("plans without reading data", async () => {
    const s = await connect("q-plan");
    await send(s, "q-plan", [{ table: "planned", rowId: "a", after: { k: "a" } }]);
    await flush();
    await send(s, "q-plan", [{ table: "planned", rowId: "b", after: { k: "b" } }]);
    const r = await query("SELECT * FROM planned", { path: "/v1/query/plan" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.files).toHaveLength(1);
    expect(r.body.files[0].path).toMatch(/\.parquet$/);
    expect(r.body.stats.bufferedEventsIncluded).toBe(1);
  });

  it("prunes data files by column bounds, and says why in the plan", async () => {
    const s = await connect("q-prune");
    await send(s, "q-prune", [
      { table: "ranged", rowId: "a", after: { k: "a", v: 1 } },
      { table: "ranged", rowId: "b", after: { k: "b", v: 5 } },
    ]);
    await flush();
    await send(s, "q-prune", [
      { table: "ranged", rowId: "c", after: { k: "c", v: 100 } },
      { table: "ranged", rowId: "d", after: { k: "d", v: 150 } },
    ]);
    await flush();
    const r = await query("SELECT k FROM ranged WHERE v >= ? ORDER BY k", { params: [100] });
    expect(r.body.rows).toEqual([{ k: "c" }, { k: "d" }]);
    expect(r.body.stats).toMatchObject({ filesScanned: 1, filesPruned: 1 });
    const plan = await query("SELECT k FROM ranged WHERE v BETWEEN 6 AND 50", { path: "/v1/query/plan" });
    expect(plan.body.files.map((f: any) => f.pruned !== undefined), JSON.stringify(plan.body)).toEqual([true, true]);
    expect(plan.body.files[0].pruned).toMatch(/^v /);
    // A buffered row is never pruned: it is in the answer even though every file is skipped.
    await send(s, "q-prune", [{ table: "ranged", rowId: "e", after: { k: "e", v: 7 } }]);
    expect((await query("SELECT k FROM ranged WHERE v BETWEEN 6 AND 50")).body.rows).toEqual([{ k: "e" }]);
  });

  it("prunes data files by partition values: bucket for equality, truncate of strings for equality, day for ranges", async () => {
    await configure({ partitionBy: { parts: [{ column: "id", transform: "bucket[8]" }, { column: "sku", transform: "truncate[2]" }], daily: [{ column: "at", transform: "day" }] }, detectTimestamps: true });
    try {
      const s = await connect("q-parts");
      // Every file holds ids from 1 to 40 (bucketing spreads them): bounds cannot rule any file out, partitions can.
      await send(s, "q-parts", Array.from({ length: 40 }, (_, i) => ({ table: "parts", rowId: String(i + 1), after: { id: i + 1, sku: `${"ABCD"[i % 4]}${"XY"[i % 2]}-${i}` } })));
      await send(s, "q-parts", Array.from({ length: 6 }, (_, i) => ({ table: "daily", rowId: String(i), after: { id: i, at: `2025-01-1${i}T12:00:00Z` } })));
      await flush();
      const one = await query("SELECT id, sku FROM parts WHERE id = 17");
      expect(one.body.rows).toEqual([{ id: 17, sku: "AX-16" }]);
      const files = one.body.stats.filesScanned + one.body.stats.filesPruned;
      expect(files).toBeGreaterThan(8);
      expect(one.body.stats.filesScanned).toBe(1); // bucket(17) and no truncate term: the one file of its (bucket, sku prefix)
      const plan = await query("SELECT id FROM parts WHERE id = 17", { path: "/v1/query/plan" });
      expect(plan.body.files.find((f: any) => f.pruned)?.pruned).toMatch(/^id = 17: partition id_bucket=\d$/);
      const bySku = await query("SELECT COUNT(*) AS n FROM parts WHERE sku = 'BY-5'");
      expect(bySku.body.rows).toEqual([{ n: 1 }]);
      expect(bySku.body.stats.filesScanned).toBeLessThan(files / 2); // string bounds never prune; the truncate[2] partition does
      const range = await query("SELECT id FROM daily WHERE at >= TIMESTAMPTZ '2025-01-14 00:00:00+00' ORDER BY id");
      expect(range.body.rows).toEqual([{ id: 4 }, { id: 5 }]);
      expect(range.body.stats).toMatchObject({ filesScanned: 2, filesPruned: 4 });
    } finally {
      await configure({ partitionBy: {}, detectTimestamps: false });
    }
  });

  it("refuses invalid SQL, unknown tables and columns, and writes, naming them", async () => {
    const bad = await query("SELECT FROM WHERE x");
    expect(bad.status).toBe(400);
    expect(bad.body.error.type).toBe("BadRequestException");
    expect(bad.body.error.message).toMatch(/line 1, column 13/);
    const write = await query("DELETE FROM orders");
    expect(write.status).toBe(400);
    expect(write.body.error.message).toMatch(/Only SELECT/);
    const table = await query("SELECT * FROM nope");
    expect(table.status).toBe(404);
    expect(table.body.error.message).toMatch(/default\.nope/);
    const s = await connect("q-err");
    await send(s, "q-err", [{ table: "errs", rowId: "a", after: { k: "a" } }]);
    const col = await query("SELECT missing FROM errs");
    expect(col.status).toBe(400);
    expect(col.body.error.message).toMatch(/Unknown column "missing" at line 1, column 8/);
    const unauth = await SELF.fetch("http://lake/v1/query", { method: "POST", body: "{}" });
    expect(unauth.status).toBe(401);
  });

  it("keeps 64-bit integers exact", async () => {
    const s = await connect("q-big");
    const batch = ++batchNo;
    s.sendText(
      `{"type":"cdc_batch","sourceDoId":"q-big","sequenceNumber":${batch},"events":[{"sequence":${++seq},"timestamp":1,"operation":"INSERT","table":"bigs","rowId":"a","after":{"n":9007199254740993}}]}`,
    );
    await bufferedAck(s, batch);
    const r = await query("SELECT n, n + 1 AS m FROM bigs");
    expect(r.body.rows).toEqual([{ n: 9007199254740993n, m: 9007199254740994n }]);
    await flush();
    expect((await query("SELECT n FROM bigs")).body.rows).toEqual([{ n: 9007199254740993n }]);
  });
});
