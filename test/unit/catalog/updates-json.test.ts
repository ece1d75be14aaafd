import { describe, expect, it } from "vitest";
import { tableRequirementFromJson, tableUpdateFromJson, tableUpdatesFromJson } from "../../../src/iceberg/metadata/updates-json.js";
import { BadRequestError } from "../../../src/iceberg/metadata/errors.js";
import { parseJson } from "../../../src/util/json.js";

describe("REST update/requirement JSON", () => {
  it("reads 64-bit ids as bigint, big or small", () => {
    const body = parseJson(
      '[{"action":"add-snapshot","snapshot":{"snapshot-id":9007199254740993,"parent-snapshot-id":5,"sequence-number":2,"timestamp-ms":1,"manifest-list":"m","summary":{"operation":"append"}}},' +
        '{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":9007199254740993},{"action":"remove-snapshots","snapshot-ids":[1,2]}]',
    );
    const [add, ref, remove] = tableUpdatesFromJson(body);
    expect(add).toMatchObject({ action: "add-snapshot", snapshot: { "snapshot-id": 9007199254740993n, "parent-snapshot-id": 5n, "sequence-number": 2n, "timestamp-ms": 1n } });
    expect(ref).toEqual({ action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": 9007199254740993n });
    expect(remove).toEqual({ action: "remove-snapshots", "snapshot-ids": [1n, 2n] });
  });

  it("reads assert-ref-snapshot-id with null", () => {
    expect(tableRequirementFromJson({ type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": null })).toEqual({ type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": null });
    expect(() => tableRequirementFromJson({ type: "assert-ref-snapshot-id", ref: "main" })).toThrow(BadRequestError);
  });

  it("rejects unknown actions and types, and bad shapes", () => {
    expect(() => tableUpdateFromJson({ action: "frobnicate" })).toThrow("Cannot apply unknown update action: frobnicate");
    expect(() => tableRequirementFromJson({ type: "assert-nothing" })).toThrow("Unknown requirement type: assert-nothing");
    expect(() => tableUpdateFromJson({ action: "set-properties", updates: { a: 1 } })).toThrow(BadRequestError);
    expect(() => tableUpdateFromJson({ action: "set-current-schema", "schema-id": "x" })).toThrow(BadRequestError);
  });
});
