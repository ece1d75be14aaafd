// Where the ingest time goes, server side, without workerd: runs the DoLake object's per-message
// path (src/protocol/frames.ts decode -> src/ingest Ingest.handle -> ack encode) in Node over
// src/buffer on node:sqlite (bench/lib/sqlite-storage.ts), times each stage, and with --cpu-prof
// records a V8 CPU profile of the whole run and prints the top self-time areas and functions.
//
//   node bench/ingest/profile.mjs [--encodings binary,json] [--batches 100,1000,5000] [--events 200000]
//                                 [--db memory|file] [--cpu-prof]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleTs, machine } from "../lib/build.mjs";
import { summarize } from "../lib/cpuprofile.mjs";

const defaults = { encodings: "binary,json", batches: "100,1000,5000", events: "200000", db: "memory", "cpu-prof": false, bundle: "", "prof-dir": "" };
const a = { ...defaults };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown option --${k}`);
  if (typeof defaults[k] === "boolean") a[k] = true;
  else a[k] = argv[++i];
}

const self = fileURLToPath(import.meta.url);
if (a["cpu-prof"]) {
  // Re-run this script profiling only the measured loops (node:inspector, not --cpu-prof, so frame
  // generation is not in the profile), then map the profile back to source modules.
  const bundle = await bundleTs(new URL("./pipeline.ts", import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), "dolake-prof-"));
  const childArgs = argv.filter((x) => x !== "--cpu-prof");
  const r = spawnSync(process.execPath, [self, ...childArgs, "--bundle", bundle, "--prof-dir", dir], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const file = join(dir, readdirSync(dir).find((f) => f.endsWith(".cpuprofile")));
  const s = summarize(file, 25, bundle);
  console.log(`\n## CPU profile (${s.totalMs} ms sampled; profile kept at ${file})\n\n| area (self time) | ms | % |\n|---|---|---|`);
  for (const x of s.areas) console.log(`| ${x.name} | ${x.ms} | ${x.pct} |`);
  console.log("\n| function [area] (self time) | ms | % |\n|---|---|---|");
  for (const x of s.functions) console.log(`| ${x.name} | ${x.ms} | ${x.pct} |`);
  process.exit(0);
}

const mod = await import(a.bundle ? `file://${a.bundle}` : `file://${await bundleTs(new URL("./pipeline.ts", import.meta.url))}`);
const db = a.db === "file" ? join(mkdtempSync(join(tmpdir(), "dolake-pipe-")), "do.sqlite") : ":memory:";
console.log(`# ingest pipeline in Node ${new Date().toISOString()} (db: ${a.db})\n# ${await machine()}`);
let hooks;
const profiles = [];
if (a["prof-dir"]) {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  hooks = {
    start: () => session.post("Profiler.start"),
    stop: async () => profiles.push((await session.post("Profiler.stop")).profile),
  };
}
const rows = [];
for (const enc of a.encodings.split(",")) {
  for (const batch of a.batches.split(",").map(Number)) {
    await mod.runPipeline(enc, batch, Math.min(20_000, Number(a.events)), ":memory:"); // warm-up (JIT)
    const r = await mod.runPipeline(enc, batch, Number(a.events), a.db === "file" ? `${db}-${enc}-${batch}` : db, hooks);
    rows.push(r);
    console.log(JSON.stringify(r));
  }
}
console.log("\n| encoding | batch | frame bytes | events per CPU-second | decode µs/ev | handle µs/ev | ack encode µs/ev | total µs/ev | of handle: validate | JSON re-encode | schema guard | SQLite append |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const u = r.usPerEvent, h = r.handleParts;
  console.log(`| ${r.encoding} | ${r.batch} | ${r.frameBytes} | ${r.eventsPerSec} | ${u.decode} | ${u.handle} | ${u.ackEncode} | ${u.total} | ${h.validate} | ${h.jsonReencode} | ${h.schemaGuard} | ${h.sqliteAppend} |`);
}

// What the decode could cost (bench/ingest/what-if.ts): same frames, other strategies.
if (a["prof-dir"]) {
  // One profile of all measured loops: concatenate samples (node ids are per profile, so keep the first run's only when there is one).
  const { writeFileSync } = await import("node:fs");
  profiles.forEach((p, i) => writeFileSync(join(a["prof-dir"], `run-${i}.cpuprofile`), JSON.stringify(p)));
}
if (!a.bundle) {
  const wi = await import(`file://${await bundleTs(new URL("./what-if.ts", import.meta.url))}`);
  console.log("\n| batch | decode strategy | CPU µs/event |\n|---|---|---|");
  for (const batch of a.batches.split(",").map(Number)) {
    for (const r of wi.whatIf(batch, Math.max(3, Math.round(50_000 / batch)))) console.log(`| ${batch} | ${r.label} | ${r.usPerEvent} |`);
  }
}
