/**
 * Exact round trip of in-memory state through SQLite text (a compaction job's state between slices):
 * unlike the wire/metadata JSON codec (json.ts), values come back with their JS types, so a bigint
 * stays a bigint even when small, bytes stay Uint8Array and maps stay Maps. Tagged objects carry
 * one key starting with "$": {$b: "12"} bigint, {$u: base64} bytes, {$m: [[k, v]...]} Map, {$f: "NaN"}
 * a number JSON cannot hold. `undefined` object members are dropped (as JSON.stringify does).
 */

/** Encodes a value of plain objects, arrays, strings, numbers, booleans, null, bigint, Uint8Array and Map. */
export function encodeState(value: unknown): string {
  return JSON.stringify(tag(value));
}

/** Decodes what encodeState wrote. */
export function decodeState<T>(text: string): T {
  return untag(JSON.parse(text)) as T;
}

function tag(v: unknown): unknown {
  if (typeof v === "bigint") return { $b: v.toString() };
  if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0) ? v : { $f: Object.is(v, -0) ? "-0" : String(v) };
  if (v instanceof Uint8Array) return { $u: toBase64(v) };
  if (v instanceof Map) return { $m: [...v].map(([k, x]) => [tag(k), tag(x)]) };
  if (Array.isArray(v)) return v.map(tag);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = tag(x);
    return out;
  }
  return v;
}

function untag(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(untag);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (typeof o.$b === "string") return BigInt(o.$b);
  if (typeof o.$f === "string") return o.$f === "-0" ? -0 : Number(o.$f);
  if (typeof o.$u === "string") return fromBase64(o.$u);
  if (Array.isArray(o.$m)) return new Map((o.$m as Array<[unknown, unknown]>).map(([k, x]) => [untag(k), untag(x)]));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = untag(x);
  return out;
}

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
