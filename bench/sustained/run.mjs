// Sustained bench (issue 12): can one object keep up with what it ingests? Against a fresh
// `npm start` (wrangler dev) per producer count:
//
//   node bench/sustained/run.mjs [--duration 180] [--producers 1,4] [--batch 1000] [--window 4]
//                                [--warmup 20000] [--burst-events 100000] [--markers 30] [--sample 5]
//                                [--out f.json]
//
// 1. Burst: flush thresholds raised (nothing flushes), --warmup events (not measured), then
//    --burst-events binary events from the producers (window --window each): acked events/s =
//    the ingest rate of this run. Then POST /flush drains both (timed: the DO's flush rate).
// 2. Sustained, --duration seconds at the default config (src/config.ts DEFAULT_CONFIG: flush
//    thresholds, maxBufferSize, maxFlushBytes, backpressure) except the rate limits, which stay
//    raised so the token bucket is not what is measured. Producers stream binary batches of
//    --batch INSERTs as fast as the object acks them, honouring backpressure: a buffer_full (or
//    any) nack pauses the producer until its in-flight batches are answered, waits the nack's
//    retryDelayMs and resends from the refused batch (go-back-N: later batches were refused as a
//    sequence gap); an ack with suggestedDelayMs > 0 (a slow-down) holds the next send that long.
//    Buffer utilization from acks and GET /status every --sample seconds.
// 3. Freshness, during the sustained phase: --markers one-event batches into table `freshness`
//    from their own source, spread over the duration; ack -> visible to pyiceberg
//    (bench/sustained/visible.py over the REST catalog; its poll time bounds the resolution).
//
// Frames are built around pooled row images (bench/sustained/frames.ts) so the client's core is
// not the limit; every event is an INSERT of a new row id.
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { startServer } from "../../scripts/with-server.mjs";
import { loadTs, machine, root } from "../lib/build.mjs";
import { memory, rssSampler, workerdPids } from "../lib/procs.mjs";
import { patchConfig } from "../lib/producer.mjs";

const defaults = { duration: "180", producers: "1,4", batch: "1000", window: "4", warmup: "20000", "burst-events": "100000", markers: "30", sample: "5", pool: "10000", out: "" };
const a = { ...defaults };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown option --${k}`);
  a[k] = argv[i + 1];
}
const duration = Number(a.duration) * 1000;
const batch = Number(a.batch);
const window = Number(a.window);
const RATES = { messagesPerSecond: 1_000_000, burstCapacity: 1_000_000, sourceMessagesPerSecond: 1_000_000, sourceBurstCapacity: 1_000_000 };
const NO_FLUSH = { maxBufferSize: 8 * 2 ** 30, flushThresholdEvents: 1_000_000_000, flushThresholdBytes: 8 * 2 ** 30, flushThresholdMs: 3_600_000 };
const pct = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

/**
 * One producer streaming until `stopAt` (ms, performance clock) or `maxBatches`, with go-back-N
 * on nacks and slow-downs honoured. Resolves with its counters.
 */
function stream({ url, token, source, fr, pool, table, stopAt = Infinity, maxBatches = Infinity, onAck }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(token)}`);
    ws.binaryType = "nodebuffer";
    const s = { source, ackedEvents: 0, ackedBatches: 0, nacks: {}, slowDowns: 0, slowDownMs: 0, maxUtil: 0 };
    let next = 1;
    let inflight = 0;
    let retryFrom = 0;
    let paused = false;
    let holdUntil = 0;
    let timer;
    let connected = false;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      ws.close();
      resolve(s);
    };
    const done = () => performance.now() >= stopAt || next > maxBatches;
    const pump = () => {
      if (!connected || paused || finished) return;
      if (done()) {
        if (inflight === 0) finish();
        return;
      }
      const now = performance.now();
      if (now < holdUntil) {
        clearTimeout(timer);
        timer = setTimeout(pump, holdUntil - now);
        return;
      }
      while (inflight < window && !done()) {
        ws.send(fr.batchFrame(pool, table, source, next, (next - 1) * batch + 1, batch));
        next++;
        inflight++;
      }
    };
    const resumeIfDrained = (delay) => {
      if (inflight > 0) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        next = retryFrom;
        retryFrom = 0;
        paused = false;
        pump();
      }, delay);
    };
    let lastDelay = 0;
    ws.on("open", () => ws.send(fr.connectFrame("binary", source)));
    ws.on("error", (e) => { if (!finished) { finished = true; reject(e); } });
    ws.on("close", () => { if (!finished) { finished = true; reject(new Error(`${source}: socket closed`)); } });
    ws.on("message", (data) => {
      const r = fr.readReply(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (r.kind === "connected") {
        connected = true;
        return pump();
      }
      if (r.kind === "ack") {
        if (r.status === 3) return; // PERSISTED: a later notice for a batch already answered
        inflight--;
        if (r.status === 2 || r.status === 1) {
          s.ackedEvents += batch;
          s.ackedBatches++;
          onAck?.(r, batch);
        }
        s.maxUtil = Math.max(s.maxUtil, r.utilization);
        if (r.suggestedDelayMs > 0) {
          s.slowDowns++;
          s.slowDownMs += r.suggestedDelayMs;
          holdUntil = Math.max(holdUntil, performance.now() + r.suggestedDelayMs);
        }
        if (paused) return resumeIfDrained(lastDelay);
        return pump();
      }
      if (r.kind === "nack") {
        inflight--;
        const name = fr.NackReason[r.reason] ?? String(r.reason);
        s.nacks[name] = (s.nacks[name] ?? 0) + 1;
        if (!paused || r.batch < retryFrom) retryFrom = r.batch;
        if (name !== "INVALID_SEQUENCE") lastDelay = Math.max(r.retryDelayMs, 10);
        paused = true;
        return resumeIfDrained(lastDelay);
      }
    });
  });
}

/** The marker producer: one single-event batch into `freshness` every `everyMs`, window 1. */
function markers({ url, token, fr, count, everyMs, onAcked, onPersisted }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(token)}`);
    ws.binaryType = "nodebuffer";
    let sent = 0;
    let acked = 0;
    const t0 = performance.now();
    const send = () => {
      sent++;
      ws.send(fr.markerFrame("fresh-src", sent, sent));
    };
    ws.on("open", () => ws.send(fr.connectFrame("binary", "fresh-src")));
    ws.on("error", reject);
    ws.on("message", (data) => {
      const r = fr.readReply(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (r.kind === "connected") return send();
      if (r.kind === "nack") {
        // Backpressure applies to markers too: resend the same marker after the delay.
        sent--;
        return setTimeout(send, Math.max(r.retryDelayMs, 10));
      }
      if (r.kind !== "ack") return;
      if (r.status === 3) return onPersisted(r.batch, Date.now()); // in a committed snapshot
      acked++;
      onAcked(r.batch, Date.now());
      if (acked === count) {
        ws.close();
        return resolve();
      }
      setTimeout(send, Math.max(0, t0 + acked * everyMs - performance.now()));
    });
  });
}

async function status(url, token) {
  const res = await fetch(`${url}/status`, { headers: { Authorization: `Bearer ${token}` } });
  return (await res.json()).buffer;
}

/** startServer, again on a start-up that dies (port race, bundler crash on a loaded machine), as test/e2e does. */
async function start() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServer({ token: "bench-token" });
    } catch (e) {
      if (attempt >= 3) throw e;
      console.log(JSON.stringify({ startRetry: attempt, error: e.message }));
    }
  }
}

async function scenario(fr, pool, producers, python) {
  const server = await start();
  const { url, token } = server;
  const pids = workerdPids(server.child.pid);
  try {
    // 1. Burst: nothing flushes.
    await patchConfig(url, token, { ...RATES, ...NO_FLUSH });
    const perProducer = Math.ceil(Number(a["burst-events"]) / producers / batch);
    // A warm-up burst first (not measured): a fresh workerd runs its first batches unoptimised.
    const warm = Math.ceil(Number(a.warmup) / producers / batch);
    if (warm > 0) await Promise.all(Array.from({ length: producers }, (_, i) => stream({ url, token, source: `warm-${i}`, fr, pool, table: "orders", maxBatches: warm })));
    let t = performance.now();
    const burst = await Promise.all(Array.from({ length: producers }, (_, i) => stream({ url, token, source: `burst-${i}`, fr, pool, table: "orders", maxBatches: perProducer })));
    const burstSec = (performance.now() - t) / 1000;
    const burstEvents = burst.reduce((n, s) => n + s.ackedEvents, 0);
    t = performance.now();
    const res = await fetch(`${url}/flush`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(600_000) });
    const drained = await res.json();
    const drainSec = (performance.now() - t) / 1000;

    // 2 + 3. Sustained at the defaults (rate limits raised), with freshness markers.
    const d = fr.DEFAULT_CONFIG;
    await patchConfig(url, token, { ...RATES, maxBufferSize: d.maxBufferSize, flushThresholdEvents: d.flushThresholdEvents, flushThresholdBytes: d.flushThresholdBytes, flushThresholdMs: d.flushThresholdMs, maxFlushBytes: d.maxFlushBytes, backpressureThreshold: d.backpressureThreshold });
    const ackedAt = new Map();
    const visibleAt = new Map();
    const persistedAt = new Map();
    const nMarkers = Number(a.markers);
    let pollErrors = 0;
    let poller;
    if (nMarkers > 0) {
      poller = spawn(python, [join(root, "bench/sustained/visible.py")], { env: { ...process.env, DOLAKE_URL: url, DOLAKE_TOKEN: token }, stdio: ["pipe", "pipe", "inherit"] });
      createInterface({ input: poller.stdout }).on("line", (l) => {
        const o = JSON.parse(l);
        if (o.poll_error) pollErrors++;
        else visibleAt.set(o.marker, o.visible_ms);
      });
    }
    const perSecond = new Map(); // second -> { events, util }
    const t0 = performance.now();
    const onAck = (r, n) => {
      const sec = Math.floor((performance.now() - t0) / 1000);
      const b = perSecond.get(sec) ?? { events: 0, util: 0 };
      b.events += n;
      b.util = Math.max(b.util, r.utilization);
      perSecond.set(sec, b);
    };
    const samples = [];
    const sampler = setInterval(async () => {
      try { samples.push({ s: Math.round((performance.now() - t0) / 1000), ...(await status(url, token)) }); } catch {}
    }, Number(a.sample) * 1000);
    const rss = rssSampler(pids);
    const stopAt = t0 + duration;
    const markerRun = nMarkers > 0 ? markers({ url, token, fr, count: nMarkers, everyMs: duration / nMarkers, onAcked: (m, at) => { ackedAt.set(m, at); poller.stdin.write(`${m}\n`); }, onPersisted: (m, at) => persistedAt.set(m, at) }) : Promise.resolve();
    const runs = await Promise.all(Array.from({ length: producers }, (_, i) => stream({ url, token, source: `sustained-${i}`, fr, pool, table: "orders", stopAt, onAck })));
    const sec = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const peak = rss.stop();
    const end = await status(url, token);
    await markerRun;
    // Markers acked near the end become visible by the time threshold at the latest.
    const waitUntil = Date.now() + 180_000;
    while (poller && visibleAt.size < ackedAt.size && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 500));
    poller?.stdin.end();
    poller?.kill();
    const fresh = [...ackedAt].filter(([m]) => visibleAt.has(m)).map(([m, at]) => visibleAt.get(m) - at);
    const persisted = [...ackedAt].filter(([m]) => persistedAt.has(m)).map(([m, at]) => persistedAt.get(m) - at);
    const acked = runs.reduce((n, s) => n + s.ackedEvents, 0);
    const nacks = {};
    for (const s of runs) for (const [k, v] of Object.entries(s.nacks)) nacks[k] = (nacks[k] ?? 0) + v;
    return {
      producers, batch, window, durationSec: +sec.toFixed(1),
      burst: { events: burstEvents, sec: +burstSec.toFixed(2), eventsPerSec: Math.round(burstEvents / burstSec), drainSec: +drainSec.toFixed(2), drained: drained.eventsFlushed, drainRowsPerSec: Math.round(drained.eventsFlushed / drainSec) },
      sustained: {
        ackedEvents: acked, ackedPerSec: Math.round(acked / sec), bufferedAtEnd: end.eventCount, flushedPerSec: Math.round((acked - end.eventCount) / sec),
        ratioToBurst: +((acked / sec) / (burstEvents / burstSec)).toFixed(3),
        nacks, slowDowns: runs.reduce((n, s) => n + s.slowDowns, 0), slowDownMs: runs.reduce((n, s) => n + s.slowDownMs, 0),
        maxUtilization: Math.max(...runs.map((s) => s.maxUtil)),
      },
      freshness: { pollErrors, samples: fresh.length, of: ackedAt.size, p50Ms: fresh.length ? pct(fresh, 50) : null, p95Ms: fresh.length ? pct(fresh, 95) : null, maxMs: fresh.length ? Math.max(...fresh) : null },
      // The same markers' persisted acks (the object's own word that the snapshot committed), for comparison.
      persistedAck: { samples: persisted.length, p50Ms: persisted.length ? pct(persisted, 50) : null, p95Ms: persisted.length ? pct(persisted, 95) : null },
      timeline: [...perSecond].sort((x, y) => x[0] - y[0]).map(([s, b]) => ({ s, events: b.events, util: +b.util.toFixed(3) })),
      statusSamples: samples.map((x) => ({ s: x.s, events: x.eventCount, mib: +(x.totalSizeBytes / 2 ** 20).toFixed(1), util: +x.utilization.toFixed(3) })),
      workerd: pids.map((p) => ({ pid: p, peakRssMiB: Math.round(peak.get(p)), hwmMiB: Math.round(memory(p).hwmMiB) })),
    };
  } finally {
    await server.stop();
  }
}

/** The Worker bundle as `wrangler deploy --dry-run` builds it: total and gzip sizes. */
function bundleSize() {
  const r = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", join(process.env.TMPDIR ?? "/tmp", `dolake-bundle-${process.pid}`)], { cwd: root, encoding: "utf8" });
  const m = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(`${r.stdout}${r.stderr}`);
  return m ? { totalKiB: Number(m[1]), gzipKiB: Number(m[2]) } : { error: (r.stderr || r.stdout).slice(-300) };
}

const fr = await loadTs(new URL("./frames.ts", import.meta.url));
const pool = fr.rowPool(Number(a.pool));
const python = Number(a.markers) > 0 ? spawnSync("bash", [join(root, "scripts/python-env.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).stdout.trim().split("\n").pop() : "";
console.log(`# sustained bench ${new Date().toISOString()}\n# ${await machine()}\n# options: ${JSON.stringify(a)}`);
const bundle = bundleSize();
console.log(JSON.stringify({ bundle }));
const out = [];
for (const p of a.producers.split(",").map(Number)) {
  try {
    const r = await scenario(fr, pool, p, python);
    console.log(JSON.stringify(r));
    out.push(r);
  } catch (e) {
    console.log(JSON.stringify({ producers: p, error: e.message }));
    out.push({ producers: p, error: e.message });
    process.exitCode = 1;
  }
}
const MiB10 = 10 * 1024;
console.log(`\nWorker bundle: ${bundle.totalKiB} KiB, gzip ${bundle.gzipKiB} KiB (limit 10 MiB compressed on paid plans: ${bundle.gzipKiB < MiB10 ? "fits" : "does NOT fit"}; free plan 3 MiB: ${bundle.gzipKiB < 3 * 1024 ? "fits" : "does NOT fit"})`);
console.log("\n| producers | burst events/s | POST /flush of the burst: rows/s | sustained acked events/s | ratio to burst | flushed events/s | buffered at end | nacks | slow-downs (total ms) | max buffer utilization | freshness: ack -> visible to pyiceberg p50 / p95 / max ms (samples) | ack -> persisted ack p50 / p95 ms |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of out) {
  if (r.error) { console.log(`| ${r.producers} | error: ${r.error} |`); continue; }
  const s = r.sustained;
  const f = r.freshness;
  console.log(`| ${r.producers} | ${r.burst.eventsPerSec} | ${r.burst.drainRowsPerSec} | ${s.ackedPerSec} | ${s.ratioToBurst} | ${s.flushedPerSec} | ${s.bufferedAtEnd} | ${JSON.stringify(s.nacks)} | ${s.slowDowns} (${s.slowDownMs}) | ${s.maxUtilization.toFixed(3)} | ${f.p50Ms} / ${f.p95Ms} / ${f.maxMs} (${f.samples}/${f.of}) | ${r.persistedAck.p50Ms} / ${r.persistedAck.p95Ms} |`);
}
for (const r of out) {
  if (r.error) continue;
  console.log(`\nBuffer over time, ${r.producers} producer(s) (GET /status every ${a.sample} s):\n\n| s | buffered events | MiB | utilization |\n|---|---|---|---|`);
  for (const x of r.statusSamples) console.log(`| ${x.s} | ${x.events} | ${x.mib} | ${x.util} |`);
}
if (a.out) writeFileSync(a.out, JSON.stringify(out, null, 2));
