// Shared helpers for the project's scripts: run a command with the project's environment.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { root } from "./iceberg-spec.mjs";

export { root };

// The tools (wrangler, vitest) need Node >= 22. npm scripts already run under the project's own
// Node 22 (the `node` devDependency in node_modules/.bin); a script started by hand with an older
// node re-runs itself under that one, or says in one line what to do.
if (Number(process.versions.node.split(".")[0]) < 22) {
  const local = join(root, "node_modules/.bin/node");
  if (!existsSync(local)) {
    console.error(`DoLake's tools need Node >= 22 and this is ${process.version}: run \`npm install\` first (it puts Node 22 in node_modules/.bin), then the npm scripts use it.`);
    process.exit(1);
  }
  const r = spawnSync(local, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

/** Environment for every tool: local binaries first, telemetry and network look-ups off. */
export const toolEnv = {
  ...process.env,
  PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}`,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  REDOCLY_TELEMETRY: "off",
  REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
  NO_UPDATE_NOTIFIER: "1",
};

/** Runs a command, inheriting stdio; exits the process with its code when it fails. */
export function run(cmd, args, opts = {}) {
  console.log(`\n$ ${[cmd, ...args].join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: toolEnv, ...opts });
  if (r.status !== 0) {
    console.error(`\n✗ ${cmd} ${args.join(" ")} exited ${r.status ?? r.signal}`);
    process.exit(r.status ?? 1);
  }
}

/** Starts a long-running command in its own process group; returns the child. */
export function start(cmd, args, opts = {}) {
  return spawn(cmd, args, { cwd: root, env: toolEnv, detached: true, ...opts });
}
