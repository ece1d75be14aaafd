// Flush through the real Durable Object: on a fresh `wrangler dev` (scripts/with-server.mjs
// startServer), streams N bench rows (binary, 1000-event batches) with automatic flushes off,
// then times POST /flush (buffer -> Parquet/manifests on local R2 -> catalog commit), sampling the
// RSS of the workerd processes meanwhile.
//
//   node bench/flush/server.mjs [--rows 100000,1000000] [--step-mib 16] [--timeout 900]
//
// Raised through PATCH /config: rate limits, maxBufferSize, flush thresholds (so nothing flushes
// before POST /flush); maxFlushBytes set to --step-mib (default: the product default, 16 MiB).
import { performance } from "node:perf_hooks";
import { startServer } from "../../scripts/with-server.mjs";
import { loadTs, machine } from "../lib/build.mjs";
import { cpuSeconds, memory, rssSampler, workerdPids } from "../lib/procs.mjs";
import { patchConfig, produce } from "../lib/producer.mjs";

const a = { rows: "100000,1000000", "step-mib": "16", timeout: "900" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown option --${k}`);
  a[k] = argv[i + 1];
}
const RAISED = {
  messagesPerSecond: 1_000_000, burstCapacity: 1_000_000, sourceMessagesPerSecond: 1_000_000, sourceBurstCapacity: 1_000_000,
  maxBufferSize: 8 * 2 ** 30, flushThresholdEvents: 1_000_000_000, flushThresholdBytes: 8 * 2 ** 30, flushThresholdMs: 3_600_000,
  maxFlushBytes: Number(a["step-mib"]) * 2 ** 20,
};
const wl = await loadTs(new URL("../lib/workload.ts", import.meta.url));
console.log(`# flush through the DO ${new Date().toISOString()}\n# ${await machine()}\n# raised: ${JSON.stringify(RAISED)}`);
const out = [];
for (const rows of a.rows.split(",").map(Number)) {
  const server = await startServer({ token: "bench-token" });
  try {
    await patchConfig(server.url, server.token, RAISED);
    const batch = 1000;
    const frames = [];
    for (let b = 0; b < rows / batch; b++) frames.push(wl.batchFrame("binary", "flush-src", b + 1, b * batch + 1, batch));
    const t0 = performance.now();
    await produce({ url: server.url, token: server.token, encoding: "binary", source: "flush-src", frames, window: 4, deadline: t0 + Number(a.timeout) * 1000, wl });
    const ingestSec = (performance.now() - t0) / 1000;
    const pids = workerdPids(server.child.pid);
    const before = pids.map((p) => memory(p).rssMiB);
    const cpu0 = pids.map(cpuSeconds);
    const sampler = rssSampler(pids);
    const t1 = performance.now();
    const res = await fetch(`${server.url}/flush`, { method: "POST", headers: { Authorization: `Bearer ${server.token}` }, signal: AbortSignal.timeout(Number(a.timeout) * 1000) });
    const body = await res.json();
    const flushSec = (performance.now() - t1) / 1000;
    const peak = sampler.stop();
    const r = {
      rows, ingestSec: +ingestSec.toFixed(2), flushStatus: res.status, flush: body, flushSec: +flushSec.toFixed(2), rowsPerSec: Math.round(rows / flushSec),
      workerd: pids.map((p, i) => ({ pid: p, cpuSec: +(cpuSeconds(p) - cpu0[i]).toFixed(1), rssBeforeMiB: Math.round(before[i]), rssPeakMiB: Math.round(peak.get(p)), hwmMiB: Math.round(memory(p).hwmMiB) })),
    };
    console.log(JSON.stringify(r));
    out.push(r);
  } catch (e) {
    console.log(JSON.stringify({ rows, error: e.message }));
    out.push({ rows, error: e.message });
  } finally {
    await server.stop();
  }
}
console.log("\n| rows | ingest s | POST /flush status | events flushed | flush s | rows/s | workerd RSS before→peak MiB (per process) |\n|---|---|---|---|---|---|---|");
for (const r of out) {
  if (r.error) console.log(`| ${r.rows} | error: ${r.error} |`);
  else console.log(`| ${r.rows} | ${r.ingestSec} | ${r.flushStatus} | ${r.flush.eventsFlushed ?? r.flush.errorMessage} | ${r.flushSec} | ${r.rowsPerSec} | ${r.workerd.map((w) => `${w.rssBeforeMiB}→${w.rssPeakMiB}`).join(" / ")} |`);
}
