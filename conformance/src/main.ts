/**
 * dolake-conformance: parses the command line, finds (or starts) the target, runs the areas,
 * prints a summary per area and writes JUnit XML.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { catalogCases } from "./areas/catalog.js";
import { dataCases } from "./areas/data.js";
import { durabilityCases } from "./areas/durability.js";
import { goldenCases } from "./areas/golden.js";
import { schemaConflictCase, wireCases, wireSharedCases } from "./areas/wire.js";
import { subscribeCases } from "./areas/subscribe.js";
import { Ctx } from "./context.js";
import { AREAS, type Area, type KnownFailures, passed, type Result, runCases, tally, type TestCase } from "./harness.js";
import type { Json } from "./json.js";
import { junitXml } from "./junit.js";
import { runProducerMode } from "./producer/server.js";

const USAGE = `usage:
  dolake-conformance [--url <base>] [--token <t>] [options]      test a deployment
  dolake-conformance producer [--port <n>] [options]              test a producer (plays the server)

Server mode (target from --url/--token, else $DOLAKE_URL/$DOLAKE_TOKEN, else a fresh local server):
  --area <a,b>            areas to run: ${AREAS.join(", ")} (default: all)
  --only <regex>          only cases whose id matches
  --junit <file>          write JUnit XML
  --capabilities <file>   what the server supports (default conformance/capabilities.json)
  --known-failures <file> expected failures (default conformance/known-failures.json)
  --mutate-config         allow cases that PATCH /config (restored after); default on a local server
  --destructive           allow cases that disturb other clients or may leave state; default on a local server
  --python <path>         Python with pyiceberg for the independent reader (default .venv/bin/python)

Producer mode: see docs/conformance.md.`;

/** Entry point; returns the exit code. */
export async function main(argv: string[], env: { root: string }): Promise<number> {
  if (argv[0] === "producer") return runProducerMode(argv.slice(1), env);
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      area: { type: "string" },
      only: { type: "string" },
      junit: { type: "string" },
      capabilities: { type: "string" },
      "known-failures": { type: "string" },
      "mutate-config": { type: "boolean" },
      destructive: { type: "boolean" },
      python: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const root = env.root;
  const areas = (values.area ?? AREAS.join(",")).split(",").map((a) => a.trim()) as Area[];
  for (const a of areas) if (!AREAS.includes(a)) throw new Error(`unknown area ${a}; areas: ${AREAS.join(", ")}`);
  const caps = JSON.parse(readFileSync(values.capabilities ?? join(root, "conformance/capabilities.json"), "utf8")) as Record<string, unknown>;
  const knownFile = JSON.parse(readFileSync(values["known-failures"] ?? join(root, "conformance/known-failures.json"), "utf8")) as { failures: Record<string, string> };
  const known: KnownFailures = new Map(Object.entries(knownFile.failures ?? {}));

  let url = values.url ?? process.env.DOLAKE_URL;
  let token = values.token ?? process.env.DOLAKE_TOKEN ?? "";
  let stop: (() => Promise<void>) | undefined;
  const local = !url;
  if (!url) {
    const { startServer } = (await import(pathToFileURL(join(root, "scripts/with-server.mjs")).href)) as {
      startServer(): Promise<{ url: string; token: string; stop(): Promise<void> }>;
    };
    const t0 = Date.now();
    const server = await startServer();
    ({ url, token } = server);
    stop = server.stop;
    console.log(`conformance: started a local server at ${url} (${Date.now() - t0} ms)`);
  }
  try {
    return await runAgainst({ url, token, root, areas, caps, known, local, values });
  } finally {
    await stop?.();
  }
}

async function runAgainst(o: {
  url: string;
  token: string;
  root: string;
  areas: Area[];
  caps: Record<string, unknown>;
  known: KnownFailures;
  local: boolean;
  values: { only?: string; junit?: string; "mutate-config"?: boolean; destructive?: boolean; python?: string };
}): Promise<number> {
  const health = await fetch(`${o.url}/health`).catch((e: Error) => e);
  if (health instanceof Error || !health.ok) {
    console.error(`conformance: ${o.url}/health does not answer: ${health instanceof Error ? health.message : health.status}`);
    return 2;
  }
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const python = o.values.python ?? (existsSync(join(o.root, ".venv/bin/python")) ? join(o.root, ".venv/bin/python") : undefined);
  const ctx = new Ctx({ url: o.url.replace(/\/$/, ""), token: o.token }, runId, o.caps, {
    root: o.root,
    mutateConfig: o.values["mutate-config"] ?? o.local,
    destructive: o.values.destructive ?? o.local,
    ...(python ? { python } : {}),
    log: (s) => console.log(s),
  });
  const cfg = await ctx.http("GET", "/config");
  if (cfg.status === 200 && cfg.json && typeof cfg.json === "object") {
    ctx.serverConfig = cfg.json as Record<string, Json>;
    const cps = Number(ctx.serverConfig.connectionsPerSecond);
    if (cps > 0) ctx.pacer.perSecond = cps;
  }
  console.log(`conformance: target ${o.url}, run ${runId}, areas ${o.areas.join(", ")}; limits from GET /config: ${ctx.serverConfig ? "yes" : "no"}; mutate-config ${ctx.opts.mutateConfig}, destructive ${ctx.opts.destructive}`);

  const byArea: Record<Area, Array<TestCase<Ctx>>> = {
    wire: [...goldenCases(), ...wireCases("binary"), ...wireCases("json"), ...wireSharedCases()],
    durability: durabilityCases(),
    catalog: catalogCases(),
    data: dataCases(),
    subscribe: subscribeCases(),
  };
  const results: Result[] = [];
  const timings: Array<[Area, number]> = [];
  const only = o.values.only ? new RegExp(o.values.only) : undefined;
  const opts = { caps: o.caps, known: o.known, ...(only ? { only } : {}), log: (s: string) => console.log(s), afterEach: () => ctx.closeAll() };
  for (const area of o.areas) {
    console.log(`\n${area}`);
    const t0 = Date.now();
    results.push(...(await runCases(byArea[area], ctx, opts)));
    timings.push([area, Date.now() - t0]);
  }
  // Last of all: it may leave a server that detects schema conflicts only at flush unable to flush.
  if (o.areas.includes("wire") && (!only || only.test("wire.json.nack.schema_conflict"))) console.log("\nwire (last: schema conflict)");
  if (o.areas.includes("wire")) results.push(...(await runCases([schemaConflictCase()], ctx, opts)));

  console.log("\nsummary");
  for (const [area, ms] of timings) {
    const t = tally(results.filter((r) => r.area === area));
    console.log(`  ${area.padEnd(11)} ${String(t.pass).padStart(3)} passed  ${t.fail} failed  ${t.xfail} known failures  ${t.xpass} unexpected passes  ${t.skip} skipped  (${(ms / 1000).toFixed(1)} s)`);
  }
  const t = tally(results);
  const ok = passed(results);
  console.log(`  ${"total".padEnd(11)} ${String(t.pass).padStart(3)} passed  ${t.fail} failed  ${t.xfail} known failures  ${t.xpass} unexpected passes  ${t.skip} skipped`);
  console.log(`\nconformance: ${ok ? "PASS" : "FAIL"}`);
  if (o.values.junit) {
    const file = resolve(o.values.junit);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, junitXml(results, o.url));
    console.log(`conformance: JUnit XML in ${file}`);
  }
  return ok ? 0 : 1;
}
