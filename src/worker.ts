/**
 * The DoLake Worker: answers /health itself, authenticates everything else, and routes each
 * request to the DoLake Durable Object that owns the warehouse. Nothing here assumes a single
 * DoLake: the object is chosen by warehouse name, so more warehouses mean more objects.
 */
import type { Env } from "./env.js";
import { isPublicCatalogRequest } from "./catalog/index.js";
import { checkBearer } from "./http/auth.js";
import { handleS3Request, isS3Request } from "./s3/index.js";
import { VERSION } from "./version.js";

export { DoLake } from "./do/dolake.js";


export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health" && request.method === "GET") {
      return Response.json({ status: "ok", version: VERSION });
    }
    // S3 requests carry SigV4 signatures instead of the bearer token; the S3 module verifies them.
    if (isS3Request(request, env)) return handleS3Request(request, env);
    // The OAuth token endpoint authenticates the client secret itself (Iceberg clients' `credential=`).
    if (!isPublicCatalogRequest(request)) {
      const denied = checkBearer(request, env.LAKE_TOKEN);
      if (denied) return denied;
    }
    const warehouse = env.WAREHOUSE || "warehouse";
    const stub = env.DOLAKE.get(env.DOLAKE.idFromName(warehouse));
    return stub.fetch(request);
  },
} satisfies ExportedHandler<Env>;
