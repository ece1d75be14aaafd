/** Catalog API, namespace routes: list, create, load, exists, drop, update properties. */
import { createNamespace, dropNamespace, loadNamespace, updateNamespaceProperties } from "../namespaces.js";
import { jsonResponse, noContent, pageRequest, paginate, readJsonBody, type Wire } from "../http.js";
import { namespaceFromPath, namespaceKey, validateNamespace, type Namespace } from "../names.js";
import { noSuchNamespace } from "../errors.js";
import type { RouteRequest } from "../routes.js";

const nsParam = (req: RouteRequest): Namespace => namespaceFromPath(req.params.namespace as string);

/** GET /v1/namespaces?parent=&pageToken=&pageSize= */
export function listNamespaces(req: RouteRequest): Response {
  const parentParam = req.url.searchParams.get("parent");
  const parent = parentParam !== null && parentParam !== "" ? namespaceFromPath(parentParam) : undefined;
  if (parent && !req.deps.store.getNamespace(parent)) throw noSuchNamespace(parent);
  const { items, next } = paginate(pageRequest(req.url), (after, limit) => req.deps.store.listNamespaces(parent, after, limit), namespaceKey);
  const body: Wire<"ListNamespacesResponse"> = { namespaces: items };
  if (next !== undefined) body["next-page-token"] = next;
  return jsonResponse("ListNamespacesResponse", body);
}

/** POST /v1/namespaces */
export async function createNamespaceRoute(req: RouteRequest): Promise<Response> {
  const body = await readJsonBody<Wire<"CreateNamespaceRequest">>(req.request);
  const ns = validateNamespace(body.namespace);
  const properties = createNamespace(req.deps, ns, body.properties);
  return jsonResponse("CreateNamespaceResponse", { namespace: ns, properties });
}

/** GET /v1/namespaces/{namespace} */
export function loadNamespaceRoute(req: RouteRequest): Response {
  const ns = nsParam(req);
  return jsonResponse("GetNamespaceResponse", { namespace: ns, properties: loadNamespace(req.deps, ns) });
}

/** HEAD /v1/namespaces/{namespace} */
export function namespaceExists(req: RouteRequest): Response {
  loadNamespace(req.deps, nsParam(req));
  return noContent();
}

/** DELETE /v1/namespaces/{namespace} */
export function dropNamespaceRoute(req: RouteRequest): Response {
  dropNamespace(req.deps, nsParam(req));
  return noContent();
}

/** POST /v1/namespaces/{namespace}/properties */
export async function updatePropertiesRoute(req: RouteRequest): Promise<Response> {
  const ns = nsParam(req);
  const body = await readJsonBody<Wire<"UpdateNamespacePropertiesRequest">>(req.request);
  const change = updateNamespaceProperties(req.deps, ns, body.updates, body.removals);
  return jsonResponse("UpdateNamespacePropertiesResponse", change);
}
