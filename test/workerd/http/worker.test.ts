import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("worker", () => {
  it("answers /health without a token", async () => {
    const res = await SELF.fetch("http://lake/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok" });
  });

  it.each(["/status", "/metrics", "/v1/config", "/ws"])("refuses %s without the token, in the Iceberg error shape", async (path) => {
    const res = await SELF.fetch(`http://lake${path}`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: { message: "Missing or invalid bearer token", type: "NotAuthorizedException", code: 401 },
    });
  });

  it("refuses a wrong token", async () => {
    const res = await SELF.fetch("http://lake/status", { headers: { Authorization: "Bearer nope" } });
    expect(res.status).toBe(401);
  });

  it("accepts the token as a query parameter (browser WebSockets)", async () => {
    const res = await SELF.fetch("http://lake/v1/config?token=test-token");
    expect(res.status).not.toBe(401);
  });
});
