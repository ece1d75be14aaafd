// The commit protocol and table lifecycle logic, run in Node over node:sqlite and a Map bucket.
import { describe, expect, it } from "vitest";
import { applyPreparedCommit, commitTables, ConcurrentCommitError, loadTable, prepareCommit } from "../../../src/catalog/commit.js";
import { depsOf } from "../../../src/catalog/deps.js";
import { createTable, createTableIfMissing, dropTable, renameTable } from "../../../src/catalog/tables.js";
import { ensureNamespace } from "../../../src/catalog/namespaces.js";
import { MAX_CACHED_METADATA_BYTES } from "../../../src/catalog/store.js";
import { CommitFailedError } from "../../../src/iceberg/metadata/errors.js";
import { memoryBucket, nodeCatalog } from "./harness.js";

const SCHEMA = { type: "struct" as const, fields: [{ id: 1, name: "id", required: true, type: "long" }] };

function setup() {
  const ctx = nodeCatalog();
  const deps = depsOf(ctx);
  const bucket = ctx.bucket as ReturnType<typeof memoryBucket>;
  return { ctx, deps, bucket };
}

describe("commit protocol", () => {
  it("names metadata files by version and records the previous one in the metadata log", async () => {
    const { deps } = setup();
    ensureNamespace(deps, ["db"]);
    const ident = { namespace: ["db"], name: "t" };
    const created = await createTable(deps, ident, { schema: SCHEMA });
    expect(created.metadataLocation).toMatch(/^s3:\/\/dolake-warehouse\/warehouse\/db\/t\/metadata\/00000-[0-9a-f-]{36}\.metadata\.json$/);
    const [next] = await commitTables(deps, [{ ident, requirements: [], updates: [{ action: "set-properties", updates: { a: "1" } }] }]);
    expect(next!.metadataLocation).toMatch(/\/00001-/);
    expect(next!.metadata["metadata-log"].map((e) => e["metadata-file"])).toEqual([created.metadataLocation]);
  });

  it("applies only on the pointer it was prepared from", async () => {
    const { deps } = setup();
    const ident = { namespace: ["db"], name: "t" };
    await createTableIfMissing(deps, ident, { schema: SCHEMA });
    const a = await prepareCommit(deps, ident, [], [{ action: "set-properties", updates: { w: "a" } }]);
    const b = await prepareCommit(deps, ident, [], [{ action: "set-properties", updates: { w: "b" } }]);
    deps.store.transaction(() => applyPreparedCommit(deps, a));
    expect(() => deps.store.transaction(() => applyPreparedCommit(deps, b))).toThrow(ConcurrentCommitError);
    expect((await loadTable(deps, ident))?.metadata.properties).toEqual({ w: "a" });
  });

  it("a no-op commit writes no file but still insists on its base", async () => {
    const { deps, bucket } = setup();
    const ident = { namespace: ["db"], name: "t" };
    await createTableIfMissing(deps, ident, { schema: SCHEMA });
    const before = bucket.objects.size;
    const noop = await prepareCommit(deps, ident, [], []);
    expect(noop.changed).toBe(false);
    expect(bucket.objects.size).toBe(before);
    const moved = await prepareCommit(deps, ident, [], [{ action: "set-properties", updates: { x: "1" } }]);
    deps.store.transaction(() => applyPreparedCommit(deps, moved));
    expect(() => applyPreparedCommit(deps, noop)).toThrow(ConcurrentCommitError);
  });

  it("retries a lost race server-side and re-checks requirements", async () => {
    const { deps } = setup();
    const ident = { namespace: ["db"], name: "t" };
    await createTableIfMissing(deps, ident, { schema: SCHEMA });
    // Two commits interleave at the R2 write; both land because neither has conflicting requirements.
    const results = await Promise.all([0, 1, 2].map((i) => commitTables(deps, [{ ident, requirements: [], updates: [{ action: "set-properties", updates: { [`k${i}`]: "v" } }] }])));
    expect(results).toHaveLength(3);
    expect(Object.keys((await loadTable(deps, ident))!.metadata.properties).sort()).toEqual(["k0", "k1", "k2"]);
  });

  it("leaves no orphan metadata file behind a failed multi-table commit", async () => {
    const { deps, bucket } = setup();
    ensureNamespace(deps, ["db"]);
    await createTable(deps, { namespace: ["db"], name: "a" }, { schema: SCHEMA });
    await createTable(deps, { namespace: ["db"], name: "b" }, { schema: SCHEMA });
    const before = [...bucket.objects.keys()].sort();
    await expect(
      commitTables(deps, [
        { ident: { namespace: ["db"], name: "a" }, requirements: [], updates: [{ action: "set-properties", updates: { x: "1" } }] },
        { ident: { namespace: ["db"], name: "b" }, requirements: [{ type: "assert-default-spec-id", "default-spec-id": 7 }], updates: [] },
      ]),
    ).rejects.toBeInstanceOf(CommitFailedError);
    expect([...bucket.objects.keys()].sort()).toEqual(before);
  });

  it("hands out frozen metadata so the shared cache cannot be corrupted", async () => {
    const { deps } = setup();
    const ident = { namespace: ["db"], name: "t" };
    const table = await createTableIfMissing(deps, ident, { schema: SCHEMA });
    expect(() => (table.metadata.properties as Record<string, string>).x = "1").toThrow(TypeError);
  });

  it("keeps big metadata out of the SQLite row and reads it from R2", async () => {
    const { deps } = setup();
    const ident = { namespace: ["db"], name: "t" };
    await createTableIfMissing(deps, ident, { schema: SCHEMA });
    const big = "x".repeat(MAX_CACHED_METADATA_BYTES);
    const [p] = await commitTables(deps, [{ ident, requirements: [], updates: [{ action: "set-properties", updates: { big } }] }]);
    expect(deps.store.getTable(ident)?.metadataJson).toBeNull();
    expect((await loadTable(deps, ident))?.metadataLocation).toBe(p!.metadataLocation);
  });
});

describe("table lifecycle", () => {
  it("creates namespace levels and the table once, whoever asks first", async () => {
    const { deps } = setup();
    const ident = { namespace: ["src", "public"], name: "users" };
    const [x, y] = await Promise.all([createTableIfMissing(deps, ident, { schema: SCHEMA }), createTableIfMissing(deps, ident, { schema: SCHEMA })]);
    expect([x!.created, y!.created].sort()).toEqual([false, true]);
    expect(x!.metadataLocation).toBe(y!.metadataLocation);
    expect(deps.store.getNamespace(["src"])).toEqual({});
  });

  it("gives a new table a fresh location when a renamed one still holds the default", async () => {
    const { deps } = setup();
    ensureNamespace(deps, ["db"]);
    const first = await createTable(deps, { namespace: ["db"], name: "t" }, { schema: SCHEMA });
    renameTable(deps, { namespace: ["db"], name: "t" }, { namespace: ["db"], name: "old" });
    const second = await createTable(deps, { namespace: ["db"], name: "t" }, { schema: SCHEMA });
    expect(second.metadata.location).toMatch(new RegExp(`^${first.metadata.location}-[0-9a-f]{32}$`));
    await expect(createTable(deps, { namespace: ["db"], name: "u" }, { schema: SCHEMA, location: first.metadata.location })).rejects.toThrow(/overlaps/);
  });

  it("purges only what no other table shares", async () => {
    const { deps, bucket } = setup();
    ensureNamespace(deps, ["db"]);
    const t = await createTable(deps, { namespace: ["db"], name: "t" }, { schema: SCHEMA });
    await bucket.put("warehouse/db/t/data/a.parquet", "x");
    await bucket.put("warehouse/db/t2/data/b.parquet", "y"); // a sibling whose name shares the prefix "t"
    await dropTable(deps, { namespace: ["db"], name: "t" }, true);
    expect([...bucket.objects.keys()].filter((k) => k.startsWith("warehouse/db/t/"))).toEqual([]);
    expect(bucket.objects.has("warehouse/db/t2/data/b.parquet")).toBe(true);
    expect(t.metadata.location).toBe("s3://dolake-warehouse/warehouse/db/t");
  });
});
