/**
 * The route table of /v1: one entry per (method, path) of the official spec that DoLake
 * implements, each bound to a handler of its OpenAPI tag. /v1/config advertises exactly the
 * `endpoint` strings of this table. An optional `/{prefix}` (the warehouse name) is accepted.
 */
import type { CatalogContext, CatalogDeps } from "./deps.js";
import { CatalogError } from "./errors.js";

/** What a handler gets: the request, its URL, decoded path parameters, and the catalog. */
export interface RouteRequest {
  request: Request;
  url: URL;
  params: Record<string, string>;
  deps: CatalogDeps;
  ctx: CatalogContext;
}

/** A handler of one route. */
export type Handler = (req: RouteRequest) => Promise<Response> | Response;

/** One route: method, path pattern (":name" segments are parameters), handler. */
export interface Route {
  method: "GET" | "HEAD" | "POST" | "DELETE";
  path: string;
  handler: Handler;
  /** True for commit routes (unexpected failures there answer 503, never "state unknown"). */
  commit?: boolean;
  /** False for routes that are not listed in /v1/config's endpoints (config and oauth). */
  advertised?: boolean;
}

/** The spec's endpoint string of a route: "GET /v1/{prefix}/namespaces/{namespace}". */
export function endpointOf(route: Route): string {
  const path = route.path
    .split("/")
    .map((s) => (s.startsWith(":") ? `{${s.slice(1)}}` : s))
    .join("/");
  return `${route.method} /v1/{prefix}/${path}`;
}

/** First path segments under /v1 that are routes, not a catalog prefix (warehouse name). */
export const UNPREFIXED = new Set(["config", "oauth", "namespaces", "tables", "transactions", "query", "subscribe", "compaction"]);

/** Finds the route of a request; 404 NoSuchRouteException / 405 when none matches. */
export function matchRoute(routes: readonly Route[], method: string, pathname: string, warehouse: string): { route: Route; params: Record<string, string> } {
  let segments: string[];
  try {
    segments = pathname.replace(/^\/v1\//, "").split("/").map(decodeURIComponent);
  } catch {
    throw new CatalogError("bad-request", `Malformed path: ${pathname}`);
  }
  if (segments.length > 1 && !UNPREFIXED.has(segments[0] as string)) {
    const prefix = segments.shift() as string;
    if (prefix !== warehouse) throw new CatalogError("no-such-warehouse", `Unknown catalog prefix: ${prefix} (this catalog serves ${warehouse})`);
  }
  let pathMatched = false;
  for (const route of routes) {
    const pattern = route.path.split("/");
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = pattern.every((p, i) => {
      const s = segments[i] as string;
      if (p.startsWith(":")) {
        params[p.slice(1)] = s;
        return s.length > 0;
      }
      return p === s;
    });
    if (!ok) continue;
    pathMatched = true;
    if (route.method === method) return { route, params };
  }
  if (pathMatched) throw new CatalogError("method-not-allowed", `${method} is not supported on ${pathname}`);
  throw new CatalogError("no-such-route", `No route for ${method} ${pathname}`);
}
