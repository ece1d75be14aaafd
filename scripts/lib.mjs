// Shared helpers for the project's scripts: run a command with the project's environment.
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { root } from "./iceberg-spec.mjs";

export { root };

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
