/**
 * Binary single-value serialization (Iceberg spec, Appendix D "Single-value serialization",
 * "Binary single-value serialization"): the bytes of manifest lower/upper bounds and partition
 * field summaries. Little-endian numbers; decimal and uuid big-endian.
 */
import { decimalBytes, uuidBytes } from "./murmur3.js";
import type { Primitive, PrimitiveValue } from "./primitive.js";

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Serializes one non-null value of a primitive type. */
export function toSingleValue(p: Primitive, value: PrimitiveValue): Uint8Array {
  switch (p.kind) {
    case "boolean":
      return new Uint8Array([value ? 1 : 0]);
    case "int":
    case "date": {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, Number(value), true);
      return b;
    }
    case "long":
    case "time":
    case "timestamp":
    case "timestamptz": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, BigInt(value as bigint | number), true);
      return b;
    }
    case "float": {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setFloat32(0, value as number, true);
      return b;
    }
    case "double": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, value as number, true);
      return b;
    }
    case "string":
      return utf8.encode(value as string);
    case "uuid":
      return uuidBytes(value as string);
    case "binary":
    case "fixed":
      return (value as Uint8Array).slice();
    case "decimal":
      return decimalBytes(value as bigint);
  }
}

/** Reads a value written by toSingleValue. */
export function fromSingleValue(p: Primitive, bytes: Uint8Array): PrimitiveValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (p.kind) {
    case "boolean":
      return bytes[0] !== 0;
    case "int":
    case "date":
      return view.getInt32(0, true);
    case "long":
    case "time":
    case "timestamp":
    case "timestamptz":
      // A 4-byte bound under a long column was written before int->long promotion (spec §8).
      return bytes.length === 4 ? BigInt(view.getInt32(0, true)) : view.getBigInt64(0, true);
    case "float":
      return view.getFloat32(0, true);
    case "double":
      return bytes.length === 4 ? view.getFloat32(0, true) : view.getFloat64(0, true);
    case "string":
      return fromUtf8.decode(bytes);
    case "uuid": {
      const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    case "binary":
    case "fixed":
      return bytes.slice();
    case "decimal": {
      let v = 0n;
      for (const b of bytes) v = (v << 8n) | BigInt(b);
      return BigInt.asIntN(bytes.length * 8, v);
    }
  }
}

/**
 * Java's default metrics mode truncate(16) for string/binary bounds: a lower bound is the prefix;
 * an upper bound is the prefix with its last code point (byte) incremented, with carry; null when
 * no such upper bound exists (then it is omitted).
 */
export function truncateBound(p: Primitive, value: PrimitiveValue, upper: boolean, length = 16): PrimitiveValue | null {
  if (p.kind === "string") {
    const cps = [...(value as string)];
    if (cps.length <= length) return value;
    const prefix = cps.slice(0, length);
    if (!upper) return prefix.join("");
    for (let i = prefix.length - 1; i >= 0; i--) {
      let cp = prefix[i]!.codePointAt(0)! + 1;
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000; // skip the surrogate range
      if (cp <= 0x10ffff) return prefix.slice(0, i).join("") + String.fromCodePoint(cp);
    }
    return null;
  }
  if (p.kind === "binary") {
    const bytes = value as Uint8Array;
    if (bytes.length <= length) return value;
    const prefix = bytes.slice(0, length);
    if (!upper) return prefix;
    for (let i = prefix.length - 1; i >= 0; i--) {
      if (prefix[i]! < 0xff) {
        const out = prefix.slice(0, i + 1);
        out[i] = prefix[i]! + 1;
        return out;
      }
    }
    return null;
  }
  return value;
}
