import { describe, expect, it } from "vitest";
import { api, appendUpdates, makeTable, uniqueName } from "./helpers.js";

const BIG = 9_007_199_254_740_993n; // 2^53 + 1: would round as a JS number

describe("catalog commits", () => {
  it("appends a snapshot with an id above 2^53 exactly and moves main", async () => {
    const { path, created } = await makeTable();
    const m = created.body.metadata;
    const res = await api("POST", path, {
      requirements: [
        { type: "assert-table-uuid", uuid: m["table-uuid"] },
        { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": null },
      ],
      updates: appendUpdates(BIG, 1n, undefined, m.location),
    });
    expect(res.status).toBe(200);
    expect(res.body["metadata-location"]).toMatch(/\/metadata\/00001-/);
    expect(res.body.metadata["current-snapshot-id"]).toBe(BIG);
    expect(res.body.metadata.refs.main).toEqual({ "snapshot-id": BIG, type: "branch" });
    expect(res.body.metadata["last-sequence-number"]).toBe(1);
    expect(res.body.metadata["metadata-log"]).toEqual([{ "metadata-file": created.body["metadata-location"], "timestamp-ms": m["last-updated-ms"] }]);
    const loaded = await api("GET", path);
    expect(loaded.body.metadata.snapshots[0]["snapshot-id"]).toBe(BIG);
    expect(loaded.body["metadata-location"]).toBe(res.body["metadata-location"]);
  });

  it("answers 409 CommitFailedException with the Java wording when main moved", async () => {
    const { path, created } = await makeTable();
    await api("POST", path, { requirements: [], updates: appendUpdates(1n, 1n) });
    await api("POST", path, { requirements: [], updates: appendUpdates(2n, 2n, 1n) });
    const stale = await api("POST", path, {
      requirements: [{ type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": 1 }],
      updates: appendUpdates(3n, 2n, 1n),
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toEqual({ error: { message: "Requirement failed: branch main has changed: expected id 1 != 2", type: "CommitFailedException", code: 409 } });
    const loaded = await api("GET", path);
    expect(loaded.body.metadata.snapshots).toHaveLength(2);
    expect(created.status).toBe(200);
  });

  it.each([
    [{ type: "assert-table-uuid", uuid: "00000000-0000-0000-0000-000000000000" }, /^Requirement failed: UUID does not match/],
    [{ type: "assert-current-schema-id", "current-schema-id": 4 }, /^Requirement failed: current schema changed: expected id 4 != 0$/],
    [{ type: "assert-last-assigned-field-id", "last-assigned-field-id": 1 }, /^Requirement failed: last assigned field id changed: expected id 1 != 3$/],
    [{ type: "assert-last-assigned-partition-id", "last-assigned-partition-id": 1 }, /last assigned partition id changed: expected id 1 != 1000/],
    [{ type: "assert-default-spec-id", "default-spec-id": 3 }, /default partition spec changed: expected id 3 != 0/],
    [{ type: "assert-default-sort-order-id", "default-sort-order-id": 3 }, /default sort order changed: expected id 3 != 0/],
    [{ type: "assert-ref-snapshot-id", ref: "dev", "snapshot-id": 5 }, /branch or tag dev is missing, expected 5/],
    [{ type: "assert-create" }, /table already exists/],
  ])("fails requirement %j with 409", async (requirement, message) => {
    const { path } = await makeTable();
    const res = await api("POST", path, { requirements: [requirement], updates: [{ action: "set-properties", updates: { x: "1" } }] });
    expect(res.status).toBe(409);
    expect(res.body.error.type).toBe("CommitFailedException");
    expect(res.body.error.message).toMatch(message);
    expect((await api("GET", path)).body.metadata.properties).toEqual({});
  });

  it("applies schema evolution, specs, sort orders, properties and refs", async () => {
    const { path, created } = await makeTable();
    const schema = created.body.metadata.schemas[0];
    const res = await api("POST", path, {
      requirements: [{ type: "assert-current-schema-id", "current-schema-id": 0 }, { type: "assert-last-assigned-field-id", "last-assigned-field-id": 3 }],
      updates: [
        { action: "add-schema", schema: { ...schema, "schema-id": 1, fields: [...schema.fields, { id: 4, name: "n", required: false, type: "int" }] } },
        { action: "set-current-schema", "schema-id": -1 },
        { action: "add-spec", spec: { fields: [{ "source-id": 1, name: "id_bucket", transform: "bucket[8]" }] } },
        { action: "set-default-spec", "spec-id": -1 },
        { action: "add-sort-order", "sort-order": { "order-id": 1, fields: [{ "source-id": 1, transform: "identity", direction: "asc", "null-order": "nulls-first" }] } },
        { action: "set-default-sort-order", "sort-order-id": -1 },
        { action: "set-properties", updates: { "write.format.default": "parquet" } },
        ...appendUpdates(7n, 1n),
        { action: "set-snapshot-ref", "ref-name": "v1", type: "tag", "snapshot-id": 7 },
      ],
    });
    expect(res.status).toBe(200);
    const m = res.body.metadata;
    expect(m["current-schema-id"]).toBe(1);
    expect(m["last-column-id"]).toBe(4);
    expect(m["default-spec-id"]).toBe(1);
    expect(m["last-partition-id"]).toBe(1001);
    expect(m["default-sort-order-id"]).toBe(1);
    expect(m.refs.v1).toEqual({ "snapshot-id": 7, type: "tag" });
    expect(m.properties).toEqual({ "write.format.default": "parquet" });
  });

  it("refuses an unknown update action with 400 and changes nothing", async () => {
    const { path } = await makeTable();
    const res = await api("POST", path, { requirements: [], updates: [{ action: "set-properties", updates: { a: "1" } }, { action: "make-it-fast" }] });
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ message: "Cannot apply unknown update action: make-it-fast", type: "BadRequestException", code: 400 });
    expect((await api("GET", path)).body.metadata.properties).toEqual({});
  });

  it("keeps the managed location for a set-location outside the warehouse, refuses an invalid one inside and a mismatched identifier", async () => {
    const { ns, path, created } = await makeTable();
    const res = await api("POST", path, { requirements: [], updates: [{ action: "set-location", location: "s3://dolake-warehouse/elsewhere" }] });
    expect(res.status).toBe(200);
    expect(res.body.metadata.location).toBe(created.body.metadata.location);
    const replaced = await api("POST", path, { requirements: [], updates: [{ action: "set-location", location: "file:/tmp/ns/t" }] });
    expect(replaced.body.metadata.location).toBe(created.body.metadata.location);
    const moved = await api("POST", path, { requirements: [], updates: [{ action: "set-location", location: `s3://dolake-warehouse/warehouse/${ns}/moved` }] });
    expect(moved.body.metadata.location).toBe(`s3://dolake-warehouse/warehouse/${ns}/moved`);
    const invalid = await api("POST", path, { requirements: [], updates: [{ action: "set-location", location: "s3://dolake-warehouse/warehouse/../x" }] });
    expect(invalid.status).toBe(400);
    const wrong = await api("POST", path, { identifier: { namespace: [ns], name: "other" }, requirements: [], updates: [] });
    expect(wrong.status).toBe(400);
  });

  it("answers 404 for a commit to a missing table", async () => {
    const res = await api("POST", `/v1/namespaces/${uniqueName()}/tables/none`, { requirements: [], updates: [] });
    expect(res.status).toBe(404);
    expect(res.body.error.type).toBe("NoSuchTableException");
  });

  it("commits a multi-table transaction atomically: all or none", async () => {
    const a = await makeTable(uniqueName(), "a");
    const b = await makeTable(a.ns, "b");
    const ok = await api("POST", "/v1/transactions/commit", {
      "table-changes": [
        { identifier: { namespace: [a.ns], name: "a" }, requirements: [], updates: [{ action: "set-properties", updates: { tx: "1" } }] },
        { identifier: { namespace: [a.ns], name: "b" }, requirements: [], updates: [{ action: "set-properties", updates: { tx: "1" } }] },
      ],
    });
    expect(ok.status).toBe(204);
    const failed = await api("POST", "/v1/transactions/commit", {
      "table-changes": [
        { identifier: { namespace: [a.ns], name: "a" }, requirements: [], updates: [{ action: "set-properties", updates: { tx: "2" } }] },
        { identifier: { namespace: [a.ns], name: "b" }, requirements: [{ type: "assert-current-schema-id", "current-schema-id": 9 }], updates: [] },
      ],
    });
    expect(failed.status).toBe(409);
    expect((await api("GET", a.path)).body.metadata.properties).toEqual({ tx: "1" });
    expect((await api("GET", b.path)).body.metadata.properties).toEqual({ tx: "1" });
    const dup = await api("POST", "/v1/transactions/commit", {
      "table-changes": [
        { identifier: { namespace: [a.ns], name: "a" }, requirements: [], updates: [] },
        { identifier: { namespace: [a.ns], name: "a" }, requirements: [], updates: [] },
      ],
    });
    expect(dup.status).toBe(400);
  });

  it("serializes concurrent commits: each lands once, none is lost", async () => {
    const { path } = await makeTable();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => api("POST", path, { requirements: [], updates: [{ action: "set-properties", updates: { [`k${i}`]: String(i) } }] })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const props = (await api("GET", path)).body.metadata.properties;
    expect(Object.keys(props).sort()).toEqual(["k0", "k1", "k2", "k3", "k4"]);
  });
});
