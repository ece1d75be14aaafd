/**
 * Schema inference from JSON row images and schema evolution (Iceberg spec "Schema Evolution"),
 * and the conversion of JSON values into the column's Iceberg value.
 *
 * Mapping (docs/iceberg-mapping.md has the table for users):
 * - boolean -> boolean; string -> string (-> timestamptz when `detectTimestamps` is on and the
 *   text is an ISO-8601 instant with a zone); integral number -> long; other number -> double;
 *   long then double within one batch -> double.
 * - Nested objects and arrays -> `string` columns holding the value's JSON text. Chosen over
 *   structs because row images of operational databases change shape freely (a JSON column
 *   holds anything), and a struct would turn every new nested key into a schema change and every
 *   shape change into a conflict; JSON text is read by every engine (json_extract etc.).
 * - null says nothing: a column is added when its first non-null value is seen. Every inferred
 *   column is optional.
 * Evolution: new columns get ids from last-column-id + 1; int -> long and float -> double are
 * widened (spec "Schema Evolution": allowed type promotions); any other change (a long column
 * receiving 1.5, a boolean column receiving "x") throws SchemaConflictError naming the column,
 * before anything is changed.
 */
import { JsonNumber, stringifyJson, type JsonObject, type JsonValue } from "../util/json.js";
import type { NestedField, Schema } from "./metadata/types.js";
import type { PrimitiveValue } from "./primitive.js";
import { ColumnBlock, type ColumnValues } from "../parquet/column-block.js";
import type { Pacer } from "../util/pace.js";

/** Raised when a value cannot be stored in its column without an illegal type change. */
export class SchemaConflictError extends Error {
  override readonly name = "SchemaConflictError";
  constructor(
    /** The column's name. */
    readonly column: string,
    /** The column's current Iceberg type. */
    readonly existingType: string,
    /** What the incoming value needs. */
    readonly incomingType: string,
  ) {
    super(`column ${JSON.stringify(column)} is ${existingType} and cannot take a ${incomingType} value`);
  }
}

/** Inference options. */
export interface InferOptions {
  /** Infer timestamptz for ISO-8601 strings with a zone (`2024-01-02T03:04:05.123Z`). Default false. */
  detectTimestamps?: boolean;
}

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** The Iceberg type a JSON value implies, or null for null. */
export function inferType(value: JsonValue, options: InferOptions = {}): string | null {
  if (value === null) return null;
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "bigint") return value >= INT64_MIN && value <= INT64_MAX ? "long" : "double";
  if (typeof value === "number") return Number.isSafeInteger(value) ? "long" : "double"; // 1e300 is a double
  if (value instanceof JsonNumber) return "double";
  if (typeof value === "string") return options.detectTimestamps && ISO_INSTANT.test(value) ? "timestamptz" : "string";
  return "string"; // object or array: JSON text
}

/** The type a column of type `current` must become to hold `incoming`; throws on a conflict. */
export function unifyTypes(column: string, current: string, incoming: string): string {
  if (current === incoming) return current;
  if (current === "double" && (incoming === "long" || incoming === "float" || incoming === "int")) return current;
  if (current === "long" && incoming === "int") return current;
  if (current === "int" && incoming === "long") return "long";
  if (current === "float" && incoming === "long") return current;
  if (current === "float" && incoming === "double") return "double";
  if (current === "string" && incoming === "timestamptz") return current; // the text is kept
  // Text into a time column (made by another writer, or by detectTimestamps): the column stays; its
  // value must parse (jsonToValue, and the schema guard before the ack, decide that).
  if ((current === "timestamptz" || current === "timestamp" || current === "date") && (incoming === "string" || incoming === "timestamptz")) return current;
  throw new SchemaConflictError(column, current, incoming);
}

function fitsInt(v: JsonValue): boolean {
  return typeof v === "number" && v >= -0x80000000 && v <= 0x7fffffff;
}

/** Result of evolving a schema for a batch of rows. */
export interface EvolvedSchema {
  schema: Schema;
  lastColumnId: number;
  /** True when the schema differs from the current one (a new schema id was assigned). */
  changed: boolean;
}

/**
 * Evolves `current` (undefined for a new table) so every row fits: adds new columns, widens
 * int->long and float->double. A new schema gets `schema-id` = `nextSchemaId`.
 */
export function evolveSchema(current: Schema | undefined, lastColumnId: number, nextSchemaId: number, rows: Iterable<JsonObject>, options: InferOptions = {}): EvolvedSchema {
  const evolver = schemaEvolver(current, options);
  for (const row of rows) evolver.add(row);
  return evolver.finish(lastColumnId, nextSchemaId);
}

/** evolveSchema row by row: `add` each row (in order), then `finish`; the same result as one call. */
export interface SchemaEvolver {
  add(row: JsonObject): void;
  finish(lastColumnId: number, nextSchemaId: number): EvolvedSchema;
}

/** A SchemaEvolver over `current` (undefined for a new table), for callers that pause between rows. */
export function schemaEvolver(current: Schema | undefined, options: InferOptions = {}): SchemaEvolver {
  const fields: NestedField[] = (current?.fields ?? []).map((f) => ({ ...f }));
  const byName = new Map(fields.map((f) => [f.name, f]));
  const pending = new Map<string, string>(); // new columns, first-seen order
  return { add, finish };
  function add(row: JsonObject): void {
    for (const name in row) {
      const value = row[name]!;
      const incoming = inferType(value, options);
      if (incoming === null) continue;
      const existing = byName.get(name);
      if (existing) {
        if (typeof existing.type !== "string") throw new SchemaConflictError(name, existing.type.type, incoming);
        if (existing.type === "string" && typeof value === "object") continue; // JSON text
        if (existing.type === "int" && incoming === "long" && fitsInt(value)) continue;
        existing.type = unifyTypes(name, existing.type, incoming);
      } else {
        const seen = pending.get(name);
        pending.set(name, seen === undefined ? incoming : seen === "long" && incoming === "double" ? "double" : seen === "double" && incoming === "long" ? "double" : unifyTypes(name, seen, incoming));
      }
    }
  }
  function finish(lastColumnId: number, nextSchemaId: number): EvolvedSchema {
    let last = lastColumnId;
    for (const [name, type] of pending) fields.push({ id: ++last, name, required: false, type });
    const changed = !current || pending.size > 0 || fields.some((f, i) => f.type !== current.fields[i]!.type);
    if (!changed) return { schema: current!, lastColumnId, changed: false };
    const schema: Schema = { type: "struct", "schema-id": nextSchemaId, fields };
    if (current?.["identifier-field-ids"]) schema["identifier-field-ids"] = current["identifier-field-ids"];
    return { schema, lastColumnId: last, changed: true };
  }
}

/** Converts one JSON row image into an Iceberg row of the schema (unknown keys are an error). */
export function jsonRowToIceberg(schema: Schema, row: JsonObject): Record<string, PrimitiveValue | null> {
  const out: Record<string, PrimitiveValue | null> = {};
  let matched = 0;
  for (const f of schema.fields) {
    const v = row[f.name];
    if (v === undefined || v === null) out[f.name] = null;
    else {
      out[f.name] = jsonToValue(f.name, f.type as string, v);
      matched++;
    }
  }
  checkNoExtraColumns(schema, row, matched);
  return out;
}

/**
 * jsonRowToIceberg over many rows into columns (one array per schema column, no object per row):
 * the same conversions and checks, in the same order (row by row, column by column).
 */
export function jsonRowsToColumns(schema: Schema, rows: readonly JsonObject[]): ColumnBlock {
  const columns: ColumnValues[] = schema.fields.map(() => new Array(rows.length));
  fillColumns(schema, rows, columns, 0, rows.length);
  return new ColumnBlock(rows.length, new Map(schema.fields.map((f, c) => [f.name, columns[c]!])));
}

/** jsonRowsToColumns in slices of `sliceRows` rows, awaiting `pace` (src/util/pace.ts) after each. */
export async function jsonRowsToColumnsPaced(schema: Schema, rows: readonly JsonObject[], pace: Pacer, sliceRows: number, unitsPerRow: number): Promise<ColumnBlock> {
  const columns: ColumnValues[] = schema.fields.map(() => new Array(rows.length));
  for (let from = 0; from < rows.length; from += sliceRows) {
    const to = Math.min(rows.length, from + sliceRows);
    fillColumns(schema, rows, columns, from, to);
    await pace.spend((to - from) * unitsPerRow);
  }
  return new ColumnBlock(rows.length, new Map(schema.fields.map((f, c) => [f.name, columns[c]!])));
}

function fillColumns(schema: Schema, rows: readonly JsonObject[], columns: ColumnValues[], from: number, to: number): void {
  const fields = schema.fields;
  for (let r = from; r < to; r++) {
    const row = rows[r]!;
    let matched = 0;
    for (let c = 0; c < fields.length; c++) {
      const f = fields[c]!;
      const v = row[f.name];
      if (v === undefined || v === null) columns[c]![r] = null;
      else {
        columns[c]![r] = jsonToValue(f.name, f.type as string, v);
        matched++;
      }
    }
    checkNoExtraColumns(schema, row, matched);
  }
}

/** A column that is only ever null has no type and no field: its nulls are simply absent; any other unknown key is an error. */
function checkNoExtraColumns(schema: Schema, row: JsonObject, matched: number): void {
  let present = 0;
  for (const k in row) if (row[k] !== null) present++;
  if (present === matched) return;
  for (const k in row) {
    if (row[k] !== null && !schema.fields.some((f) => f.name === k)) throw new TypeError(`row has column ${k} that the schema lacks`);
  }
}

/** Converts a JSON value into the Iceberg value of a column type; throws SchemaConflictError if it cannot. */
export function jsonToValue(column: string, type: string, v: JsonValue): PrimitiveValue {
  const bad = (): never => {
    throw new SchemaConflictError(column, type, inferType(v) ?? "null");
  };
  switch (type) {
    case "string":
      return typeof v === "string" ? v : typeof v === "object" && v !== null && !(v instanceof JsonNumber) ? stringifyJson(v) : bad();
    case "boolean":
      return typeof v === "boolean" ? v : bad();
    case "long":
      if (typeof v === "bigint") return v >= INT64_MIN && v <= INT64_MAX ? v : bad();
      return typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? BigInt(v) : bad();
    case "int":
      return typeof v === "number" && Number.isInteger(v) && Math.abs(v) <= 0x7fffffff ? v : bad();
    case "double":
    case "float":
      if (typeof v === "number") return v;
      if (typeof v === "bigint" || v instanceof JsonNumber) return Number(v instanceof JsonNumber ? v.text : v);
      return bad();
    case "timestamptz":
    case "timestamp":
      return typeof v === "string" ? (parseIsoMicros(v) ?? bad()) : bad();
    case "date":
      return typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v) ? Math.floor(Date.parse(`${v}T00:00:00Z`) / 86_400_000) : bad();
    default:
      return bad();
  }
}

/** Microseconds since epoch of an ISO-8601 instant (sub-millisecond digits kept), or null. */
export function parseIsoMicros(text: string): bigint | null {
  const m = ISO_INSTANT.exec(text);
  if (!m) {
    const local = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?$/.exec(text);
    if (!local) return null;
    return parseIsoMicros(`${local[1]}${local[2] ? `.${local[2]}` : ""}Z`);
  }
  const frac = (m[7] ?? "").padEnd(9, "0");
  const wholeSeconds = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8]!.length === 5 ? `${m[8]!.slice(0, 3)}:${m[8]!.slice(3)}` : m[8]}`);
  if (Number.isNaN(wholeSeconds)) return null;
  return BigInt(wholeSeconds) * 1000n + BigInt(frac.slice(0, 6));
}
