// Two `wrangler dev` sessions for a bench whose R2 is not on the object's thread (--remote-r2 1):
// DoLake (bench/lib/remote-r2/lake-entry.ts: the project's Worker and object, their bucket an RPC
// client) and the R2 host (host.ts: the local bucket, in a process of its own), sharing one state
// directory. Under one `wrangler dev` the local R2 simulator runs on the object's thread: every R2
// read, part upload and multipart completion is work acks wait behind, which Cloudflare's R2 is not.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../../../scripts/with-server.mjs";
import { root } from "../build.mjs";

/** Wrangler config files for the two sessions. */
function configs() {
  const name = `dolake-bench-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), "dolake-r2split-"));
  const lake = JSON.parse(readFileSync(join(root, "wrangler.jsonc"), "utf8").replace(/^\s*\/\/.*$/gm, ""));
  const host = { name: `${name}-r2`, main: join(root, "bench/lib/remote-r2/host.ts"), compatibility_date: lake.compatibility_date, compatibility_flags: lake.compatibility_flags, r2_buckets: lake.r2_buckets };
  // The bucket binding is the host's alone: the lake reaches R2 only through R2_HOST.
  Object.assign(lake, { name, main: join(root, "bench/lib/remote-r2/lake-entry.ts"), $schema: undefined, r2_buckets: undefined, services: [{ binding: "R2_HOST", service: host.name, entrypoint: "R2Host" }] });
  writeFileSync(join(dir, "lake.json"), JSON.stringify(lake));
  writeFileSync(join(dir, "host.json"), JSON.stringify(host));
  return { lake: join(dir, "lake.json"), host: join(dir, "host.json") };
}

/** startServer, with the R2 host in a second session when `remote`; `stop` ends both. */
export async function startWithR2(remote, options = {}) {
  if (!remote) return startServer(options);
  const c = configs();
  const host = await startServer({ ...options, config: c.host });
  const server = await startServer({ ...options, token: host.token, stateDir: host.stateDir, config: c.lake }).catch(async (e) => {
    await host.stop();
    throw e;
  });
  return { ...server, r2: host, stop: async () => { await server.stop(); await host.stop(); } };
}
