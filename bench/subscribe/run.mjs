// Subscribe bench (issue 11): change streams over /v1/subscribe of a fresh `wrangler dev`.
//   1. latency: one producer sends a batch of --latency-batch events every --interval ms; one live
//      subscriber; ack -> subscriber latency per batch (ack arrival at the producer to the arrival
//      of the batch's last event at the subscriber, same process clock), p50/p95/p99.
//   2. throughput: --events events buffered (no flush), then one subscriber from `earliest`:
//      events/s delivered from the buffer; then POST /flush and a new subscriber from `earliest`:
//      events/s delivered from the changelog tables on R2.
//   3. fan-out: the producer streams --events events in batches of 1000 (window 4) with 0 and then
//      with --subscribers live subscribers attached: ack p50/p99 and events/s of both runs, and
//      whether every subscriber received every event.
//
//   node bench/subscribe/run.mjs [--events 100000] [--subscribers 50] [--latency-batches 300] [--interval 20] [--out results.json]
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { startServer } from "../../scripts/with-server.mjs";
import { loadTs, machine } from "../lib/build.mjs";
import { memory, workerdPids } from "../lib/procs.mjs";
import { patchConfig, produce, RAISED } from "../lib/producer.mjs";

function args() {
  const a = { events: "100000", subscribers: "50", "latency-batches": "300", "latency-batch": "100", interval: "20", out: "" };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, "");
    if (!(k in a)) throw new Error(`unknown option --${k}`);
    a[k] = argv[i + 1];
  }
  return { events: Number(a.events), subscribers: Number(a.subscribers), latencyBatches: Number(a["latency-batches"]), latencyBatch: Number(a["latency-batch"]), interval: Number(a.interval), out: a.out };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))].toFixed(2);
};

/** A subscriber: counts events, records when each sequence arrived, grants a credit per batch. */
function subscriber(url, token, wl, { from, credits = 64, maxBatchEvents = 1000, onBatch, countOnly = false }) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/subscribe?token=${encodeURIComponent(token)}`);
  ws.binaryType = "nodebuffer";
  const s = { ws, events: 0, batches: 0, upToDate: false, ready: undefined, error: undefined };
  s.ready = new Promise((resolve, reject) => {
    ws.on("open", () => ws.send(wl.subscribeFrame({ from, credits, maxBatchEvents })));
    ws.on("error", reject);
    ws.on("message", (data) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const m = countOnly ? wl.countSubscribeFrame(bytes) : wl.readSubscribeFrame(bytes);
      if (m.kind === "subscribed") resolve();
      else if (m.kind === "upToDate") s.upToDate = true;
      else if (m.kind === "error") s.error = m.error;
      else if (m.kind === "batch") {
        s.events += m.events ?? m.sequences.length;
        s.batches++;
        if (m.sequences) onBatch?.(m.sequences, performance.now());
        ws.send(wl.creditFrame(1));
      }
    });
  });
  return s;
}

async function until(what, done, ms = 300_000) {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** 1. ack -> subscriber latency at a steady rate. */
async function latency(server, wl, opts) {
  const { url, token } = server;
  const acks = new Map();
  const seen = new Map();
  const batch = opts.latencyBatch;
  const sub = subscriber(url, token, wl, { from: "now", credits: 1000, onBatch: (seqs, t) => {
    for (const q of seqs) if (q % batch === 0) seen.set(q / batch, t);
  } });
  await sub.ready;
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(token)}`);
  ws.binaryType = "nodebuffer";
  await new Promise((r) => ws.on("open", r));
  ws.send(wl.connectFrame("binary", "lat-src"));
  ws.on("message", (data) => {
    const r = wl.readServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (r.kind === "ack" && r.status === 2) acks.set(r.sequenceNumber, performance.now());
  });
  for (let b = 1; b <= opts.latencyBatches; b++) {
    ws.send(wl.batchFrame("binary", "lat-src", b, (b - 1) * batch + 1, batch));
    await new Promise((r) => setTimeout(r, opts.interval));
  }
  await until("latency batches", () => seen.size >= opts.latencyBatches && acks.size >= opts.latencyBatches);
  ws.close();
  sub.ws.close();
  const lat = [...seen].map(([b, t]) => t - acks.get(b));
  return { batches: lat.length, eventsPerBatch: batch, intervalMs: opts.interval, ackToSubscriberMs: { p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99), max: pct(lat, 100) } };
}

/** 2. delivery rate to one subscriber from the buffer, then from the changelog. */
async function throughput(server, wl, opts) {
  const { url, token } = server;
  const frames = [];
  for (let b = 0; b < opts.events / 1000; b++) frames.push(wl.batchFrame("binary", "tp-src", b + 1, b * 1000 + 1, 1000));
  await produce({ url, token, encoding: "binary", source: "tp-src", frames, window: 4, deadline: performance.now() + 300_000, wl });
  const out = {};
  for (const where of ["buffer", "changelog"]) {
    if (where === "changelog") {
      const r = await fetch(`${url}/flush`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
      if (!r.ok) throw new Error(`flush: ${r.status}`);
    }
    const t0 = performance.now();
    const sub = subscriber(url, token, wl, { from: "earliest", credits: 64, maxBatchEvents: 1000, countOnly: true });
    await sub.ready;
    await until(`${where} replay`, () => sub.events >= opts.events);
    const s = (performance.now() - t0) / 1000;
    sub.ws.close();
    out[where] = { events: sub.events, seconds: +s.toFixed(2), eventsPerSec: Math.round(sub.events / s) };
  }
  return out;
}

/** 3. ack latency and ingest rate with N live subscribers vs none. */
async function fanOut(server, wl, opts, n, tag) {
  const { url, token } = server;
  const subs = [];
  for (let i = 0; i < n; i++) subs.push(subscriber(url, token, wl, { from: "now", credits: 1000, maxBatchEvents: 1000, countOnly: true }));
  await Promise.all(subs.map((s) => s.ready));
  const frames = [];
  for (let b = 0; b < opts.events / 1000; b++) frames.push(wl.batchFrame("binary", `fan-${tag}`, b + 1, b * 1000 + 1, 1000));
  const t0 = performance.now();
  const lat = await produce({ url, token, encoding: "binary", source: `fan-${tag}`, frames, window: 4, deadline: t0 + 600_000, wl });
  const ingestS = (performance.now() - t0) / 1000;
  await until("fan-out delivery", () => subs.every((s) => s.events >= opts.events), 600_000);
  const allS = (performance.now() - t0) / 1000;
  for (const s of subs) s.ws.close();
  return { subscribers: n, events: opts.events, ackMs: { p50: pct(lat, 50), p99: pct(lat, 99) }, ingestEventsPerSec: Math.round(opts.events / ingestS), deliveredToAllSeconds: +allS.toFixed(2), everySubscriberGotAll: subs.every((s) => s.events === opts.events) };
}

async function main() {
  const opts = args();
  const wl = await loadTs(new URL("./subscriber.ts", import.meta.url));
  console.log(`# subscribe bench ${new Date().toISOString()}\n# ${await machine()}`);
  const results = {};
  for (const part of ["latency", "throughput", "fanout"]) {
    const server = await startServer({ token: "bench-token" });
    try {
      await patchConfig(server.url, server.token, RAISED);
      if (part === "latency") results.latency = await latency(server, wl, opts);
      else if (part === "throughput") results.throughput = await throughput(server, wl, opts);
      else {
        results.fanout = [await fanOut(server, wl, opts, 0, "none"), await fanOut(server, wl, opts, opts.subscribers, "many")];
        results.fanout.push({ ackP99Ratio: +(results.fanout[1].ackMs.p99 / results.fanout[0].ackMs.p99).toFixed(2) });
      }
      const metrics = await (await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${server.token}` } })).text();
      const m = (name) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1] ?? 0);
      results[`${part}ObjectSteps`] = { steps: m("dolake_subscribe_step_ms_count"), stepMsTotal: Math.round(m("dolake_subscribe_step_ms_sum")), batchesSent: m("dolake_subscribe_batches_total") };
      const pids = workerdPids(server.child.pid);
      results[`${part}RssMiB`] = pids.map((p) => Math.round(memory(p).hwmMiB));
    } finally {
      await server.stop();
    }
    console.log(JSON.stringify({ [part]: results[part], objectSteps: results[`${part}ObjectSteps`] }));
  }
  if (opts.out) (await import("node:fs")).writeFileSync(opts.out, JSON.stringify(results, null, 2));
}

await main();
