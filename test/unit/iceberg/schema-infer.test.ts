// Schema inference from JSON row images and evolution rules.
import { describe, expect, it } from "vitest";
import { evolveSchema, inferType, jsonToValue, parseIsoMicros, SchemaConflictError } from "../../../src/iceberg/schema-infer.js";
import type { Schema } from "../../../src/iceberg/metadata/types.js";
import { JsonNumber, parseJson, type JsonObject } from "../../../src/util/json.js";

describe("inferType", () => {
  it("maps JSON values to Iceberg types", () => {
    expect(inferType(1)).toBe("long");
    expect(inferType(2n ** 60n)).toBe("long");
    expect(inferType(1.5)).toBe("double");
    expect(inferType(new JsonNumber("1.00000000000000000001"))).toBe("double");
    expect(inferType(true)).toBe("boolean");
    expect(inferType("x")).toBe("string");
    expect(inferType({ a: 1 })).toBe("string");
    expect(inferType([1])).toBe("string");
    expect(inferType(null)).toBeNull();
    expect(inferType("2024-01-02T03:04:05.123456Z")).toBe("string");
    expect(inferType("2024-01-02T03:04:05.123456Z", { detectTimestamps: true })).toBe("timestamptz");
  });
});

describe("evolveSchema", () => {
  const base: Schema = { type: "struct", "schema-id": 0, fields: [{ id: 1, name: "id", required: false, type: "long" }, { id: 2, name: "f", required: false, type: "float" }, { id: 3, name: "i", required: false, type: "int" }] };

  it("adds new columns with fresh ids in first-seen order and widens long+double in a batch", () => {
    const rows = [{ id: 1, b: null, c: 1 }, { id: 2, b: "x", c: 2.5 }] as JsonObject[];
    const e = evolveSchema(base, 3, 1, rows);
    expect(e.changed).toBe(true);
    expect(e.schema["schema-id"]).toBe(1);
    expect(e.lastColumnId).toBe(5);
    expect(e.schema.fields.slice(3)).toEqual([{ id: 4, name: "c", required: false, type: "double" }, { id: 5, name: "b", required: false, type: "string" }]);
  });

  it("widens int->long and float->double only", () => {
    expect(evolveSchema(base, 3, 1, [{ i: 5 }]).changed).toBe(false);
    const e = evolveSchema(base, 3, 1, [{ i: 2 ** 40, f: 0.1 }]);
    expect(e.schema.fields.map((f) => f.type)).toEqual(["long", "double", "long"]);
  });

  it("refuses incompatible changes naming the column, leaving the input untouched", () => {
    const copy = structuredClone(base);
    const err = (() => { try { evolveSchema(base, 3, 1, [{ i: 2 ** 40, id: "text" }]); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(SchemaConflictError);
    expect((err as SchemaConflictError).column).toBe("id");
    expect((err as SchemaConflictError).message).toMatch(/"id" is long and cannot take a string/);
    expect(base).toEqual(copy);
    expect(() => evolveSchema(base, 3, 1, [{ id: 1.5 }])).toThrow(SchemaConflictError);
  });

  it("keeps a schema unchanged when rows fit", () => {
    const e = evolveSchema(base, 3, 1, [{ id: 1, f: 2 }]);
    expect(e).toEqual({ schema: base, lastColumnId: 3, changed: false });
  });
});

describe("jsonToValue", () => {
  it("converts exactly", () => {
    const row = parseJson('{"id": 9223372036854775807, "n": 3}') as JsonObject;
    expect(jsonToValue("id", "long", row.id!)).toBe(9223372036854775807n);
    expect(jsonToValue("n", "long", row.n!)).toBe(3n);
    expect(jsonToValue("j", "string", { a: [1, 2n ** 62n] })).toBe('{"a":[1,4611686018427387904]}');
    expect(jsonToValue("t", "timestamptz", "2017-11-16T14:31:08.000001-08:00")).toBe(1510871468000001n);
    expect(jsonToValue("d", "date", "2017-11-16")).toBe(17486);
    expect(() => jsonToValue("b", "boolean", 1)).toThrow(SchemaConflictError);
  });
  it("parses ISO instants to micros", () => {
    expect(parseIsoMicros("1970-01-01T00:00:00Z")).toBe(0n);
    expect(parseIsoMicros("1969-12-31T23:59:59.999999Z")).toBe(-1n);
    expect(parseIsoMicros("not a time")).toBeNull();
  });
});
