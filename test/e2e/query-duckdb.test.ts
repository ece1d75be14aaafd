// lake.query against DuckDB on the same snapshot: a seeded random CDC workload (inserts, updates,
// deletes over two tables, one of them partitioned by identity(qty) and bucket[4](id), a column
// added half way, several flushes, so the snapshot has position-delete files) goes through a real
// `wrangler dev`, and a last round stays buffered. Each hand-written and generated query runs
// through POST /v1/query fresh (snapshot + buffer); then the buffer is flushed, so DuckDB's view of
// the new snapshot must equal what we answered before the flush. With DOLAKE_PYTHON set
// (npm run test:interop), test/python/query runs the same SQL in DuckDB over the Iceberg tables
// (ATTACH through our REST catalog: DuckDB reads our Parquet, manifests and deletes itself) and
// compares the results. Without Python this test checks every query answers and counts match the
// oracle.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLakeClient } from "../../src/client/lake.js";
import { createProducer, type ProducerEvent } from "../../src/client/producer.js";
import { rng } from "../support/rng.js";
import { startLocalServer } from "../support/server.js";

const TOKEN = "qd-token";
let server: { url: string; stop(): Promise<void> } | undefined;
afterAll(async () => {
  await server?.stop();
});

const HAND_WRITTEN = [
  "SELECT COUNT(*) FROM qd_orders",
  "SELECT id, customer, amount, qty, status, big FROM qd_orders ORDER BY id",
  "SELECT status, COUNT(*), SUM(qty), MIN(amount), MAX(amount) FROM qd_orders GROUP BY status ORDER BY status NULLS FIRST",
  "SELECT customer, SUM(amount) AS total FROM qd_orders GROUP BY 1 HAVING COUNT(*) > 1 ORDER BY 1",
  "SELECT COUNT(DISTINCT customer) AS n FROM qd_orders WHERE status IN ('paid', 'shipped')",
  "SELECT id FROM qd_orders WHERE amount BETWEEN 10 AND 50 AND qty <> 3 ORDER BY id",
  "SELECT id, COALESCE(status, 'none') AS s FROM qd_orders WHERE status IS NULL OR status LIKE 'p%' ORDER BY id",
  "SELECT id, CASE WHEN amount > 75 THEN 'high' WHEN amount > 25 THEN 'mid' ELSE 'low' END AS band FROM qd_orders ORDER BY id LIMIT 20 OFFSET 5",
  // created_at is text in the mirror (timestamp detection is off by default): cast it, as PostgreSQL needs too.
  "SELECT CAST(date_trunc('day', created_at::TIMESTAMPTZ) AS DATE) AS day, COUNT(*) AS n FROM qd_orders GROUP BY 1 ORDER BY 1",
  "SELECT extract(hour FROM created_at::TIMESTAMPTZ) AS h, COUNT(*) FROM qd_orders GROUP BY 1 ORDER BY 1",
  "SELECT o.id, c.name, c.tier FROM qd_orders o JOIN qd_customers c ON c.id = o.customer ORDER BY o.id",
  "SELECT c.id, COUNT(o.id) AS orders FROM qd_customers c LEFT JOIN qd_orders o ON o.customer = c.id GROUP BY c.id ORDER BY c.id",
  "SELECT id FROM qd_orders WHERE customer IN (SELECT id FROM qd_customers WHERE tier = 'gold') ORDER BY id",
  "WITH big AS (SELECT customer, amount FROM qd_orders WHERE amount > 40) SELECT customer, COUNT(*) FROM big GROUP BY customer ORDER BY customer",
  "SELECT t.status, t.n FROM (SELECT status, COUNT(*) AS n FROM qd_orders GROUP BY status) t WHERE t.n > 2 ORDER BY t.status NULLS LAST",
  "SELECT upper(name), lower(tier), length(name) FROM qd_customers ORDER BY id",
  "SELECT id, CAST(qty AS DOUBLE) / 2 AS half, qty::VARCHAR AS q FROM qd_orders ORDER BY id LIMIT 10",
  "SELECT big, big + 1 FROM qd_orders ORDER BY id LIMIT 5",
  "SELECT AVG(amount), SUM(big) FROM qd_orders",
  "SELECT id FROM qd_orders WHERE name_note ILIKE '%NOTE 1%' ORDER BY id",
  "SELECT id, coupon FROM qd_orders ORDER BY id",
  "SELECT COUNT(*) AS n FROM (SELECT id * 3 AS id, amount FROM qd_orders) s WHERE id > 200",
  "SELECT s.qty, SUM(s.amount) AS total FROM (SELECT qty + 10 AS qty, amount FROM qd_orders) s WHERE s.qty >= 13 GROUP BY s.qty ORDER BY s.qty",
  "SELECT COUNT(coupon) AS with_coupon, COUNT(*) AS n FROM qd_orders", // aliased: answer rows are objects keyed by column name
];

/** Generated queries over qd_orders: a filter, maybe a group, always a total order. */
function generated(n: number): string[] {
  const r = rng(11);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const filters = ["amount > 30", "qty <= 4", "status = 'paid'", "status IS NULL", "customer LIKE 'c1%'", "id % 3 = 0", "amount < 20 OR qty = 5", "NOT (qty BETWEEN 2 AND 4)", "big > 9007199254740993"];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const where = `${pick(filters)}${r() < 0.5 ? ` AND ${pick(filters)}` : ""}`;
    if (r() < 0.5) out.push(`SELECT id, amount, qty FROM qd_orders WHERE ${where} ORDER BY id`);
    else out.push(`SELECT qty, COUNT(*), SUM(amount), MAX(id) FROM qd_orders WHERE ${where} GROUP BY qty ORDER BY qty`);
  }
  return out;
}

describe("lake.query vs DuckDB on the same snapshot", () => {
  it("answers every query as DuckDB does over the same Iceberg tables", { timeout: 300_000 }, async () => {
    server = await startLocalServer(TOKEN);
    const patch = await fetch(`${server.url}/config`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ partitionBy: { qd_orders: [{ column: "qty", transform: "identity" }, { column: "id", transform: "bucket[4]" }] } }),
    });
    expect(patch.status).toBe(200);
    const producer = createProducer({ url: server.url, token: TOKEN, sourceId: "qd-src", maxBatchEvents: 100 });
    const lake = createLakeClient({ url: server.url, token: TOKEN });
    const r = rng(20261129);
    const live = new Map<number, boolean>();
    const statuses = ["new", "paid", "shipped", null];
    const customers = Array.from({ length: 12 }, (_, i) => `c${i}`);
    await producer.send(customers.map((id, i) => ({ table: "qd_customers", rowId: id, operation: "INSERT", after: { id, name: `Customer ${i}`, tier: i % 3 === 0 ? "gold" : "basic" } })));
    for (let round = 0; round < 6; round++) {
      const events: ProducerEvent[] = [];
      for (let k = 0; k < 80; k++) {
        const id = 1 + Math.floor(r() * 120);
        const exists = live.get(id) === true;
        const operation = !exists ? "INSERT" : r() < 0.25 ? "DELETE" : "UPDATE";
        live.set(id, operation !== "DELETE");
        const after = {
          id, customer: customers[Math.floor(r() * customers.length)]!, amount: Math.round(r() * 10000) / 100, qty: 1 + Math.floor(r() * 6),
          status: statuses[Math.floor(r() * statuses.length)]!, created_at: new Date(Date.UTC(2026, 10, 20 + Math.floor(r() * 5), Math.floor(r() * 24), 7, 0)).toISOString(),
          big: 9007199254740993n + BigInt(id), name_note: `order note ${id % 17}`,
          ...(round >= 3 && r() < 0.5 ? { coupon: `SAVE${Math.floor(r() * 30)}` } : {}),
        };
        events.push(operation === "DELETE" ? { table: "qd_orders", rowId: String(id), operation } : { table: "qd_orders", rowId: String(id), operation, after });
      }
      await producer.send(events);
      if (round === 5) break; // the last round stays buffered: the queries must see it
      const f = await fetch(`${server.url}/flush`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(f.status).toBe(200);
    }
    await producer.close();
    const cases = [];
    for (const sql of [...HAND_WRITTEN, ...generated(100)]) {
      const res = await lake.query(sql);
      cases.push({ sql, columns: res.columns, rows: res.rows.map((row) => res.columns.map((c) => (row as Record<string, unknown>)[c.name])), buffered: res.stats.bufferedEventsIncluded });
    }
    expect(cases[0]!.buffered).toBe(80); // COUNT(*) over qd_orders read the whole unflushed round
    // Flushed now, the snapshot alone must hold what the queries answered from snapshot + buffer.
    const flushed = await fetch(`${server.url}/flush`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(flushed.status).toBe(200);
    const liveCount = [...live.values()].filter(Boolean).length;
    expect(Number(cases[0]!.rows[0]![0])).toBe(liveCount);
    expect(cases[1]!.rows.map((x) => Number(x[0]))).toEqual([...live].filter(([, v]) => v).map(([k]) => k).sort((a, b) => a - b));

    const python = process.env.DOLAKE_PYTHON;
    if (python) {
      const file = join(mkdtempSync(join(tmpdir(), "dolake-qd-")), "cases.json");
      writeFileSync(file, JSON.stringify(cases, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)));
      const py = spawnSync(python, ["-m", "pytest", join(import.meta.dirname, "../python/query"), "-q", "-p", "no:cacheprovider"], {
        env: { ...process.env, DOLAKE_URL: server.url, DOLAKE_TOKEN: TOKEN, QUERY_CASES: file },
        stdio: "inherit",
      });
      expect(py.status).toBe(0);
    }
  });
});
