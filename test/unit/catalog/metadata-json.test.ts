import { describe, expect, it } from "vitest";
import { parseTableMetadata, stringifyTableMetadata } from "../../../src/iceberg/metadata/json.js";
import { BadRequestError } from "../../../src/iceberg/metadata/errors.js";
import { applyUpdates } from "../../../src/iceberg/metadata/apply.js";
import { BIG_ID, freshTable, snapshot } from "./fixtures.js";

describe("metadata.json codec", () => {
  it("round-trips a table with a snapshot id above 2^53 exactly", () => {
    const m = applyUpdates(
      freshTable(),
      [{ action: "add-snapshot", snapshot: snapshot(BIG_ID, 1n) }, { action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": BIG_ID }],
      1_700_000_200_000n,
    );
    const text = stringifyTableMetadata(m);
    expect(text).toContain('"current-snapshot-id":9007199254740993');
    const back = parseTableMetadata(text);
    expect(back).toEqual(m);
    expect(back["current-snapshot-id"]).toBe(BIG_ID);
    expect(back.snapshots[0]?.["sequence-number"]).toBe(1n);
  });

  it("reads small 64-bit values as bigint too", () => {
    const back = parseTableMetadata(stringifyTableMetadata(freshTable()));
    expect(back["last-updated-ms"]).toBe(1_700_000_000_000n);
    expect(back["last-sequence-number"]).toBe(0n);
  });

  it("writes current-snapshot-id -1 for none in v2 and reads -1 as none", () => {
    const text = stringifyTableMetadata(freshTable());
    expect(text).toContain('"current-snapshot-id":-1');
    expect(parseTableMetadata(text)["current-snapshot-id"]).toBeUndefined();
  });

  it("reads a v1 file with a single schema and partition-spec", () => {
    const v1 = {
      "format-version": 1,
      location: "s3://b/t",
      "last-updated-ms": 1,
      "last-column-id": 1,
      schema: { type: "struct", fields: [{ id: 1, name: "x", required: false, type: "int" }] },
      "partition-spec": [{ name: "x", transform: "identity", "source-id": 1 }],
      "current-snapshot-id": -1,
    };
    const m = parseTableMetadata(JSON.stringify(v1));
    expect(m.schemas[0]?.["schema-id"]).toBe(0);
    expect(m["partition-specs"][0]?.fields[0]?.["field-id"]).toBe(1000);
    expect(m["last-partition-id"]).toBe(1000);
    expect(m["sort-orders"]).toEqual([{ "order-id": 0, fields: [] }]);
    expect(stringifyTableMetadata(m)).toContain('"partition-spec":[');
  });

  it("rejects metadata without a location", () => {
    expect(() => parseTableMetadata('{"format-version":2,"last-updated-ms":1,"last-column-id":0,"schemas":[]}')).toThrow(BadRequestError);
  });

  it("rejects an unsupported format version", () => {
    expect(() => parseTableMetadata('{"format-version":4}')).toThrow(/format-version/);
  });
});
