/**
 * The query engine's values: SQL NULL is `null`, integers are `bigint` (64-bit exact), doubles
 * are `number`, text is `string`, and timestamps, dates and intervals are small classes. One
 * ordering, one equality and one cast table for all of them, following PostgreSQL/DuckDB.
 */
import { HttpError } from "../http/errors.js";

/** A timestamp in microseconds since the epoch; `tz` for `timestamptz` (shown in UTC). */
export class Timestamp {
  constructor(
    readonly us: bigint,
    readonly tz: boolean,
  ) {}
}

/** A date: days since 1970-01-01. */
export class DateValue {
  constructor(readonly days: number) {}
}

/** An interval as PostgreSQL keeps it: months, days and microseconds, added in that order. */
export class Interval {
  constructor(
    readonly months: number,
    readonly days: number,
    readonly us: bigint,
  ) {}
}

/** One SQL value. */
export type Value = null | boolean | number | bigint | string | Timestamp | DateValue | Interval;

/** Result column types, named as DuckDB names them. */
export type SqlType = "BOOLEAN" | "BIGINT" | "DOUBLE" | "VARCHAR" | "TIMESTAMP" | "TIMESTAMP WITH TIME ZONE" | "DATE" | "INTERVAL" | "NULL";

const US_PER_DAY = 86_400_000_000n;

/** The SQL type of a non-null value. */
export function typeOf(v: Value): SqlType {
  if (v === null) return "NULL";
  switch (typeof v) {
    case "boolean":
      return "BOOLEAN";
    case "bigint":
      return "BIGINT";
    case "number":
      return "DOUBLE";
    case "string":
      return "VARCHAR";
  }
  if (v instanceof Timestamp) return v.tz ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP";
  if (v instanceof DateValue) return "DATE";
  return "INTERVAL";
}

/** A 400 for a value that cannot be used where it is. */
export function typeError(message: string): HttpError {
  return new HttpError(400, "BadRequestException", message);
}

/** Parses an ISO-8601 / SQL timestamp literal ('2025-01-14', '2025-01-14 10:00:00+02'); null when it is not one. */
export function parseTimestamp(text: string, tz: boolean): Timestamp | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(text.trim());
  if (!m) return null;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  if (Number.isNaN(ms)) return null;
  let us = BigInt(ms) * 1000n + BigInt(((m[7] ?? "") + "000000").slice(0, 6));
  const zone = m[8];
  if (zone && zone.toUpperCase() !== "Z") {
    const sign = zone[0] === "-" ? -1n : 1n;
    const digits = zone.slice(1).replace(":", "");
    const minutes = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0));
    us -= sign * minutes * 60_000_000n;
  }
  return new Timestamp(us, tz);
}

/** Parses an interval literal: '24 hours', '1 day 2 hours', '3 months', '00:30:00'. */
export function parseInterval(text: string): Interval {
  let months = 0;
  let days = 0;
  let us = 0n;
  const t = text.trim().toLowerCase();
  const re = /(-?\d+(?:\.\d+)?)\s*([a-z]+)|(-?\d+):(\d{2})(?::(\d{2}(?:\.\d+)?))?/g;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    matched += m[0].length;
    if (m[3] !== undefined) {
      const sign = m[3].startsWith("-") ? -1 : 1;
      const secs = Math.abs(+m[3]) * 3600 + +m[4]! * 60 + +(m[5] ?? 0);
      us += BigInt(Math.round(sign * secs * 1e6));
      continue;
    }
    const n = Number(m[1]);
    const unit = m[2]!.replace(/s$/, "");
    const perUs: Record<string, number> = { microsecond: 1, millisecond: 1e3, second: 1e6, sec: 1e6, minute: 6e7, min: 6e7, hour: 3.6e9, h: 3.6e9 };
    if (unit === "year" || unit === "y") months += n * 12;
    else if (unit === "month" || unit === "mon") months += n;
    else if (unit === "week" || unit === "w") days += n * 7;
    else if (unit === "day" || unit === "d") days += n;
    else if (perUs[unit] !== undefined) us += BigInt(Math.round(n * perUs[unit]!));
    else throw typeError(`Unknown interval unit "${m[2]}" in '${text}'`);
  }
  if (matched === 0) throw typeError(`Invalid interval '${text}'`);
  return new Interval(months, days, us);
}

/** Adds `sign` times an interval to a timestamp (months, then days, then microseconds, in UTC). */
export function addInterval(t: Timestamp, i: Interval, sign: 1 | -1): Timestamp {
  let us = t.us;
  if (i.months !== 0) {
    const ms = Number(us / 1000n);
    const d = new Date(ms);
    const rest = us - BigInt(ms) * 1000n;
    d.setUTCMonth(d.getUTCMonth() + sign * i.months);
    us = BigInt(d.getTime()) * 1000n + rest;
  }
  us += BigInt(sign * i.days) * US_PER_DAY + BigInt(sign) * i.us;
  return new Timestamp(us, t.tz);
}

/** A date as a timestamp at midnight UTC. */
export function dateToTimestamp(d: DateValue, tz = false): Timestamp {
  return new Timestamp(BigInt(d.days) * US_PER_DAY, tz);
}

/** Brings two values to a comparable pair: a string meets a timestamp or date as a literal of it. */
function coerce(a: Value, b: Value): [Value, Value] {
  if (typeof a === "string" && (b instanceof Timestamp || b instanceof DateValue)) return [castTo(a, b instanceof Timestamp ? "timestamp" : "date"), b];
  if (typeof b === "string" && (a instanceof Timestamp || a instanceof DateValue)) return [a, castTo(b, a instanceof Timestamp ? "timestamp" : "date")];
  if (a instanceof DateValue && b instanceof Timestamp) return [dateToTimestamp(a), b];
  if (a instanceof Timestamp && b instanceof DateValue) return [a, dateToTimestamp(b)];
  return [a, b];
}

/** Orders two non-null values (-1, 0, 1); a 400 when they are not comparable. */
export function compareValues(x: Value, y: Value): number {
  const [a, b] = coerce(x, y);
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
  if ((typeof a === "number" || typeof a === "bigint") && (typeof b === "number" || typeof b === "bigint")) {
    const p = Number(a);
    const q = Number(b);
    // NaN sorts above every number (PostgreSQL and DuckDB).
    if (Number.isNaN(p) || Number.isNaN(q)) return Number.isNaN(p) ? (Number.isNaN(q) ? 0 : 1) : -1;
    return p < q ? -1 : p > q ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "boolean" && typeof b === "boolean") return a === b ? 0 : a ? 1 : -1;
  if (a instanceof Timestamp && b instanceof Timestamp) return a.us < b.us ? -1 : a.us > b.us ? 1 : 0;
  if (a instanceof DateValue && b instanceof DateValue) return Math.sign(a.days - b.days);
  if (a instanceof Interval && b instanceof Interval) {
    const ua = BigInt(a.months * 30 + a.days) * US_PER_DAY + a.us;
    const ub = BigInt(b.months * 30 + b.days) * US_PER_DAY + b.us;
    return ua < ub ? -1 : ua > ub ? 1 : 0;
  }
  throw typeError(`Cannot compare ${typeOf(a)} with ${typeOf(b)}`);
}

/** A key that is equal for equal values (GROUP BY, DISTINCT, hash joins). */
export function keyOf(v: Value): string {
  if (v === null) return "n";
  if (typeof v === "bigint") return `i${v}`;
  if (typeof v === "number") return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? `i${BigInt(v)}` : `d${v}`;
  if (typeof v === "string") return `s${v}`;
  if (typeof v === "boolean") return v ? "t" : "f";
  if (v instanceof Timestamp) return `T${v.us}`;
  if (v instanceof DateValue) return `T${BigInt(v.days) * US_PER_DAY}`;
  return `I${v.months},${v.days},${v.us}`;
}

/** Casts a value to a SQL type name (CAST(x AS t), x::t); NULL stays NULL. */
export function castTo(v: Value, typeName: string): Value {
  if (v === null) return null;
  const t = typeName.toLowerCase().replace(/\s*\(.*\)$/, "");
  switch (t) {
    case "int":
    case "integer":
    case "int4":
    case "int8":
    case "bigint":
    case "smallint":
    case "int2":
    case "long": {
      if (typeof v === "bigint") return v;
      if (typeof v === "number") {
        if (!Number.isFinite(v)) throw typeError(`Cannot cast ${v} to ${typeName}`);
        // float8 -> bigint rounds half to even (PostgreSQL's rint, DuckDB alike).
        const r = Math.round(v);
        return BigInt(Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r);
      }
      if (typeof v === "boolean") return v ? 1n : 0n;
      if (typeof v === "string" && /^\s*[+-]?\d+\s*$/.test(v)) return BigInt(v.trim());
      throw typeError(`Cannot cast ${JSON.stringify(String(v))} to ${typeName}`);
    }
    case "double":
    case "double precision":
    case "float":
    case "float8":
    case "float4":
    case "real":
    case "numeric":
    case "decimal": {
      if (typeof v === "number") return v;
      if (typeof v === "bigint") return Number(v);
      if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
      throw typeError(`Cannot cast ${JSON.stringify(String(v))} to ${typeName}`);
    }
    case "text":
    case "varchar":
    case "string":
    case "character varying":
      return valueToText(v);
    case "boolean":
    case "bool": {
      if (typeof v === "boolean") return v;
      if (typeof v === "bigint") return v !== 0n;
      const s = String(v).trim().toLowerCase();
      if (["t", "true", "yes", "on", "1"].includes(s)) return true;
      if (["f", "false", "no", "off", "0"].includes(s)) return false;
      throw typeError(`Cannot cast ${JSON.stringify(String(v))} to boolean`);
    }
    case "timestamp":
    case "timestamptz":
    case "timestamp with time zone":
    case "timestamp without time zone": {
      const tz = t === "timestamptz" || t === "timestamp with time zone";
      if (v instanceof Timestamp) return new Timestamp(v.us, tz);
      if (v instanceof DateValue) return dateToTimestamp(v, tz);
      const parsed = typeof v === "string" ? parseTimestamp(v, tz) : null;
      if (!parsed) throw typeError(`Cannot cast ${JSON.stringify(String(v))} to ${typeName}`);
      return parsed;
    }
    case "date": {
      if (v instanceof DateValue) return v;
      if (v instanceof Timestamp) return new DateValue(Number((v.us - (((v.us % US_PER_DAY) + US_PER_DAY) % US_PER_DAY)) / US_PER_DAY));
      const parsed = typeof v === "string" ? parseTimestamp(v, false) : null;
      if (!parsed) throw typeError(`Cannot cast ${JSON.stringify(String(v))} to date`);
      return castTo(parsed, "date");
    }
    case "interval":
      if (v instanceof Interval) return v;
      if (typeof v === "string") return parseInterval(v);
      throw typeError(`Cannot cast ${typeOf(v)} to interval`);
  }
  throw typeError(`Unsupported type in CAST: ${typeName}`);
}

/** Text form of a value (CAST to text, string functions, JSON output of dates and timestamps). */
export function valueToText(v: Value): string {
  if (v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (typeof v === "number") return Number.isInteger(v) && Math.abs(v) < 1e15 ? v.toFixed(1) : String(v);
  if (v instanceof Timestamp) {
    const ms = v.us / 1000n - (v.us % 1000n < 0n ? 1n : 0n);
    const iso = new Date(Number(ms)).toISOString().slice(0, 19).replace("T", " ");
    const frac = Number(((v.us % 1_000_000n) + 1_000_000n) % 1_000_000n);
    return `${iso}${frac ? `.${String(frac).padStart(6, "0").replace(/0+$/, "")}` : ""}${v.tz ? "+00" : ""}`;
  }
  if (v instanceof DateValue) return new Date(v.days * 86_400_000).toISOString().slice(0, 10);
  const parts: string[] = [];
  if (v.months) parts.push(`${v.months} mon${Math.abs(v.months) === 1 ? "" : "s"}`);
  if (v.days) parts.push(`${v.days} day${Math.abs(v.days) === 1 ? "" : "s"}`);
  if (v.us || parts.length === 0) {
    const neg = v.us < 0n;
    const a = neg ? -v.us : v.us;
    const s = Number(a / 1_000_000n);
    const frac = Number(a % 1_000_000n);
    parts.push(`${neg ? "-" : ""}${String(Math.floor(s / 3600)).padStart(2, "0")}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}${frac ? `.${String(frac).padStart(6, "0")}` : ""}`);
  }
  return parts.join(" ");
}

/** JSON form of a result value: bigint stays exact (BigInt-safe JSON), time values as text. */
export function valueToJson(v: Value): null | boolean | number | bigint | string {
  if (v === null || typeof v === "boolean" || typeof v === "bigint" || typeof v === "string") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (v instanceof Timestamp) return valueToText(v).replace(" ", "T").replace(/\+00$/, "Z");
  return valueToText(v);
}

/** Converts a value as hyparquet or the Iceberg row converter gives it into a query value of an Iceberg type. */
export function toQueryValue(v: unknown, type: string): Value {
  if (v === null || v === undefined) return null;
  switch (type) {
    case "int":
    case "long":
      return typeof v === "bigint" ? v : BigInt(v as number);
    case "float":
    case "double":
      return Number(v);
    case "timestamptz":
    case "timestamp":
      return v instanceof Timestamp ? new Timestamp(v.us, type === "timestamptz") : new Timestamp(BigInt(v as bigint), type === "timestamptz");
    case "date":
      return v instanceof DateValue ? v : new DateValue(Number(v));
    case "boolean":
      return Boolean(v);
    case "string":
      return String(v);
  }
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "string" || typeof v === "boolean") return v;
  if (v instanceof Uint8Array) return [...v].map((b) => b.toString(16).padStart(2, "0")).join("");
  return String(v);
}
