/**
 * Iceberg REST catalog (/v1/*). Placeholder until the catalog lands: every route answers
 * 501 in the Iceberg error shape, and /v1/config advertises no endpoints.
 */
import { errorResponse } from "../http/errors.js";

/** What the catalog needs from its Durable Object. */
export interface CatalogContext {
  /** The DO's storage (SQLite via storage.sql, transactions via storage.transactionSync). */
  storage: DurableObjectStorage;
  /** The warehouse bucket. */
  bucket: R2Bucket;
  /** Warehouse name (R2 key prefix). */
  warehouse: string;
  /** The Worker's environment (tokens, S3 settings). */
  env: import("../env.js").Env;
}

/** Serves one /v1/* request. */
export async function handleCatalogRequest(request: Request, _ctx: CatalogContext): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/v1/config" && request.method === "GET") {
    return Response.json({ defaults: {}, overrides: {}, endpoints: [] });
  }
  return errorResponse(501, "UnsupportedOperationException", `${request.method} ${url.pathname} is not implemented yet`);
}
