/**
 * Refuses, before the ack, rows the Iceberg writer could not write: a value whose type does not
 * fit its column (e.g. 1.5 into a column inferred as long — Iceberg v2 has no long->double
 * promotion) becomes a `schema_conflict` nack instead of a flush that can never succeed.
 *
 * Column types per source table are kept in SQLite: recorded at ingest for new columns and at each
 * flush commit from the committed schema (so tables evolved by other writers are respected). The
 * checks are the writer's own (inferType, unifyTypes, jsonToValue), with fast paths for the common
 * kinds that a unit test holds equal to them (test/unit/ingest/schema-guard.test.ts).
 */
import { NackReason } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { Value } from "../../gen/dolake/cdc/v1/value_pb.js";
import type { SkimValue } from "../protocol/skim.js";
import { JsonNumber, type JsonValue } from "../util/json.js";
import type { IngestEvent } from "./validate.js";
import type { NestedField } from "../iceberg/metadata/types.js";
import { inferType, jsonToValue, SchemaConflictError, unifyTypes } from "../iceberg/schema-infer.js";
import { Refusal } from "./refusal.js";

const SCHEMA = `CREATE TABLE IF NOT EXISTS cdc_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  column_type TEXT NOT NULL,
  PRIMARY KEY (table_name, column_name)
) WITHOUT ROWID`;

/**
 * The Iceberg type the writer infers for a wire value: inferType(valueToJson(v)), without building
 * the JSON value for the common kinds (this runs for every column of every event before the ack).
 */
export function valueType(k: ValueKind, detectTimestamps: boolean): string | null {
  switch (k.case) {
    case undefined:
    case "nullValue":
      return null;
    case "boolValue":
      return "boolean";
    case "intValue":
      return "long";
    case "doubleValue":
      return Number.isSafeInteger(k.value) ? "long" : "double";
    case "numberText":
      return "double"; // beyond int64, or more digits than a double: the writer keeps a double
    case "stringValue":
      return detectTimestamps ? inferType(k.value, { detectTimestamps }) : "string";
    default:
      return "string"; // objects and arrays are stored as JSON text
  }
}

/**
 * Throws SchemaConflictError unless the writer can store `v` in a column of `type`: the same
 * decision as jsonToValue(column, type, valueToJson(v)), fast for the common types.
 */
export function fitsColumn(column: string, type: string, k: ValueKind): void {
  if (k.case === undefined || k.case === "nullValue") return;
  const ok = (yes: boolean) => {
    if (!yes) throw new SchemaConflictError(column, type, valueType(k, false) ?? "null");
  };
  switch (type) {
    case "string":
      return ok(k.case === "stringValue" || k.case === "objectValue" || k.case === "listValue");
    case "long":
      return ok(k.case === "intValue" || (k.case === "doubleValue" && Number.isInteger(k.value) && Math.abs(k.value) < 2 ** 63));
    case "double":
    case "float":
      return ok(k.case === "intValue" || k.case === "doubleValue" || k.case === "numberText");
    case "boolean":
      return ok(k.case === "boolValue");
    default:
      // int, timestamps, dates, ...: no object or array fits; scalars are checked by value.
      if (k.case === "objectValue" || k.case === "listValue") return ok(false);
      jsonToValue(column, type, scalarToJson(k));
  }
}

/**
 * The type an existing column of `type` has after taking `k`, exactly as the writer's evolveSchema
 * then jsonRowToIceberg decide: JSON text into strings, int values that fit into int, safe
 * widening (int->long, float->double) through unifyTypes, else SchemaConflictError.
 */
export function checkKnownColumn(column: string, type: string, k: ValueKind, detectTimestamps: boolean): string {
  const incoming = valueType(k, detectTimestamps);
  if (incoming === null) return type;
  let next: string;
  if (type === "string" && (k.case === "objectValue" || k.case === "listValue")) next = type;
  else if (type === "int" && incoming === "long" && fitsInt(k)) next = type;
  else next = unifyTypes(column, type, incoming);
  fitsColumn(column, next, k);
  return next;
}

function fitsInt(k: ValueKind): boolean {
  const v = k.case === "intValue" ? Number(k.value) : k.case === "doubleValue" ? k.value : NaN;
  return v >= -0x80000000 && v <= 0x7fffffff;
}

/** A Value's kind: the generated message's, or a skimmed one (src/protocol/skim.ts). */
export type ValueKind = Value["kind"] | SkimValue;

function scalarToJson(k: Exclude<ValueKind, { case: undefined | "nullValue" | "objectValue" | "listValue" }>): JsonValue {
  if (k.case === "intValue") return k.value >= -9007199254740991n && k.value <= 9007199254740991n ? Number(k.value) : k.value;
  if (k.case === "numberText") return /^-?\d+$/.test(k.value) ? BigInt(k.value) : new JsonNumber(k.value);
  return k.value;
}

/** Column types of the mirror tables, checked at ingest. */
export class SchemaGuard {
  private readonly tables = new Map<string, Map<string, string>>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly options: () => { detectTimestamps: boolean },
  ) {
    sql.exec(SCHEMA);
    for (const r of sql.exec<{ table_name: string; column_name: string; column_type: string }>("SELECT * FROM cdc_columns")) {
      this.columns(r.table_name).set(r.column_name, r.column_type);
    }
  }

  private columns(table: string): Map<string, string> {
    let m = this.tables.get(table);
    if (!m) this.tables.set(table, (m = new Map()));
    return m;
  }

  /**
   * Checks every row image of the events; returns the new columns to record (call `record` after
   * the batch is appended). Throws a schema_conflict Refusal naming the event and column.
   */
  check(events: readonly IngestEvent[]): Array<[string, string, string]> {
    const added = new Map<string, Map<string, string>>();
    const detect = this.options().detectTimestamps;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      for (const image of [e.after, e.before]) {
        if (!image) continue;
        const known = this.columns(e.table);
        let fresh = added.get(e.table);
        const visit = (column: string, value: ValueKind) => {
          try {
            const knownType = known.get(column);
            if (knownType !== undefined) {
              // An existing column: widened (int->long, float->double) as the writer would, or refused.
              const current = fresh?.get(column) ?? knownType;
              const next = checkKnownColumn(column, current, value, detect);
              if (next !== current) {
                if (!fresh) added.set(e.table, (fresh = new Map()));
                fresh.set(column, next);
              }
              return;
            }
            const incoming = valueType(value, detect);
            if (incoming === null) return;
            if (!fresh) added.set(e.table, (fresh = new Map()));
            const seen = fresh.get(column);
            // Same rule as the writer's first flush of a new column: long and double seen together make a double.
            fresh.set(column, seen === undefined ? incoming : (seen === "long" && incoming === "double") || (seen === "double" && incoming === "long") ? "double" : unifyTypes(column, seen, incoming));
          } catch (err) {
            if (!(err instanceof SchemaConflictError)) throw err;
            throw new Refusal(NackReason.SCHEMA_CONFLICT, `events[${i}] (table ${e.table}): ${err.message}`);
          }
        };
        if ("columns" in image) for (const [column, value] of image.columns) visit(column, value);
        else for (const column in image.fields) visit(column, image.fields[column]!.kind);
      }
    }
    const out: Array<[string, string, string]> = [];
    for (const [table, cols] of added) for (const [c, t] of cols) out.push([table, c, t]);
    return out;
  }

  /** Records new columns found by `check`. */
  record(columns: Array<[string, string, string]>): void {
    for (const [table, column, type] of columns) {
      this.sql.exec("INSERT OR REPLACE INTO cdc_columns (table_name, column_name, column_type) VALUES (?, ?, ?)", table, column, type);
      this.columns(table).set(column, type);
    }
  }

  /** Forgets the columns of a mirror table that was dropped (inside the drop's transaction). */
  forget(table: string): void {
    this.sql.exec("DELETE FROM cdc_columns WHERE table_name = ?", table);
    this.tables.delete(table);
  }

  /** Moves the columns of a renamed mirror table to its new name. */
  move(from: string, to: string): void {
    this.forget(to);
    this.sql.exec("UPDATE cdc_columns SET table_name = ? WHERE table_name = ?", to, from);
    const cols = this.tables.get(from);
    this.tables.delete(from);
    if (cols) this.tables.set(to, cols);
  }

  /** Records a committed schema of a mirror table (inside the flush's commit transaction). */
  recordSchema(table: string, fields: readonly NestedField[]): void {
    // Nested columns (from other writers) are recorded by kind ("struct", "list", "map"): no JSON value fits them.
    this.record(fields.map((f) => [table, f.name, typeof f.type === "string" ? f.type : f.type.type]));
  }
}
