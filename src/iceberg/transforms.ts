/**
 * Partition transforms (Iceberg spec, "Partition Transforms" and Appendix B for bucket hashing):
 * identity, bucket[N], truncate[W], year, month, day, hour, void. All map null to null.
 */
import { murmur3Bytes, murmur3Decimal, murmur3Long, murmur3String, uuidBytes } from "./murmur3.js";
import { parsePrimitive, type Primitive, type PrimitiveValue } from "./primitive.js";

/** A parsed transform. */
export type Transform =
  | { kind: "identity" | "year" | "month" | "day" | "hour" | "void" }
  | { kind: "bucket"; n: number }
  | { kind: "truncate"; width: number };

const MICROS_PER_DAY = 86_400_000_000n;
const MICROS_PER_HOUR = 3_600_000_000n;

/** Parses a transform string (`bucket[16]`, `truncate[10]`, `day`, ...). */
export function parseTransform(text: string): Transform {
  const bucket = /^bucket\[(\d+)\]$/.exec(text);
  if (bucket) return { kind: "bucket", n: positive(bucket[1]!, text) };
  const truncate = /^truncate\[(\d+)\]$/.exec(text);
  if (truncate) return { kind: "truncate", width: positive(truncate[1]!, text) };
  if (["identity", "year", "month", "day", "hour", "void"].includes(text)) return { kind: text } as Transform;
  throw new TypeError(`unsupported partition transform: ${text}`);
}

function positive(digits: string, text: string): number {
  const n = Number(digits);
  if (!Number.isSafeInteger(n) || n <= 0 || n > 0x7fffffff) throw new TypeError(`bad transform parameter: ${text}`);
  return n;
}

const TIMES = ["date", "timestamp", "timestamptz"];

/** The result type name of a transform on a source type; throws if the transform does not apply. */
export function transformResultType(t: Transform, sourceType: string): string {
  const p = parsePrimitive(sourceType);
  const bad = () => new TypeError(`transform ${t.kind} cannot apply to ${sourceType}`);
  switch (t.kind) {
    case "identity":
    case "void":
      return sourceType;
    case "bucket":
      if (["boolean", "float", "double"].includes(p.kind)) throw bad();
      return "int";
    case "truncate":
      if (!["int", "long", "decimal", "string", "binary"].includes(p.kind)) throw bad();
      return sourceType;
    case "year":
    case "month":
      if (!TIMES.includes(p.kind)) throw bad();
      return "int";
    case "day":
      if (!TIMES.includes(p.kind)) throw bad();
      return "date";
    case "hour":
      if (p.kind !== "timestamp" && p.kind !== "timestamptz") throw bad();
      return "int";
  }
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Days since 1970-01-01 of a date (number) or timestamp (bigint micros), floored. */
function toDays(p: Primitive, value: PrimitiveValue): number {
  return p.kind === "date" ? (value as number) : Number(floorDiv(value as bigint, MICROS_PER_DAY));
}

/** Civil year/month/day of days since epoch (proleptic Gregorian; H. Hinnant's algorithm). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** Applies a transform to one value of the source type (see primitive.ts for value shapes). */
export function applyTransform(t: Transform, sourceType: string, value: PrimitiveValue | null): PrimitiveValue | null {
  if (value === null || t.kind === "void") return null;
  const p = parsePrimitive(sourceType);
  switch (t.kind) {
    case "identity":
      return value;
    case "bucket":
      return (bucketHash(p, value) & 0x7fffffff) % t.n;
    case "truncate":
      return truncateValue(p, value, t.width);
    case "year":
      return civilFromDays(toDays(p, value)).year - 1970;
    case "month": {
      const c = civilFromDays(toDays(p, value));
      return (c.year - 1970) * 12 + (c.month - 1);
    }
    case "day":
      return toDays(p, value);
    case "hour":
      return Number(floorDiv(value as bigint, MICROS_PER_HOUR));
  }
}

/** The murmur3 hash the bucket transform takes of a value (spec Appendix B). */
export function bucketHash(p: Primitive, value: PrimitiveValue): number {
  switch (p.kind) {
    case "int":
    case "long":
    case "date":
    case "time":
    case "timestamp":
    case "timestamptz":
      return murmur3Long(value as number | bigint);
    case "string":
      return murmur3String(value as string);
    case "decimal":
      return murmur3Decimal(value as bigint);
    case "uuid":
      return murmur3Bytes(uuidBytes(value as string));
    case "binary":
    case "fixed":
      return murmur3Bytes(value as Uint8Array);
    default:
      throw new TypeError(`bucket cannot apply to ${p.kind}`);
  }
}

function truncateValue(p: Primitive, value: PrimitiveValue, width: number): PrimitiveValue {
  switch (p.kind) {
    case "int": {
      const v = value as number;
      return v - (((v % width) + width) % width);
    }
    case "long":
    case "decimal": {
      const v = value as bigint;
      const w = BigInt(width);
      return v - (((v % w) + w) % w);
    }
    case "string": {
      const cps = [...(value as string)];
      return cps.length <= width ? value : cps.slice(0, width).join("");
    }
    case "binary": {
      const b = value as Uint8Array;
      return b.length <= width ? b : b.slice(0, width);
    }
    default:
      throw new TypeError(`truncate cannot apply to ${p.kind}`);
  }
}

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, "0");
const sign = (n: number) => (n < 0 ? "-" : "");

/** ISO date text of days since epoch (`2017-11-16`). */
export function dateText(days: number): string {
  const c = civilFromDays(days);
  return `${sign(c.year)}${pad(c.year, 4)}-${pad(c.month)}-${pad(c.day)}`;
}

/** ISO timestamp text of micros since epoch, without zone (`2017-11-16T22:31:08.000001`). */
export function timestampText(micros: bigint): string {
  const days = floorDiv(micros, MICROS_PER_DAY);
  const rest = micros - days * MICROS_PER_DAY;
  const secs = Number(rest / 1_000_000n);
  const frac = Number(rest % 1_000_000n);
  const time = `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}`;
  return `${dateText(Number(days))}T${time}${frac ? `.${String(frac).padStart(6, "0")}` : ""}`;
}

/** The human string of a partition value (Java's Transform.toHumanString), used in paths. */
export function humanString(t: Transform, sourceType: string, value: PrimitiveValue | null): string {
  if (value === null) return "null";
  const p = parsePrimitive(sourceType);
  switch (t.kind) {
    case "year":
      return String(1970 + (value as number));
    case "month": {
      const m = value as number;
      const y = 1970 + Math.floor(m / 12);
      return `${y}-${pad(((m % 12) + 12) % 12 + 1)}`;
    }
    case "day":
      return dateText(value as number);
    case "hour": {
      const h = value as number;
      return `${dateText(Math.floor(h / 24))}-${pad(((h % 24) + 24) % 24)}`;
    }
    case "bucket":
      return String(value);
    default:
      return valueText(p, value);
  }
}

function valueText(p: Primitive, value: PrimitiveValue): string {
  switch (p.kind) {
    case "date":
      return dateText(value as number);
    case "timestamp":
      return timestampText(value as bigint);
    case "timestamptz":
      return `${timestampText(value as bigint)}Z`;
    case "binary":
    case "fixed":
      return btoa(String.fromCharCode(...(value as Uint8Array)));
    case "decimal": {
      const v = value as bigint;
      const s = (v < 0n ? -v : v).toString().padStart(p.scale + 1, "0");
      const body = p.scale > 0 ? `${s.slice(0, -p.scale)}.${s.slice(-p.scale)}` : s;
      return v < 0n ? `-${body}` : body;
    }
    default:
      return String(value);
  }
}
