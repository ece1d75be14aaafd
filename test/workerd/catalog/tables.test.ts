import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, makeTable, SCHEMA, uniqueName } from "./helpers.js";

describe("catalog tables", () => {
  it("creates a table with fresh ids, a metadata file in R2 and storage config", async () => {
    const { ns, created } = await makeTable();
    const body = created.body;
    expect(body["metadata-location"]).toMatch(new RegExp(`^s3://dolake-warehouse/warehouse/${ns}/t/metadata/00000-[0-9a-f-]{36}\\.metadata\\.json$`));
    expect(body.metadata["format-version"]).toBe(2);
    expect(body.metadata.location).toBe(`s3://dolake-warehouse/warehouse/${ns}/t`);
    expect(body.metadata["partition-specs"]).toEqual([{ "spec-id": 0, fields: [{ "source-id": 3, "field-id": 1000, name: "ts_day", transform: "day" }] }]);
    expect(body.config).toMatchObject({ "s3.endpoint": "http://lake.test", "s3.region": "auto", "s3.path-style-access": "true" });
    expect(body.config["s3.access-key-id"]).toMatch(/^dolake-/);
    const key = (body["metadata-location"] as string).replace("s3://dolake-warehouse/", "");
    const object = await env.LAKEHOUSE_BUCKET.get(key);
    expect(object).not.toBeNull();
    expect(JSON.parse(await object!.text())["table-uuid"]).toBe(body.metadata["table-uuid"]);
  });

  it("loads, checks, lists and drops tables", async () => {
    const { ns, path } = await makeTable();
    const loaded = await api("GET", path);
    expect(loaded.status).toBe(200);
    expect(loaded.headers.get("ETag")).toMatch(/^"[0-9a-f]{32}"$/);
    expect((await api("GET", path, undefined, { "If-None-Match": loaded.headers.get("ETag")! })).status).toBe(304);
    expect((await api("HEAD", path)).status).toBe(204);
    expect((await api("GET", `/v1/namespaces/${ns}/tables`)).body).toEqual({ identifiers: [{ namespace: [ns], name: "t" }] });
    const notEmpty = await api("DELETE", `/v1/namespaces/${ns}`);
    expect(notEmpty.status).toBe(409);
    expect(notEmpty.body.error.type).toBe("NamespaceNotEmptyException");
    expect((await api("DELETE", path)).status).toBe(204);
    expect((await api("HEAD", path)).status).toBe(404);
    const gone = await api("GET", path);
    expect(gone.body).toEqual({ error: { message: `Table does not exist: ${ns}.t`, type: "NoSuchTableException", code: 404 } });
    expect((await api("DELETE", path)).status).toBe(404);
    expect((await api("DELETE", `/v1/namespaces/${ns}`)).status).toBe(204);
  });

  it("paginates table lists", async () => {
    const { ns } = await makeTable(uniqueName(), "a");
    for (const t of ["b", "c"]) await api("POST", `/v1/namespaces/${ns}/tables`, { name: t, schema: SCHEMA });
    const first = await api("GET", `/v1/namespaces/${ns}/tables?pageSize=2`);
    expect(first.body.identifiers.map((i: { name: string }) => i.name)).toEqual(["a", "b"]);
    const second = await api("GET", `/v1/namespaces/${ns}/tables?pageSize=2&pageToken=${first.body["next-page-token"]}`);
    expect(second.body.identifiers.map((i: { name: string }) => i.name)).toEqual(["c"]);
    expect(second.body["next-page-token"]).toBeUndefined();
  });

  it("answers 409 for a duplicate table and 404 in a missing namespace", async () => {
    const { ns } = await makeTable();
    const dup = await api("POST", `/v1/namespaces/${ns}/tables`, { name: "t", schema: SCHEMA });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toEqual({ message: `Table already exists: ${ns}.t`, type: "AlreadyExistsException", code: 409 });
    const missing = await api("POST", `/v1/namespaces/${uniqueName()}/tables`, { name: "t", schema: SCHEMA });
    expect(missing.status).toBe(404);
    expect(missing.body.error.type).toBe("NoSuchNamespaceException");
  });

  it.each([
    ["a location with ..", { location: "s3://dolake-warehouse/warehouse/../x" }],
    ["the warehouse root as a location", { location: "s3://dolake-warehouse/warehouse" }],
    ["a table name ..", { name: ".." }],
    ["no schema", { schema: undefined }],
  ])("refuses %s", async (_what, patch) => {
    const ns = uniqueName();
    await api("POST", "/v1/namespaces", { namespace: [ns] });
    const res = await api("POST", `/v1/namespaces/${ns}/tables`, { name: "t", schema: SCHEMA, ...patch });
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe("BadRequestException");
  });

  it.each([
    ["another bucket", "s3://other-bucket/x"],
    ["a local path (the REST compatibility kit's)", "file:/tmp/ns/tbl"],
    ["the bucket outside the warehouse", "s3://dolake-warehouse/elsewhere"],
  ])("replaces a requested location in %s by the managed one (create and stage-create)", async (_what, location) => {
    const ns = uniqueName();
    await api("POST", "/v1/namespaces", { namespace: [ns] });
    const staged = await api("POST", `/v1/namespaces/${ns}/tables`, { name: "t", schema: SCHEMA, location, "stage-create": true });
    expect(staged.status).toBe(200);
    expect(staged.body.metadata.location).toBe(`s3://dolake-warehouse/warehouse/${ns}/t`);
    const created = await api("POST", `/v1/namespaces/${ns}/tables`, { name: "t", schema: SCHEMA, location });
    expect(created.status).toBe(200);
    expect(created.body.metadata.location).toBe(`s3://dolake-warehouse/warehouse/${ns}/t`);
    expect(created.body["metadata-location"]).toMatch(new RegExp(`^s3://dolake-warehouse/warehouse/${ns}/t/metadata/`));
  });

  it("uses a requested location inside the warehouse", async () => {
    const ns = uniqueName();
    await api("POST", "/v1/namespaces", { namespace: [ns] });
    const created = await api("POST", `/v1/namespaces/${ns}/tables`, { name: "t", schema: SCHEMA, location: `s3a://dolake-warehouse/warehouse/custom_${ns}/` });
    expect(created.status).toBe(200);
    expect(created.body.metadata.location).toBe(`s3a://dolake-warehouse/warehouse/custom_${ns}`);
  });

  it("serves names with '/', '\\', '?', '#' and '%': percent-encoded in locations, never a path separator", async () => {
    const ns = uniqueName();
    await api("POST", "/v1/namespaces", { namespace: [ns] });
    const slashed = await api("POST", "/v1/namespaces", { namespace: [`${ns}/sub`] });
    expect(slashed.status).toBe(200);
    expect((await api("HEAD", `/v1/namespaces/${encodeURIComponent(`${ns}/sub`)}`)).status).toBe(204);
    const tables: Array<[string, string]> = [
      ["tab/le", "tab%2Fle"],
      ["a\\b?c#d", "a%5Cb%3Fc%23d"],
      ["tab%2Fle", "tab%252Fle"],
    ];
    for (const [name, segment] of tables) {
      const created = await api("POST", `/v1/namespaces/${ns}/tables`, { name, schema: SCHEMA });
      expect(created.status).toBe(200);
      expect(created.body.metadata.location).toBe(`s3://dolake-warehouse/warehouse/${ns}/${segment}`);
      const path = `/v1/namespaces/${ns}/tables/${encodeURIComponent(name)}`;
      expect((await api("GET", path)).body.metadata.location).toBe(created.body.metadata.location);
      expect((await api("DELETE", `${path}?purgeRequested=true`)).status).toBe(204);
    }
    // The namespace "<ns>/sub" and the nested namespace <ns>.sub never share a location.
    const inSlashed = await api("POST", `/v1/namespaces/${encodeURIComponent(`${ns}/sub`)}/tables`, { name: "t", schema: SCHEMA });
    expect(inSlashed.body.metadata.location).toBe(`s3://dolake-warehouse/warehouse/${ns}%2Fsub/t`);
    await api("POST", "/v1/namespaces", { namespace: [ns, "sub"] });
    const nested = await api("POST", `/v1/namespaces/${ns}%1Fsub/tables`, { name: "t", schema: SCHEMA });
    expect(nested.status).toBe(200);
    expect(nested.body.metadata.location).toBe(`s3://dolake-warehouse/warehouse/${ns}/sub/t`);
  });

  it("stage-creates without committing, then commits the create transaction", async () => {
    const ns = uniqueName();
    await api("POST", "/v1/namespaces", { namespace: [ns] });
    const staged = await api("POST", `/v1/namespaces/${ns}/tables`, { name: "s", schema: SCHEMA, "stage-create": true });
    expect(staged.status).toBe(200);
    expect(staged.body["metadata-location"]).toBeUndefined();
    expect((await api("HEAD", `/v1/namespaces/${ns}/tables/s`)).status).toBe(404);
    const m = staged.body.metadata;
    const commit = await api("POST", `/v1/namespaces/${ns}/tables/s`, {
      requirements: [{ type: "assert-create" }],
      updates: [
        { action: "assign-uuid", uuid: m["table-uuid"] },
        { action: "upgrade-format-version", "format-version": 2 },
        { action: "add-schema", schema: m.schemas[0] },
        { action: "set-current-schema", "schema-id": -1 },
        { action: "add-spec", spec: m["partition-specs"][0] },
        { action: "set-default-spec", "spec-id": -1 },
        { action: "add-sort-order", "sort-order": m["sort-orders"][0] },
        { action: "set-default-sort-order", "sort-order-id": -1 },
        { action: "set-location", location: m.location },
        { action: "set-properties", updates: { created: "staged" } },
      ],
    });
    expect(commit.status).toBe(200);
    expect(commit.body["metadata-location"]).toMatch(/\/metadata\/00000-/);
    expect(commit.body.metadata["table-uuid"]).toBe(m["table-uuid"]);
    expect(commit.body.metadata.properties).toEqual({ created: "staged" });
    const again = await api("POST", `/v1/namespaces/${ns}/tables/s`, { requirements: [{ type: "assert-create" }], updates: [] });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ type: "CommitFailedException", message: "Requirement failed: table already exists" });
  });

  it("renames a table, keeping its location", async () => {
    const { ns, created } = await makeTable();
    const res = await api("POST", "/v1/tables/rename", { source: { namespace: [ns], name: "t" }, destination: { namespace: [ns], name: "u" } });
    expect(res.status).toBe(204);
    const loaded = await api("GET", `/v1/namespaces/${ns}/tables/u`);
    expect(loaded.body.metadata.location).toBe(created.body.metadata.location);
    expect((await api("HEAD", `/v1/namespaces/${ns}/tables/t`)).status).toBe(404);
    const missing = await api("POST", "/v1/tables/rename", { source: { namespace: [ns], name: "t" }, destination: { namespace: [ns], name: "v" } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.type).toBe("NoSuchTableException");
    await api("POST", `/v1/namespaces/${ns}/tables`, { name: "w", schema: SCHEMA });
    const exists = await api("POST", "/v1/tables/rename", { source: { namespace: [ns], name: "u" }, destination: { namespace: [ns], name: "w" } });
    expect(exists.status).toBe(409);
    // A new table under the old name must not share the renamed table's location.
    const reborn = await api("POST", `/v1/namespaces/${ns}/tables`, { name: "t", schema: SCHEMA });
    expect(reborn.status).toBe(200);
    expect(reborn.body.metadata.location).not.toBe(created.body.metadata.location);
  });

  it("registers an existing metadata file", async () => {
    const { ns, created } = await makeTable();
    await api("DELETE", `/v1/namespaces/${ns}/tables/t`);
    const res = await api("POST", `/v1/namespaces/${ns}/register`, { name: "again", "metadata-location": created.body["metadata-location"] });
    expect(res.status).toBe(200);
    expect(res.body["metadata-location"]).toBe(created.body["metadata-location"]);
    expect(res.body.metadata["table-uuid"]).toBe(created.body.metadata["table-uuid"]);
    const dup = await api("POST", `/v1/namespaces/${ns}/register`, { name: "again", "metadata-location": created.body["metadata-location"] });
    expect(dup.status).toBe(409);
    const outside = await api("POST", `/v1/namespaces/${ns}/register`, { name: "x", "metadata-location": "s3://elsewhere/m.metadata.json" });
    expect(outside.status).toBe(400);
    const absent = await api("POST", `/v1/namespaces/${ns}/register`, { name: "y", "metadata-location": `${created.body.metadata.location}/metadata/nope.metadata.json` });
    expect(absent.status).toBe(400);
  });

  it("purges the table's objects on drop with purgeRequested", async () => {
    const { ns, path, created } = await makeTable();
    const prefix = `warehouse/${ns}/t/`;
    await env.LAKEHOUSE_BUCKET.put(`${prefix}data/file.parquet`, "x");
    expect((await env.LAKEHOUSE_BUCKET.list({ prefix })).objects.length).toBe(2);
    expect((await api("DELETE", `${path}?purgeRequested=true`)).status).toBe(204);
    expect((await env.LAKEHOUSE_BUCKET.list({ prefix })).objects.length).toBe(0);
    expect(created.status).toBe(200);
  });

  it("keeps the objects on a plain drop", async () => {
    const { ns, path } = await makeTable();
    expect((await api("DELETE", path)).status).toBe(204);
    expect((await env.LAKEHOUSE_BUCKET.list({ prefix: `warehouse/${ns}/t/` })).objects.length).toBe(1);
  });

  it("accepts metrics reports with 204", async () => {
    const { path } = await makeTable();
    expect((await api("POST", `${path}/metrics`, { "report-type": "scan-report", "table-name": "t" })).status).toBe(204);
    expect((await api("POST", `${path}x/metrics`, { "report-type": "scan-report" })).status).toBe(404);
  });

  it("serves snapshots=refs and refuses other values", async () => {
    const { path } = await makeTable();
    expect((await api("GET", `${path}?snapshots=refs`)).status).toBe(200);
    expect((await api("GET", `${path}?snapshots=some`)).status).toBe(400);
  });

  it("unregisters a table, keeping its files, and vends per-table credentials", async () => {
    const { ns, path, created } = await makeTable();
    const creds = await api("GET", `${path}/credentials`);
    expect(creds.status).toBe(200);
    expect(creds.body["storage-credentials"]).toEqual([{ prefix: created.body.metadata.location, config: expect.objectContaining({ "s3.region": "auto" }) }]);
    const res = await api("POST", `${path}/unregister`);
    expect(res.status).toBe(200);
    expect(res.body["metadata-location"]).toBe(created.body["metadata-location"]);
    expect((await api("HEAD", path)).status).toBe(404);
    expect((await env.LAKEHOUSE_BUCKET.list({ prefix: `warehouse/${ns}/t/` })).objects.length).toBe(1);
    expect((await api("POST", `${path}/unregister`)).status).toBe(404);
  });
});
