#!/usr/bin/env node
// Exercises the producers generated from proto/ (conformance/producers/{python,go}):
//   1. their encoders against the golden vectors (byte-exact),
//   2. each against the conformance server of producer mode (retryable nacks, a dropped connection),
//   3. each against a real DoLake (a fresh local server unless DOLAKE_URL is set): every event acked,
//      then the table read back by pyiceberg holds exactly the rows the producer meant,
//   4. the subscribers generated from proto/dolake/subscribe/v1 in each language: golden vectors, then
//      the producer's table followed from the earliest position with reconnects every two batches:
//      every event once, in order.
//   node conformance/producers/run.mjs [--json <file>]
// Exits non-zero when any step fails. Prints one line per step with its time.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const here = join(root, "conformance/producers");
const jsonOut = process.argv.includes("--json") ? process.argv[process.argv.indexOf("--json") + 1] : undefined;

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", maxBuffer: 64 << 20, ...opts });
  return { code: r.status ?? 1, out: r.stdout ?? "", err: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}
function run(cmd, args, opts = {}) {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd: root, ...opts });
    let out = "", err = "";
    child.stdout?.on("data", (c) => (out += c));
    child.stderr?.on("data", (c) => (err += c));
    child.on("exit", (code) => res({ code: code ?? 1, out, err }));
  });
}

const results = [];
async function step(producer, name, fn) {
  const t0 = Date.now();
  let ok = false, detail = "";
  try {
    detail = (await fn()) ?? "";
    ok = true;
  } catch (e) {
    detail = e.message;
  }
  const ms = Date.now() - t0;
  results.push({ producer, step: name, ok, ms, detail });
  console.log(`  ${ok ? "✓" : "✗"} ${producer} ${name} (${(ms / 1000).toFixed(1)} s)${detail ? `: ${detail.split("\n").slice(0, 12).join("\n      ")}` : ""}`);
}

const python = sh("bash", [join(root, "scripts/python-env.sh")]).out.trim().split("\n").pop();
const goBuild = sh("go", ["build", "-o", "bin/producer", "."], { cwd: join(here, "go") });
const producers = {
  python: (args) => [python, [join(here, "python/producer.py"), ...args]],
  go: (args) => [join(here, "go/bin/producer"), args],
};
const subscribers = {
  python: (args) => [python, [join(here, "python/subscriber.py"), ...args]],
  go: (args) => [join(here, "go/bin/producer"), args],
};
const flag = (p, k) => (p === "go" ? `-${k}` : `--${k}`);

const { startServer, freePort } = await import(pathToFileURL(join(root, "scripts/with-server.mjs")).href);
let server;
if (process.env.DOLAKE_URL) server = { url: process.env.DOLAKE_URL, token: process.env.DOLAKE_TOKEN ?? "", stop: async () => {} };
else server = await startServer();
const runId = Date.now().toString(36);

try {
  for (const p of ["python", "go"]) {
    let lastRun;
    if (p === "go" && goBuild.code !== 0) {
      results.push({ producer: p, step: "build", ok: false, ms: 0, detail: goBuild.err });
      console.log(`  ✗ go build: ${goBuild.err}`);
      continue;
    }
    await step(p, "golden vectors", async () => {
      const [cmd, args] = producers[p](["verify", join(root, "testdata/cdc/v1")]);
      const r = sh(cmd, args);
      if (r.code !== 0) throw new Error(r.out + r.err);
      return r.out.trim().split("\n").pop();
    });
    await step(p, "producer mode", async () => {
      const port = await freePort();
      const verdict = run(process.execPath, [join(root, "conformance/cli.mjs"), "producer", "--port", String(port), "--idle", "2"]);
      await new Promise((r) => setTimeout(r, 1500));
      const [cmd, args] = producers[p](["stream", flag(p, "url"), `http://127.0.0.1:${port}`, flag(p, "token"), "x", flag(p, "source"), `${p}-pm`, flag(p, "flush")]);
      const r = await run(cmd, args);
      const v = await verdict;
      if (r.code !== 0 || v.code !== 0) throw new Error(`producer exit ${r.code} ${r.err.trim()}\n${v.out}`);
      return v.out.trim().split("\n").pop();
    });
    await step(p, "against DoLake", async () => {
      const table = `${p}_producer_${runId}`;
      const [cmd, args] = producers[p](["stream", flag(p, "url"), server.url, flag(p, "token"), server.token, flag(p, "source"), `${p}-producer-${runId}`, flag(p, "table"), table, flag(p, "flush")]);
      const r = await run(cmd, args);
      if (r.code !== 0) throw new Error(`producer exit ${r.code}: ${r.err.trim()}`);
      const summary = JSON.parse(r.out.trim().split("\n").pop());
      if (summary.last_ack_sequence !== summary.events || summary.acked_events !== summary.events) {
        throw new Error(`acked ${summary.acked_events} of ${summary.events} events (last ack ${summary.last_ack_sequence})`);
      }
      const read = sh(python, [join(root, "conformance/readers/pyiceberg_read.py"), server.url, server.token, `default.${table}`]);
      if (read.code !== 0) throw new Error(`pyiceberg: ${read.err.trim().split("\n").pop()}`);
      // Python's json keeps big integers exact; compare through their text.
      const rows = JSON.parse(read.out.replace(/:\s*(-?\d{16,})/g, ':"$1"')).current;
      const expected = JSON.parse(r.out.trim().split("\n").pop().replace(/:\s*(-?\d{16,})/g, ':"$1"')).expected;
      const want = Object.keys(expected).length;
      if (rows.length !== want) throw new Error(`table has ${rows.length} rows, the producer left ${want}`);
      for (const row of rows) {
        const e = expected[String(row.id)];
        if (!e) throw new Error(`row ${row.id} should not be there`);
        for (const [k, v] of Object.entries(e)) if (String(row[k]) !== String(v)) throw new Error(`row ${row.id}.${k}: table ${row[k]}, sent ${v}`);
      }
      lastRun = { table, events: summary.events };
      return `${summary.events} events acked, ${rows.length} rows read back by pyiceberg`;
    });
    await step(p, "subscriber golden vectors", async () => {
      const [cmd, args] = subscribers[p]([p === "go" ? "verify-subscribe" : "verify", join(root, "testdata/subscribe/v1")]);
      const r = sh(cmd, args);
      if (r.code !== 0) throw new Error(r.out + r.err);
      return r.out.trim().split("\n").pop();
    });
    await step(p, "subscriber against DoLake", async () => {
      if (!lastRun) throw new Error("no producer run to follow");
      const [cmd, args] = subscribers[p](["stream", flag(p, "url"), server.url, flag(p, "token"), server.token, flag(p, "table"), lastRun.table, flag(p, "count"), String(lastRun.events), flag(p, "resume-every"), "2"]);
      if (p === "go") args[0] = "subscribe";
      const r = await run(cmd, args);
      if (r.code !== 0) throw new Error(`subscriber exit ${r.code}: ${r.err.trim()}`);
      const got = JSON.parse(r.out.trim().split("\n").pop());
      const want = Array.from({ length: lastRun.events }, (_, i) => i + 1);
      if (got.events !== lastRun.events || got.sequences.join() !== want.join() || !got.increasing) {
        throw new Error(`received ${got.events} of ${lastRun.events} events, sequences ${got.sequences.slice(0, 20).join(",")}...`);
      }
      if (got.reconnects < 2) throw new Error(`expected resumes every two batches, saw ${got.reconnects} reconnects`);
      return `${got.events} events once and in order across ${got.reconnects} resumes`;
    });
  }
} finally {
  await server.stop();
}
if (jsonOut) {
  mkdirSync(dirname(resolve(jsonOut)), { recursive: true });
  writeFileSync(jsonOut, JSON.stringify(results, null, 2));
}
const failed = results.filter((r) => !r.ok).length;
console.log(`\nproducers: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
