// Differential test of the query executor against DuckDB (@duckdb/node-api, a native build from
// npm): the same rows go into both, seeded generated queries plus a hand-written set run through
// both, and results (values, NULLs, order where ORDER BY fixes it, column types) must agree.
// DuckDB runs with TimeZone=UTC and PostgreSQL's NULL order (NULLs sort as the largest value).
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseQuery } from "../../../src/query/parse.js";
import { runStatement, type Relation } from "../../../src/query/select.js";
import { DateValue, Timestamp, type Value } from "../../../src/query/values.js";
import { norm } from "../../support/duckdb-norm.js";
import { queryGenerator } from "../../support/query-gen.js";
import { rng } from "../../support/rng.js";

const NOW = new Timestamp(1_736_900_000_000_000n, true);
const random = rng(20261129);
const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

/** t1: the mirror-like table; t2: rows referring to t1. NULLs everywhere but the keys. */
const T1 = ["id", "g", "x", "y", "s", "ts", "d", "b"];
const T1_TYPES = ["BIGINT", "VARCHAR", "BIGINT", "DOUBLE", "VARCHAR", "TIMESTAMPTZ", "DATE", "BOOLEAN"];
const T2 = ["id", "t1_id", "v", "label"];
const T2_TYPES = ["BIGINT", "BIGINT", "BIGINT", "VARCHAR"];

function maybe<T>(v: T, p = 0.15): T | null {
  return random() < p ? null : v;
}

function makeT1(n: number): Value[][] {
  const rows: Value[][] = [];
  for (let i = 1; i <= n; i++) {
    rows.push([
      BigInt(i),
      maybe(pick(["a", "b", "c", "d"])),
      maybe(BigInt(int(-20, 100))),
      maybe(Math.round((random() * 200 - 50) * 4) / 4),
      maybe(pick(["apple", "Banana", "cherry", "date", "elder", "Fig", "grape", ""]) + (random() < 0.3 ? String(int(0, 9)) : "")),
      maybe(new Timestamp(NOW.us - BigInt(int(0, 96 * 3600)) * 1_000_000n, true)),
      maybe(new DateValue(20_100 + int(0, 10))),
      maybe(random() < 0.5),
    ]);
  }
  return rows;
}

function makeT2(n: number, t1: number): Value[][] {
  return Array.from({ length: n }, (_, i) => [BigInt(i + 1), maybe(BigInt(int(1, t1 + 5))), maybe(BigInt(int(0, 50))), maybe(pick(["x", "y", "z"]))]);
}

function literal(v: Value, type: string): string {
  if (v === null) return "NULL";
  if (typeof v === "string") return `'${v.replace(/'/g, "''")}'`;
  if (v instanceof Timestamp) return `make_timestamptz(${v.us}::BIGINT)`;
  if (v instanceof DateValue) return `(DATE '1970-01-01' + ${v.days})`;
  return `${String(v)}::${type}`;
}

const t1 = makeT1(300);
const t2 = makeT2(200, 300);
const tables = new Map<string, Relation>([
  ["t1", { columns: T1.map((name) => ({ table: null, name })), rows: t1 }],
  ["t2", { columns: T2.map((name) => ({ table: null, name })), rows: t2 }],
]);

let duck: DuckDBConnection;

beforeAll(async () => {
  duck = await (await DuckDBInstance.create(":memory:")).connect();
  await duck.run("SET TimeZone='UTC'");
  await duck.run("SET default_null_order='nulls_last_on_asc_first_on_desc'");
  for (const [name, cols, types, rows] of [["t1", T1, T1_TYPES, t1], ["t2", T2, T2_TYPES, t2]] as const) {
    await duck.run(`CREATE TABLE ${name} (${cols.map((c, i) => `${c} ${types[i]}`).join(", ")})`);
    await duck.run(`INSERT INTO ${name} VALUES ${rows.map((r) => `(${r.map((v, i) => literal(v, types[i]!)).join(", ")})`).join(", ")}`);
  }
});

afterAll(() => duck?.closeSync());

async function ours(sql: string, params: Value[] = []): Promise<{ rows: Value[][] }> {
  const { statement, sql: text } = parseQuery(sql);
  const provider = {
    async load(name: string) {
      const t = tables.get(name);
      if (!t) throw new Error(`no table ${name}`);
      return t;
    },
  };
  return runStatement(statement, { sql: text, params, now: NOW, provider, needed: new Map() });
}

async function compare(sql: string, ordered: boolean, params: Value[] = []): Promise<number> {
  const mine = (await ours(sql, params)).rows.map((r) => r.map(norm).join(" | "));
  // The same clock on both sides: NOW() and CURRENT_DATE become literals of the executor's NOW.
  const duckSql = sql
    .replace(/\$(\d+)/g, "?")
    .replace(/NOW\(\)/g, `make_timestamptz(${NOW.us}::BIGINT)`)
    .replace(/CURRENT_DATE/g, `CAST(make_timestamptz(${NOW.us}::BIGINT) AS DATE)`);
  const reader = params.length ? await duck.runAndReadAll(duckSql, params.map((p) => (typeof p === "bigint" ? Number(p) : p)) as never) : await duck.runAndReadAll(duckSql);
  const theirs = reader.getRows().map((r) => r.map(norm).join(" | "));
  if (!ordered) {
    mine.sort();
    theirs.sort();
  }
  expect(mine, sql).toEqual(theirs);
  return mine.length;
}

const gen = queryGenerator({ random });

describe("query executor vs DuckDB", () => {
  it("agrees on 600 generated queries", { timeout: 120_000 }, async () => {
    let nonEmpty = 0;
    for (let i = 0; i < 600; i++) if ((await compare(gen.next(i), true)) > 0) nonEmpty++;
    // Most queries must return rows, or the comparison proves little.
    expect(nonEmpty).toBeGreaterThan(450);
  });

  it("agrees on the hand-written set", { timeout: 60_000 }, async () => {
    const hand: Array<[string, Value[]?]> = [
      ["SELECT date_trunc('hour', ts) AS hour, SUM(y) AS revenue, COUNT(*) AS orders FROM t1 WHERE ts >= NOW() - INTERVAL '24 hours' GROUP BY 1 ORDER BY 1"],
      ["SELECT * FROM t1 WHERE id = $1", [7n]],
      ["SELECT COUNT(DISTINCT g) AS active FROM t1 WHERE d = CURRENT_DATE"],
      ["SELECT s, x FROM t1 WHERE x < id ORDER BY id LIMIT 20"],
      ["SELECT g, COUNT(*) FILTER (WHERE x > 10) AS big, AVG(y) AS avg_y FROM t1 GROUP BY g ORDER BY g NULLS LAST"],
      ["SELECT x % 7 AS m, COUNT(*) FROM t1 WHERE x IS NOT NULL GROUP BY 1 ORDER BY 1"],
      ["SELECT coalesce(g, 'none') AS g2, MAX(ts) FROM t1 GROUP BY g2 ORDER BY g2"],
      ["SELECT id, x::VARCHAR AS xs, CAST(y AS BIGINT) AS yi FROM t1 ORDER BY id LIMIT 40"],
      ["SELECT extract(year from d) AS yr, extract(month from ts) AS mo, extract(dow from d) AS dow FROM t1 ORDER BY id LIMIT 50"],
      ["SELECT g FROM t1 UNION SELECT label FROM t2 ORDER BY 1 NULLS FIRST"],
      ["SELECT COUNT(*) FROM t1 a LEFT JOIN t2 b ON a.id = b.t1_id WHERE b.id IS NULL"],
      ["SELECT upper(g) || '-' || lower(s) AS k FROM t1 WHERE g IS NOT NULL AND s IS NOT NULL ORDER BY k LIMIT 30"],
      ["SELECT greatest(x, 10) AS a, least(y, 0.5) AS b, nullif(g, 'a') AS c FROM t1 ORDER BY id LIMIT 30"],
      ["SELECT id FROM t1 WHERE s ILIKE $1 ORDER BY id", ["%AN%"]],
      ["SELECT MIN(d), MAX(d), MIN(s), MAX(b) FROM t1"],
      ["SELECT SUM(x) FROM t1 WHERE 1 = 0"],
      ["SELECT id FROM t1 WHERE EXISTS (SELECT 1 FROM t2 WHERE v > 49) ORDER BY id LIMIT 3"],
      ["SELECT round(y) AS r, floor(y) AS f, ceil(y) AS c FROM t1 ORDER BY id LIMIT 40"],
    ];
    for (const [sql, params] of hand) await compare(sql, true, params ?? []);
  });
});
