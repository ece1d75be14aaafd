// Runs a command against a fresh local DoLake: starts `npm start` on a free port with its own state
// directory, waits for /health, runs the command with DOLAKE_URL and DOLAKE_TOKEN set, stops the server.
//   node scripts/with-server.mjs [--state DIR] -- <command> [args...]
// Exits with the command's exit code. Used by the interop tests, the conformance suite and benches.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, toolEnv } from "./lib.mjs";

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** True while something accepts connections on 127.0.0.1:port. */
function portInUse(port) {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
  });
}

/** Starts a DoLake server (`config`: another wrangler config, e.g. the orders example); resolves with {url, token, stop} once /health answers. */
export async function startServer({ stateDir, token = "test-token", port, config } = {}) {
  port ??= await freePort();
  stateDir ??= mkdtempSync(join(tmpdir(), "dolake-state-"));
  const child = spawn(process.execPath, [join(root, "scripts/start.mjs")], {
    cwd: root,
    env: { ...toolEnv, PORT: String(port), LAKE_TOKEN: token, DOLAKE_STATE_DIR: stateDir, ...(config ? { DOLAKE_WRANGLER_CONFIG: config } : {}) },
    stdio: ["ignore", "inherit", "inherit"],
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before /health answered`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error("server did not answer /health within 60 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = async () => {
    if (child.exitCode === null) {
      try { process.kill(-child.pid, "SIGTERM"); } catch {}
      await new Promise((r) => { const t = setTimeout(() => { try { process.kill(-child.pid, "SIGKILL"); } catch {} r(); }, 5000); child.on("exit", () => { clearTimeout(t); r(); }); });
    }
    // workerd may outlive its parent for a moment: make sure the whole group is gone and the port free.
    try { process.kill(-child.pid, "SIGKILL"); } catch {}
    for (let i = 0; i < 50 && (await portInUse(port)); i++) await new Promise((r) => setTimeout(r, 100));
  };
  return { url, token, port, stateDir, stop, child };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  let stateDir;
  if (argv[0] === "--state") { stateDir = argv[1]; argv.splice(0, 2); }
  if (argv[0] === "--") argv.shift();
  if (argv.length === 0) { console.error("usage: node scripts/with-server.mjs [--state DIR] -- <command> [args...]"); process.exit(2); }
  const server = await startServer({ stateDir });
  console.log(`with-server: DoLake at ${server.url}`);
  const cmd = spawn(argv[0], argv.slice(1), { cwd: root, stdio: "inherit", env: { ...toolEnv, DOLAKE_URL: server.url, DOLAKE_TOKEN: server.token } });
  const code = await new Promise((r) => cmd.on("exit", (c, s) => r(c ?? (s ? 1 : 0))));
  await server.stop();
  process.exit(code);
}
