/**
 * The one BigInt-safe JSON codec. Every JSON that can carry 64-bit integers (wire frames,
 * Iceberg metadata, REST bodies) goes through here.
 *
 * - parse: integers beyond Number.MAX_SAFE_INTEGER become `bigint`; non-integral numbers with
 *   more significant digits than a double holds become `JsonNumber` (their text), so nothing a
 *   producer sends is rounded. Uses JSON.parse's source-text access (V8 >= 11.4), only when the
 *   text has such a number (LONG_DIGITS), so the common case runs at native JSON.parse speed.
 * - stringify: `bigint` and `JsonNumber` are written as exact JSON numbers (JSON.rawJSON).
 */

/** A JSON number kept as its text because no JS number holds it exactly. */
export class JsonNumber {
  constructor(readonly text: string) {}
  /** The nearest double. */
  valueOf(): number {
    return Number(this.text);
  }
  toJSON(): unknown {
    return rawJSON(this.text);
  }
}

/** Any JSON value as this codebase holds it. */
export type JsonValue = null | boolean | number | bigint | string | JsonNumber | JsonValue[] | JsonObject;
/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

type ReviverContext = { source?: string };
/**
 * Only numbers a double may not hold need the slow path: integers of 16+ digits, and decimals of
 * 18+ significant digits (every double prints in at most 17, so shorter decimals lose nothing a
 * double can represent). Also matches digit runs inside strings: then the slow path runs for nothing.
 */
const LONG_DIGITS = /(?:^|[^.\d])\d{16}|\d(?:\.?\d){17}/;
const INTEGRAL = /^-?\d+$/;

/** A decimal literal reduced to sign, significant digits and the exponent of its first digit. */
function canonicalDecimal(source: string): string {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(source);
  if (!m) return source;
  const [, sign, int = "", frac = "", exp = "0"] = m;
  const all = int + frac;
  const lead = all.length - all.replace(/^0+/, "").length;
  const digits = all.replace(/^0+/, "").replace(/0+$/, "");
  if (digits === "") return "0";
  return `${sign}${digits}e${Number(exp) + int.length - lead}`;
}

function revive(_key: string, value: unknown, context?: ReviverContext): unknown {
  if (typeof value !== "number" || context?.source === undefined) return value;
  const source = context.source;
  if (INTEGRAL.test(source)) return Number.isSafeInteger(value) ? value : BigInt(source);
  // Keep the text only when the double does not hold the same decimal (e.g. 0.1234567890123456789).
  return canonicalDecimal(source) === canonicalDecimal(String(value)) ? value : new JsonNumber(source);
}

/** Parses JSON text; big integers come back as bigint. Throws SyntaxError on bad JSON. */
export function parseJson(text: string): JsonValue {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text) as JsonValue;
  return JSON.parse(text, revive as (key: string, value: unknown) => unknown) as JsonValue;
}

const rawJSON: (text: string) => unknown = (JSON as unknown as { rawJSON: (t: string) => unknown }).rawJSON;

function replace(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? rawJSON(value.toString()) : value;
}

/** Writes JSON text; bigint and JsonNumber are exact. */
export function stringifyJson(value: unknown, space?: number): string {
  // A flat object of plain scalars (a row image, most often) needs no replacer: the engine's own
  // path is several times faster than one replacer call per value.
  if (space === undefined && isFlatPlain(value)) return JSON.stringify(value);
  return JSON.stringify(value, replace, space);
}

function isFlatPlain(value: unknown): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const o = value as Record<string, unknown>;
  for (const k in o) {
    const v = o[k];
    if (v !== null && typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") return false;
  }
  return true;
}

/**
 * True if JSON text nests arrays/objects deeper than `max`. A linear scan (strings skipped), run
 * before parsing so that no recursive reader or writer downstream (row conversion at ingest and
 * at flush, error messages) can overflow the stack on what a client sent.
 */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // skip the string, honouring escapes
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
