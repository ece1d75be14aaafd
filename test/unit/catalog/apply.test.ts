import { describe, expect, it } from "vitest";
import { applyUpdates } from "../../../src/iceberg/metadata/apply.js";
import { BadRequestError } from "../../../src/iceberg/metadata/errors.js";
import type { TableMetadata, TableUpdate } from "../../../src/iceberg/metadata/types.js";
import { BIG_ID, freshTable, snapshot } from "./fixtures.js";

const NOW = 1_700_000_500_000n;
const apply = (base: TableMetadata, ...updates: TableUpdate[]) => applyUpdates(base, updates, NOW);
const setMain = (id: bigint): TableUpdate => ({ action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": id });

describe("applyUpdates: snapshots and refs", () => {
  it("appends a snapshot and moves main, the log, sequence number and last-updated-ms", () => {
    const base = freshTable();
    const m = apply(base, { action: "add-snapshot", snapshot: snapshot(BIG_ID, 1n) }, setMain(BIG_ID));
    expect(m["current-snapshot-id"]).toBe(BIG_ID);
    expect(m.refs.main).toEqual({ "snapshot-id": BIG_ID, type: "branch" });
    expect(m["last-sequence-number"]).toBe(1n);
    expect(m["last-updated-ms"]).toBe(1_700_000_100_000n);
    expect(m["snapshot-log"]).toEqual([{ "timestamp-ms": 1_700_000_100_000n, "snapshot-id": BIG_ID }]);
    expect(base.snapshots).toEqual([]);
  });

  it("keeps only the last of several snapshots in one commit in the snapshot log", () => {
    const m = apply(freshTable(), { action: "add-snapshot", snapshot: snapshot(1n, 1n) }, setMain(1n), { action: "add-snapshot", snapshot: snapshot(2n, 2n, 1n) }, setMain(2n));
    expect(m["snapshot-log"].map((e) => e["snapshot-id"])).toEqual([2n]);
    expect(m["last-sequence-number"]).toBe(2n);
  });

  it("refuses a duplicate snapshot id and an old sequence number", () => {
    const m = apply(freshTable(), { action: "add-snapshot", snapshot: snapshot(1n, 1n) }, setMain(1n));
    expect(() => apply(m, { action: "add-snapshot", snapshot: snapshot(1n, 2n, 1n) })).toThrow("Snapshot already exists for id: 1");
    expect(() => apply(m, { action: "add-snapshot", snapshot: snapshot(2n, 1n, 1n) })).toThrow(
      "Cannot add snapshot with sequence number 1 older than last sequence number 1",
    );
  });

  it("refuses a ref to an unknown snapshot and main as a tag", () => {
    expect(() => apply(freshTable(), setMain(5n))).toThrow("Cannot set main to unknown snapshot: 5");
    const m = apply(freshTable(), { action: "add-snapshot", snapshot: snapshot(1n, 1n) });
    expect(() => apply(m, { action: "set-snapshot-ref", "ref-name": "main", type: "tag", "snapshot-id": 1n })).toThrow(BadRequestError);
  });

  it("sets a branch without touching current-snapshot-id, and logs main moves to old snapshots at now", () => {
    let m = apply(freshTable(), { action: "add-snapshot", snapshot: snapshot(1n, 1n) }, setMain(1n), { action: "add-snapshot", snapshot: snapshot(2n, 2n, 1n) }, setMain(2n));
    m = apply(m, { action: "set-snapshot-ref", "ref-name": "dev", type: "branch", "snapshot-id": 1n, "min-snapshots-to-keep": 2 });
    expect(m["current-snapshot-id"]).toBe(2n);
    expect(m.refs.dev).toEqual({ "snapshot-id": 1n, type: "branch", "min-snapshots-to-keep": 2 });
    m = apply(m, setMain(1n));
    expect(m["snapshot-log"].at(-1)).toEqual({ "timestamp-ms": NOW, "snapshot-id": 1n });
    expect(m["last-updated-ms"]).toBe(NOW);
  });

  it("removes snapshots with their refs, statistics and earlier log", () => {
    let m = apply(freshTable(), { action: "add-snapshot", snapshot: snapshot(1n, 1n) }, setMain(1n));
    m = apply(m, { action: "add-snapshot", snapshot: snapshot(2n, 2n, 1n) }, setMain(2n));
    m = apply(
      m,
      { action: "set-snapshot-ref", "ref-name": "old", type: "tag", "snapshot-id": 1n },
      { action: "set-statistics", statistics: { "snapshot-id": 1n, "statistics-path": "s3://b/s.puffin", "file-size-in-bytes": 10n, "file-footer-size-in-bytes": 4n, "blob-metadata": [] } },
    );
    m = apply(m, { action: "remove-snapshots", "snapshot-ids": [1n] });
    expect(m.snapshots.map((s) => s["snapshot-id"])).toEqual([2n]);
    expect(m.refs.old).toBeUndefined();
    expect(m.statistics).toEqual([]);
    expect(m["snapshot-log"].map((e) => e["snapshot-id"])).toEqual([2n]);
  });

  it("removing the main ref clears current-snapshot-id", () => {
    let m = apply(freshTable(), { action: "add-snapshot", snapshot: snapshot(1n, 1n) }, setMain(1n));
    m = apply(m, { action: "remove-snapshot-ref", "ref-name": "main" });
    expect(m["current-snapshot-id"]).toBeUndefined();
    expect(m.refs).toEqual({});
  });
});

describe("applyUpdates: schemas, specs, sort orders", () => {
  const evolved = { type: "struct" as const, "schema-id": 7, fields: [...freshTable().schemas[0]!.fields, { id: 4, name: "extra", required: false, type: "int" }] };

  it("adds a schema with a table-assigned id and sets it current with -1", () => {
    const m = apply(freshTable(), { action: "add-schema", schema: evolved }, { action: "set-current-schema", "schema-id": -1 });
    expect(m.schemas.map((s) => s["schema-id"])).toEqual([0, 1]);
    expect(m["current-schema-id"]).toBe(1);
    expect(m["last-column-id"]).toBe(4);
    expect(m["last-updated-ms"]).toBe(NOW);
  });

  it("reuses an identical schema and rejects unknown ids", () => {
    const m = apply(freshTable(), { action: "add-schema", schema: { ...freshTable().schemas[0]!, "schema-id": 3 } }, { action: "set-current-schema", "schema-id": -1 });
    expect(m.schemas).toHaveLength(1);
    expect(() => apply(freshTable(), { action: "set-current-schema", "schema-id": 9 })).toThrow("Cannot set current schema to unknown schema: 9");
    expect(() => apply(freshTable(), { action: "set-current-schema", "schema-id": -1 })).toThrow("Cannot set last added schema: no schema has been added");
  });

  it("never lowers last-column-id: a dropped highest column keeps its id retired (Java 1.10 sends the schema's highest id)", () => {
    const [first] = freshTable().schemas;
    const withoutLast = { ...first!, fields: first!.fields.filter((f) => f.id !== 3) };
    const m = apply(freshTable(), { action: "add-schema", schema: withoutLast, "last-column-id": 2 }, { action: "set-current-schema", "schema-id": -1 });
    expect(m["current-schema-id"]).toBe(1);
    expect(m["last-column-id"]).toBe(3);
    // An older client's higher value is kept.
    expect(apply(freshTable(), { action: "add-schema", schema: evolved, "last-column-id": 9 })["last-column-id"]).toBe(9);
  });

  it("removes schemas but never the current one", () => {
    const m = apply(freshTable(), { action: "add-schema", schema: evolved }, { action: "set-current-schema", "schema-id": -1 }, { action: "remove-schemas", "schema-ids": [0] });
    expect(m.schemas.map((s) => s["schema-id"])).toEqual([1]);
    expect(() => apply(m, { action: "remove-schemas", "schema-ids": [1] })).toThrow("Cannot remove current schema");
  });

  it("adds a spec, assigning and reusing partition field ids", () => {
    const m = apply(
      freshTable(),
      { action: "add-spec", spec: { "spec-id": 0, fields: [{ "source-id": 3, transform: "day", name: "ts_day" } as never, { "source-id": 1, transform: "bucket[4]", name: "id_b" } as never] } },
      { action: "set-default-spec", "spec-id": -1 },
    );
    expect(m["partition-specs"][1]).toEqual({
      "spec-id": 1,
      fields: [
        { "source-id": 3, "field-id": 1000, name: "ts_day", transform: "day" },
        { "source-id": 1, "field-id": 1001, name: "id_b", transform: "bucket[4]" },
      ],
    });
    expect(m["default-spec-id"]).toBe(1);
    expect(m["last-partition-id"]).toBe(1001);
    expect(() => apply(m, { action: "remove-partition-specs", "spec-ids": [1] })).toThrow("Cannot remove the default partition spec");
    expect(apply(m, { action: "remove-partition-specs", "spec-ids": [0] })["partition-specs"].map((s) => s["spec-id"])).toEqual([1]);
    expect(() => apply(m, { action: "add-spec", spec: { "spec-id": 0, fields: [{ "source-id": 42, "field-id": 1005, transform: "identity", name: "x" }] } })).toThrow(
      /Cannot find source column/,
    );
  });

  it("adds sort orders from id 1, keeps unsorted as 0", () => {
    const field = { "source-id": 1, transform: "identity", direction: "asc" as const, "null-order": "nulls-first" as const };
    const m = apply(freshTable(), { action: "add-sort-order", "sort-order": { "order-id": 5, fields: [field] } }, { action: "set-default-sort-order", "sort-order-id": -1 });
    expect(m["sort-orders"]).toEqual([{ "order-id": 0, fields: [] }, { "order-id": 1, fields: [field] }]);
    expect(m["default-sort-order-id"]).toBe(1);
    expect(apply(m, { action: "add-sort-order", "sort-order": { "order-id": 9, fields: [] } }, { action: "set-default-sort-order", "sort-order-id": -1 })["default-sort-order-id"]).toBe(0);
    expect(() => apply(m, { action: "set-default-sort-order", "sort-order-id": 4 })).toThrow(/unknown sort order: 4/);
  });
});

describe("applyUpdates: table-level updates", () => {
  it("sets and removes properties and location", () => {
    let m = apply(freshTable(), { action: "set-properties", updates: { a: "1", b: "2" } }, { action: "remove-properties", removals: ["a", "zz"] });
    expect(m.properties).toEqual({ b: "2" });
    m = apply(m, { action: "set-location", location: "s3://bucket/wh/ns/t2" });
    expect(m.location).toBe("s3://bucket/wh/ns/t2");
  });

  it("accepts the same uuid and refuses a different one", () => {
    const base = freshTable();
    expect(apply(base, { action: "assign-uuid", uuid: base["table-uuid"] })["table-uuid"]).toBe(base["table-uuid"]);
    expect(() => apply(base, { action: "assign-uuid", uuid: "00000000-0000-0000-0000-000000000000" })).toThrow("Cannot reassign uuid");
  });

  it("upgrades the format version, never downgrades", () => {
    const v3 = apply(freshTable(), { action: "upgrade-format-version", "format-version": 3 });
    expect(v3["format-version"]).toBe(3);
    expect(v3["next-row-id"]).toBe(0n);
    expect(() => apply(v3, { action: "upgrade-format-version", "format-version": 2 })).toThrow("Cannot downgrade v3 table to v2");
    expect(() => apply(v3, { action: "upgrade-format-version", "format-version": 4 })).toThrow(/unsupported format version: v4/);
  });

  it("tracks v3 row lineage", () => {
    const v3 = apply(freshTable(), { action: "upgrade-format-version", "format-version": 3 });
    const s = { ...snapshot(1n, 1n), "first-row-id": 0n, "added-rows": 10n };
    expect(apply(v3, { action: "add-snapshot", snapshot: s })["next-row-id"]).toBe(10n);
    expect(() => apply(v3, { action: "add-snapshot", snapshot: snapshot(1n, 1n) })).toThrow("Cannot add a snapshot: first-row-id is null");
  });

  it("sets and removes statistics, partition statistics and encryption keys", () => {
    const stats = { "snapshot-id": 1n, "statistics-path": "s3://b/a.puffin", "file-size-in-bytes": 1n, "file-footer-size-in-bytes": 1n, "blob-metadata": [] };
    const pstats = { "snapshot-id": 1n, "statistics-path": "s3://b/p.parquet", "file-size-in-bytes": 1n };
    let m = apply(
      freshTable(),
      { action: "set-statistics", statistics: stats },
      { action: "set-statistics", statistics: { ...stats, "statistics-path": "s3://b/b.puffin" } },
      { action: "set-partition-statistics", "partition-statistics": pstats },
      { action: "add-encryption-key", "encryption-key": { "key-id": "k1", "encrypted-key-metadata": "AAAA" } },
    );
    expect(m.statistics?.map((s) => s["statistics-path"])).toEqual(["s3://b/b.puffin"]);
    expect(m["partition-statistics"]).toEqual([pstats]);
    expect(m["encryption-keys"]).toHaveLength(1);
    m = apply(m, { action: "remove-statistics", "snapshot-id": 1n }, { action: "remove-partition-statistics", "snapshot-id": 1n }, { action: "remove-encryption-key", "key-id": "k1" });
    expect(m.statistics).toEqual([]);
    expect(m["partition-statistics"]).toEqual([]);
    expect(m["encryption-keys"]).toEqual([]);
  });

  it("refuses an unknown action instead of ignoring it", () => {
    expect(() => apply(freshTable(), { action: "set-everything" } as unknown as TableUpdate)).toThrow("Cannot apply unknown update action: set-everything");
  });

  it("returns the base itself for no updates", () => {
    const base = freshTable();
    expect(applyUpdates(base, [], NOW)).toBe(base);
  });

  it("appends the previous metadata file to the metadata log, capped by the table property", () => {
    let m = apply(freshTable(), { action: "set-properties", updates: { "write.metadata.previous-versions-max": "2" } });
    for (let i = 1; i <= 3; i++) m = applyUpdates(m, [{ action: "set-properties", updates: { i: String(i) } }], NOW + BigInt(i), `s3://b/t/metadata/0000${i}.metadata.json`);
    expect(m["metadata-log"]).toEqual([
      { "metadata-file": "s3://b/t/metadata/00002.metadata.json", "timestamp-ms": NOW + 1n },
      { "metadata-file": "s3://b/t/metadata/00003.metadata.json", "timestamp-ms": NOW + 2n },
    ]);
  });
});

describe("applyUpdates: a table built from nothing (create transaction)", () => {
  it("gives the first schema, spec and sort order the ids clients expect", async () => {
    const { emptyMetadata } = await import("../../../src/catalog/commit.js");
    const base = emptyMetadata("s3://b/wh/ns/t", [], NOW);
    const schema = { type: "struct" as const, "schema-id": 0, fields: [{ id: 1, name: "a", required: false, type: "int" }] };
    const m = applyUpdates(
      base,
      [
        { action: "add-schema", schema },
        { action: "set-current-schema", "schema-id": 0 },
        { action: "add-spec", spec: { "spec-id": 0, fields: [] } },
        { action: "set-default-spec", "spec-id": 0 },
        { action: "add-sort-order", "sort-order": { "order-id": 0, fields: [] } },
        { action: "set-default-sort-order", "sort-order-id": 0 },
      ],
      NOW,
    );
    expect(m.schemas.map((s) => s["schema-id"])).toEqual([0]);
    expect(m["current-schema-id"]).toBe(0);
    expect(m["partition-specs"]).toEqual([{ "spec-id": 0, fields: [] }]);
    expect(m["sort-orders"]).toEqual([{ "order-id": 0, fields: [] }]);
    expect(m["last-column-id"]).toBe(1);
  });
});
