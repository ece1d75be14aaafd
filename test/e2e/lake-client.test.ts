// End to end against a real `wrangler dev`: the product page's queries, as written, through the
// published client entry point (`dolake/client`), over an orders/inventory/events dataset that is
// partly flushed and partly only acked.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLakeClient, LakeError } from "dolake/client";
// @ts-expect-error: plain ESM script without types
import { freePort, startServer } from "../../scripts/with-server.mjs";
import { createProducer } from "../../src/client/producer.js";

const TOKEN = "dev-token";
let server: { url: string; stop(): Promise<void> } | undefined;

afterAll(async () => {
  await server?.stop();
});

describe("lake client against npm start", () => {
  it("runs the product page's queries", { timeout: 180_000 }, async () => {
    const port = await freePort();
    server = await startServer({ stateDir: mkdtempSync(join(tmpdir(), "dolake-query-")), token: TOKEN, port });
    const url = server!.url;
    const producer = createProducer({ url, token: TOKEN, sourceId: "shop" });
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const today = iso(now).slice(0, 10);
    await producer.send([
      { table: "orders", rowId: "o1", operation: "INSERT", after: { id: "o1", user_id: "u1", amount: 20, created_at: iso(now - 2 * 3_600_000) } },
      { table: "orders", rowId: "o2", operation: "INSERT", after: { id: "o2", user_id: "u2", amount: 5, created_at: iso(now - 2 * 3_600_000) } },
      { table: "orders", rowId: "o3", operation: "INSERT", after: { id: "o3", user_id: "u1", amount: 7, created_at: iso(now - 30 * 3_600_000) } },
      { table: "inventory", rowId: "SKU-123", operation: "INSERT", after: { product_id: "SKU-123", product_name: "Lamp", quantity: 9, reorder_point: 5 } },
      { table: "inventory", rowId: "SKU-9", operation: "INSERT", after: { product_id: "SKU-9", product_name: "Chair", quantity: 1, reorder_point: 4 } },
      { table: "events", rowId: "e1", operation: "INSERT", after: { user_id: "u1", date: today } },
      { table: "events", rowId: "e2", operation: "INSERT", after: { user_id: "u2", date: today } },
    ]);
    const flushed = await fetch(`${url}/flush`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(flushed.status).toBe(200);
    const afterFlush = new Date();
    await new Promise((r) => setTimeout(r, 20));
    // Acked, not flushed.
    await producer.send([
      { table: "orders", rowId: "o2", operation: "UPDATE", after: { id: "o2", user_id: "u2", amount: 6, created_at: iso(now - 2 * 3_600_000) } },
      { table: "inventory", rowId: "SKU-123", operation: "UPDATE", after: { product_id: "SKU-123", product_name: "Lamp", quantity: 2, reorder_point: 5 } },
      { table: "events", rowId: "e3", operation: "INSERT", after: { user_id: "u3", date: today } },
    ]);
    await producer.close();

    const lake = createLakeClient({ url, token: TOKEN });
    const revenue = await lake.query<{ hour: string; revenue: number; orders: number }>(`
      SELECT date_trunc('hour', created_at) AS hour, SUM(amount) AS revenue, COUNT(*) AS orders
      FROM orders WHERE created_at >= NOW() - INTERVAL '24 hours' GROUP BY 1 ORDER BY 1`);
    expect(revenue.rows[0]!.revenue).toBe(26);
    expect(revenue.rows[0]!.orders).toBe(2);

    const before = await lake.query("SELECT * FROM inventory WHERE product_id = ?", { params: ["SKU-123"], asOf: afterFlush });
    expect(before.rows).toEqual([{ product_id: "SKU-123", product_name: "Lamp", quantity: 9, reorder_point: 5 }]);

    const history = await lake.query<{ amount: number; _operation: string }>("SELECT * FROM orders WHERE id = ? ORDER BY _commit_timestamp DESC", { params: ["o2"] });
    expect(history.rows.map((r) => [r._operation, r.amount])).toEqual([
      ["UPDATE", 6],
      ["INSERT", 5],
    ]);

    const active = await lake.query("SELECT COUNT(DISTINCT user_id) AS active FROM events WHERE date = CURRENT_DATE");
    expect(active.rows).toEqual([{ active: 3 }]);

    const low = await lake.query("SELECT product_name, quantity FROM inventory WHERE quantity < reorder_point");
    expect(low.rows.sort((a: any, b: any) => a.product_name.localeCompare(b.product_name))).toEqual([
      { product_name: "Chair", quantity: 1 },
      { product_name: "Lamp", quantity: 2 },
    ]);

    await expect(lake.query("SELEC 1")).rejects.toBeInstanceOf(LakeError);
    await expect(createLakeClient({ url, token: "wrong" }).query("SELECT 1")).rejects.toMatchObject({ status: 401 });
  });
});
