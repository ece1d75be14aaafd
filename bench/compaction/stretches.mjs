// The object's synchronous stretches during a compaction pass: what an ack can wait behind. On a
// fresh `wrangler dev` with its inspector on, --flushes flushes of --rows rows into `orders`, then
// the V8 profiler of the Worker's isolate (wrangler's inspector proxy, --interval µs sampling)
// around `POST /v1/compaction/auto`, no producer running. A stretch is a run of consecutive
// samples in the isolate's code between two chances for a message to run: "(idle)", or a macrotask
// yield (src/util/pace.ts yieldToEvents). With no message waiting, a yield does not make the
// isolate idle, so the bench marks each one: a conditional breakpoint on yieldToEvents whose
// condition runs `yieldMark` (~0.5 ms of arithmetic, never pauses) leaves samples the profile
// splits at; the product's code is not changed. A stretch's length is about what a message
// arriving at its start waits. Prints the distribution of stretch lengths and, for the longest,
// the functions with the most self time in them. Enabling the debugger discards optimized code:
// the first calls after it run in the interpreter (a 256 KiB page's snappy of ~100 ms in every
// run is that), and the fold runs slower than without it; read the other stretches.
//
//   node bench/compaction/stretches.mjs [--flushes 40] [--rows 2500] [--interval 100] [--top 15] [--slice-kib N]
import { performance } from "node:perf_hooks";
import { loadTs, machine } from "../lib/build.mjs";
import { connectInspector, profileDuring, startInspectedServer } from "../lib/inspector.mjs";
import { patchConfig, produce } from "../lib/producer.mjs";

const a = { flushes: "40", rows: "2500", interval: "100", top: "15", "slice-kib": "" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, "");
  if (!(k in a)) throw new Error(`unknown option --${k}`);
  a[k] = argv[i + 1];
}
const token = "bench-token";
const { url, inspector, stop } = await startInspectedServer(token);
const auth = { Authorization: `Bearer ${token}` };
try {
  console.log(`# compaction stretches in the DO ${new Date().toISOString()}\n# ${await machine()}\n# ${JSON.stringify(a)}`);
  await patchConfig(url, token, {
    messagesPerSecond: 1e6, burstCapacity: 1e6, sourceMessagesPerSecond: 1e6, sourceBurstCapacity: 1e6, maxBufferSize: 2 ** 30,
    flushThresholdEvents: 1e9, flushThresholdBytes: 2 ** 30, flushThresholdMs: 3_600_000,
    compaction: { autoCompact: false, ...(a["slice-kib"] ? { maxBytesPerSlice: Number(a["slice-kib"]) * 1024 } : {}) },
  });
  const wl = await loadTs(new URL("../lib/workload.ts", import.meta.url));
  const rows = Number(a.rows);
  let seq = 0;
  for (let f = 0; f < Number(a.flushes); f++) {
    const frames = [];
    for (let b = 0; b < rows / 500; b++, seq += 500) frames.push(wl.batchFrame("binary", "seed", f * 1000 + b + 1, seq + 1, 500));
    await produce({ url, token, encoding: "binary", source: "seed", frames, window: 4, deadline: performance.now() + 600_000, wl });
    const res = await fetch(`${url}/flush`, { method: "POST", headers: auth });
    if (!res.ok) throw new Error(`flush ${f}: ${res.status} ${await res.text()}`);
  }
  const session = await connectInspector(inspector);
  const { call, onEvent } = session;
  // Mark the yields: find yieldToEvents in the bundle, set the breakpoint on its body's line.
  const scripts = [];
  onEvent((m) => { if (m.method === "Debugger.scriptParsed" && m.params.url) scripts.push(m.params.scriptId); });
  await call("Debugger.enable");
  let marked = 0;
  for (const scriptId of scripts) {
    const found = (await call("Debugger.searchInContent", { scriptId, query: "function yieldToEvents(" })).result?.result ?? [];
    for (const f of found) {
      const r = await call("Debugger.setBreakpoint", { location: { scriptId, lineNumber: f.lineNumber + 1 }, condition: "(function yieldMark() { let x = 0; for (let i = 0; i < 300000; i++) x = (x + i * 7) % 1000003; return false; })()" });
      if (r.result?.breakpointId) marked++;
    }
  }
  if (marked === 0) throw new Error("yieldToEvents not found in the Worker's scripts: stretches could not be split at yields");
  const { value: { res, body }, profile: p, sec } = await profileDuring(session, Number(a.interval), async () => {
    const res = await fetch(`${url}/v1/compaction/auto`, { method: "POST", headers: auth });
    return { res, body: await res.json() };
  });
  session.close();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // The bundle function a native frame was called from (SQL exec, R2...): "exec <- append".
  const label = (nid) => {
    const f = byId.get(nid).callFrame;
    const name = f.functionName || `(anonymous):${f.lineNumber + 1}`;
    if (f.url || name.startsWith("(")) return name;
    let up = parent.get(nid);
    while (up !== undefined && !byId.get(up).callFrame.url) up = parent.get(up);
    const caller = byId.get(up ?? nid).callFrame;
    return up === undefined ? name : `${name} <- ${caller.functionName || `(anonymous):${caller.lineNumber + 1}`}`;
  };
  const stretches = [];
  let cur;
  for (let i = 0; i < p.samples.length; i++) {
    const name = byId.get(p.samples[i]).callFrame.functionName;
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    if (name === "(idle)" || name === "yieldMark") {
      cur = undefined;
      continue;
    }
    if (!cur) stretches.push((cur = { ms: 0, self: new Map() }));
    cur.ms += dt;
    const l = label(p.samples[i]);
    cur.self.set(l, (cur.self.get(l) ?? 0) + dt);
  }
  const busy = stretches.reduce((s, x) => s + x.ms, 0);
  console.log(`\nPOST /v1/compaction/auto: ${res.status}, ${(body.steps ?? []).length} steps, ${(body.steps ?? []).reduce((n, s) => n + (s.slices ?? 1), 0)} slices in ${sec.toFixed(1)} s; isolate busy ${(busy / 1000).toFixed(1)} s (yield marks excluded) in ${stretches.length} stretches\n`);
  console.log("| stretch longer than | count | busy time in them |\n|---|---|---|");
  for (const t of [2, 5, 10, 20, 50, 100]) {
    const s = stretches.filter((x) => x.ms > t);
    console.log(`| ${t} ms | ${s.length} | ${(s.reduce((n, x) => n + x.ms, 0) / 1000).toFixed(2)} s |`);
  }
  const longest = [...stretches].sort((x, y) => y.ms - x.ms).slice(0, Number(a.top));
  console.log("\n| stretch ms | most self time in it |\n|---|---|");
  for (const s of longest) console.log(`| ${s.ms.toFixed(1)} | ${[...s.self].sort((x, y) => y[1] - x[1]).slice(0, 4).map(([k, ms]) => `${k} ${ms.toFixed(1)}`).join("; ")} |`);
  // What the stretches over 5 ms spend their time on, summed.
  const sum = new Map();
  for (const s of stretches.filter((x) => x.ms > 5)) for (const [k, ms] of s.self) sum.set(k, (sum.get(k) ?? 0) + ms);
  console.log("\n| in stretches over 5 ms: function (self) | ms |\n|---|---|");
  for (const [k, ms] of [...sum].sort((x, y) => y[1] - x[1]).slice(0, 20)) console.log(`| ${k} | ${ms.toFixed(1)} |`);
} finally {
  stop();
}
