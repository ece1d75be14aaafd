// Types the test runtime's `env` (cloudflare:test / cloudflare:workers) as the Worker's whole
// environment (src/worker.ts: Env plus the DoLake namespace typed with its class).
declare namespace Cloudflare {
  type DoLakeEnv = import("./src/worker.js").WorkerEnv;
  interface Env extends DoLakeEnv {}
}
