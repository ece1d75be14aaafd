import { describe, expect, it } from "vitest";
import { api, SCHEMA, uniqueName } from "./helpers.js";

describe("catalog namespaces", () => {
  it("creates, loads, checks, lists and drops a namespace", async () => {
    const ns = uniqueName();
    const created = await api("POST", "/v1/namespaces", { namespace: [ns], properties: { owner: "alice" } });
    expect(created.status).toBe(200);
    const location = `s3://dolake-warehouse/warehouse/${ns}`;
    expect(created.body).toEqual({ namespace: [ns], properties: { owner: "alice", location } });

    expect((await api("GET", `/v1/namespaces/${ns}`)).body).toEqual({ namespace: [ns], properties: { owner: "alice", location } });
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
    expect((await api("GET", `/v1/namespaces/${ns}`)).body.properties).toEqual({ a: "9", c: "3", location: `s3://dolake-warehouse/warehouse/${ns}` });
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

// Trino 476 places a table at `<namespace location>/<table>-<uuid>` and checks that the place is
// empty; without the namespace's location it created the table to learn one, then refused it.
describe("catalog namespace location", () => {
  it("answers location on create and load, and tables created under it are at that prefix", async () => {
    const ns = uniqueName();
    const location = `s3://dolake-warehouse/warehouse/${ns}`;
    const created = await api("POST", "/v1/namespaces", { namespace: [ns] });
    expect(created.body.properties).toEqual({ location });
    expect((await api("GET", `/v1/namespaces/${ns}`)).body.properties).toEqual({ location });
    const table = await api("POST", `/v1/namespaces/${ns}/tables`, { name: "t", schema: SCHEMA, location: `${location}/t-0123abcd` });
    expect(table.status).toBe(200);
    expect(table.body.metadata.location).toBe(`${location}/t-0123abcd`);
    expect((await api("POST", `/v1/namespaces/${ns}/tables`, { name: "u", schema: SCHEMA })).body.metadata.location).toBe(`${location}/u`);
  });

  it("answers each level's location of a nested namespace, names percent-encoded as in table locations", async () => {
    const top = uniqueName();
    await api("POST", "/v1/namespaces", { namespace: [top] });
    await api("POST", "/v1/namespaces", { namespace: [top, "a/b"] });
    expect((await api("GET", `/v1/namespaces/${top}%1Fa%2Fb`)).body.properties.location).toBe(`s3://dolake-warehouse/warehouse/${top}/a%2Fb`);
  });

  it("accepts CREATE SCHEMA ... WITH (location = <the default>), with or without a trailing slash", async () => {
    for (const suffix of ["", "/"]) {
      const ns = uniqueName();
      const location = `s3://dolake-warehouse/warehouse/${ns}`;
      const created = await api("POST", "/v1/namespaces", { namespace: [ns], properties: { location: location + suffix, owner: "trino" } });
      expect(created.status).toBe(200);
      expect(created.body.properties).toEqual({ owner: "trino", location });
    }
  });

  it.each([
    ["another bucket", (ns: string) => `s3://elsewhere/warehouse/${ns}`],
    ["another place in the warehouse", (ns: string) => `s3://dolake-warehouse/warehouse/other/${ns}`],
    ["a file: path", (ns: string) => `file:/tmp/${ns}`],
  ])("refuses a namespace location elsewhere (%s), creating nothing", async (_what, place) => {
    const ns = uniqueName();
    const res = await api("POST", "/v1/namespaces", { namespace: [ns], properties: { location: place(ns) } });
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe("BadRequestException");
    expect(res.body.error.message).toContain(`s3://dolake-warehouse/warehouse/${ns}`);
    expect((await api("HEAD", `/v1/namespaces/${ns}`)).status).toBe(404);
  });

  it("refuses setting or removing location through properties", async () => {
    const ns = uniqueName();
    await api("POST", "/v1/namespaces", { namespace: [ns] });
    expect((await api("POST", `/v1/namespaces/${ns}/properties`, { updates: { location: "s3://dolake-warehouse/warehouse/x" } })).status).toBe(400);
    expect((await api("POST", `/v1/namespaces/${ns}/properties`, { removals: ["location"] })).status).toBe(400);
    expect((await api("GET", `/v1/namespaces/${ns}`)).body.properties).toEqual({ location: `s3://dolake-warehouse/warehouse/${ns}` });
  });
});
