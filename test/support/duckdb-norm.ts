// One comparable text form for query values from our engine (src/query/values.ts), from our JSON
// answers (typed by their column) and from @duckdb/node-api, for the differential tests.
import { DateValue, Interval, parseTimestamp, Timestamp, type Value } from "../../src/query/values.js";

/** A value of either engine as comparable text (doubles to 12 significant digits). */
export function norm(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "bigint") return `n:${v}`;
  if (typeof v === "number") return Number.isInteger(v) && Math.abs(v) < 2 ** 53 ? `n:${v}` : `n:${Number(v.toPrecision(12))}`;
  if (typeof v === "string") return `s:${v}`;
  if (typeof v === "boolean") return `b:${v}`;
  if (v instanceof Timestamp) return `t:${v.us}`;
  if (v instanceof DateValue) return `d:${v.days}`;
  if (v instanceof Interval) return `i:${v.months},${v.days},${v.us}`;
  const o = v as { micros?: bigint; days?: number; months?: number; toString(): string };
  if (typeof o.micros === "bigint" && o.months !== undefined) return `i:${o.months},${o.days},${o.micros}`;
  if (typeof o.micros === "bigint") return `t:${o.micros}`;
  if (typeof o.days === "number") return `d:${o.days}`;
  // HUGEINT / DECIMAL values
  const n = Number(o.toString());
  return Number.isInteger(n) ? `n:${BigInt(o.toString())}` : `n:${Number(n.toPrecision(12))}`;
}

/** A value of a POST /v1/query JSON answer back as an engine value, by its column's type. */
export function fromAnswer(v: unknown, type: string): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" && type.startsWith("TIMESTAMP")) return parseTimestamp(v, type !== "TIMESTAMP");
  if (typeof v === "string" && type === "DATE") return new DateValue(Math.round(Date.parse(`${v}T00:00:00Z`) / 86_400_000));
  return v as Value;
}

/** Whether DuckDB's column type is the one we answered (DuckDB's wider integer and decimal results count as ours). */
export function sameType(ours: string, duck: string): boolean {
  if (ours === duck || ours === "NULL") return true;
  if (ours === "BIGINT") return ["HUGEINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT"].includes(duck);
  if (ours === "DOUBLE") return duck.startsWith("DECIMAL") || duck === "FLOAT";
  return false;
}
