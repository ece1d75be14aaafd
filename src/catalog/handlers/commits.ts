/** Catalog API, routes that change tables: commit, multi-table transaction, rename, metrics. */
import { tableRequirementsFromJson, tableUpdatesFromJson } from "../../iceberg/metadata/updates-json.js";
import { commitTables } from "../commit.js";
import { BadRequestError, noSuchTable } from "../errors.js";
import { jsonResponse, metadataToWire, noContent, readJsonBody, type Wire } from "../http.js";
import { formatIdent, identFromJson } from "../names.js";
import type { RouteRequest } from "../routes.js";
import { renameTable } from "../tables.js";
import { identParam } from "./tables.js";

/** POST /v1/namespaces/{namespace}/tables/{table}: check requirements, apply updates, swap. */
export async function commitTableRoute(req: RouteRequest): Promise<Response> {
  const ident = identParam(req);
  const body = await readJsonBody<Wire<"CommitTableRequest">>(req.request);
  if (body.identifier !== undefined && body.identifier !== null && formatIdent(identFromJson(body.identifier)) !== formatIdent(ident)) {
    throw new BadRequestError(`Commit identifier ${formatIdent(identFromJson(body.identifier))} does not match the path's table ${formatIdent(ident)}`);
  }
  const [done] = await commitTables(req.deps, [{ ident, requirements: tableRequirementsFromJson(body.requirements), updates: tableUpdatesFromJson(body.updates) }]);
  if (!done) throw new Error("commitTables returned nothing");
  const response: Wire<"CommitTableResponse"> = { "metadata-location": done.metadataLocation, metadata: metadataToWire(done.metadata) };
  return jsonResponse("CommitTableResponse", response);
}

/** POST /v1/transactions/commit: several tables, all or none. */
export async function commitTransactionRoute(req: RouteRequest): Promise<Response> {
  const body = await readJsonBody<Wire<"CommitTransactionRequest">>(req.request);
  const changes = body["table-changes"];
  if (!Array.isArray(changes) || changes.length === 0) throw new BadRequestError("Invalid transaction: table-changes must be a non-empty list");
  await commitTables(
    req.deps,
    changes.map((c) => {
      if (typeof c !== "object" || c === null || c.identifier === undefined) throw new BadRequestError("Invalid transaction: every table change needs an identifier");
      return { ident: identFromJson(c.identifier), requirements: tableRequirementsFromJson(c.requirements), updates: tableUpdatesFromJson(c.updates) };
    }),
  );
  return noContent();
}

/** POST /v1/tables/rename */
export async function renameTableRoute(req: RouteRequest): Promise<Response> {
  const body = await readJsonBody<Wire<"RenameTableRequest">>(req.request);
  renameTable(req.deps, identFromJson(body.source, "source"), identFromJson(body.destination, "destination"));
  return noContent();
}

/** POST /v1/namespaces/{namespace}/tables/{table}/metrics: accepted (not stored), 204. */
export async function reportMetricsRoute(req: RouteRequest): Promise<Response> {
  const ident = identParam(req);
  const body = await readJsonBody<Wire<"ReportMetricsRequest">>(req.request);
  if (typeof body["report-type"] !== "string") throw new BadRequestError("Invalid metrics report: report-type is required");
  if (!req.deps.store.getTable(ident)) throw noSuchTable(ident);
  return noContent();
}
