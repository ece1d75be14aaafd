/**
 * Iceberg REST catalog (/v1/*), per the official OpenAPI spec, and the commit API the CDC
 * writer shares with it. The Durable Object calls handleCatalogRequest for every /v1 path.
 *
 * For the CDC flush (same DO):
 *   const prepared = await prepareCommit(ctx, ident, requirements, updates);   // writes metadata.json
 *   ctx.storage.transactionSync(() => { applyPreparedCommit(ctx, prepared); dropFlushedEvents(); });
 *   // ConcurrentCommitError (a CommitFailedError) -> abandonPreparedCommit, reload, rebuild, retry.
 */
import { depsOf, type CatalogContext } from "./deps.js";
import * as commits from "./handlers/commits.js";
import * as config from "./handlers/config.js";
import * as namespaces from "./handlers/namespaces.js";
import * as tables from "./handlers/tables.js";
import { errorToResponse } from "./http.js";
import { endpointOf, matchRoute, type Route } from "./routes.js";

export { abandonPreparedCommit, applyPreparedCommit, ConcurrentCommitError, loadTable, prepareCommit } from "./commit.js";
export type { LoadedTable, PreparedCommit } from "./commit.js";
export { createTable, createTableIfMissing, unregisterTable, type CreateTableInput } from "./tables.js";
export { ensureNamespace } from "./namespaces.js";
export type { Namespace, TableIdent } from "./names.js";
export type { CatalogContext, TableChangeHook, TableSchemaHook } from "./deps.js";
export { BadRequestError, CommitFailedError } from "../iceberg/metadata/errors.js";

/** Every /v1 route DoLake serves; /v1/config lists the advertised ones as its endpoints. */
export const ROUTES: readonly Route[] = [
  { method: "GET", path: "config", handler: (r) => config.getConfig(r, ADVERTISED), advertised: false },
  { method: "POST", path: "oauth/tokens", handler: config.issueToken, advertised: false },
  { method: "GET", path: "namespaces", handler: namespaces.listNamespaces },
  { method: "POST", path: "namespaces", handler: namespaces.createNamespaceRoute },
  { method: "GET", path: "namespaces/:namespace", handler: namespaces.loadNamespaceRoute },
  { method: "HEAD", path: "namespaces/:namespace", handler: namespaces.namespaceExists },
  { method: "DELETE", path: "namespaces/:namespace", handler: namespaces.dropNamespaceRoute },
  { method: "POST", path: "namespaces/:namespace/properties", handler: namespaces.updatePropertiesRoute },
  { method: "GET", path: "namespaces/:namespace/tables", handler: tables.listTables },
  { method: "POST", path: "namespaces/:namespace/tables", handler: tables.createTableRoute, commit: true },
  { method: "GET", path: "namespaces/:namespace/tables/:table", handler: tables.loadTableRoute },
  { method: "HEAD", path: "namespaces/:namespace/tables/:table", handler: tables.tableExists },
  { method: "POST", path: "namespaces/:namespace/tables/:table", handler: commits.commitTableRoute, commit: true },
  { method: "DELETE", path: "namespaces/:namespace/tables/:table", handler: tables.dropTableRoute },
  { method: "POST", path: "namespaces/:namespace/register", handler: tables.registerTableRoute },
  { method: "POST", path: "namespaces/:namespace/tables/:table/metrics", handler: commits.reportMetricsRoute },
  { method: "POST", path: "namespaces/:namespace/tables/:table/unregister", handler: tables.unregisterTableRoute },
  { method: "GET", path: "namespaces/:namespace/tables/:table/credentials", handler: tables.loadCredentialsRoute },
  { method: "POST", path: "tables/rename", handler: commits.renameTableRoute },
  { method: "POST", path: "transactions/commit", handler: commits.commitTransactionRoute, commit: true },
];

const ADVERTISED = ROUTES.filter((r) => r.advertised !== false).map(endpointOf);

/** True for /v1 requests that authenticate themselves (the OAuth token endpoint): the Worker must not demand a bearer for them. */
export function isPublicCatalogRequest(request: Request): boolean {
  return request.method === "POST" && new URL(request.url).pathname === "/v1/oauth/tokens";
}

/** Serves one /v1/* request. */
export async function handleCatalogRequest(request: Request, ctx: CatalogContext): Promise<Response> {
  const url = new URL(request.url);
  let commit = false;
  try {
    const { route, params } = matchRoute(ROUTES, request.method, url.pathname, ctx.warehouse);
    commit = route.commit === true;
    const response = await route.handler({ request, url, params, deps: depsOf(ctx), ctx });
    if (request.method === "HEAD" && response.body) return new Response(null, { status: response.status, headers: response.headers });
    return response;
  } catch (e) {
    return errorToResponse(e, request, commit);
  }
}
