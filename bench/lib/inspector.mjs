// A `wrangler dev` with its devtools inspector on, and a Chrome DevTools protocol client for the
// Worker's isolate (through wrangler's inspector proxy): for benches that profile the object
// (bench/flush/do-profile.mjs, bench/compaction/stretches.mjs).
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { freePort } from "../../scripts/with-server.mjs";
import { toolEnv } from "../../scripts/lib.mjs";
import { root } from "./build.mjs";

/** Starts `wrangler dev` (fresh state, token `token`) with an inspector port; resolves once /health answers. */
export async function startInspectedServer(token) {
  const port = await freePort();
  const inspector = await freePort();
  const child = spawn(join(root, "node_modules/.bin/wrangler"), ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector), "--persist-to", mkdtempSync(join(tmpdir(), "dolake-prof-")), "--var", `LAKE_TOKEN:${token}`, "--show-interactive-dev-session=false", "--log-level", "warn"], { cwd: root, env: toolEnv, stdio: ["ignore", "inherit", "inherit"], detached: true });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => { try { process.kill(-child.pid, "SIGKILL"); } catch {} };
  for (let t = Date.now(); ; ) {
    try { if ((await fetch(`${url}/health`)).ok) break; } catch {}
    if (Date.now() - t > 60_000) { stop(); throw new Error("no /health"); }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, inspector, stop };
}

/** A CDP session on the Worker's isolate: `call(method, params)` resolves with the answer; `onEvent(fn)` sees events. */
export async function connectInspector(inspector) {
  const targets = await (await fetch(`http://127.0.0.1:${inspector}/json`)).json();
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((r, j) => { ws.once("open", r); ws.once("error", j); });
  let id = 0;
  const pending = new Map();
  ws.on("message", (d) => { const m = JSON.parse(d.toString()); if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); } });
  return {
    call: (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); }),
    onEvent: (fn) => ws.on("message", (d) => { const m = JSON.parse(d.toString()); if (m.method) fn(m); }),
    close: () => ws.close(),
  };
}

/** Runs `work()` with the isolate's CPU profiler on (`intervalUs` sampling): its value, the V8 profile and the seconds it took. */
export async function profileDuring(session, intervalUs, work) {
  await session.call("Profiler.enable");
  await session.call("Profiler.setSamplingInterval", { interval: intervalUs });
  await session.call("Profiler.start");
  const t0 = performance.now();
  const value = await work();
  const sec = (performance.now() - t0) / 1000;
  const { result } = await session.call("Profiler.stop");
  return { value, profile: result.profile, sec };
}
