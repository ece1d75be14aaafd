// lake.query against DuckDB on the same snapshot: a seeded random CDC workload (inserts, updates,
// deletes over four tables: qd_orders partitioned by identity(qty) and bucket[4](id), qd_t1
// created through the REST catalog with typed columns (timestamptz, date, boolean, double)
// partitioned by day(ts), a column added half way to both, several flushes, so
// the snapshots have position-delete files) goes through a real `wrangler dev`, and a last round
// stays buffered. Each hand-written query and 520 generated ones (test/support/query-gen.ts) run
// through POST /v1/query fresh (snapshot + buffer).
// - Always: the qd_t1/qd_t2 answers (values and column types) must equal DuckDB's (@duckdb/node-api)
//   over the oracle's rows, the state every acked event describes.
// - With DOLAKE_PYTHON set (npm run test:interop): the buffer is flushed, and test/python/query runs
//   every query in DuckDB over the Iceberg tables (ATTACH through our REST catalog: DuckDB reads our
//   Parquet, manifests and deletes itself); its answers over the new snapshot must equal ours
//   from before the flush.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";
import { createLakeClient } from "../../src/client/lake.js";
import { createProducer, type ProducerEvent } from "../../src/client/producer.js";
import { fromAnswer, norm, sameType } from "../support/duckdb-norm.js";
import { queryGenerator } from "../support/query-gen.js";
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
function generatedOrders(n: number): string[] {
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

// qd_t1/qd_t2: the shapes test/support/query-gen.ts queries, with the clock fixed so DuckDB can replay them later.
const NOW_US = 1_736_900_000_000_000n; // 2025-01-15T00:13:20Z
const NOW_SQL = "TIMESTAMPTZ '2025-01-15 00:13:20+00'";
const T1_COLUMNS = ["id", "g", "x", "y", "s", "ts", "d", "b", "e"] as const;
const T1_DUCK = "id BIGINT, g VARCHAR, x BIGINT, y DOUBLE, s VARCHAR, ts TIMESTAMPTZ, d DATE, b BOOLEAN, e VARCHAR";
const T2_DUCK = "id BIGINT, t1_id BIGINT, v BIGINT, label VARCHAR";
const T1_SCHEMA = {
  type: "struct", "schema-id": 0,
  fields: [
    { id: 1, name: "id", type: "long", required: false }, { id: 2, name: "g", type: "string", required: false },
    { id: 3, name: "x", type: "long", required: false }, { id: 4, name: "y", type: "double", required: false },
    { id: 5, name: "s", type: "string", required: false }, { id: 6, name: "ts", type: "timestamptz", required: false },
    { id: 7, name: "d", type: "date", required: false }, { id: 8, name: "b", type: "boolean", required: false },
  ],
};
const T1_SPEC = { "spec-id": 0, fields: [{ "source-id": 6, "field-id": 1000, transform: "day", name: "ts_day" }] };

/** Hand-written queries over qd_t1/qd_t2 (the product page's shapes among them). */
const T1_HAND = [
  `SELECT date_trunc('hour', ts) AS hour, SUM(y) AS revenue, COUNT(*) AS orders FROM qd_t1 WHERE ts >= ${NOW_SQL} - INTERVAL '24 hours' GROUP BY 1 ORDER BY 1`,
  "SELECT * FROM qd_t1 WHERE id = 7",
  "SELECT id, g, x, y, s, ts, d, b, e FROM qd_t1 ORDER BY id",
  "SELECT COUNT(DISTINCT g) AS active FROM qd_t1 WHERE d = DATE '2025-01-15'",
  "SELECT s, x FROM qd_t1 WHERE x < id ORDER BY id LIMIT 20",
  "SELECT g, COUNT(*) FILTER (WHERE x > 10) AS big, AVG(y) AS avg_y FROM qd_t1 GROUP BY g ORDER BY g NULLS LAST",
  "SELECT coalesce(e, 'none') AS e2, COUNT(*) AS n FROM qd_t1 GROUP BY 1 ORDER BY 1",
  "SELECT extract(year from d) AS yr, extract(month from ts) AS mo, extract(dow from d) AS dow FROM qd_t1 ORDER BY id LIMIT 50",
  "SELECT COUNT(*) FROM qd_t1 a LEFT JOIN qd_t2 b ON a.id = b.t1_id WHERE b.id IS NULL",
  "SELECT MIN(d), MAX(d), MIN(s), MAX(b), MIN(ts), MAX(ts) FROM qd_t1",
  "SELECT id FROM qd_t1 WHERE ts BETWEEN TIMESTAMPTZ '2025-01-13 00:00:00+00' AND TIMESTAMPTZ '2025-01-13 12:00:00+00' ORDER BY id",
  "SELECT round(y) AS r, floor(y) AS f, ceil(y) AS c FROM qd_t1 ORDER BY id LIMIT 40",
];

/** One qd_t1 row image; `e` (a column the table did not have) only in later rounds. */
function t1Row(r: () => number, id: number, round: number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const maybe = <T>(v: T) => (r() < 0.15 ? null : v);
  const tsUs = NOW_US - BigInt(int(0, 96 * 3600)) * 1_000_000n;
  return {
    id: BigInt(id), g: maybe(pick(["a", "b", "c", "d"])), x: maybe(BigInt(int(-20, 100))), y: maybe(Math.round((r() * 200 - 50) * 4) / 4 + 0.5),
    s: maybe(pick(["apple", "Banana", "cherry", "date", "elder", "Fig", "grape", ""]) + (r() < 0.3 ? String(int(0, 9)) : "")),
    ts: maybe(new Date(Number(tsUs / 1000n)).toISOString()), d: maybe(new Date((20_100 + int(0, 10)) * 86_400_000).toISOString().slice(0, 10)),
    b: maybe(r() < 0.5), ...(round >= 3 && r() < 0.6 ? { e: maybe(pick(["red", "green", "blue"])) } : {}),
  };
}

/** DuckDB (in memory) over the rows every acked qd_t1/qd_t2 event leaves: the oracle's answers. */
async function oracleDuck(t1: Map<number, Record<string, unknown>>, t2: Map<number, Record<string, unknown>>) {
  const duck = await (await DuckDBInstance.create(":memory:")).connect();
  await duck.run("SET TimeZone='UTC'");
  await duck.run("SET default_null_order='nulls_last_on_asc_first_on_desc'");
  const lit = (v: unknown, type: string) =>
    v === null || v === undefined ? "NULL" : typeof v === "string" ? `'${v.replace(/'/g, "''")}'::${type}` : `${String(v)}::${type}`;
  const load = async (name: string, ddl: string, rows: Array<Record<string, unknown>>) => {
    await duck.run(`CREATE TABLE ${name} (${ddl})`);
    const cols = ddl.split(", ").map((c) => c.split(" ") as [string, string]);
    if (rows.length) await duck.run(`INSERT INTO ${name} VALUES ${rows.map((row) => `(${cols.map(([c, t]) => lit(row[c], t)).join(", ")})`).join(", ")}`);
  };
  await load("qd_t1", T1_DUCK, [...t1.values()]);
  await load("qd_t2", T2_DUCK, [...t2.values()]);
  return duck;
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
    await fetch(`${server.url}/v1/namespaces`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ namespace: ["default"] }) });
    const created = await fetch(`${server.url}/v1/namespaces/default/tables`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name: "qd_t1", schema: T1_SCHEMA, "partition-spec": T1_SPEC }),
    });
    expect(created.status).toBe(200);
    const producer = createProducer({ url: server.url, token: TOKEN, sourceId: "qd-src", maxBatchEvents: 100 });
    const lake = createLakeClient({ url: server.url, token: TOKEN });
    const r = rng(20261129);
    const live = new Map<number, boolean>();
    const statuses = ["new", "paid", "shipped", null];
    const customers = Array.from({ length: 12 }, (_, i) => `c${i}`);
    await producer.send(customers.map((id, i) => ({ table: "qd_customers", rowId: id, operation: "INSERT", after: { id, name: `Customer ${i}`, tier: i % 3 === 0 ? "gold" : "basic" } })));
    const t1 = new Map<number, Record<string, unknown>>();
    const t2 = new Map<number, Record<string, unknown>>();
    const t2Row = (id: number) => {
      const maybe = <T>(v: T) => (r() < 0.15 ? null : v);
      return { id: BigInt(id), t1_id: maybe(BigInt(1 + Math.floor(r() * 305))), v: maybe(BigInt(Math.floor(r() * 51))), label: maybe(["x", "y", "z"][Math.floor(r() * 3)]!) };
    };
    for (let round = 0; round < 6; round++) {
      const events: ProducerEvent[] = [];
      // qd_t1 / qd_t2: all keys inserted in round 0, then updates, deletes and re-inserts.
      for (let k = 0; k < (round === 0 ? 300 : 120); k++) {
        const id = round === 0 ? k + 1 : 1 + Math.floor(r() * 320);
        const operation = !t1.has(id) ? "INSERT" : r() < 0.2 ? "DELETE" : "UPDATE";
        if (operation === "DELETE") {
          t1.delete(id);
          events.push({ table: "qd_t1", rowId: String(id), operation });
        } else {
          const after = t1Row(r, id, round);
          t1.set(id, after);
          events.push({ table: "qd_t1", rowId: String(id), operation, after: after as ProducerEvent["after"] });
        }
      }
      for (let k = 0; k < (round === 0 ? 200 : 30); k++) {
        const id = round === 0 ? k + 1 : 1 + Math.floor(r() * 200);
        const after = t2Row(id);
        t2.set(id, after);
        events.push({ table: "qd_t2", rowId: String(id), operation: round === 0 ? "INSERT" : "UPDATE", after });
      }
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
    const gen = queryGenerator({ random: rng(7), t1: "qd_t1", t2: "qd_t2", now: NOW_SQL, extraText: ["e", "coalesce(e, g)"] });
    const generated = Array.from({ length: 520 }, (_, i) => gen.next(i));
    const cases = [];
    for (const sql of [...HAND_WRITTEN, ...generatedOrders(100), ...T1_HAND, ...generated]) {
      const res = await lake.query(sql);
      cases.push({ sql, columns: res.columns, rows: res.rows.map((row) => res.columns.map((c) => (row as Record<string, unknown>)[c.name])), buffered: res.stats.bufferedEventsIncluded });
    }
    expect(cases[0]!.buffered).toBe(80); // COUNT(*) over qd_orders read the whole unflushed round

    // qd_t1/qd_t2 answers, values and column types, against DuckDB over the oracle's rows.
    const duck = await oracleDuck(t1, t2);
    const bad: string[] = [];
    let nonEmpty = 0;
    for (const c of cases.filter((x) => !x.sql.includes("qd_orders") && !x.sql.includes("qd_customers"))) {
      const reader = await duck.runAndReadAll(c.sql);
      const types = reader.columnTypes().map(String);
      const theirs = reader.getRows().map((row) => row.map(norm).join(" | "));
      const ours = c.rows.map((row) => row.map((v, i) => norm(fromAnswer(v, c.columns[i]!.type))).join(" | "));
      if (!/ORDER BY/i.test(c.sql.replace(/\(.*\)/s, ""))) {
        theirs.sort();
        ours.sort();
      }
      if (ours.length) nonEmpty++;
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) bad.push(`${c.sql}\n  ours   ${ours.slice(0, 4).join(" ; ")}\n  duckdb ${theirs.slice(0, 4).join(" ; ")}`);
      else if (!c.columns.every((col, i) => sameType(col.type, types[i]!))) bad.push(`${c.sql}\n  types: ours ${c.columns.map((x) => x.type)} duckdb ${types}`);
    }
    duck.closeSync();
    expect(bad, `${bad.length} queries differ from DuckDB over the oracle's rows:\n${bad.slice(0, 10).join("\n")}`).toEqual([]);
    expect(nonEmpty).toBeGreaterThan(400); // most queries return rows, or the comparison proves little
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
