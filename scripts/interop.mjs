// `npm run test:interop`: proves DoLake's Iceberg output with readers we did not write.
// 1. scripts/python-env.sh makes the project's venv (pyiceberg, pyarrow, DuckDB + its iceberg and
//    avro extensions from PyPI, fastavro, avro, pytest).
// 2. vitest runs test/python/produce.interop.test.ts: a seeded CDC workload written by the real
//    CDC writer into a temp folder, with the oracle's expected states.
// 3. pytest runs test/python/iceberg against that folder; the source e2e (test/e2e/source-orders.test.ts)
//    runs with DOLAKE_PYTHON so pyiceberg and DuckDB check the orders example's lake (test/python/source),
//    and so does the crash-restart e2e (test/python/crash), and the query e2e (test/python/query:
//    lake.query against DuckDB over the same snapshot).
// 4. conformance/matrix.mjs runs every client check against fresh local servers (with-server):
//    test/python/cdc (CDC read back by pyiceberg and DuckDB), test/python/catalog (pyiceberg, DuckDB),
//    test/python/s3 (boto3, pyarrow, DuckDB httpfs, AWS Java SDK), the Python and Go producers, and
//    the conformance suite; writes docs/interop-matrix.md and the README's table. A skipped client
//    check fails the run: in CI every client must really have run.
// Env: INTEROP_SEED, INTEROP_FLUSHES, INTEROP_CHANGES tune the workload; INTEROP_KEEP=1 keeps the folder.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "dolake-interop-"));
const env = { ...process.env, INTEROP_OUT: out };

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env, ...options });
  if (r.status !== 0) {
    console.error(`interop: ${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  return r;
}

const venv = spawnSync("bash", [join(root, "scripts/python-env.sh")], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
if (venv.status !== 0) process.exit(venv.status ?? 1);
const python = venv.stdout.trim().split("\n").pop();

run(join(root, "node_modules/.bin/vitest"), ["run", "--config", "test/python/vitest.config.ts"]);
run(python, ["-m", "pytest", "test/python/iceberg", "-q", "-p", "no:cacheprovider"]);
// dolake/source: the orders example under SIGKILL restarts, its lake read by pyiceberg and DuckDB.
run(join(root, "node_modules/.bin/vitest"), ["run", "--project", "e2e", "test/e2e/source-orders"], { env: { ...env, DOLAKE_PYTHON: python } });
// The crash-restart e2e (SIGKILL mid-batch), its tables read by pyiceberg and DuckDB against the oracle.
run(join(root, "node_modules/.bin/vitest"), ["run", "--project", "e2e", "test/e2e/crash-restart"], { env: { ...env, DOLAKE_PYTHON: python } });
// lake.query against DuckDB reading the same Iceberg tables (test/python/query).
run(join(root, "node_modules/.bin/vitest"), ["run", "--project", "e2e", "test/e2e/query-duckdb"], { env: { ...env, DOLAKE_PYTHON: python } });
// Every client against live servers: pyiceberg, DuckDB, boto3, pyarrow, the AWS Java SDK, the
// Python and Go producers and the conformance suite; writes docs/interop-matrix.md and the README table.
run(process.execPath, [join(root, "conformance/matrix.mjs")]);
console.log(`interop: tables in ${out}${process.env.INTEROP_KEEP ? "" : " (removed)"}`);
if (!process.env.INTEROP_KEEP) rmSync(out, { recursive: true, force: true });
