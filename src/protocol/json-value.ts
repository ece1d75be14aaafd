/**
 * Row images between their wire form (Row / Value messages) and plain JSON values.
 * Integral numbers in the int64 range travel as int_value and come back as `number` when
 * safe, `bigint` beyond 2^53; numbers no JS number holds exactly travel as number_text.
 */
import { create } from "@bufbuild/protobuf";
import {
  ListValueSchema,
  NullValue,
  type Row,
  RowSchema,
  type Value,
  ValueSchema,
} from "../../gen/dolake/cdc/v1/value_pb.js";
import { JsonNumber, type JsonObject, type JsonValue } from "../util/json.js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Thrown when a value cannot be carried (for example undefined or a function). */
export class JsonValueError extends Error {}

/** Converts a plain JSON value to its wire Value. */
export function valueFromJson(value: unknown, path = "value"): Value {
  switch (typeof value) {
    case "string":
      return create(ValueSchema, { kind: { case: "stringValue", value } });
    case "boolean":
      return create(ValueSchema, { kind: { case: "boolValue", value } });
    case "number":
      if (!Number.isFinite(value)) throw new JsonValueError(`${path}: ${value} is not a JSON number`);
      // Unsafe integral numbers (1e300, 2**60 as a JS number) are doubles: that is what the sender had.
      if (Number.isSafeInteger(value)) return create(ValueSchema, { kind: { case: "intValue", value: BigInt(value) } });
      return create(ValueSchema, { kind: { case: "doubleValue", value } });
    case "bigint":
      if (value >= INT64_MIN && value <= INT64_MAX) return create(ValueSchema, { kind: { case: "intValue", value } });
      return create(ValueSchema, { kind: { case: "numberText", value: value.toString() } });
    case "object":
      if (value === null) return create(ValueSchema, { kind: { case: "nullValue", value: NullValue.UNSPECIFIED } });
      if (value instanceof JsonNumber) return create(ValueSchema, { kind: { case: "numberText", value: value.text } });
      if (Array.isArray(value)) {
        const values = value.map((v, i) => valueFromJson(v, `${path}[${i}]`));
        return create(ValueSchema, { kind: { case: "listValue", value: create(ListValueSchema, { values }) } });
      }
      return create(ValueSchema, { kind: { case: "objectValue", value: rowFromJson(value, path) } });
    default:
      throw new JsonValueError(`${path}: a ${typeof value} is not a JSON value`);
  }
}

/** Converts a plain JSON object to a wire Row. */
export function rowFromJson(value: unknown, path = "row"): Row {
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof JsonNumber) {
    throw new JsonValueError(`${path}: expected a JSON object`);
  }
  const fields: Record<string, Value> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) fields[key] = valueFromJson(v, `${path}.${key}`);
  return create(RowSchema, { fields });
}

/** Converts a wire Value to a plain JSON value. */
export function valueToJson(value: Value | undefined): JsonValue {
  const kind = value?.kind;
  switch (kind?.case) {
    case undefined:
    case "nullValue":
      return null;
    case "boolValue":
    case "stringValue":
    case "doubleValue":
      return kind.value;
    case "intValue":
      return kind.value >= -9007199254740991n && kind.value <= 9007199254740991n ? Number(kind.value) : kind.value;
    case "numberText":
      return /^-?\d+$/.test(kind.value) ? BigInt(kind.value) : new JsonNumber(kind.value);
    case "objectValue":
      return rowToJson(kind.value);
    case "listValue":
      return kind.value.values.map(valueToJson);
  }
}

/** Converts a wire Row to a plain JSON object. */
export function rowToJson(row: Row): JsonObject {
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(row.fields)) out[key] = valueToJson(v);
  return out;
}
