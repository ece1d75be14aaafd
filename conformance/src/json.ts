/**
 * BigInt-safe JSON for the suite: integers beyond 2^53 parse as bigint (never rounded) and
 * bigints print as plain JSON numbers. Uses the JSON.parse source-text access and JSON.rawJSON of
 * Node 22, so the suite shares no code with the server's codec.
 */

/** A JSON value as the suite sees it: numbers that do not fit a double exactly are bigint. */
export type Json = null | boolean | number | bigint | string | Json[] | { [key: string]: Json };

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/** Parses JSON text; integral numbers outside the safe range become bigint. */
export function parseJson(text: string): Json {
  const reviver: Reviver = (_key, value, context) => {
    if (typeof value === "number" && context?.source !== undefined && /^-?\d+$/.test(context.source) && !Number.isSafeInteger(value)) {
      return BigInt(context.source);
    }
    return value;
  };
  return JSON.parse(text, reviver as never) as Json;
}

const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** Prints JSON; bigints as plain numbers. */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? rawJson(v.toString()) : v));
}

/** A number or bigint as bigint (for comparisons of 64-bit fields). */
export function big(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  return 0n;
}
