// Query executor bench: latency of a point lookup and the product page's hourly aggregate over N
// in-memory rows, our executor (bench/query/executor.ts) vs DuckDB (@duckdb/node-api, threads=1)
// over the same generated rows. Executor only: no Parquet decoding and no R2 (see RESULTS.md).
//   node bench/query/run.mjs [--rows 1000000]
import { DuckDBInstance } from "@duckdb/node-api";
import { loadTs, machine } from "../lib/build.mjs";

const i = process.argv.indexOf("--rows");
const n = i > 0 ? Number(process.argv[i + 1]) : 1_000_000;
const { orders, run, BASE_US } = await loadTs(new URL("./executor.ts", import.meta.url));

const QUERIES = [
  ["point lookup", "SELECT * FROM orders WHERE id = ?", [`o${Math.floor(n / 2)}`]],
  ["hourly revenue", "SELECT date_trunc('hour', created_at) AS hour, SUM(amount) AS revenue, COUNT(*) AS orders FROM orders GROUP BY 1 ORDER BY 1", []],
  ["filtered count", "SELECT COUNT(*) FROM orders WHERE amount > 50 AND created_at >= NOW() - INTERVAL '24 hours'", []],
];

async function best(fn, reps = 5) {
  let b = Infinity;
  let out;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    out = await fn();
    b = Math.min(b, performance.now() - t);
  }
  return { ms: Math.round(b), out };
}

const t0 = performance.now();
const table = orders(n);
const buildMs = Math.round(performance.now() - t0);
const heapMiB = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
const duck = await (await DuckDBInstance.create(":memory:", { threads: "1" })).connect();
await duck.run("SET TimeZone='UTC'");
await duck.run(`CREATE TABLE orders AS SELECT 'o' || i AS id, (i % 1000) / 10 AS amount, make_timestamptz(${BASE_US}::BIGINT + i * 1000000) AS created_at FROM range(${n}) r(i)`);
const nowLit = `make_timestamptz(${BASE_US + 2_000_000_000_000n}::BIGINT)`;

console.log(`# Query executor vs DuckDB (threads=1), ${n.toLocaleString("en-US")} in-memory rows, best of 5\n# ${await machine()}\n`);
console.log(`rows built in ${buildMs} ms; heap used with the table: ${heapMiB} MiB\n`);
console.log("| query | ours ms | DuckDB ms | ratio | ours rows/s | result rows |\n|---|---|---|---|---|---|");
for (const [name, sql, params] of QUERIES) {
  const ours = await best(() => run(table, sql, params));
  const duckSql = sql.replace("?", `'${params[0] ?? ""}'`).replace("NOW()", nowLit);
  const theirs = await best(async () => (await duck.runAndReadAll(duckSql)).getRows().length);
  if (ours.out !== theirs.out) throw new Error(`${name}: ${ours.out} rows vs DuckDB ${theirs.out}`);
  const rps = Math.round(n / (ours.ms / 1000)).toLocaleString("en-US");
  console.log(`| ${name} | ${ours.ms} | ${theirs.ms} | ${(ours.ms / Math.max(theirs.ms, 1)).toFixed(1)}x | ${rps} | ${ours.out} |`);
}
