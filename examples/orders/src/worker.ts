/**
 * The orders example Worker: /orders/* and /cdc/* go to the application object (one per shop,
 * `?shop=`, default "main"); everything else is DoLake (/ws, /v1 catalog, S3 API, /flush, ...).
 * Every route but /health needs the bearer token, as DoLake's own routes do.
 */
import lake from "../../../src/worker.js";
import { checkBearer } from "../../../src/http/auth.js";
import type { ExampleEnv } from "./env.js";

export { DoLake } from "../../../src/do/dolake.js";
export { Orders } from "./orders.js";

export default {
  async fetch(request: Request, env: ExampleEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/orders") || url.pathname.startsWith("/cdc/")) {
      const denied = checkBearer(request, env.LAKE_TOKEN);
      if (denied) return denied;
      const shop = url.searchParams.get("shop") || "main";
      return env.ORDERS.get(env.ORDERS.idFromName(shop)).fetch(request);
    }
    return lake.fetch(request, env);
  },
} satisfies ExportedHandler<ExampleEnv>;
