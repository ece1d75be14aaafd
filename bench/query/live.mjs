// Queries against a live object (issue 10): ack latency while queries run vs idle, query latency,
// and what the read path skips. Against a fresh `wrangler dev`:
//   1. seed --rows orders rows (flushed, row groups of --row-group rows) and --buffered more
//      acked but not flushed;
//   2. ingest --events events (binary batches of 1000, window 4) idle, flush them, buffer --buffered
//      events again, then ingest --events more while --clients
//      loops run the queries below back to back; ack p50/p99 of both runs, their ratio;
//   3. each query's latency (median of the loop runs) and its stats (row groups read, bytes);
//   4. with --duckdb 1: after the buffer is flushed, each query once more (best of 3) through
//      POST /v1/query and through DuckDB (1 thread) attached to the same Iceberg tables
//      (bench/query/duckdb_same_files.py, the project venv): latency and ratio.
//   5. with --split 1: queries go to a second `wrangler dev` running the Worker alone
//      (bench/query/query-worker.jsonc, bound to the first session's object), so the Worker's
//      decoding and scanning do not run on the object's thread, as on Cloudflare.
//   node bench/query/live.mjs [--rows 200000] [--buffered 20000] [--events 50000] [--clients 2] [--row-group 10000] [--duckdb 1] [--split 1]
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startServer } from "../../scripts/with-server.mjs";
import { loadTs, machine } from "../lib/build.mjs";
import { patchConfig, produce, RAISED } from "../lib/producer.mjs";

const a = { rows: "200000", buffered: "20000", events: "50000", clients: "2", "row-group": "10000", duckdb: "0", split: "0" };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown option --${k}`);
  a[k] = process.argv[i + 1];
}
const opts = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Number(v)]));
const QUERIES = [
  ["point lookup", "SELECT id, status, amount FROM orders WHERE id = 123457"],
  ["range count", "SELECT COUNT(*) AS n FROM orders WHERE id BETWEEN 50000 AND 59999"],
  ["status revenue", "SELECT status, COUNT(*) AS n, SUM(amount) AS revenue FROM orders WHERE id > 150000 GROUP BY status ORDER BY status"],
];
const pct = (xs, p) => {
  const s = [...xs].sort((x, y) => x - y);
  return +s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(1);
};

async function frames(wl, source, first, count) {
  const out = [];
  for (let b = 0; b < count / 1000; b++) out.push(wl.batchFrame("binary", source, b + 1, b * 1000 + 1, 1000, first + b * 1000));
  return out;
}

/** The workerd processes under a server started by startServer (wrangler dev runs two: a proxy and the runtime). */
function workerdPids(root) {
  const kids = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const out = [];
  for (const queue = [root]; queue.length; ) {
    const pid = queue.shift();
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd") out.push(pid);
    } catch {}
    queue.push(...kids(pid));
  }
  return out;
}

/** Samples the resident memory of processes every 100 ms until stopped; reports the one that peaked highest (MiB). */
function rssSampler(pids) {
  const rss = (pid) => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
    } catch {
      return 0;
    }
  };
  const first = new Map(pids.map((pid) => [pid, rss(pid)]));
  const peak = new Map(first);
  const timer = setInterval(() => { for (const pid of pids) peak.set(pid, Math.max(peak.get(pid), rss(pid))); }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      const [pid, top] = [...peak].sort((x, y) => y[1] - x[1])[0] ?? [undefined, 0];
      return { beforeQueries: +(first.get(pid) ?? 0).toFixed(1), peak: +top.toFixed(1) };
    },
  };
}

/** Wrangler configs for --split: the project's, renamed, and bench/query/query-worker.jsonc bound to it. */
function splitConfigs() {
  const root = new URL("../../", import.meta.url).pathname;
  const name = `dolake-bench-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), "dolake-split-"));
  const strip = (text) => JSON.parse(text.replace(/^\s*\/\/.*$/gm, ""));
  const lake = strip(readFileSync(join(root, "wrangler.jsonc"), "utf8"));
  const front = strip(readFileSync(new URL("./query-worker.jsonc", import.meta.url), "utf8"));
  Object.assign(lake, { name, main: join(root, lake.main), $schema: undefined });
  Object.assign(front, { name: `${name}-query`, main: join(root, "src/worker.ts"), $schema: undefined });
  front.durable_objects.bindings[0].script_name = name;
  writeFileSync(join(dir, "lake.json"), JSON.stringify(lake));
  writeFileSync(join(dir, "front.json"), JSON.stringify(front));
  return { lake: join(dir, "lake.json"), front: join(dir, "front.json") };
}

const wl = await loadTs(new URL("../lib/workload.ts", import.meta.url));
// With --split, both sessions get names of their own: wrangler's dev registry routes the query
// Worker's object binding by script name, and other `wrangler dev` sessions named "dolake" may run.
const split = opts.split ? splitConfigs() : undefined;
const server = await startServer({ token: "bench-token", config: split?.lake });
const { url, token } = server;
const front = split ? await startServer({ token, stateDir: server.stateDir, config: split.front }) : undefined;
const queryUrl = front?.url ?? url;
const auth = { Authorization: `Bearer ${token}` };
const query = async (sql) => {
  const t = performance.now();
  const res = await fetch(`${queryUrl}/v1/query`, { method: "POST", headers: { ...auth, "Content-Type": "application/json" }, body: JSON.stringify({ sql }) });
  const body = await res.json();
  if (res.status === 503) return { ms: performance.now() - t, refused: body.error?.message ?? "503" };
  if (!res.ok) throw new Error(`${sql}: ${res.status} ${JSON.stringify(body)}`);
  return { ms: performance.now() - t, stats: body.stats, rows: body.rows.length };
};
try {
  console.log(`# live query bench ${new Date().toISOString()}\n# ${await machine()}\n# ${JSON.stringify(opts)}`);
  await patchConfig(url, token, { ...RAISED, parquetRowGroupSize: opts["row-group"] });
  const deadline = () => performance.now() + 600_000;
  // Seeded 1M rows at a time, each flushed (a 10M-row seed would not fit one buffer).
  const seedStart = performance.now();
  for (let done = 0, part = 1; done < opts.rows; done += 1_000_000, part++) {
    const n = Math.min(1_000_000, opts.rows - done);
    const source = `seed${part}`;
    const fs = [];
    for (let b = 0; b < n / 1000; b++) fs.push(wl.batchFrame("binary", source, b + 1, b * 1000 + 1, 1000, done + 1 + b * 1000));
    await produce({ url, token, encoding: "binary", source, frames: fs, window: 4, deadline: deadline(), wl });
    const flushed = await fetch(`${url}/flush`, { method: "POST", headers: auth });
    if (!flushed.ok) throw new Error(`flush: ${flushed.status}`);
  }
  console.log(`# seeded ${opts.rows} rows in ${Math.round((performance.now() - seedStart) / 1000)} s`);
  await produce({ url, token, encoding: "binary", source: "tail", frames: await frames(wl, "tail", opts.rows + 1, opts.buffered), window: 4, deadline: deadline(), wl });

  const idle = await produce({ url, token, encoding: "binary", source: "idle", frames: await frames(wl, "idle", 10_000_000, opts.events), window: 4, deadline: deadline(), wl });
  // The idle run's events are flushed away: the queries below read --buffered plus what the loaded run acks.
  const drained = await fetch(`${url}/flush`, { method: "POST", headers: auth });
  if (!drained.ok) throw new Error(`flush: ${drained.status}`);
  await produce({ url, token, encoding: "binary", source: "tail2", frames: await frames(wl, "tail2", 30_000_000, opts.buffered), window: 4, deadline: deadline(), wl });
  const frontRss = front ? rssSampler(workerdPids(front.child.pid)) : undefined;
  let running = true;
  const samples = new Map(QUERIES.map(([name]) => [name, []]));
  const loops = Array.from({ length: opts.clients }, async () => {
    while (running) for (const [name, sql] of QUERIES) samples.get(name).push(await query(sql));
  });
  const loaded = await produce({ url, token, encoding: "binary", source: "loaded", frames: await frames(wl, "loaded", 20_000_000, opts.events), window: 4, deadline: deadline(), wl });
  running = false;
  await Promise.all(loops);
  const result = {
    ackIdleMs: { p50: pct(idle, 50), p99: pct(idle, 99) },
    ackUnderQueriesMs: { p50: pct(loaded, 50), p99: pct(loaded, 99) },
    ackP99Ratio: +(pct(loaded, 99) / pct(idle, 99)).toFixed(2),
    queries: QUERIES.map(([name]) => {
      const all = samples.get(name);
      const s = all.filter((x) => !x.refused);
      const last = s.at(-1);
      return { name, runs: s.length, refused503: all.length - s.length, medianMs: s.length ? pct(s.map((x) => x.ms), 50) : null, rows: last?.rows, rowGroupsScanned: last?.stats.rowGroupsScanned, filesScanned: last?.stats.filesScanned, bytesRead: last?.stats.bytesRead, bufferedEventsIncluded: last?.stats.bufferedEventsIncluded };
    }),
  };
  if (opts.duckdb) {
    await fetch(`${url}/flush`, { method: "POST", headers: auth });
    const { spawnSync } = await import("node:child_process");
    const python = spawnSync("bash", [new URL("../../scripts/python-env.sh", import.meta.url).pathname], { encoding: "utf8" }).stdout.trim().split("\n").pop();
    const sqls = [...QUERIES.map(([, sql]) => sql), "SELECT COUNT(*) AS n, SUM(amount) AS revenue FROM orders"];
    const duck = spawnSync(python, [new URL("./duckdb_same_files.py", import.meta.url).pathname, url, token], { input: sqls.join("\n"), encoding: "utf8", maxBuffer: 1 << 26 });
    if (duck.status !== 0) throw new Error(`duckdb: ${duck.stderr}`);
    const theirs = JSON.parse(duck.stdout.trim().split("\n").pop());
    result.sameFiles = [];
    for (const sql of sqls) {
      let best = Infinity;
      let rows = 0;
      for (let i = 0; i < 3; i++) {
        const q = await query(sql);
        best = Math.min(best, q.ms);
        rows = q.rows;
      }
      result.sameFiles.push({ sql, oursMs: +best.toFixed(1), duckdbMs: theirs[sql].ms, ratio: +(best / theirs[sql].ms).toFixed(1), rows, duckdbRows: theirs[sql].rows });
    }
  }
  const metrics = await (await fetch(`${url}/metrics`, { headers: auth })).text();
  const m = (name) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1] ?? 0);
  result.objectQueryState = { reads: m("dolake_query_state_ms_count"), msTotal: Math.round(m("dolake_query_state_ms_sum")), steps: m("dolake_query_state_step_ms_count"), stepMsTotal: Math.round(m("dolake_query_state_step_ms_sum")), restarts: m("dolake_query_state_restarts_total") };
  result.topology = opts.split ? "split: queries answered by a second wrangler dev (Worker only)" : "one wrangler dev (Worker and object in one process)";
  if (frontRss) result.queryWorkerRssMiB = { ...frontRss.stop(), note: "the workerd runtime answering /v1/query (--split): its whole RSS, runtime included" };
  console.log(JSON.stringify(result, null, 1));
} finally {
  await front?.stop();
  await server.stop();
}
