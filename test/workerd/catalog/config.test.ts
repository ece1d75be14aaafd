import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ROUTES } from "../../../src/catalog/index.js";
import { api } from "./helpers.js";

describe("catalog config and auth", () => {
  it("advertises exactly the implemented endpoints and vends storage settings", async () => {
    const res = await api("GET", "/v1/config");
    expect(res.status).toBe(200);
    expect(res.body.defaults).toEqual({});
    expect(res.body.overrides).toMatchObject({ "s3.endpoint": "http://lake.test", "s3.region": "auto", "client.region": "auto", "s3.path-style-access": "true" });
    expect(res.body.overrides["s3.secret-access-key"]).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body.endpoints).toContain("POST /v1/{prefix}/transactions/commit");
    expect(res.body.endpoints).toContain("HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}");
    expect(res.body.endpoints).not.toContain("GET /v1/{prefix}/namespaces/{namespace}/views");
    expect(res.body.endpoints).toHaveLength(ROUTES.length - 2);
  });

  it("refuses an unknown warehouse and accepts the warehouse name as a prefix", async () => {
    expect((await api("GET", "/v1/config?warehouse=nope")).status).toBe(404);
    expect((await api("GET", "/v1/config?warehouse=warehouse")).status).toBe(200);
    expect((await api("GET", "/v1/warehouse/namespaces")).status).toBe(200);
    const other = await api("GET", "/v1/elsewhere/namespaces");
    expect(other.status).toBe(404);
    expect(other.body.error.type).toBe("NoSuchWarehouseException");
  });

  it("issues a bearer token for client_credentials with the deployment secret", async () => {
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: "pyiceberg", client_secret: "test-token", scope: "catalog" });
    const res = await api("POST", "/v1/oauth/tokens", form.toString(), { "Content-Type": "application/x-www-form-urlencoded" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ access_token: "test-token", token_type: "bearer", scope: "catalog" });
    const bad = await api("POST", "/v1/oauth/tokens", new URLSearchParams({ grant_type: "client_credentials", client_id: "x", client_secret: "nope" }).toString());
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe("invalid_client");
    const grant = await api("POST", "/v1/oauth/tokens", new URLSearchParams({ grant_type: "password" }).toString());
    expect(grant.status).toBe(400);
    expect(grant.body.error).toBe("unsupported_grant_type");
  });

  it("refuses catalog requests without the bearer token", async () => {
    const res = await SELF.fetch("http://lake.test/v1/namespaces");
    expect(res.status).toBe(401);
    expect((await res.json()) as unknown).toMatchObject({ error: { type: "NotAuthorizedException", code: 401 } });
  });

  it("answers 405 for a known path with another method", async () => {
    const res = await api("PUT", "/v1/namespaces");
    expect(res.status).toBe(405);
    expect(res.body.error.code).toBe(405);
  });
});
