// Ingest bench: events/s acked durably ("buffered" acks: the batch is in the DO's SQLite) over the
// real /ws, for binary and JSON frames, several batch sizes and producer counts; ack latency;
// CPU and RSS of the workerd processes of `wrangler dev`.
//
//   node bench/ingest/run.mjs [--encodings binary,json] [--batches 100,1000,5000] [--connections 1,4]
//                             [--events 200000] [--window 4] [--warmup 20000] [--repeat 3]
//                             [--timeout 180] [--out results.json]
//
// Each scenario: a warm-up of --warmup events (same encoding and batch size, its own source, not
// measured), then --repeat measured runs of --events events each (new sources each run); the
// table shows the median run by events/s and the min-max range. Each producer keeps --window
// batches unacked; ack latency is from send to the ack's arrival at the producer.
//
// Without DOLAKE_URL it starts a fresh server (scripts/with-server.mjs startServer: `npm start` =
// wrangler dev, fresh state dir) for every scenario, so each starts from an empty buffer and its
// memory figures are its own. With DOLAKE_URL/DOLAKE_TOKEN set (node scripts/with-server.mjs -- node
// bench/ingest/run.mjs) all scenarios share that server; RSS/CPU are then read from the workerd
// processes under the parent process.
//
// Limits raised through PATCH /config before each scenario (see RAISED): rate limits (per
// connection and per source), buffer capacity, and the flush thresholds, so that no flush runs
// during the measurement (this bench measures ingest; bench/flush measures flushes).
import { performance } from "node:perf_hooks";
import { startServer } from "../../scripts/with-server.mjs";
import { loadTs, machine } from "../lib/build.mjs";
import { cpuSeconds, memory, rssSampler, workerdPids } from "../lib/procs.mjs";
import { patchConfig, produce, RAISED } from "../lib/producer.mjs";


function args() {
  const a = { encodings: "binary,json", batches: "100,1000,5000", connections: "1,4", events: "200000", window: "4", warmup: "20000", repeat: "3", timeout: "180", out: "" };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, "");
    if (!(k in a)) throw new Error(`unknown option --${k}`);
    a[k] = argv[i + 1];
  }
  return {
    encodings: a.encodings.split(","),
    batches: a.batches.split(",").map(Number),
    connections: a.connections.split(",").map(Number),
    events: Number(a.events),
    window: Number(a.window),
    warmup: Number(a.warmup),
    repeat: Number(a.repeat),
    timeoutMs: Number(a.timeout) * 1000,
    out: a.out,
  };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function bufferStatus(url, token) {
  const res = await fetch(`${url}/status`, { headers: { Authorization: `Bearer ${token}` } });
  return (await res.json()).buffer;
}

async function scenario(opts, server, wl, encoding, batch, connections, tag) {
  const { url, token, pidRoot } = server;
  await patchConfig(url, token, RAISED);
  const perConn = Math.ceil(opts.events / connections / batch);
  // Pre-encode every frame so the producer's CPU goes to sending, not encoding.
  const encStart = performance.now();
  const producers = [];
  for (let c = 0; c < connections; c++) {
    const source = `bench-${tag}-c${c}`;
    const frames = [];
    for (let b = 0; b < perConn; b++) frames.push(wl.batchFrame(encoding, source, b + 1, b * batch + 1, batch, c * 10_000_000 + b * batch + 1));
    producers.push({ source, frames });
  }
  const encodeMs = performance.now() - encStart;
  const events = perConn * batch * connections;
  const frameBytes = producers[0].frames.reduce((n, f) => n + (typeof f === "string" ? Buffer.byteLength(f) : f.byteLength), 0) / perConn;

  const pids = workerdPids(pidRoot);
  const cpu0 = pids.map(cpuSeconds);
  const rss0 = pids.map((p) => memory(p).rssMiB);
  const sampler = rssSampler(pids);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + opts.timeoutMs;
  const results = await Promise.all(producers.map((p) => produce({ url, token, encoding, source: p.source, frames: p.frames, window: opts.window, deadline, wl })));
  const elapsed = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  const peak = sampler.stop();
  const cpu = pids.map((p, i) => cpuSeconds(p) - cpu0[i]);
  const buffer = await bufferStatus(url, token);
  const lat = results.flat().sort((a, b) => a - b);
  return {
    encoding,
    batch,
    connections,
    window: opts.window,
    events,
    frameBytes: Math.round(frameBytes),
    seconds: +elapsed.toFixed(3),
    eventsPerSec: Math.round(events / elapsed),
    mbPerSec: +((frameBytes * perConn * connections) / elapsed / 2 ** 20).toFixed(1),
    ackMs: { p50: +pct(lat, 50).toFixed(2), p99: +pct(lat, 99).toFixed(2), max: +lat[lat.length - 1].toFixed(2) },
    bufferedEvents: buffer.eventCount,
    workerd: pids.map((p, i) => ({ pid: p, cpuSec: +cpu[i].toFixed(2), cpuPct: Math.round((cpu[i] / elapsed) * 100), rssBeforeMiB: Math.round(rss0[i]), rssPeakMiB: Math.round(peak.get(p)), hwmMiB: Math.round(memory(p).hwmMiB) })),
    serverCpuUsPerEvent: +((cpu.reduce((a, b) => a + b, 0) / events) * 1e6).toFixed(2),
    clientCpuPct: Math.round(((client.user + client.system) / 1e6 / elapsed) * 100),
    encodeMs: Math.round(encodeMs),
  };
}

async function main() {
  const opts = args();
  const wl = await loadTs(new URL("../lib/workload.ts", import.meta.url));
  const shared = process.env.DOLAKE_URL ? { url: process.env.DOLAKE_URL, token: process.env.DOLAKE_TOKEN, pidRoot: process.ppid } : undefined;
  const out = [];
  console.log(`# ingest bench ${new Date().toISOString()}\n# ${await machine()}\n# raised: ${JSON.stringify(RAISED)}`);
  for (const encoding of opts.encodings) {
    for (const batch of opts.batches) {
      for (const connections of opts.connections) {
        const tag = `${encoding}-${batch}-${connections}-${Date.now()}`;
        const server = shared ?? (await startServer({ token: "bench-token" }));
        if (!shared) server.pidRoot = server.child.pid;
        try {
          if (opts.warmup > 0) await scenario({ ...opts, events: opts.warmup }, server, wl, encoding, batch, connections, `${tag}-warm`);
          const runs = [];
          for (let i = 0; i < opts.repeat; i++) {
            const r = await scenario(opts, server, wl, encoding, batch, connections, `${tag}-r${i}`);
            console.log(JSON.stringify(r));
            runs.push(r);
          }
          runs.sort((a, b) => a.eventsPerSec - b.eventsPerSec);
          const r = { ...runs[Math.floor(runs.length / 2)], range: [runs[0].eventsPerSec, runs[runs.length - 1].eventsPerSec] };
          out.push(r);
        } catch (e) {
          console.log(JSON.stringify({ encoding, batch, connections, error: e.message }));
          out.push({ encoding, batch, connections, error: e.message });
        } finally {
          if (!shared) await server.stop();
        }
      }
    }
  }
  console.log("\n| encoding | batch | conns | events | events/s (median) | min-max | MB/s | ack p50 ms | ack p99 ms | ack max ms | server CPU µs/event | workerd CPU % (per process) | workerd peak RSS MiB |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of out) {
    if (r.error) {
      console.log(`| ${r.encoding} | ${r.batch} | ${r.connections} | error: ${r.error} |`);
      continue;
    }
    console.log(
      `| ${r.encoding} | ${r.batch} | ${r.connections} | ${r.events} | ${r.eventsPerSec} | ${r.range.join("-")} | ${r.mbPerSec} | ${r.ackMs.p50} | ${r.ackMs.p99} | ${r.ackMs.max} | ${r.serverCpuUsPerEvent} | ${r.workerd.map((w) => w.cpuPct).join(" / ")} | ${r.workerd.map((w) => `${w.rssBeforeMiB}→${w.rssPeakMiB}`).join(" / ")} |`,
    );
  }
  if (opts.out) (await import("node:fs")).writeFileSync(opts.out, JSON.stringify(out, null, 2));
  if (out.some((r) => r.error)) process.exitCode = 1;
}

await main();
