// `npm run test:interop`: proves DoLake's Iceberg output with readers we did not write.
// 1. scripts/python-env.sh makes the project's venv (pyiceberg, pyarrow, DuckDB + its iceberg and
//    avro extensions from PyPI, fastavro, avro, pytest).
// 2. vitest runs test/python/produce.interop.test.ts: a seeded CDC workload written by the real
//    CDC writer into a temp folder, with the oracle's expected states.
// 3. pytest runs test/python/iceberg against that folder.
// 4. pytest runs test/python/cdc, test/python/catalog and test/python/s3 against a fresh local
//    DoLake (scripts/with-server.mjs): CDC streamed over the WebSocket and read back by pyiceberg
//    and DuckDB; pyiceberg, DuckDB, boto3, pyarrow and the AWS Java SDK against the REST catalog
//    and the S3 API. A skipped test fails the run: in CI every client must really have run.
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
const live = spawnSync(
  process.execPath,
  [join(root, "scripts/with-server.mjs"), "--", python, "-m", "pytest", "test/python/cdc", "test/python/catalog", "test/python/s3", "-q", "-p", "no:cacheprovider", "-rsx"],
  { cwd: root, env, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" },
);
process.stdout.write(live.stdout);
if (live.status !== 0) process.exit(live.status ?? 1);
const summary = live.stdout.trim().split("\n").pop() ?? "";
if (/\bskipped\b/.test(summary)) {
  console.error(`interop: tests were skipped against a running server: ${summary}`);
  process.exit(1);
}
console.log(`interop: tables in ${out}${process.env.INTEROP_KEEP ? "" : " (removed)"}`);
if (!process.env.INTEROP_KEEP) rmSync(out, { recursive: true, force: true });
