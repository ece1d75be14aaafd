// The query executor alone over in-memory rows (no Parquet, no R2): bench/query/run.mjs drives it.
import { parseQuery } from "../../src/query/parse.js";
import { runStatement, type Relation } from "../../src/query/select.js";
import { Timestamp, type Value } from "../../src/query/values.js";

/** Base instant of the generated orders (2025-01-01T00:00:00Z) in microseconds. */
export const BASE_US = 1_735_689_600_000_000n;

/** n orders: id 'o<i>', amount (i % 1000) / 10, created_at BASE + i seconds (DuckDB builds the same). */
export function orders(n: number): Relation {
  const rows: Value[][] = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = [`o${i}`, (i % 1000) / 10, new Timestamp(BASE_US + BigInt(i) * 1_000_000n, true)];
  return { columns: ["id", "amount", "created_at"].map((name) => ({ table: null, name })), rows };
}

/** Runs one query over the table and returns its row count. */
export async function run(table: Relation, sql: string, params: Value[] = []): Promise<number> {
  const { statement, sql: text } = parseQuery(sql);
  const provider = { load: async () => table };
  const now = new Timestamp(BASE_US + 2_000_000_000_000n, true);
  return (await runStatement(statement, { sql: text, params, now, provider, needed: new Map() })).rows.length;
}
