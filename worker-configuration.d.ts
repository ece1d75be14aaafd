// Types the test runtime's `env` (cloudflare:test / cloudflare:workers) as the Worker's Env.
declare namespace Cloudflare {
  type DoLakeEnv = import("./src/env.js").Env;
  interface Env extends DoLakeEnv {}
}
