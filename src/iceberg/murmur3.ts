/**
 * 32-bit Murmur3 (x86 variant, seed 0) as the bucket transform uses it (Iceberg spec, Appendix B
 * "32-bit Hash Requirements"), and the byte forms of each type that the spec hashes.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const utf8 = new TextEncoder();

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3_x86_32 of the bytes, as a signed 32-bit int (what Java's Guava returns). */
export function murmur3Bytes(bytes: Uint8Array, seed = 0): number {
  let h = seed | 0;
  const n = bytes.length;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    const k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h = mixH(h, mixK(k));
  }
  const tail = n & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocks + 2]! << 16;
    if (tail >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    h ^= mixK(k);
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Hash of an int or long: the value as 8 bytes little-endian (int and long hash alike). */
export function murmur3Long(value: bigint | number): number {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(value), true);
  return murmur3Bytes(b);
}

/** Hash of a string: its UTF-8 bytes. */
export function murmur3String(value: string): number {
  return murmur3Bytes(utf8.encode(value));
}

/** Minimal two's-complement big-endian bytes of an unscaled decimal (Java BigInteger.toByteArray). */
export function decimalBytes(unscaled: bigint): Uint8Array {
  const out: number[] = [];
  let v = unscaled;
  for (;;) {
    const byte = Number(BigInt.asUintN(8, v));
    out.unshift(byte);
    v >>= 8n;
    // Stop once the remaining value is pure sign extension of the byte just written.
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return new Uint8Array(out);
}

/** Hash of a decimal: its unscaled value's minimal big-endian two's-complement bytes. */
export function murmur3Decimal(unscaled: bigint): number {
  return murmur3Bytes(decimalBytes(unscaled));
}

/** 16 big-endian bytes of a UUID string. */
export function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`not a uuid: ${uuid}`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Hash of a double (not used by bucket, kept for the spec's vector): doubleToLongBits, NaN canonical, -0 as 0. */
export function murmur3Double(value: number): number {
  const b = new Uint8Array(8);
  const v = Number.isNaN(value) ? NaN : value === 0 ? 0 : value;
  new DataView(b.buffer).setFloat64(0, v, true);
  return murmur3Bytes(b);
}
