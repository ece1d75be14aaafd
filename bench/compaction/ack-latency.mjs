// Ack latency while compaction runs, through the real Durable Object (issue 9: "ack latency p99
// during maintenance within 2x of idle"). On a fresh `wrangler dev`:
//   1. seed: --flushes flushes of --rows rows each into `orders` (one small data file per flush in
//      the mirror and in its changelog), automatic flushes and auto-compaction off;
//   2. idle: a probe producer sends --probe batches of 10 events, one at a time, and records each
//      ack's latency (send -> buffered ack at the producer);
//   3. maintenance: POST /v1/compaction/auto (every CDC table compacted, step by step) while the
//      probe keeps sending; only acks received while the request runs count;
//   4. idle again, --probe batches: the idle figure is both idle phases pooled, so a machine whose
//      load drifts during the run moves it less (a p99 of 300 samples moved 5-11 ms run to run).
// The probe is a producer sending: maintenance's throttle (src/util/pace.ts) rests during the pass,
// and the output says how often and how long (compaction.rests, restedSeconds).
// The probe's events stay buffered (thresholds raised), so no flush runs during either phase.
//
//   node bench/compaction/ack-latency.mjs [--flushes 40] [--rows 2500] [--probe 2000] [--during compaction|flush]
//                                         [--step-kib N] [--slice-kib N]   (maxBytesPerStep / maxBytesPerSlice; default: the product's)
//                                         [--flush-kib 4096]   (maxFlushBytes, for --during flush; default: the product's)
//                                         [--remote-r2 1]   (local R2 in a second wrangler dev, off the object's thread: bench/lib/remote-r2)
//                                         [--dump FILE]   (every probe's send time, epoch ms, and latency: to line up with a server trace)
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { startWithR2 } from "../lib/remote-r2/split.mjs";
import { loadTs, machine } from "../lib/build.mjs";
import WebSocket from "ws";
import { patchConfig, produce } from "../lib/producer.mjs";

const a = { flushes: "40", rows: "2500", probe: "2000", during: "compaction", "step-kib": "", "slice-kib": "", "flush-kib": "4096", "remote-r2": "0", dump: "" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown option --${k}`);
  a[k] = argv[i + 1];
}
const wl = await loadTs(new URL("../lib/workload.ts", import.meta.url));
const RAISED = {
  messagesPerSecond: 1_000_000, burstCapacity: 1_000_000, sourceMessagesPerSecond: 1_000_000, sourceBurstCapacity: 1_000_000,
  maxBufferSize: 2 ** 30, flushThresholdEvents: 1_000_000_000, flushThresholdBytes: 2 ** 30, flushThresholdMs: 3_600_000,
  connectionsPerSecond: 1000,
  compaction: { autoCompact: false, ...(a["step-kib"] ? { maxBytesPerStep: Number(a["step-kib"]) * 1024 } : {}), ...(a["slice-kib"] ? { maxBytesPerSlice: Number(a["slice-kib"]) * 1024 } : {}) },
  maxFlushBytes: Number(a["flush-kib"]) * 1024,
};
const pct = (xs, p) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const summary = (xs) => ({ n: xs.length, p50: +pct(xs, 50).toFixed(2), p99: +pct(xs, 99).toFixed(2), max: +Math.max(...xs).toFixed(2) });

/**
 * One probe connection: sends 10-event batches one at a time (each after the previous ack) until
 * `stop(count)`; returns each batch's send time and ack latency (ms).
 */
function probeUntil(server, stop, source, onConnected = () => {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(server.token)}`);
    ws.binaryType = "nodebuffer";
    const out = [];
    let batch = 0;
    let sentAt = 0;
    let rowBase = { "probe-idle": 10_000_000, "probe-busy": 20_000_000 }[source] ?? 30_000_000;
    const next = () => {
      if (stop(out.length)) {
        ws.close();
        return resolve(out);
      }
      batch++;
      sentAt = performance.now();
      ws.send(wl.batchFrame("binary", source, batch, (batch - 1) * 10 + 1, 10, (rowBase += 10)));
    };
    ws.on("open", () => ws.send(wl.connectFrame("binary", source)));
    ws.on("error", reject);
    ws.on("message", (data, isBinary) => {
      const r = wl.readServerFrame(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString());
      if (r.kind === "connected") {
        onConnected();
        return next();
      }
      if (r.kind === "nack") return reject(new Error(`${source}: nack ${r.error}`));
      if (r.kind !== "ack" || r.status !== 2) return;
      out.push({ sentAt, ms: performance.now() - sentAt });
      next();
    });
  });
}

console.log(`# ack latency during compaction ${new Date().toISOString()}\n# ${await machine()}\n# ${JSON.stringify(a)}`);
const server = await startWithR2(a["remote-r2"] === "1", { token: "bench-token" });
const auth = { Authorization: `Bearer ${server.token}` };
try {
  await patchConfig(server.url, server.token, RAISED);
  const rows = Number(a.rows);
  let seq = 0;
  for (let f = 0; f < Number(a.flushes); f++) {
    const frames = [];
    for (let b = 0; b < rows / 500; b++, seq += 500) frames.push(wl.batchFrame("binary", "seed", f * 1000 + b + 1, seq + 1, 500));
    await produce({ url: server.url, token: server.token, encoding: "binary", source: "seed", frames, window: 4, deadline: performance.now() + 600_000, wl });
    if (a.during === "flush") continue;
    const res = await fetch(`${server.url}/flush`, { method: "POST", headers: auth });
    if (!res.ok) throw new Error(`flush ${f}: ${res.status} ${await res.text()}`);
  }
  const idle = await probeUntil(server, (n) => n >= Number(a.probe), "probe-idle");
  // The busy probe connects first; the compaction request starts once it is connected.
  let done = false;
  let t0 = 0;
  let run;
  const probing = await probeUntil(server, () => done, "probe-busy", () => {
    t0 = performance.now();
    // --during flush: the same probe while POST /flush writes an unflushed buffer of the seed's size (for comparison).
    run = fetch(`${server.url}${a.during === "flush" ? "/flush" : "/v1/compaction/auto"}`, { method: "POST", headers: auth }).then(async (r) => {
      done = true;
      return { status: r.status, body: await r.json(), ms: performance.now() - t0 };
    });
  });
  const compaction = await run;
  const idleAfter = await probeUntil(server, (n) => n >= Number(a.probe), "probe-after");
  // Batches sent while the compaction request ran (the probe started at t0), and both idle phases pooled.
  const duringProbes = probing.filter((p) => p.sentAt - t0 <= compaction.ms);
  const idleProbes = [...idle, ...idleAfter];
  // --dump FILE: every probe's send time (epoch ms) and latency, to line up with a trace of the server (strace -ttt).
  if (a.dump) {
    const epoch = (p) => [+(performance.timeOrigin + p.sentAt).toFixed(3), +p.ms.toFixed(3)];
    writeFileSync(a.dump, JSON.stringify({ passStart: +(performance.timeOrigin + t0).toFixed(3), passMs: compaction.ms, idle: idleProbes.map(epoch), during: duringProbes.map(epoch) }));
  }
  const seconds = compaction.ms / 1000;
  const during = duringProbes.map((p) => p.ms);
  const idleMs = idleProbes.map((p) => p.ms);
  const steps = compaction.body.steps ?? [];
  // The maintenance throttle's rests during the run (src/util/pace.ts; absent before it existed).
  const cm = await (await fetch(`${server.url}/v1/compaction/metrics`, { headers: auth })).json();
  const idleSummary = summary(idleMs);
  // When the slow acks (above 2x idle p99) were sent (ms after the run started) and how long each took: to line them up with the steps' phases.
  const slow = duringProbes.filter((p) => p.ms > 2 * idleSummary.p99).map((p) => [Math.round(p.sentAt - t0), Math.round(p.ms)]);
  const r = {
    idle: idleSummary,
    idleBefore: summary(idle.map((p) => p.ms)),
    idleAfter: summary(idleAfter.map((p) => p.ms)),
    duringCompaction: summary(during),
    compaction: { status: compaction.status, seconds: +seconds.toFixed(1), steps: steps.length, slices: steps.reduce((n, s) => n + (s.slices ?? 1), 0), filesRewritten: steps.reduce((n, s) => n + s.rewrittenFiles, 0), bytesRewritten: steps.reduce((n, s) => n + s.rewrittenBytes, 0), tablesLeft: compaction.body.tablesLeft, rests: cm.rests, restedSeconds: cm.restedMs === undefined ? undefined : +(cm.restedMs / 1000).toFixed(1) },
    // The bound holds while these are under 1% of the acks during the pass.
    slowAcks: slow.length,
  };
  console.log(JSON.stringify(r, null, 1));
  console.log(`slow acks (sent at ms, took ms), above 2x idle p99: ${JSON.stringify(slow)}`);
  // The shape of both tails: acks per whole ms from 3 ms up (30: 30 ms and more), idle (both phases) and during.
  const hist = (xs) => {
    const h = {};
    for (const ms of xs) {
      if (ms < 3) continue;
      const k = Math.min(30, Math.floor(ms));
      h[k] = (h[k] ?? 0) + 1;
    }
    return h;
  };
  console.log(`acks per ms from 3 ms (30 = 30 and more): idle ${JSON.stringify(hist(idleMs))} during ${JSON.stringify(hist(during))}`);
  console.log(JSON.stringify(steps.map((s) => ({ table: s.table, files: s.rewrittenFiles, rows: s.rowsKept, added: s.addedFiles, addedBytes: s.addedBytes, slices: s.slices, ...s.timings }))));
} finally {
  await server.stop();
}
