import { describe, expect, it } from "vitest";
import { assignFreshIds, newTableMetadata } from "../../../src/iceberg/metadata/new-table.js";
import { freshTable } from "./fixtures.js";

describe("newTableMetadata", () => {
  it("creates v2 metadata with fresh ids and the spec's defaults", () => {
    const m = freshTable();
    expect(m["format-version"]).toBe(2);
    expect(m["last-column-id"]).toBe(3);
    expect(m["current-schema-id"]).toBe(0);
    expect(m["partition-specs"]).toEqual([{ "spec-id": 0, fields: [{ "source-id": 3, "field-id": 1000, name: "ts_day", transform: "day" }] }]);
    expect(m["last-partition-id"]).toBe(1000);
    expect(m["sort-orders"]).toEqual([{ "order-id": 0, fields: [] }]);
    expect(m["default-sort-order-id"]).toBe(0);
    expect(m["last-sequence-number"]).toBe(0n);
    expect(m.refs).toEqual({});
    expect(m["current-snapshot-id"]).toBeUndefined();
  });

  it("reassigns client ids breadth-first and remaps spec, sort order and identifier fields", () => {
    const m = newTableMetadata({
      schema: {
        type: "struct",
        "identifier-field-ids": [10],
        fields: [
          { id: 10, name: "id", required: true, type: "long" },
          {
            id: 20,
            name: "point",
            required: false,
            type: { type: "struct", fields: [{ id: 21, name: "x", required: true, type: "double" }] },
          },
          { id: 30, name: "tags", required: false, type: { type: "list", "element-id": 31, element: "string", "element-required": false } },
          {
            id: 40,
            name: "attrs",
            required: false,
            type: { type: "map", "key-id": 41, key: "string", "value-id": 42, value: "string", "value-required": false },
          },
        ],
      },
      partitionSpec: { fields: [{ "source-id": 10, transform: "bucket[16]", name: "id_bucket", "field-id": 5 }] },
      sortOrder: { fields: [{ "source-id": 10, transform: "identity", direction: "asc", "null-order": "nulls-first" }] },
      location: "s3://b/wh/ns/t/",
      properties: { "format-version": "2", owner: "me" },
      now: 1n,
    });
    const schema = m.schemas[0]!;
    expect(schema.fields.map((f) => f.id)).toEqual([1, 2, 3, 4]);
    expect(schema.fields[1]!.type).toMatchObject({ fields: [{ id: 5, name: "x" }] });
    expect(schema.fields[2]!.type).toMatchObject({ "element-id": 6 });
    expect(schema.fields[3]!.type).toMatchObject({ "key-id": 7, "value-id": 8 });
    expect(schema["identifier-field-ids"]).toEqual([1]);
    expect(m["last-column-id"]).toBe(8);
    expect(m["partition-specs"][0]!.fields[0]).toEqual({ "source-id": 1, "field-id": 1000, name: "id_bucket", transform: "bucket[16]" });
    expect(m["sort-orders"]).toEqual([{ "order-id": 1, fields: [{ "source-id": 1, transform: "identity", direction: "asc", "null-order": "nulls-first" }] }]);
    expect(m["default-sort-order-id"]).toBe(1);
    expect(m.location).toBe("s3://b/wh/ns/t");
    expect(m.properties).toEqual({ owner: "me" });
  });

  it("honours a format-version property and starts v3 row lineage", () => {
    const m = newTableMetadata({ schema: { type: "struct", fields: [] }, location: "s3://b/t", properties: { "format-version": "3" }, now: 1n });
    expect(m["format-version"]).toBe(3);
    expect(m["next-row-id"]).toBe(0n);
    expect(m["last-partition-id"]).toBe(999);
  });

  it("rejects a partition field on an unknown column", () => {
    expect(() =>
      newTableMetadata({ schema: { type: "struct", fields: [] }, partitionSpec: { fields: [{ "source-id": 9, transform: "identity", name: "x" }] }, location: "s3://b/t", now: 1n }),
    ).toThrow(/Cannot find source column/);
  });

  it("maps old ids to new ids", () => {
    const { idMap, lastColumnId } = assignFreshIds({ type: "struct", fields: [{ id: 7, name: "a", required: true, type: "int" }] });
    expect(idMap.get(7)).toBe(1);
    expect(lastColumnId).toBe(1);
  });
});
