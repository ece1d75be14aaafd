/**
 * The DoLake Worker: answers /health itself, authenticates everything else, and routes each
 * request to the DoLake Durable Object that owns the warehouse. Nothing here assumes a single
 * DoLake: the object is chosen by warehouse name, so more warehouses mean more objects.
 */
import type { DoLake } from "./do/dolake.js";
import type { Env } from "./env.js";
import { isPublicCatalogRequest } from "./catalog/index.js";
import { UNPREFIXED } from "./catalog/routes.js";
import { WAREHOUSE_HEADER } from "./do/warehouse.js";
import { errorResponse } from "./http/errors.js";
import { checkBearer } from "./http/auth.js";
import { handleQuery, queryRoute } from "./query/http.js";
import { handleS3Request, isS3Request } from "./s3/index.js";
import { VERSION } from "./version.js";

export { DoLake } from "./do/dolake.js";

/** The Worker's whole environment: Env plus the DoLake namespace, typed with its class. */
export interface WorkerEnv extends Env {
  /** The DoLake Durable Object namespace (SQLite-backed). */
  DOLAKE: DurableObjectNamespace<DoLake>;
}


/** Warehouse names: path segments and R2 key prefixes. */
const WAREHOUSE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/**
 * The warehouse a request is for: the Iceberg REST prefix (`/v1/<warehouse>/...`), else the
 * `warehouse` query parameter (as Iceberg clients send it to /v1/config, and as producers may on
 * /ws), else the deployment's WAREHOUSE. A 400 for an invalid name, a 404 for one that is not
 * WAREHOUSE or listed in WAREHOUSES.
 */
function warehouseOf(url: URL, env: Env): string | Response {
  const segments = url.pathname.split("/");
  let name: string | null = null;
  if (segments[1] === "v1" && segments.length > 3 && segments[2] && !UNPREFIXED.has(segments[2])) name = decodeURIComponent(segments[2]);
  name ??= url.searchParams.get("warehouse");
  if (name?.startsWith("s3://")) name = name.replace(/^s3:\/\/[^/]+\//, "").replace(/\/$/, "");
  const fallback = env.WAREHOUSE || "warehouse";
  if (!name) return fallback;
  if (!WAREHOUSE_NAME.test(name)) return errorResponse(400, "BadRequestException", `Invalid warehouse name: ${JSON.stringify(name)}`);
  // Only the configured warehouses exist: a typo is an error, not a new empty catalog.
  const served = new Set([fallback, ...(env.WAREHOUSES ?? "").split(",").map((w) => w.trim()).filter(Boolean)]);
  if (!served.has(name)) {
    return errorResponse(404, "NoSuchWarehouseException", `Warehouse does not exist: ${name} (this deployment serves ${[...served].join(", ")})`);
  }
  return name;
}

/** Accepts the upgrade only to send the `unauthorized` error (JSON: no frame told the encoding) and close. */
async function refuseSubscriber(denied: Response): Promise<Response> {
  const { 0: client, 1: socket } = new WebSocketPair();
  socket.accept();
  const body = (await denied.json()) as { error?: { message?: string } };
  socket.send(JSON.stringify({ type: "error", code: "unauthorized", message: body.error?.message ?? "unauthorized" }));
  socket.close(1008, "unauthorized");
  return new Response(null, { status: 101, webSocket: client });
}

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health" && request.method === "GET") {
      return Response.json({ status: "ok", version: VERSION });
    }
    // S3 requests carry SigV4 signatures instead of the bearer token; the S3 module verifies them.
    if (isS3Request(request, env)) return handleS3Request(request, env);
    // The OAuth token endpoint authenticates the client secret itself (Iceberg clients' `credential=`).
    if (!isPublicCatalogRequest(request)) {
      const denied = checkBearer(request, env.LAKE_TOKEN);
      // A browser's WebSocket cannot read a 401: a subscriber gets the protocol's typed error.
      if (denied) return url.pathname === "/v1/subscribe" && request.headers.get("Upgrade")?.toLowerCase() === "websocket" ? refuseSubscriber(denied) : denied;
    }
    const warehouse = warehouseOf(url, env);
    if (warehouse instanceof Response) return warehouse;
    // Queries run here, not in the object: it only hands over a consistent read state.
    const query = queryRoute(url.pathname);
    if (query) return handleQuery(request, env, env.DOLAKE.get(env.DOLAKE.idFromName(warehouse)), warehouse, query);
    // One DoLake object per warehouse: more warehouses, more objects, more throughput.
    const stub = env.DOLAKE.get(env.DOLAKE.idFromName(warehouse));
    const forwarded = new Request(request);
    forwarded.headers.set(WAREHOUSE_HEADER, warehouse);
    return stub.fetch(forwarded);
  },
} satisfies ExportedHandler<WorkerEnv>;
