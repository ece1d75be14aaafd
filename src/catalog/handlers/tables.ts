/** Catalog API, table routes: list, create (and stage-create), load, exists, drop, register. */
import type { TableMetadata } from "../../iceberg/metadata/types.js";
import { loadTable, type LoadedTable } from "../commit.js";
import { BadRequestError, noSuchNamespace, noSuchTable } from "../errors.js";
import { jsonResponse, metadataToWire, noContent, pageRequest, paginate, readJsonBody, type Wire } from "../http.js";
import { namespaceFromPath, validateName, type TableIdent } from "../names.js";
import type { RouteRequest } from "../routes.js";
import { storageConfig } from "../storage-config.js";
import { createTable, dropTable, newTable, registerTable, unregisterTable, type CreateTableInput } from "../tables.js";

/** The table a route addresses (validated namespace and name). */
export function identParam(req: RouteRequest): TableIdent {
  return { namespace: namespaceFromPath(req.params.namespace as string), name: validateName(req.params.table, "table name") };
}

/** GET /v1/namespaces/{namespace}/tables */
export function listTables(req: RouteRequest): Response {
  const namespace = namespaceFromPath(req.params.namespace as string);
  if (!req.deps.store.getNamespace(namespace)) throw noSuchNamespace(namespace);
  const { items, next } = paginate(pageRequest(req.url), (after, limit) => req.deps.store.listTables(namespace, after, limit), (name) => name);
  const body: Wire<"ListTablesResponse"> = { identifiers: items.map((name) => ({ namespace, name })) };
  if (next !== undefined) body["next-page-token"] = next;
  return jsonResponse("ListTablesResponse", body);
}

/** LoadTableResult for a table: metadata (optionally only ref'd snapshots), its location and storage config. */
export async function loadTableResult(req: RouteRequest, table: { metadata: TableMetadata; metadataLocation?: string }, headers?: HeadersInit): Promise<Response> {
  const body: Wire<"LoadTableResult"> = {
    metadata: metadataToWire(table.metadata),
    config: await storageConfig(req.ctx.env, req.request.url, req.deps.warehouse.warehouse),
  };
  if (table.metadataLocation !== undefined) body["metadata-location"] = table.metadataLocation;
  return jsonResponse("LoadTableResult", body, 200, headers);
}

function createInput(body: Partial<Wire<"CreateTableRequest">>): CreateTableInput {
  const schema = body.schema as CreateTableInput["schema"] | undefined;
  if (!schema || schema.type !== "struct" || !Array.isArray(schema.fields)) throw new BadRequestError("Invalid create table request: schema must be a struct with fields");
  const input: CreateTableInput = { schema };
  const spec = body["partition-spec"] as CreateTableInput["partitionSpec"] | undefined;
  if (spec !== undefined && spec !== null) {
    if (!Array.isArray(spec.fields)) throw new BadRequestError("Invalid partition-spec: fields must be a list");
    input.partitionSpec = spec;
  }
  const order = body["write-order"] as CreateTableInput["sortOrder"] | undefined;
  if (order !== undefined && order !== null) {
    if (!Array.isArray(order.fields)) throw new BadRequestError("Invalid write-order: fields must be a list");
    input.sortOrder = order;
  }
  if (body.location !== undefined && body.location !== null) input.location = body.location;
  if (body.properties !== undefined && body.properties !== null) {
    if (typeof body.properties !== "object" || Object.values(body.properties).some((v) => typeof v !== "string")) {
      throw new BadRequestError("Invalid properties: expected a map of strings");
    }
    input.properties = body.properties;
  }
  return input;
}

/** POST /v1/namespaces/{namespace}/tables (stage-create returns metadata without committing). */
export async function createTableRoute(req: RouteRequest): Promise<Response> {
  const namespace = namespaceFromPath(req.params.namespace as string);
  const body = await readJsonBody<Wire<"CreateTableRequest">>(req.request);
  const ident = { namespace, name: validateName(body.name, "table name") };
  const input = createInput(body);
  if (body["stage-create"] === true) return loadTableResult(req, { metadata: newTable(req.deps, ident, input) });
  return loadTableResult(req, await createTable(req.deps, ident, input));
}

async function etagOf(metadataLocation: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(metadataLocation));
  return `"${[...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

/** GET /v1/namespaces/{namespace}/tables/{table}?snapshots=all|refs (ETag / If-None-Match aware). */
export async function loadTableRoute(req: RouteRequest): Promise<Response> {
  const ident = identParam(req);
  const mode = req.url.searchParams.get("snapshots") ?? "all";
  if (mode !== "all" && mode !== "refs") throw new BadRequestError(`Invalid snapshots parameter: ${mode} (expected all or refs)`);
  const table: LoadedTable | undefined = await loadTable(req.deps, ident);
  if (!table) throw noSuchTable(ident);
  const etag = await etagOf(`${mode}:${table.metadataLocation}`);
  if (req.request.headers.get("If-None-Match") === etag) return new Response(null, { status: 304, headers: { ETag: etag } });
  let metadata = table.metadata;
  if (mode === "refs") {
    const referenced = new Set(Object.values(metadata.refs).map((r) => r["snapshot-id"]));
    metadata = { ...metadata, snapshots: metadata.snapshots.filter((s) => referenced.has(s["snapshot-id"])) };
  }
  return loadTableResult(req, { metadata, metadataLocation: table.metadataLocation }, { ETag: etag });
}

/** HEAD /v1/namespaces/{namespace}/tables/{table} */
export function tableExists(req: RouteRequest): Response {
  const ident = identParam(req);
  if (!req.deps.store.getTable(ident)) throw noSuchTable(ident);
  return noContent();
}

/** DELETE /v1/namespaces/{namespace}/tables/{table}?purgeRequested=true */
export async function dropTableRoute(req: RouteRequest): Promise<Response> {
  // pyiceberg sends "True": booleans are read case-insensitively.
  const purge = req.url.searchParams.get("purgeRequested")?.toLowerCase();
  if (purge !== undefined && purge !== "true" && purge !== "false") throw new BadRequestError(`Invalid purgeRequested: ${purge}`);
  await dropTable(req.deps, identParam(req), purge === "true");
  return noContent();
}

/** POST /v1/namespaces/{namespace}/register */
export async function registerTableRoute(req: RouteRequest): Promise<Response> {
  const namespace = namespaceFromPath(req.params.namespace as string);
  const body = await readJsonBody<Wire<"RegisterTableRequest">>(req.request);
  const ident = { namespace, name: validateName(body.name, "table name") };
  if (typeof body["metadata-location"] !== "string") throw new BadRequestError("Invalid register request: metadata-location is required");
  if (body.overwrite !== undefined && typeof body.overwrite !== "boolean") throw new BadRequestError("Invalid register request: overwrite must be a boolean");
  return loadTableResult(req, await registerTable(req.deps, ident, body["metadata-location"], body.overwrite === true));
}

/** POST /v1/namespaces/{namespace}/tables/{table}/unregister: forget the table, keep its files. */
export async function unregisterTableRoute(req: RouteRequest): Promise<Response> {
  const table = await unregisterTable(req.deps, identParam(req));
  return jsonResponse("UnregisterTableResult", { "metadata-location": table.metadataLocation, metadata: metadataToWire(table.metadata) });
}

/** GET /v1/namespaces/{namespace}/tables/{table}/credentials: the storage settings, scoped to the table's location. */
export async function loadCredentialsRoute(req: RouteRequest): Promise<Response> {
  const ident = identParam(req);
  const row = req.deps.store.getTable(ident);
  if (!row) throw noSuchTable(ident);
  const config = await storageConfig(req.ctx.env, req.request.url, req.deps.warehouse.warehouse);
  return jsonResponse("LoadCredentialsResponse", { "storage-credentials": [{ prefix: row.location, config }] });
}
