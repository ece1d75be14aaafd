/**
 * The published JSON form of the protocol, by reflection over the generated descriptors:
 * flat objects with a "type" discriminator (the json_type option), enum values spelled by the
 * json_value option, 64-bit integers as JSON numbers, Row/Value as plain JSON.
 * Parsing also accepts what proto3 JSON parsers accept (enum value names, int64 as strings,
 * proto field names), so a producer generated from proto/ can use its JSON printer too.
 */
import {
  create,
  type DescEnum,
  type DescField,
  type DescMessage,
  getOption,
  hasOption,
  type Message,
  ScalarType,
} from "@bufbuild/protobuf";
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";
import { json_value } from "../../gen/dolake/cdc/v1/options_pb.js";
import { JsonNumber, type JsonObject, type JsonValue } from "../util/json.js";
import { JsonValueError, rowFromJson, rowToJson, valueFromJson, valueToJson } from "./json-value.js";

/** A JSON form that does not fit the message; the message names the field and the problem. */
export class PublishedJsonError extends Error {}

const ROW = "dolake.cdc.v1.Row";
const VALUE = "dolake.cdc.v1.Value";
const INT64_RANGE: Record<number, [bigint, bigint]> = {
  [ScalarType.INT64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.SINT64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.SFIXED64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.UINT64]: [0n, 2n ** 64n - 1n],
  [ScalarType.FIXED64]: [0n, 2n ** 64n - 1n],
};
const INT32_RANGE: Record<number, [number, number]> = {
  [ScalarType.INT32]: [-(2 ** 31), 2 ** 31 - 1],
  [ScalarType.SINT32]: [-(2 ** 31), 2 ** 31 - 1],
  [ScalarType.SFIXED32]: [-(2 ** 31), 2 ** 31 - 1],
  [ScalarType.UINT32]: [0, 2 ** 32 - 1],
  [ScalarType.FIXED32]: [0, 2 ** 32 - 1],
};

const enumNames = new WeakMap<DescEnum, { byJson: Map<string, number>; toJson: Map<number, string> }>();
function enumTable(desc: DescEnum) {
  let table = enumNames.get(desc);
  if (!table) {
    table = { byJson: new Map(), toJson: new Map() };
    for (const v of desc.values) {
      table.byJson.set(v.name, v.number);
      if (hasOption(v, json_value)) {
        const spelled = getOption(v, json_value);
        table.byJson.set(spelled, v.number);
        table.toJson.set(v.number, spelled);
      }
    }
    enumNames.set(desc, table);
  }
  return table;
}

const fieldIndex = new WeakMap<DescMessage, Map<string, DescField>>();
function fieldByJsonKey(desc: DescMessage, key: string): DescField | undefined {
  let index = fieldIndex.get(desc);
  if (!index) {
    index = new Map();
    for (const f of desc.fields) {
      index.set(f.name, f);
      index.set(f.jsonName, f);
    }
    fieldIndex.set(desc, index);
  }
  return index.get(key);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(typeof v === "bigint" ? v.toString() : v)}`;
}

function scalarFromJson(type: ScalarType, v: unknown, path: string): unknown {
  const fail = (want: string) => new PublishedJsonError(`${path}: expected ${want}, got ${describe(v)}`);
  const int64 = INT64_RANGE[type];
  if (int64) {
    let n: bigint;
    if (typeof v === "bigint") n = v;
    else if (typeof v === "number" && Number.isInteger(v)) n = BigInt(v);
    else if (typeof v === "string" && /^-?\d+$/.test(v)) n = BigInt(v);
    else throw fail("an integer");
    if (n < int64[0] || n > int64[1]) throw new PublishedJsonError(`${path}: ${n} is out of range`);
    return n;
  }
  const int32 = INT32_RANGE[type];
  if (int32) {
    const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n)) throw fail("an integer");
    if (n < int32[0] || n > int32[1]) throw new PublishedJsonError(`${path}: ${n} is out of range`);
    return n;
  }
  switch (type) {
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      if (typeof v === "number") return v;
      if (typeof v === "bigint" || v instanceof JsonNumber) return Number(v);
      if (v === "NaN" || v === "Infinity" || v === "-Infinity") return Number(v);
      throw fail("a number");
    case ScalarType.BOOL:
      if (typeof v !== "boolean") throw fail("a boolean");
      return v;
    case ScalarType.STRING:
      if (typeof v !== "string") throw fail("a string");
      return v;
    case ScalarType.BYTES:
      if (typeof v !== "string") throw fail("base64 bytes");
      return base64Decode(v);
  }
  throw fail("a scalar");
}

function enumFromJson(desc: DescEnum, v: unknown, path: string): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  const n = typeof v === "string" ? enumTable(desc).byJson.get(v) : undefined;
  if (n === undefined) {
    const allowed = [...enumTable(desc).toJson.values()].join(", ");
    throw new PublishedJsonError(`${path}: ${describe(v)} is not one of ${allowed}`);
  }
  return n;
}

function singularFromJson(field: DescField, kind: "scalar" | "enum" | "message", v: unknown, path: string): unknown {
  if (kind === "enum") return enumFromJson(field.enum!, v, path);
  if (kind === "scalar") return scalarFromJson(field.scalar!, v, path);
  const msg = field.message!;
  try {
    if (msg.typeName === ROW) return rowFromJson(v, path);
    if (msg.typeName === VALUE) return valueFromJson(v, path);
  } catch (e) {
    if (e instanceof JsonValueError) throw new PublishedJsonError(e.message);
    throw e;
  }
  return messageFromJson(msg, v, path);
}

/** Reads a message from its JSON object form. `skip` names keys that belong to the envelope. */
export function messageFromJson<T extends Message>(desc: DescMessage, obj: unknown, path: string, skip?: string): T {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new PublishedJsonError(`${path}: expected an object, got ${describe(obj)}`);
  }
  const init: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj as Record<string, unknown>)) {
    if (key === skip) continue;
    const field = fieldByJsonKey(desc, key);
    if (!field) throw new PublishedJsonError(`${path}: unknown field "${key}"`);
    if (v === null || v === undefined) continue; // proto3 JSON: null means "not set"
    const fpath = `${path}.${key}`;
    let value: unknown;
    switch (field.fieldKind) {
      case "list":
        if (!Array.isArray(v)) throw new PublishedJsonError(`${fpath}: expected an array, got ${describe(v)}`);
        value = v.map((e, i) => singularFromJson(field, field.listKind, e, `${fpath}[${i}]`));
        break;
      case "map": {
        if (typeof v !== "object" || Array.isArray(v)) throw new PublishedJsonError(`${fpath}: expected an object`);
        const m: Record<string, unknown> = {};
        for (const [k, e] of Object.entries(v as object)) m[k] = singularFromJson(field, field.mapKind, e, `${fpath}.${k}`);
        value = m;
        break;
      }
      default:
        value = singularFromJson(field, field.fieldKind, v, fpath);
    }
    if (field.oneof) init[field.oneof.localName] = { case: field.localName, value };
    else init[field.localName] = value;
  }
  return create(desc, init) as T;
}

function scalarToJson(type: ScalarType, v: unknown): JsonValue {
  if (typeof v === "bigint") return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  if (type === ScalarType.BYTES) return base64Encode(v as Uint8Array);
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return v as JsonValue;
}

function singularToJson(field: DescField, kind: "scalar" | "enum" | "message", v: unknown): JsonValue | undefined {
  if (kind === "enum") return enumTable(field.enum!).toJson.get(v as number) ?? (v === 0 ? undefined : (v as number));
  if (kind === "scalar") return scalarToJson(field.scalar!, v);
  const msg = field.message!;
  if (msg.typeName === ROW) return rowToJson(v as never);
  if (msg.typeName === VALUE) return valueToJson(v as never);
  return messageToJson(msg, v as Message);
}

/** Writes a message in its JSON object form: every scalar present (defaults included), unset messages omitted. */
export function messageToJson(desc: DescMessage, message: Message): JsonObject {
  const out: JsonObject = {};
  const m = message as unknown as Record<string, unknown>;
  for (const field of desc.fields) {
    let v: unknown;
    if (field.oneof) {
      const o = m[field.oneof.localName] as { case?: string; value?: unknown };
      if (o.case !== field.localName) continue;
      v = o.value;
    } else v = m[field.localName];
    let json: JsonValue | undefined;
    switch (field.fieldKind) {
      case "list":
        if ((v as unknown[]).length === 0) continue;
        json = (v as unknown[]).map((e) => singularToJson(field, field.listKind, e) ?? null);
        break;
      case "map": {
        const entries = Object.entries(v as object);
        if (entries.length === 0) continue;
        json = Object.fromEntries(entries.map(([k, e]) => [k, singularToJson(field, field.mapKind, e) ?? null]));
        break;
      }
      case "message":
        if (v === undefined) continue;
        json = singularToJson(field, "message", v);
        break;
      default:
        if (v === "") continue; // empty strings (unset correlation ids) are noise in every answer
        json = singularToJson(field, field.fieldKind, v);
    }
    if (json !== undefined) out[field.jsonName] = json;
  }
  return out;
}
