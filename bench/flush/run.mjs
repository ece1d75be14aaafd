// Flush bench: rows/s and MB/s from buffered batches to a committed Iceberg snapshot (mirror +
// changelog) with our writer in Node (bench/flush/writer.ts over src/flush + src/iceberg), against
// DuckDB 1.4's own COPY ... TO 'x.parquet' of the same rows in the same run; peak memory of each.
//
//   node bench/flush/run.mjs [--rows 100000,1000000] [--modes steps,single] [--step-mib 16]
//                            [--duckdb-threads 1,2|none] [--cpu-prof]
//   node bench/flush/run.mjs --heap-limits 96,128,192 [--heap-rows 14000,57000]
//
// Each (rows, mode) runs in its own Node process so its peak RSS (process.resourceUsage().maxRSS)
// is its own. "steps" flushes in steps of --step-mib of buffered payload (as the DO does with
// maxFlushBytes, one snapshot each); "single" flushes everything in one writeCdcFlush.
// --heap-limits: instead, does one flush step fit a V8 heap of that many MiB (--max-old-space-size)?
// 14,000 rows are ~4 MiB of buffered payload, 57,000 rows ~16 MiB (the default maxFlushBytes); a
// Durable Object has 128 MB for its whole isolate.
// DuckDB runs from the project venv (scripts/python-env.sh; duckdb is in test/python/requirements.txt).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleTs, machine, root } from "../lib/build.mjs";
import { summarize } from "../lib/cpuprofile.mjs";

const defaults = { rows: "100000,1000000", modes: "steps,single", "step-mib": "16", "duckdb-threads": "1,2", "cpu-prof": false, child: "", bundle: "", dir: "", mode: "", "prof-dir": "", "heap-limits": "", "heap-rows": "14000,57000" };
const a = { ...defaults };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown option --${k}`);
  if (typeof defaults[k] === "boolean") a[k] = true;
  else a[k] = argv[++i];
}
const self = fileURLToPath(import.meta.url);
const MiB = 2 ** 20;

if (a.child) {
  // One measured flush in this process.
  const w = await import(`file://${a.bundle}`);
  const rows = Number(a.child);
  const t = performance.now();
  const batches = w.bufferedBatches(rows, 1000);
  const setupMs = performance.now() - t;
  global.gc?.();
  const step = a.mode === "single" ? Number.MAX_SAFE_INTEGER : Number(a["step-mib"]) * MiB;
  let session;
  if (a["prof-dir"]) {
    // Profile the flush only (not the generation of the buffered batches).
    const { Session } = await import("node:inspector/promises");
    session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 500 });
    await session.post("Profiler.start");
  }
  const cpu0 = process.cpuUsage();
  const r = await w.flush(batches, a.dir, step);
  const cpu = process.cpuUsage(cpu0);
  r.cpuMs = (cpu.user + cpu.system) / 1000;
  if (session) {
    const { profile } = await session.post("Profiler.stop");
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(a["prof-dir"], { recursive: true });
    writeFileSync(join(a["prof-dir"], "flush.cpuprofile"), JSON.stringify(profile));
  }
  const ru = process.resourceUsage();
  console.log(JSON.stringify({ ...r, setupMs: Math.round(setupMs), peakRssMiB: Math.round(ru.maxRSS / 1024), heapUsedMiB: Math.round(process.memoryUsage().heapUsed / MiB) }));
  process.exit(0);
}

if (a["heap-limits"]) {
  const bundle = await bundleTs(new URL("./writer.ts", import.meta.url));
  console.log(`# flush step vs V8 heap limit ${new Date().toISOString()}\n# ${await machine()}\n\n| rows (one step) | payload MiB | --max-old-space-size MiB | outcome | peak RSS MiB |\n|---|---|---|---|---|`);
  for (const heap of a["heap-limits"].split(",")) {
    for (const rows of a["heap-rows"].split(",")) {
      const dir = mkdtempSync(join(tmpdir(), "dolake-flush-heap-"));
      const r = spawnSync(process.execPath, [`--max-old-space-size=${heap}`, "--expose-gc", self, "--child", rows, "--mode", "single", "--bundle", bundle, "--dir", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });
      rmSync(dir, { recursive: true, force: true });
      const ok = r.status === 0;
      const o = ok ? JSON.parse(r.stdout.trim().split("\n").pop()) : undefined;
      const oom = /heap out of memory|Reached heap limit/.test(r.stderr ?? "");
      console.log(`| ${rows} | ${o ? (o.payloadBytes / MiB).toFixed(1) : "-"} | ${heap} | ${ok ? `ok, ${(o.totalMs / 1000).toFixed(2)} s` : oom ? "out of memory" : `exit ${r.status ?? r.signal}`} | ${o?.peakRssMiB ?? "-"} |`);
    }
  }
  process.exit(0);
}

// --duckdb-threads none: our writer only (no venv needed).
const duckdbThreads = a["duckdb-threads"] === "none" ? [] : a["duckdb-threads"].split(",");
const python = duckdbThreads.length === 0 ? "" : spawnSync("bash", [join(root, "scripts/python-env.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).stdout.trim().split("\n").pop();
const bundle = await bundleTs(new URL("./writer.ts", import.meta.url));
const w = await import(`file://${bundle}`);
console.log(`# flush bench ${new Date().toISOString()}\n# ${await machine()}`);
const results = [];
for (const rows of a.rows.split(",").map(Number)) {
  const work = mkdtempSync(join(tmpdir(), "dolake-flush-bench-"));
  try {
    for (const mode of a.modes.split(",")) {
      const dir = join(work, `ours-${mode}`);
      const prof = a["cpu-prof"] ? ["--prof-dir", join(work, `prof-${mode}`)] : [];
      const r = spawnSync(process.execPath, ["--max-old-space-size=16384", "--expose-gc", self, ...prof, "--child", String(rows), "--mode", mode, "--step-mib", a["step-mib"], "--bundle", bundle, "--dir", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 900_000 });
      if (r.status !== 0) {
        console.log(JSON.stringify({ rows, mode, error: `exit ${r.status ?? r.signal}` }));
        results.push({ rows, who: `ours (${mode})`, error: `exit ${r.status ?? r.signal}` });
        continue;
      }
      const o = JSON.parse(r.stdout.trim().split("\n").pop());
      console.log(JSON.stringify({ rows, mode, ...o }));
      results.push({ rows, who: `ours, ${mode === "single" ? "one step" : `${a["step-mib"]} MiB steps (${o.steps})`}`, sec: o.totalMs / 1000, bytes: o.bytesWritten, payload: o.payloadBytes, rss: o.peakRssMiB, detail: `decode ${Math.round(o.decodeMs)} ms + write ${Math.round(o.writeMs)} ms; process CPU ${Math.round(o.cpuMs)} ms (${Math.round(rows / (o.cpuMs / 1000))} rows per CPU-second)` });
      if (a["cpu-prof"]) {
        const pdir = join(work, `prof-${mode}`);
        const s = summarize(join(pdir, readdirSync(pdir)[0]), 20, bundle);
        console.log(`\n### CPU profile, ${rows} rows, ${mode} (${s.totalMs} ms sampled)\n\n| area (self time) | ms | % |\n|---|---|---|`);
        for (const x of s.areas) console.log(`| ${x.name} | ${x.ms} | ${x.pct} |`);
        console.log("\n| function [area] (self time) | ms | % |\n|---|---|---|");
        for (const x of s.functions) console.log(`| ${x.name} | ${x.ms} | ${x.pct} |`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    const nd = join(work, "rows.ndjson");
    if (duckdbThreads.length > 0) w.writeNdjson(nd, rows);
    for (const threads of duckdbThreads) {
      const r = spawnSync(python, [join(root, "bench/flush/duckdb_copy.py"), nd, work, threads], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 900_000 });
      if (r.status !== 0) throw new Error(`duckdb_copy.py exited ${r.status}`);
      const d = JSON.parse(r.stdout.trim().split("\n").pop());
      console.log(JSON.stringify({ rows, duckdb: d }));
      results.push({ rows, who: `DuckDB COPY, threads=${threads}, mirror only`, sec: d.mirrorSec, bytes: d.mirrorBytes, rss: d.peakRssMiB });
      results.push({ rows, who: `DuckDB COPY, threads=${threads}, mirror + changelog`, sec: d.mirrorSec + d.changelogSec, bytes: d.mirrorBytes + d.changelogBytes, rss: d.peakRssMiB });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
console.log("\n| rows | writer | seconds | rows/s | output MB/s | output MiB | peak RSS MiB | detail |\n|---|---|---|---|---|---|---|---|");
for (const r of results) {
  if (r.error) {
    console.log(`| ${r.rows} | ${r.who} | error: ${r.error} |`);
    continue;
  }
  console.log(`| ${r.rows} | ${r.who} | ${r.sec.toFixed(2)} | ${Math.round(r.rows / r.sec)} | ${(r.bytes / MiB / r.sec).toFixed(1)} | ${(r.bytes / MiB).toFixed(1)} | ${r.rss} | ${r.detail ?? ""} |`);
}
