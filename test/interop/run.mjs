// `node test/interop/run.mjs [rck] [spark] [iceberg-js] [trino]`: the Iceberg clients we did not write,
// each against its own fresh local DoLake (scripts/with-server.mjs's startServer):
//   rck         Apache Iceberg's REST Compatibility Kit (RESTCompatibilityKitSuite from Maven Central,
//               test/interop/rck/pom.xml): Iceberg's CatalogTests and ViewCatalogTests through the
//               Java RESTCatalog and S3FileIO.
//   spark       pyspark 3.5 + iceberg-spark-runtime (test/interop/spark): reads a CDC table with
//               deletes, INSERTs through the catalog, reads back with pyiceberg; reads a compacted
//               CDC table with expired snapshots (files/snapshots/all_data_files, expired time travel).
//   iceberg-js  the npm client (test/interop/iceberg-js): namespaces, tables, commitTable.
//   trino       Trino 476 with its Iceberg connector (test/interop/trino): one server for all checks
//               (SELECT with deletes, time travel, metadata tables, pruning, INSERT, DELETE, CREATE
//               TABLE, CTAS), installed from Maven Central into .tools/trino, run on Java >= 24.
// Prints one summary line per client (counts and duration) and exits non-zero when any client
// failed. A skipped Spark or iceberg-js test fails the run too (the client must really have run);
// the RCK's own skips (features its suite switches off) do not. View tests are reported apart:
// DoLake does not implement the view endpoints and /v1/config does not advertise them.
// Needs java 17 and mvn (Maven Central reachable, ~/.m2 caches); Python via scripts/python-env.sh.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../../scripts/with-server.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const env = {
  ...process.env,
  PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}`,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  NO_UPDATE_NOTIFIER: "1",
};

/** Runs a command with inherited output; resolves with its exit code. */
function run(cmd, args, extraEnv = {}) {
  console.log(`\n$ ${[cmd, ...args].join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: "inherit", env: { ...env, ...extraEnv } });
    child.on("error", (e) => {
      console.error(`${cmd}: ${e.message}`);
      resolve(127);
    });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Test cases of JUnit XML reports: {suite, name, status, message}. */
function junitCases(files) {
  const cases = [];
  for (const file of files) {
    const xml = readFileSync(file, "utf8");
    for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
      const attrs = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
      const body = m[3] ?? "";
      const outcome = /<(failure|error|skipped)\b([^>]*)/.exec(body);
      const message = outcome ? (/message="([^"]*)"/.exec(outcome[2])?.[1] ?? "") : "";
      cases.push({ suite: attrs.classname ?? "", name: attrs.name ?? "", status: outcome ? (outcome[1] === "skipped" ? "skipped" : "failed") : "passed", message: decodeXml(message) });
    }
  }
  return cases;
}

function decodeXml(s) {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#10;/g, " ").replace(/&amp;/g, "&");
}

function count(cases) {
  const c = { passed: 0, failed: 0, skipped: 0 };
  for (const t of cases) c[t.status]++;
  return c;
}

const fmt = (c) => `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;

function requireTools(...tools) {
  const missing = tools.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  if (missing.length > 0) throw new Error(`needs ${missing.join(", ")} on PATH`);
}

let python;
function pythonPath() {
  if (python) return python;
  const venv = spawnSync("bash", [join(root, "scripts/python-env.sh")], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (venv.status !== 0) throw new Error("scripts/python-env.sh failed");
  python = venv.stdout.trim().split("\n").pop();
  return python;
}

/** Each client: runs against `server`, returns {ok, summary, details}. */
const CLIENTS = {
  async rck(server, work) {
    requireTools("java", "mvn");
    const reports = join(work, "rck-reports");
    const code = await run("mvn", ["-B", "-f", "test/interop/rck/pom.xml", "test", `-Drck.reports=${reports}`, "-Dsurefire.failIfNoSpecifiedTests=false"], {
      CATALOG_URI: server.url,
      CATALOG_TOKEN: server.token,
      CATALOG_WAREHOUSE: "warehouse",
    });
    const files = existsSync(reports) ? readdirSync(reports).filter((f) => f.startsWith("TEST-") && f.endsWith(".xml")).map((f) => join(reports, f)) : [];
    const cases = junitCases(files);
    const tables = cases.filter((t) => !t.suite.endsWith("ViewCatalogTests"));
    const views = cases.filter((t) => t.suite.endsWith("ViewCatalogTests"));
    const t = count(tables);
    const v = count(views);
    const ok = tables.length > 0 && t.failed === 0;
    const details = tables.filter((x) => x.status === "failed").map((x) => `  FAILED ${x.name}: ${x.message.slice(0, 300)}`);
    if (tables.length === 0) details.push(`  no RCK report (mvn exited ${code})`);
    return { ok, summary: `catalog ${fmt(t)}; views ${v.passed}/${views.length} passed (view endpoints not implemented)`, details, cases: tables };
  },

  async spark(server, work) {
    requireTools("java", "mvn");
    const py = pythonPath();
    const xml = join(work, "spark.xml");
    await run(py, ["-m", "pytest", "test/interop/spark", "-q", "-p", "no:cacheprovider", "-rsx", `--junitxml=${xml}`], { DOLAKE_URL: server.url, DOLAKE_TOKEN: server.token });
    const cases = existsSync(xml) ? junitCases([xml]) : [];
    const c = count(cases);
    const ok = cases.length > 0 && c.failed === 0 && c.skipped === 0;
    return { ok, summary: fmt(c), details: cases.filter((x) => x.status !== "passed").map((x) => `  ${x.status.toUpperCase()} ${x.name}: ${x.message.slice(0, 300)}`), cases };
  },

  async trino(server, work) {
    requireTools("mvn");
    const py = pythonPath();
    const xml = join(work, "trino.xml");
    await run(py, ["-m", "pytest", "test/interop/trino", "-q", "-p", "no:cacheprovider", "-rsx", `--junitxml=${xml}`], { DOLAKE_URL: server.url, DOLAKE_TOKEN: server.token });
    const cases = existsSync(xml) ? junitCases([xml]) : [];
    const c = count(cases);
    const ok = cases.length > 0 && c.failed === 0 && c.skipped === 0;
    return { ok, summary: fmt(c), details: cases.filter((x) => x.status !== "passed").map((x) => `  ${x.status.toUpperCase()} ${x.name}: ${x.message.slice(0, 300)}`), cases };
  },

  async "iceberg-js"(server, work) {
    const json = join(work, "iceberg-js.json");
    await run("vitest", ["run", "--config", "test/interop/iceberg-js/vitest.config.ts", "--reporter=default", "--reporter=json", `--outputFile.json=${json}`], {
      DOLAKE_URL: server.url,
      DOLAKE_TOKEN: server.token,
    });
    if (!existsSync(json)) return { ok: false, summary: "no vitest report", details: [] };
    const r = JSON.parse(readFileSync(json, "utf8"));
    const c = { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + r.numTodoTests };
    const details = r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status !== "passed").map((a) => `  ${a.status.toUpperCase()} ${a.title}`));
    const cases = r.testResults.flatMap((f) => f.assertionResults.map((a) => ({ suite: "iceberg-js", name: a.title, status: a.status === "passed" ? "passed" : a.status === "failed" ? "failed" : "skipped" })));
    return { ok: r.numTotalTests > 0 && c.failed === 0 && c.skipped === 0, summary: fmt(c), details, cases };
  },
};

/** A fresh DoLake; retried, since wrangler dev can briefly find a port of the previous server still held. */
async function startFreshServer() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServer();
    } catch (e) {
      if (attempt >= 3) throw e;
      console.error(`server start failed (${e.message}); retrying`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}

const argv = process.argv.slice(2);
// --json <file>: also write every client's cases (the interoperability matrix reads them).
const jsonAt = argv.indexOf("--json");
const jsonOut = jsonAt >= 0 ? argv.splice(jsonAt, 2)[1] : undefined;
const wanted = argv;
for (const name of wanted) {
  if (!(name in CLIENTS)) {
    console.error(`unknown client ${name}; choose from ${Object.keys(CLIENTS).join(", ")}`);
    process.exit(2);
  }
}
const names = wanted.length > 0 ? wanted : Object.keys(CLIENTS);
const work = mkdtempSync(join(tmpdir(), "dolake-clients-"));
const results = [];
const began = performance.now();
for (const name of names) {
  const started = performance.now();
  let result;
  let server;
  try {
    server = await startFreshServer();
    console.log(`\n=== ${name}: DoLake at ${server.url}`);
    result = await CLIENTS[name](server, work);
  } catch (e) {
    result = { ok: false, summary: `error: ${e.message}`, details: [] };
  } finally {
    await server?.stop();
  }
  results.push({ name, ...result, seconds: (performance.now() - started) / 1000 });
}
rmSync(work, { recursive: true, force: true });

console.log("\n=== Iceberg clients against DoLake");
for (const r of results) {
  console.log(`${r.ok ? "PASS" : "FAIL"}  ${r.name.padEnd(11)} ${r.summary}  (${r.seconds.toFixed(1)} s)`);
  for (const d of r.details) console.log(d);
}
console.log(`total ${((performance.now() - began) / 1000).toFixed(1)} s`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results.map(({ name, ok, summary, seconds, cases }) => ({ name, ok, summary, seconds, cases: cases ?? [] }))));
process.exit(results.every((r) => r.ok) ? 0 : 1);
