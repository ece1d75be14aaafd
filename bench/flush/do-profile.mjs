// CPU profile of a flush inside the real Durable Object: wrangler dev with its devtools inspector
// on a free port, N bench rows streamed (flushes off), then the V8 profiler of the Worker's isolate
// (Chrome DevTools protocol through wrangler's inspector proxy) around `POST /flush`.
//
//   node bench/flush/do-profile.mjs [--rows 100000] [--step-mib 4] [--top 25]
//
// Prints self time by function and by source file of wrangler's bundle (paths from its source
// map comments are not resolved: function names and the file they come from are what it shows).
import { performance } from "node:perf_hooks";
import { loadTs, machine } from "../lib/build.mjs";
import { connectInspector, profileDuring, startInspectedServer } from "../lib/inspector.mjs";
import { patchConfig, produce } from "../lib/producer.mjs";

const a = { rows: "100000", "step-mib": "4", top: "25" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown option --${k}`);
  a[k] = argv[i + 1];
}
const rows = Number(a.rows);
const token = "bench-token";
const { url, inspector, stop } = await startInspectedServer(token);
try {
  console.log(`# flush CPU profile in the DO ${new Date().toISOString()}\n# ${await machine()}`);
  await patchConfig(url, token, { messagesPerSecond: 1e6, burstCapacity: 1e6, sourceMessagesPerSecond: 1e6, sourceBurstCapacity: 1e6, maxBufferSize: 8 * 2 ** 30, flushThresholdEvents: 1e9, flushThresholdBytes: 8 * 2 ** 30, flushThresholdMs: 3_600_000, maxFlushBytes: Number(a["step-mib"]) * 2 ** 20 });
  const wl = await loadTs(new URL("../lib/workload.ts", import.meta.url));
  const frames = [];
  for (let b = 0; b < rows / 1000; b++) frames.push(wl.batchFrame("binary", "prof-src", b + 1, b * 1000 + 1, 1000));
  await produce({ url, token, encoding: "binary", source: "prof-src", frames, window: 4, deadline: performance.now() + 600_000, wl });

  const session = await connectInspector(inspector);
  const { value: { res, body }, profile: p, sec } = await profileDuring(session, 500, async () => {
    const res = await fetch(`${url}/flush`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
    return { res, body: await res.json() };
  });
  session.close();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = p.timeDeltas;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]);
    self.set(n.id, (self.get(n.id) ?? 0) + (dt[i] ?? 0) / 1000);
  }
  const total = [...self.values()].reduce((x, y) => x + y, 0);
  const byFn = new Map();
  for (const [nid, ms] of self) {
    const f = byId.get(nid).callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url ? f.url.split("/").pop() : ""}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + ms);
  }
  // Native calls (SQL exec, R2 put...) by the bundle function that made them.
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const callers = new Map();
  for (const [nid, ms] of self) {
    const f = byId.get(nid).callFrame;
    if (f.url) continue;
    let up = parent.get(nid);
    while (up !== undefined && !byId.get(up).callFrame.url) up = parent.get(up);
    if (up === undefined || f.functionName.startsWith("(")) continue;
    const key = `${f.functionName} <- ${byId.get(up).callFrame.functionName || "(anonymous)"}`;
    callers.set(key, (callers.get(key) ?? 0) + ms);
  }
  console.log(`POST /flush: ${res.status}, ${body.eventsFlushed ?? body.errorMessage} events in ${sec.toFixed(2)} s; ${total.toFixed(0)} ms sampled in the isolate (idle included)\n`);
  console.log("| function (self time) | ms | % |\n|---|---|---|");
  for (const [k, ms] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, Number(a.top))) console.log(`| ${k} | ${ms.toFixed(1)} | ${((ms / total) * 100).toFixed(1)} |`);
  console.log("\n| native call <- caller in the bundle (self time) | ms | % |\n|---|---|---|");
  for (const [k, ms] of [...callers].sort((x, y) => y[1] - x[1]).slice(0, 12)) console.log(`| ${k} | ${ms.toFixed(1)} | ${((ms / total) * 100).toFixed(1)} |`);
} finally {
  stop();
}
