// `npm run lint`: the import graph of src/ (no cycle, layers one way: scripts/check-imports.mjs),
// then the contracts: buf lint (STANDARD + COMMENTS), buf format, buf breaking against the last
// landed contract, and Redocly on our own OpenAPI file.
import { spawnSync } from "node:child_process";
import { root, run, toolEnv } from "./lib.mjs";

run("node", ["scripts/check-imports.mjs"]);
run("buf", ["lint"]);
run("buf", ["format", "--diff", "--exit-code"]);
const git = (...args) => spawnSync("git", args, { cwd: root, env: toolEnv, encoding: "utf8" });
// Baseline: main when on another branch; on main, the previous commit that touched proto/.
const branch = git("rev-parse", "--abbrev-ref", "HEAD").stdout.trim();
let against;
if (branch !== "main" && git("rev-parse", "--verify", "-q", "main").status === 0) against = "main";
else {
  const prev = git("log", "--format=%H", "-n", "1", "HEAD~1", "--", "proto").stdout.trim();
  if (prev) against = prev;
}
if (against) run("buf", ["breaking", "--against", `.git#ref=${against},subdir=.`]);
else console.log("buf breaking: no baseline yet (no earlier commit of proto/)");
run("redocly", ["lint", "dolake"]);
