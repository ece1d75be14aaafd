// `npm test`: unit tests (Node) and workerd tests (Durable Objects, WebSockets, alarms, R2 inside the
// real Workers runtime). Extra arguments go to vitest (e.g. `npm test -- test/unit/protocol`).
// Ends with one plain "N passed, N failed" line, counted from vitest's JSON report.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, toolEnv } from "./lib.mjs";

const report = join(mkdtempSync(join(tmpdir(), "dolake-vitest-")), "report.json");
const r = spawnSync("vitest", ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
  env: toolEnv,
});
try {
  const { numPassedTests, numFailedTests, numPendingTests } = JSON.parse(readFileSync(report, "utf8"));
  console.log(`\nvitest: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests} skipped`);
} catch {
  console.log("\nvitest: no report written");
}
process.exit(r.status ?? 1);
