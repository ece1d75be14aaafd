/**
 * Configuration API (GET /v1/config) and OAuth2 API (POST /v1/oauth/tokens).
 *
 * OAuth: the client-credentials grant, for Iceberg clients configured with `credential=`.
 * The client secret is the deployment's LAKE_TOKEN (any client id), and the access token issued
 * is that same bearer token, so every other route keeps one simple check.
 */
import { timingSafeEqual } from "../../http/auth.js";
import { CatalogError } from "../errors.js";
import { jsonResponse, type Wire } from "../http.js";
import type { RouteRequest } from "../routes.js";
import { storageConfig } from "../storage-config.js";

/** GET /v1/config: endpoints, and the storage settings as overrides. */
export async function getConfig(req: RouteRequest, endpoints: string[]): Promise<Response> {
  const warehouse = req.url.searchParams.get("warehouse");
  if (warehouse !== null && warehouse !== "" && warehouse !== req.ctx.warehouse && warehouse !== `s3://${req.deps.warehouse.bucketName}/${req.ctx.warehouse}`) {
    throw new CatalogError("no-such-warehouse", `Warehouse does not exist: ${warehouse} (this catalog serves ${req.ctx.warehouse})`);
  }
  // A client that named a warehouse is told to address it as the catalog prefix (/v1/<warehouse>/...),
  // which is how the Worker routes it to that warehouse's object.
  const overrides: Record<string, string> = { ...(await storageConfig(req.ctx.env, req.request.url, req.deps.warehouse.warehouse)) };
  if (warehouse) overrides.prefix = req.ctx.warehouse;
  const body: Wire<"CatalogConfig"> = { defaults: {}, overrides, endpoints };
  return jsonResponse("CatalogConfig", body);
}

function oauthError(status: number, error: Wire<"OAuthError">["error"], description: string): Response {
  const body: Wire<"OAuthError"> = { error, error_description: description };
  return jsonResponse("OAuthError", body, status, { "Cache-Control": "no-store" });
}

/** Client id and secret from the form body or HTTP Basic auth (client_secret_basic). */
function clientCredentials(request: Request, form: URLSearchParams): { id: string | null; secret: string | null } {
  const basic = /^Basic\s+(.+)$/i.exec(request.headers.get("Authorization") ?? "");
  if (basic) {
    try {
      const [id, ...rest] = atob(basic[1] as string).split(":");
      return { id: decodeURIComponent(id ?? ""), secret: decodeURIComponent(rest.join(":")) };
    } catch {
      return { id: null, secret: null };
    }
  }
  return { id: form.get("client_id"), secret: form.get("client_secret") };
}

/** POST /v1/oauth/tokens: client_credentials -> bearer token. */
export async function issueToken(req: RouteRequest): Promise<Response> {
  const form = new URLSearchParams(await req.request.text());
  const grant = form.get("grant_type");
  if (grant !== "client_credentials") {
    return oauthError(400, "unsupported_grant_type", `Unsupported grant_type ${JSON.stringify(grant)}: only client_credentials is supported`);
  }
  const { secret } = clientCredentials(req.request, form);
  const expected = req.ctx.env.LAKE_TOKEN;
  if (!expected) return oauthError(401, "invalid_client", "LAKE_TOKEN is not configured on this deployment");
  if (secret === null || !timingSafeEqual(secret, expected)) return oauthError(401, "invalid_client", "Invalid client credentials");
  const body: Wire<"OAuthTokenResponse"> = {
    access_token: expected,
    token_type: "bearer",
    issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
    expires_in: 86_400,
  };
  const scope = form.get("scope");
  if (scope) body.scope = scope;
  return jsonResponse("OAuthTokenResponse", body, 200, { "Cache-Control": "no-store" });
}
