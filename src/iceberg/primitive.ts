/**
 * Iceberg primitive types (spec "Schemas and Data Types" / "Primitive Types") parsed from their
 * JSON names, and the JS value each one is held as in this codebase:
 *
 * | type | JS value |
 * |---|---|
 * | boolean | boolean |
 * | int, date (days since epoch) | number |
 * | long, time, timestamp, timestamptz (micros) | bigint |
 * | float, double | number |
 * | string, uuid (text form) | string |
 * | binary, fixed[L] | Uint8Array |
 * | decimal(P,S) | bigint (the unscaled value) |
 */
import type { IcebergType } from "./metadata/types.js";

/** A parsed primitive type. */
export type Primitive =
  | { kind: "boolean" | "int" | "long" | "float" | "double" | "date" | "time" | "timestamp" | "timestamptz" | "string" | "uuid" | "binary" }
  | { kind: "fixed"; length: number }
  | { kind: "decimal"; precision: number; scale: number };

/** A value of a primitive type, as listed in the module comment. */
export type PrimitiveValue = boolean | number | bigint | string | Uint8Array;

const SIMPLE = new Set(["boolean", "int", "long", "float", "double", "date", "time", "timestamp", "timestamptz", "string", "uuid", "binary"]);

/** Parses a primitive type name; throws a TypeError for nested or unknown types. */
export function parsePrimitive(type: IcebergType): Primitive {
  if (typeof type !== "string") throw new TypeError(`not a primitive type: ${type.type}`);
  if (SIMPLE.has(type)) return { kind: type } as Primitive;
  const fixed = /^fixed\[\s*(\d+)\s*\]$/.exec(type);
  if (fixed) return { kind: "fixed", length: Number(fixed[1]) };
  const dec = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(type);
  if (dec) return { kind: "decimal", precision: Number(dec[1]), scale: Number(dec[2]) };
  throw new TypeError(`unsupported Iceberg type: ${type}`);
}

/** True for a primitive (string-named) type. */
export function isPrimitive(type: IcebergType): type is string {
  return typeof type === "string";
}

/** Compares two non-null values of one primitive type in Iceberg order (NaN sorts last; -0 < +0). */
export function comparePrimitive(p: Primitive, a: PrimitiveValue, b: PrimitiveValue): number {
  switch (p.kind) {
    case "string":
      return compareCodePoints(a as string, b as string);
    case "binary":
    case "fixed":
      return compareBytes(a as Uint8Array, b as Uint8Array);
    case "boolean":
      return Number(a) - Number(b);
    case "float":
    case "double": {
      const x = a as number;
      const y = b as number;
      if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : -1;
      if (x === 0 && y === 0) return (Object.is(x, -0) ? 0 : 1) - (Object.is(y, -0) ? 0 : 1);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    default:
      return a < b ? -1 : a > b ? 1 : 0;
  }
}

/** Unsigned lexicographic byte comparison. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** String comparison by Unicode code point (= UTF-8 byte order), not UTF-16 units. */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}
