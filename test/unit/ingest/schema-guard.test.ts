// The guard's fast paths must decide exactly as the writer does: inferType and jsonToValue over the
// value as JSON. Checked over every kind of value against every column type.
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RowSchema, ValueSchema, type Value } from "../../../gen/dolake/cdc/v1/value_pb.js";
import { forEachColumn, type SkimValue } from "../../../src/protocol/skim.js";
import { evolveSchema, inferType, jsonRowToIceberg, SchemaConflictError } from "../../../src/iceberg/schema-infer.js";
import { checkKnownColumn, valueType } from "../../../src/ingest/schema-guard.js";
import { valueFromJson, valueToJson } from "../../../src/protocol/json-value.js";

const samples: Value[] = [
  ...[null, true, false, 0, 1, -7, 2 ** 40, 1.5, -0.25, 1e300, 9007199254740993n, 2n ** 70n, "", "x", "2024-01-02T03:04:05Z", "2024-01-02", { a: 1 }, [1, "b"]].map((v) =>
    valueFromJson(v),
  ),
  create(ValueSchema, { kind: { case: "doubleValue", value: 2 } }), // a binary producer's 2.0
  create(ValueSchema, { kind: { case: "numberText", value: "0.12345678901234567890" } }),
  create(ValueSchema, {}),
];
const types = ["string", "long", "int", "double", "float", "boolean", "timestamptz", "timestamp", "date", "decimal(10,2)", "uuid"];

/** What the writer does with a row {c: v} for a table whose column c has `type`: the evolved type, or null if refused. */
function writerAccepts(type: string, v: Value): string | null {
  const row = { c: valueToJson(v) };
  const schema = { type: "struct" as const, "schema-id": 0, fields: [{ id: 1, name: "c", required: false, type }] };
  try {
    const evolved = evolveSchema(schema, 1, 1, [row]);
    jsonRowToIceberg(evolved.schema, row);
    return evolved.schema.fields[0]!.type as string;
  } catch (e) {
    if (e instanceof SchemaConflictError) return null;
    throw e;
  }
}

/** The value as the skim reader sees it in a binary frame's row image. */
function skimmed(v: Value): SkimValue {
  let out: SkimValue | undefined;
  forEachColumn(toBinary(RowSchema, create(RowSchema, { fields: { c: v } })), 0, (_c, k) => (out = k));
  return out!;
}

function guardAccepts(type: string, v: Value, skim = false): string | null {
  try {
    return checkKnownColumn("c", type, skim ? skimmed(v) : v.kind, false);
  } catch (e) {
    if (e instanceof SchemaConflictError) return null;
    throw e;
  }
}

describe("schema guard fast paths", () => {
  it.each(samples.map((v, i) => [i, v] as const))("value %i: inferred type equals the writer's", (_i, v) => {
    for (const detect of [false, true]) {
      expect(valueType(v.kind, detect)).toBe(inferType(valueToJson(v), { detectTimestamps: detect }));
      expect(valueType(skimmed(v), detect)).toBe(inferType(valueToJson(v), { detectTimestamps: detect }));
    }
  });
  it.each(types)("column %s: accepts (and widens) exactly as the writer does", (type) => {
    for (const v of samples) {
      expect([type, valueToJson(v), guardAccepts(type, v)]).toEqual([type, valueToJson(v), writerAccepts(type, v)]);
      expect([type, valueToJson(v), guardAccepts(type, v, true)]).toEqual([type, valueToJson(v), writerAccepts(type, v)]);
    }
  });
});
