#!/usr/bin/env node
// The interoperability matrix: runs every client check the repository has against fresh local
// DoLake servers and writes docs/interop-matrix.md (generated: never edit it by hand).
//   node conformance/matrix.mjs [--out docs/interop-matrix.md]
// Parts: pyiceberg + DuckDB through the REST catalog (test/python/catalog), the CDC tables read by
// pyiceberg and DuckDB (test/python/cdc), the S3 API clients (test/python/s3), the Python and Go
// producers (conformance/producers/run.mjs), the conformance suite itself, and the JVM/JS clients
// of test/interop/run.mjs (Iceberg REST Compatibility Kit, Spark, iceberg-js, Trino).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = process.argv.includes("--out") ? resolve(process.argv[process.argv.indexOf("--out") + 1]) : join(root, "docs/interop-matrix.md");
const tmp = mkdtempSync(join(tmpdir(), "dolake-matrix-"));
const { startServer } = await import(pathToFileURL(join(root, "scripts/with-server.mjs")).href);
const { toolEnv } = await import(pathToFileURL(join(root, "scripts/lib.mjs")).href);
const python = spawnSync("bash", [join(root, "scripts/python-env.sh")], { encoding: "utf8" }).stdout.trim().split("\n").pop();

/** Test cases of a JUnit XML file: {name, status}. */
function junitCases(file) {
  if (!existsSync(file)) return [];
  const xml = readFileSync(file, "utf8");
  const cases = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const cls = /\bclassname="([^"]*)"/.exec(m[1])?.[1] ?? "";
    const name = `${/\bname="([^"]*)"/.exec(m[1])?.[1] ?? ""}${cls && !cls.startsWith("conformance.") ? ` [${cls}]` : ""}`;
    const body = m[3] ?? "";
    cases.push({ name, status: /<(failure|error)\b/.test(body) ? "fail" : /<skipped\b/.test(body) ? "skip" : "pass" });
  }
  return cases;
}

/** Runs one part against its own fresh server; returns its cases and how long it took. */
async function part(name, cmd, args, collect) {
  const t0 = Date.now();
  const server = await startServer();
  let r;
  try {
    r = spawnSync(cmd, args(server), { cwd: root, encoding: "utf8", maxBuffer: 256 << 20, env: { ...toolEnv, DOLAKE_URL: server.url, DOLAKE_TOKEN: server.token } });
  } finally {
    await server.stop();
  }
  const cases = collect(r);
  const ms = Date.now() - t0;
  const count = (s) => cases.filter((c) => c.status === s).length;
  console.log(`matrix: ${name}: ${count("pass")} passed, ${count("fail")} failed, ${count("skip")} skipped (${(ms / 1000).toFixed(1)} s)`);
  if (cases.length === 0) console.log((r.stdout ?? "").slice(-2000), (r.stderr ?? "").slice(-2000));
  return { name, cases, ms, exit: r.status };
}

const pytest = (name, dir) =>
  part(name, python, () => [`-m`, `pytest`, dir, `-q`, `-p`, `no:cacheprovider`, `--junitxml=${join(tmp, `${name}.xml`)}`], () => junitCases(join(tmp, `${name}.xml`)));

const parts = [];
parts.push(await pytest("catalog", "test/python/catalog"));
if (existsSync(join(root, "test/python/cdc"))) parts.push(await pytest("cdc", "test/python/cdc"));
parts.push(await pytest("s3", "test/python/s3"));
parts.push(
  await part("producers", process.execPath, (s) => [join(root, "conformance/producers/run.mjs"), "--json", join(tmp, "producers.json")], () =>
    existsSync(join(tmp, "producers.json")) ? JSON.parse(readFileSync(join(tmp, "producers.json"), "utf8")).map((x) => ({ name: `${x.producer} ${x.step}`, status: x.ok ? "pass" : "fail" })) : [],
  ),
);
parts.push(
  await part("conformance", process.execPath, (s) => [join(root, "conformance/cli.mjs"), "--url", s.url, "--token", s.token, "--mutate-config", "--destructive", "--junit", join(tmp, "conformance.xml")], () =>
    junitCases(join(tmp, "conformance.xml")).map((c) => ({ ...c, name: c.name.split(":")[0] })),
  ),
);

parts.push(
  await part("clients", process.execPath, () => [join(root, "test/interop/run.mjs"), "--json", join(tmp, "clients.json")], () =>
    existsSync(join(tmp, "clients.json"))
      ? JSON.parse(readFileSync(join(tmp, "clients.json"), "utf8")).flatMap((c) =>
          // The RCK's own skips are features its suite switches off for every server: not ours to run.
          c.cases.length ? c.cases.filter((x) => !(c.name === "rck" && x.status === "skipped")).map((x) => ({ name: `${c.name}: ${x.name}`, status: x.status === "passed" ? "pass" : x.status === "failed" ? "fail" : "skip" })) : [{ name: `${c.name}: (no cases)`, status: "fail" }],
        )
      : [],
  ),
);

// Which cases prove which cell: client -> operation -> test-name patterns.
const ops = ["read", "append", "time travel", "schema evolution", "deletes visible"];
const cells = {
  "pyiceberg (REST catalog + vended S3)": {
    read: [/test_create_append_read/, /test_pyiceberg_reads_the_mirror/],
    append: [/test_create_append_read/],
    "time travel": [/test_pyiceberg_time_travels/],
    "schema evolution": [/test_schema_evolution/],
    "deletes visible": [/test_pyiceberg_reads_the_mirror_with_deletes/],
  },
  "DuckDB iceberg (REST catalog)": {
    read: [/test_duckdb_reads_and_appends/, /test_duckdb_attaches_the_catalog/],
    append: [/test_duckdb_reads_and_appends/, /test_duckdb_creates_a_table/],
    "deletes visible": [/test_duckdb_attaches_the_catalog_and_scans/],
  },
  "Python producer (generated from proto/)": { append: [/^python against DoLake/], read: [/^python against DoLake/], "deletes visible": [/^python against DoLake/] },
  "Go producer (generated from proto/)": { append: [/^go against DoLake/], read: [/^go against DoLake/], "deletes visible": [/^go against DoLake/] },
  "dolake-conformance (wire + pyiceberg reader)": {
    read: [/^data\.mirror/],
    append: [/^durability\.exactly-once/],
    "time travel": [/^data\.time-travel/],
    "deletes visible": [/^data\.mirror/],
  },
};
cells["Apache Spark 3.5 + iceberg-spark-runtime (REST catalog, S3FileIO)"] = {
  read: [/^spark: test_spark_reads_a_cdc_table/],
  append: [/^spark: test_spark_inserts_into/, /^spark: test_spark_creates_writes/],
  "time travel": [/^spark: test_spark_reads_a_cdc_table/],
  "schema evolution": [/^spark: test_spark_creates_writes_deletes_and_evolves/],
  "deletes visible": [/^spark: test_spark_reads_a_cdc_table_with_deletes/, /^spark: test_spark_creates_writes_deletes/],
};
cells["Trino 476 Iceberg connector (REST catalog, native S3)"] = {
  read: [/^trino: test_trino_reads_a_cdc_table/, /^trino: test_trino_prunes_partitions/],
  append: [/^trino: test_trino_creates_inserts_deletes_and_ctas/, /^trino: test_trino_failed_creates/, /^trino: test_trino_create_schema/],
  "time travel": [/^trino: test_trino_reads_a_cdc_table_with_deletes_time_travel/],
  "deletes visible": [/^trino: test_trino_reads_a_cdc_table_with_deletes/, /^trino: test_trino_prunes_partitions/, /^trino: test_trino_creates_inserts_deletes/],
};
cells["iceberg-js (REST catalog)"] = {
  read: [/^iceberg-js: creates, loads/],
  append: [/^iceberg-js: round-trips commitTable/, /^iceberg-js: shares a CDC table/],
  "schema evolution": [/^iceberg-js: round-trips commitTable/],
};
cells["Iceberg REST Compatibility Kit 1.10.1 (Java RESTCatalog, table tests)"] = {
  read: [/^rck: testLoadTable/, /^rck: testCreateTable/],
  append: [/^rck: testAppend/, /^rck: testConcurrentAppend/],
  "time travel": [/^rck: .*[Ss]napshot/],
  "schema evolution": [/^rck: .*[Ss]chema/],
};
// Known issues of a client: the cell's checks pass, but a pinned test proves a wrong answer in some
// queries. The cell gets ⚠ and a footnote; the pinned test fails (and so the run) once it is fixed.
const knownIssues = {
  "DuckDB iceberg (REST catalog)": {
    "deletes visible": {
      pins: [/test_duckdb_known_issue_/],
      note:
        "DuckDB's iceberg extension (1.4.4, pinned from PyPI) ignores position deletes under `IS NULL` / `IS NOT NULL` filters " +
        "(deleted rows and old images of updated rows come back) and answers no rows for a `COALESCE(x, ...) = ...` filter on a table with deletes: " +
        "[duckdb-iceberg #691](https://github.com/duckdb/duckdb-iceberg/issues/691), [#782](https://github.com/duckdb/duckdb-iceberg/issues/782). " +
        "Every DoLake UPDATE/DELETE is a position delete. Pinned by `test/python/cdc/test_duckdb_known_issues.py`.",
    },
  },
};
const footnotes = [];
const notRun = {};
const all = parts.flatMap((p) => p.cases.map((c) => ({ ...c, part: p.name })));
function cell(patterns, known) {
  if (!patterns) return "—";
  if (known) {
    const base = cell(patterns);
    const pins = all.filter((c) => known.pins.some((re) => re.test(c.name)));
    if (!base.startsWith("✓") || pins.length === 0 || pins.some((c) => c.status !== "pass")) return base;
    if (!footnotes.includes(known.note)) footnotes.push(known.note);
    return `⚠ ${base.slice(2)} [${footnotes.indexOf(known.note) + 1}]`;
  }
  const hits = all.filter((c) => patterns.some((re) => re.test(c.name)));
  if (hits.length === 0) return "not run";
  if (hits.some((c) => c.status === "fail")) return `✗ (${hits.filter((c) => c.status === "fail").length}/${hits.length} failed)`;
  if (hits.every((c) => c.status === "skip")) return "skipped";
  return `✓ (${hits.filter((c) => c.status === "pass").length})`;
}

const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).stdout.trim();
const s3Clients = { boto3: /test_boto3/, "pyarrow S3FileSystem": /test_pyarrow/, "DuckDB httpfs (S3)": /test_duckdb/, "AWS SDK for Java v2": /test_java_sdk/ };
const lines = [
  "# Interoperability matrix",
  "",
  `<!-- Generated by \`node conformance/matrix.mjs\`; do not edit by hand. -->`,
  "",
  `Last run: ${new Date().toISOString()} on commit \`${commit}\`, each part against its own fresh local server (\`scripts/with-server.mjs\`).`,
  "✓ (n): n checks passed; ⚠ (n) [k]: the checks passed but a known issue gives wrong answers in some queries (footnote k); ✗: a check failed; — : no check in the repo covers this; not run: the client has no check here yet.",
  "",
  `| client | ${ops.join(" | ")} |`,
  `|---|${ops.map(() => "---").join("|")}|`,
  ...Object.entries(cells).map(([client, c]) => `| ${client} | ${ops.map((o) => cell(c[o], knownIssues[client]?.[o])).join(" | ")} |`),
  ...Object.entries(notRun).map(([client, why]) => `| ${client} (${why}) | ${ops.map(() => "not run").join(" | ")} |`),
  "",
  ...footnotes.flatMap((note, i) => [`[${i + 1}] ${note}`, ""]),
  "## S3 API clients (test/python/s3)",
  "",
  "| client | checks passed | failed | skipped |",
  "|---|---|---|---|",
  ...Object.entries(s3Clients).map(([client, re]) => {
    const cs = all.filter((c) => c.part === "s3" && re.test(c.name));
    return `| ${client} | ${cs.filter((c) => c.status === "pass").length} | ${cs.filter((c) => c.status === "fail").length} | ${cs.filter((c) => c.status === "skip").length} |`;
  }),
  "",
  "## Parts of the last run",
  "",
  "| part | command | passed | failed | skipped | time |",
  "|---|---|---|---|---|---|",
  ...parts.map((p) => {
    const cmd = { catalog: "pytest test/python/catalog", cdc: "pytest test/python/cdc", s3: "pytest test/python/s3", producers: "node conformance/producers/run.mjs", conformance: "node conformance/cli.mjs --mutate-config --destructive", clients: "node test/interop/run.mjs (RCK, Spark, iceberg-js, Trino; RCK view tests not counted)" }[p.name];
    const n = (s) => p.cases.filter((c) => c.status === s).length;
    return `| ${p.name} | \`${cmd}\` | ${n("pass")} | ${n("fail")} | ${n("skip")} | ${(p.ms / 1000).toFixed(1)} s |`;
  }),
  "",
  "Times include starting the part's server (a few seconds each).",
  "",
];
writeFileSync(out, lines.join("\n"));
console.log(`matrix: wrote ${out}`);

// The README carries the client x operation table between markers, replaced on every run.
const readme = join(root, "README.md");
const start = "<!-- interop-matrix:start -->";
const end = "<!-- interop-matrix:end -->";
const text = readFileSync(readme, "utf8");
if (text.includes(start) && text.includes(end)) {
  const table = lines.slice(lines.indexOf(`| client | ${ops.join(" | ")} |`), lines.indexOf("## S3 API clients (test/python/s3)") - 1);
  const block = [start, `<!-- Generated by \`node conformance/matrix.mjs\` (run by \`npm run test:interop\`); do not edit by hand. -->`, "", `Last run: ${new Date().toISOString().slice(0, 10)} on commit \`${commit}\`; details in [docs/interop-matrix.md](docs/interop-matrix.md).`, "", ...table, "", end].join("\n");
  writeFileSync(readme, text.slice(0, text.indexOf(start)) + block + text.slice(text.indexOf(end) + end.length));
  console.log("matrix: updated README.md");
}
const failed = parts.some((p) => p.exit !== 0 || p.cases.some((c) => c.status === "fail"));
// A skipped client check hides whether it works: only the conformance suite's declared known failures may skip.
const skipped = parts.some((p) => p.name !== "conformance" && p.cases.some((c) => c.status === "skip"));
if (skipped) console.error("matrix: some client checks were skipped; every check must run here");
process.exit(failed || skipped ? 1 : 0);
