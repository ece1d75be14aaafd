/**
 * The DoLake Durable Object: one writer for a warehouse's tables. Thin by design: it wires
 * sockets, alarms and storage to plain modules (src/ingest, src/buffer, src/catalog, ...).
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.js";
import { handleCatalogRequest } from "../catalog/index.js";
import { errorResponse } from "../http/errors.js";

/** The DoLake Durable Object class (bound as DOLAKE). */
export class DoLake extends DurableObject<Env> {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/v1/")) {
      return handleCatalogRequest(request, {
        storage: this.ctx.storage,
        bucket: this.env.LAKEHOUSE_BUCKET,
        warehouse: this.env.WAREHOUSE || "warehouse",
        env: this.env,
      });
    }
    return errorResponse(404, "NoSuchRouteException", `No route for ${request.method} ${url.pathname}`);
  }
}
