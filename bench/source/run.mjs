// Source CDC benches (dolake/source). Results: bench/source/RESULTS.md.
//   node bench/source/run.mjs overhead [--rounds 20] [--per-round 2000] [--memory 1]
//     writes/s with and without the CDC triggers, same run, same database (node:sqlite stand-in).
//   node bench/source/run.mjs latency [--samples 100] [--interval-ms 100]
//     write -> acked by DoLake -> visible in the lake (in a committed snapshot), p50/p99, through the
//     orders example on a fresh `wrangler dev` (examples/orders/wrangler.jsonc: flushThresholdMs 2000).
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadTs, machine, root } from "../lib/build.mjs";

const [mode = "overhead", ...rest] = process.argv.slice(2);
const opts = { rounds: 20, "per-round": 2000, memory: 0, samples: 100, "interval-ms": 100 };
for (let i = 0; i < rest.length; i += 2) {
  const k = rest[i].replace(/^--/, "");
  if (!(k in opts)) throw new Error(`unknown option --${k}`);
  opts[k] = Number(rest[i + 1]);
}
console.log(await machine());

if (mode === "overhead") {
  const { runOverhead } = await loadTs(new URL("./overhead.ts", import.meta.url));
  console.log(`rounds ${opts.rounds} x ${opts["per-round"]} rows; one transaction per write; ${opts.memory ? ":memory:" : "file, WAL, synchronous=NORMAL"}`);
  console.log("| write | without CDC (writes/s) | with CDC (writes/s) | overhead |\n|---|---|---|---|");
  for (const r of runOverhead(opts.rounds, opts["per-round"], Boolean(opts.memory))) {
    console.log(`| ${r.op} | ${Math.round(r.plain)} | ${Math.round(r.captured)} | ${((r.plain / r.captured - 1) * 100).toFixed(0)}% |`);
  }
} else if (mode === "latency") {
  const { startServer } = await import(pathToFileURL(join(root, "scripts/with-server.mjs")).href);
  const server = await startServer({ token: "bench-token", config: join(root, "examples/orders/wrangler.jsonc") });
  const auth = { Authorization: "Bearer bench-token" };
  try {
    const acked = [];
    const visible = [];
    const pending = new Map(); // seq -> {t0, acked?}
    let seq = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const status = await (await fetch(`${server.url}/status`, { headers: auth })).json();
        const src = status.sources?.[0];
        const now = performance.now();
        if (src) {
          for (const [s, p] of pending) {
            if (p.acked === undefined && Number(src.lastAckSequence) >= s) p.acked = now;
            if (Number(src.lastPersistedSequence) >= s) {
              acked.push(p.acked - p.t0);
              visible.push(now - p.t0);
              pending.delete(s);
            }
          }
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    for (let i = 0; i < opts.samples; i++) {
      const res = await fetch(`${server.url}/orders`, { method: "POST", headers: auth, body: JSON.stringify({ customer: `c${i}`, amount_cents: i }) });
      if (res.status !== 201) throw new Error(`write ${i}: ${res.status} ${await res.text()}`);
      pending.set(++seq, { t0: performance.now() });
      await new Promise((r) => setTimeout(r, opts["interval-ms"]));
    }
    const deadline = Date.now() + 60_000;
    while (pending.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    polling = false;
    await poll;
    const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
    console.log(`${opts.samples} writes, one every ${opts["interval-ms"]} ms; DoLake /status polled every ~10 ms (resolution)`);
    console.log("| from write response to | p50 (ms) | p99 (ms) | max (ms) |\n|---|---|---|---|");
    console.log(`| acked by DoLake (in its SQLite) | ${pct(acked, 50).toFixed(0)} | ${pct(acked, 99).toFixed(0)} | ${Math.max(...acked).toFixed(0)} |`);
    console.log(`| visible in the lake (committed snapshot) | ${pct(visible, 50).toFixed(0)} | ${pct(visible, 99).toFixed(0)} | ${Math.max(...visible).toFixed(0)} |`);
    if (pending.size) console.log(`NOT VISIBLE within 60 s: ${pending.size} writes`);
  } finally {
    await server.stop();
  }
} else {
  throw new Error(`unknown mode ${mode} (overhead | latency)`);
}
