import { describe, expect, it } from "vitest";
import { api, uniqueName } from "./helpers.js";

describe("catalog namespaces", () => {
  it("creates, loads, checks, lists and drops a namespace", async () => {
    const ns = uniqueName();
    const created = await api("POST", "/v1/namespaces", { namespace: [ns], properties: { owner: "alice" } });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ namespace: [ns], properties: { owner: "alice" } });

    expect((await api("GET", `/v1/namespaces/${ns}`)).body).toEqual({ namespace: [ns], properties: { owner: "alice" } });
    expect((await api("HEAD", `/v1/namespaces/${ns}`)).status).toBe(204);
    const list = await api("GET", "/v1/namespaces");
    expect(list.status).toBe(200);
    expect(list.body.namespaces).toContainEqual([ns]);

    expect((await api("DELETE", `/v1/namespaces/${ns}`)).status).toBe(204);
    expect((await api("HEAD", `/v1/namespaces/${ns}`)).status).toBe(404);
    const missing = await api("GET", `/v1/namespaces/${ns}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { message: `Namespace does not exist: ${ns}`, type: "NoSuchNamespaceException", code: 404 } });
  });

  it("answers 409 AlreadyExistsException for a duplicate", async () => {
    const ns = uniqueName();
    await api("POST", "/v1/namespaces", { namespace: [ns] });
    const again = await api("POST", "/v1/namespaces", { namespace: [ns] });
    expect(again.status).toBe(409);
    expect(again.body.error.type).toBe("AlreadyExistsException");
  });

  it("handles multi-level namespaces with the %1F separator and parent listing", async () => {
    const top = uniqueName();
    expect((await api("POST", "/v1/namespaces", { namespace: [top, "child"] })).status).toBe(404);
    await api("POST", "/v1/namespaces", { namespace: [top] });
    expect((await api("POST", "/v1/namespaces", { namespace: [top, "child"] })).status).toBe(200);
    expect((await api("POST", "/v1/namespaces", { namespace: [top, "child", "leaf"] })).status).toBe(200);
    expect((await api("GET", `/v1/namespaces/${top}%1Fchild`)).body.namespace).toEqual([top, "child"]);
    expect((await api("GET", `/v1/namespaces?parent=${top}`)).body.namespaces).toEqual([[top, "child"]]);
    expect((await api("GET", `/v1/namespaces?parent=${top}%1Fchild`)).body.namespaces).toEqual([[top, "child", "leaf"]]);
    const notEmpty = await api("DELETE", `/v1/namespaces/${top}`);
    expect(notEmpty.status).toBe(409);
    expect(notEmpty.body.error.type).toBe("NamespaceNotEmptyException");
  });

  it("paginates with pageToken and pageSize", async () => {
    const top = uniqueName();
    await api("POST", "/v1/namespaces", { namespace: [top] });
    for (const c of ["a", "b", "c", "d", "e"]) await api("POST", "/v1/namespaces", { namespace: [top, c] });
    const seen: string[][] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await api("GET", `/v1/namespaces?parent=${top}&pageSize=2&pageToken=${token}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.namespaces);
      token = page.body["next-page-token"] ?? "";
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen.map((n) => n[1])).toEqual(["a", "b", "c", "d", "e"]);
    expect((await api("GET", "/v1/namespaces?pageToken=%%%")).status).toBe(400);
    expect((await api("GET", "/v1/namespaces?pageSize=0")).status).toBe(400);
  });

  it("updates properties and reports updated, removed and missing", async () => {
    const ns = uniqueName();
    await api("POST", "/v1/namespaces", { namespace: [ns], properties: { a: "1", b: "2" } });
    const res = await api("POST", `/v1/namespaces/${ns}/properties`, { updates: { c: "3", a: "9" }, removals: ["b", "zz"] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ updated: ["c", "a"], removed: ["b"], missing: ["zz"] });
    expect((await api("GET", `/v1/namespaces/${ns}`)).body.properties).toEqual({ a: "9", c: "3" });
    expect((await api("POST", `/v1/namespaces/${ns}/properties`, { updates: { x: "1" }, removals: ["x"] })).status).toBe(422);
    expect((await api("POST", `/v1/namespaces/${uniqueName()}/properties`, { updates: {} })).status).toBe(404);
  });

  it.each([
    ["dot-dot", [".."]],
    ["a single dot", ["a", "."]],
    ["a control character", ["a\u0001"]],
    ["an empty level", [""]],
    ["an overlong name", ["x".repeat(256)]],
    ["no levels", []],
  ])("refuses a namespace with %s", async (_what, namespace) => {
    const res = await api("POST", "/v1/namespaces", { namespace });
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe("BadRequestException");
  });

  it("refuses bad JSON and unknown routes in the Iceberg error shape", async () => {
    const bad = await api("POST", "/v1/namespaces", "{not json");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ type: "BadRequestException", code: 400 });
    const none = await api("GET", "/v1/namespaces/x/views");
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe(404);
  });
});
