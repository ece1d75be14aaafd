// Issue 13 item 2: the keys the catalog vends for a warehouse reach only that warehouse's prefix,
// and no pair (the admin pair included) can address a key that is not a plain, normalized path.
// Before the fix the vended pair was one per deployment and answered 200 for any key.
import { SELF } from "cloudflare:test";
import { AwsClient } from "aws4fetch";
import { beforeEach, describe, expect, it } from "vitest";
import { BUCKET_URL, env, s3, xmlValue } from "./helpers.js";

/** The storage settings the catalog vends for `warehouse`. */
async function vended(warehouse: string): Promise<Record<string, string>> {
  const res = await SELF.fetch(`http://lake.test/v1/config?warehouse=${warehouse}`, { headers: { Authorization: "Bearer test-token" } });
  return ((await res.json()) as { overrides: Record<string, string> }).overrides;
}

/** An S3 client built from the catalog's vended settings only, as an engine builds it. */
async function vendedClient(warehouse: string, withToken = true): Promise<AwsClient> {
  const c = await vended(warehouse);
  return new AwsClient({
    accessKeyId: c["s3.access-key-id"]!,
    secretAccessKey: c["s3.secret-access-key"]!,
    sessionToken: withToken ? c["s3.session-token"] : undefined,
    service: "s3",
    region: "auto",
  });
}

/** Sends one request signed by `c`; answers status and S3 error code. */
async function call(c: AwsClient, path: string, init: RequestInit = {}): Promise<[number, string | undefined]> {
  const res = await SELF.fetch(await c.sign(`${BUCKET_URL}${path}`, init));
  const text = await res.text();
  return [res.status, xmlValue(text, "Code")];
}

describe("vended S3 keys are confined to their warehouse", () => {
  beforeEach(async () => {
    await env.LAKEHOUSE_BUCKET.put("west/scope/secret", "west's data");
    await env.LAKEHOUSE_BUCKET.put("east/scope/own", "east's data");
  });

  it("vends a different pair and session token per warehouse", async () => {
    const [east, west] = [await vended("east"), await vended("west")];
    expect(east["s3.access-key-id"]).toMatch(/^dolake-east-[0-9a-f]{20}$/);
    expect(west["s3.access-key-id"]).toMatch(/^dolake-west-[0-9a-f]{20}$/);
    expect(east["s3.secret-access-key"]).not.toBe(west["s3.secret-access-key"]);
    expect(east["s3.session-token"]).toMatch(/^[0-9a-f]{64}$/);
    expect(east["s3.session-token"]).not.toBe(west["s3.session-token"]);
  });

  it("reads, writes, copies, lists and deletes inside its warehouse, with or without the session token", async () => {
    for (const withToken of [true, false]) {
      const east = await vendedClient("east", withToken);
      expect(await call(east, "/east/scope/own")).toEqual([200, undefined]);
      expect(await call(east, "/east/scope/new", { method: "PUT", body: "x" })).toEqual([200, undefined]);
      expect(await call(east, "/east/scope/copy", { method: "PUT", headers: { "x-amz-copy-source": "/dolake-warehouse/east/scope/own" } })).toEqual([200, undefined]);
      expect(await call(east, "/?list-type=2&prefix=east/scope/")).toEqual([200, undefined]);
      expect(await call(east, "/east/scope/dir/", { method: "PUT", body: "" })).toEqual([200, undefined]);
      expect(await call(east, "/east/scope/new", { method: "DELETE" })).toEqual([204, undefined]);
    }
  });

  it("refuses every operation on keys outside its warehouse with 403 AccessDenied", async () => {
    const east = await vendedClient("east");
    const denied = [403, "AccessDenied"];
    expect(await call(east, "/west/scope/secret")).toEqual(denied);
    expect((await SELF.fetch(await east.sign(`${BUCKET_URL}/west/scope/secret`, { method: "HEAD" }))).status).toBe(403);
    expect(await call(east, "/west/scope/planted", { method: "PUT", body: "x" })).toEqual(denied);
    expect(await call(east, "/outside-every-warehouse", { method: "PUT", body: "x" })).toEqual(denied);
    expect(await call(east, "/eastern/x", { method: "PUT", body: "x" })).toEqual(denied);
    expect(await call(east, "/west/scope/secret", { method: "DELETE" })).toEqual(denied);
    expect(await call(east, "/west/scope/mp?uploads", { method: "POST" })).toEqual(denied);
    // The copy source is checked too: a destination in the warehouse does not license reading another.
    expect(await call(east, "/east/scope/stolen", { method: "PUT", headers: { "x-amz-copy-source": "/dolake-warehouse/west/scope/secret" } })).toEqual(denied);
    for (const q of ["list-type=2", "list-type=2&prefix=west/", "list-type=2&prefix=east", "prefix=west/"]) {
      expect(await call(east, `/?${q}`), q).toEqual(denied);
    }
    const del = `<Delete><Object><Key>east/scope/own</Key></Object><Object><Key>west/scope/secret</Key></Object></Delete>`;
    expect(await call(east, "/?delete", { method: "POST", body: del })).toEqual(denied);
    expect(await env.LAKEHOUSE_BUCKET.head("west/scope/secret")).not.toBeNull();
    expect(await env.LAKEHOUSE_BUCKET.head("east/scope/own")).not.toBeNull();
    expect(await env.LAKEHOUSE_BUCKET.head("west/scope/planted")).toBeNull();
    expect(await env.LAKEHOUSE_BUCKET.head("outside-every-warehouse")).toBeNull();
    expect(await env.LAKEHOUSE_BUCKET.head("east/scope/stolen")).toBeNull();
  });

  it("refuses a pair derived for a warehouse this deployment does not serve", async () => {
    const { s3Credentials } = await import("../../../src/s3/credentials.js");
    const north = await s3Credentials(env, "north");
    const c = new AwsClient({ accessKeyId: north.accessKeyId, secretAccessKey: north.secretAccessKey, service: "s3", region: "auto" });
    expect(await call(c, "/north/x", { method: "PUT", body: "x" })).toEqual([403, "InvalidAccessKeyId"]);
  });
});

describe("keys that are not plain normalized paths", () => {
  // %2F decodes to '/' in the key, so these reach the key check un-normalized by the URL parser.
  const bad = ["/east/..%2Fwest%2Fscope%2Fx", "/east/scope%2F.%2Fx", "/east/scope/..%2F..%2Fx", "/east//x", "//east/x", "/east/a%00b", "/east/a%0Ab", "/east/a%5Cb"];

  it("are refused with 400 whoever signs them (warehouse pair, admin pair), and nothing is written", async () => {
    const east = await vendedClient("east");
    for (const path of bad) {
      expect(await call(east, path, { method: "PUT", body: "x" }), path).toEqual([400, "InvalidArgument"]);
      const res = await s3(path, { method: "PUT", body: "x" });
      expect([res.status, xmlValue(await res.text(), "Code")], `admin ${path}`).toEqual([400, "InvalidArgument"]);
    }
    const listed = await env.LAKEHOUSE_BUCKET.list({ prefix: "west/" });
    expect(listed.objects.map((o) => o.key)).not.toContain("west/scope/x");
    expect(await env.LAKEHOUSE_BUCKET.head("x")).toBeNull();
  });

  it("are refused as a copy source and in DeleteObjects", async () => {
    const east = await vendedClient("east");
    expect(await call(east, "/east/scope/c", { method: "PUT", headers: { "x-amz-copy-source": "/dolake-warehouse/east/..%2Fwest/scope/secret" } })).toEqual([400, "InvalidArgument"]);
    const res = await s3("/?delete", { method: "POST", body: "<Delete><Object><Key>west/../west/scope/secret</Key></Object></Delete>" });
    expect(res.status).toBe(400);
    expect(await env.LAKEHOUSE_BUCKET.head("west/scope/secret")).not.toBeNull();
  });

  it("leaves the admin pair the whole bucket", async () => {
    expect((await s3("/anywhere/admin-key", { method: "PUT", body: "x" })).status).toBe(200);
    expect((await s3("/?list-type=2")).status).toBe(200);
  });
});
