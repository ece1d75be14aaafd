// `npm start`: serves DoLake locally with wrangler dev on 127.0.0.1:$PORT (default 8787).
// LAKE_TOKEN comes from the environment (default "dev-token" locally; production uses a secret).
// State (SQLite of the Durable Object, R2 objects) persists in $DOLAKE_STATE_DIR (default .wrangler/state).
// $DOLAKE_WRANGLER_CONFIG serves another wrangler config (the orders example: `npm run example`).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { root, toolEnv } from "./lib.mjs";

const port = process.env.PORT || "8787";
const token = process.env.LAKE_TOKEN || "dev-token";
const stateDir = process.env.DOLAKE_STATE_DIR || join(root, ".wrangler/state");
const config = process.env.DOLAKE_WRANGLER_CONFIG;
const args = [
  "dev",
  ...(config ? ["--config", config] : []),
  "--ip", "127.0.0.1",
  "--port", port,
  "--persist-to", stateDir,
  "--var", `LAKE_TOKEN:${token}`,
  "--show-interactive-dev-session=false",
  "--log-level", process.env.WRANGLER_LOG || "warn",
];
console.log(`${config ? `${config}: ` : ""}DoLake on http://127.0.0.1:${port}  (token: ${process.env.LAKE_TOKEN ? "$LAKE_TOKEN" : "dev-token"}, state: ${stateDir})`);
const child = spawn(join(root, "node_modules/.bin/wrangler"), args, { cwd: root, env: toolEnv, stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
