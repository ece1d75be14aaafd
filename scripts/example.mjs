// `npm run example`: the orders example (examples/orders): an application Durable Object whose
// SQLite changes stream into DoLake, in one Worker, on 127.0.0.1:$PORT (default 8787), token "dev-token".
import { join } from "node:path";
import { root } from "./lib.mjs";

process.env.DOLAKE_WRANGLER_CONFIG = join(root, "examples/orders/wrangler.jsonc");
process.env.DOLAKE_STATE_DIR ||= join(root, "examples/orders/.wrangler/state");
await import("./start.mjs");
