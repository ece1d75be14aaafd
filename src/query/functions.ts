/**
 * Scalar functions (PostgreSQL names and NULL rules): date_trunc, date_part/extract, string and
 * math functions. Every function returns NULL for a NULL argument unless noted (concat skips NULLs).
 */
import { sqlError } from "./parse.js";
import { castTo, compareValues, DateValue, dateToTimestamp, Timestamp, typeError, valueToText, type Value } from "./values.js";

type Fn = (args: Value[]) => Value;

const US_PER_DAY = 86_400_000_000n;

function str(v: Value): string {
  return typeof v === "string" ? v : valueToText(v);
}

function int(v: Value): number {
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number" && Number.isInteger(v)) return v;
  throw typeError(`Expected an integer, got ${String(v)}`);
}

function num(v: Value): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw typeError(`Expected a number, got ${String(v)}`);
}

function ts(v: Value): Timestamp {
  if (v instanceof Timestamp) return v;
  if (v instanceof DateValue) return dateToTimestamp(v);
  if (typeof v === "string") return castTo(v, "timestamp") as Timestamp;
  throw typeError(`Expected a timestamp, got ${String(v)}`);
}

/** Truncates a timestamp to a unit (date_trunc). A date truncates to a timestamp, as in PostgreSQL. */
function dateTrunc(unit: string, t: Timestamp): Timestamp {
  const u = unit.toLowerCase();
  const small: Record<string, bigint> = { microseconds: 1n, milliseconds: 1000n, second: 1_000_000n, minute: 60_000_000n, hour: 3_600_000_000n, day: US_PER_DAY };
  const step = small[u] ?? small[u.replace(/s$/, "")];
  if (step !== undefined) return new Timestamp(t.us - (((t.us % step) + step) % step), t.tz);
  const d = new Date(Number((t.us - (((t.us % 1000n) + 1000n) % 1000n)) / 1000n));
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  let ms: number;
  switch (u.replace(/s$/, "")) {
    case "week": {
      const day = Date.UTC(y, m, d.getUTCDate());
      ms = day - ((new Date(day).getUTCDay() + 6) % 7) * 86_400_000; // ISO weeks start on Monday
      break;
    }
    case "month":
      ms = Date.UTC(y, m, 1);
      break;
    case "quarter":
      ms = Date.UTC(y, m - (m % 3), 1);
      break;
    case "year":
      ms = Date.UTC(y, 0, 1);
      break;
    case "decade":
      ms = Date.UTC(y - (((y % 10) + 10) % 10), 0, 1);
      break;
    default:
      throw typeError(`Unknown date_trunc unit '${unit}'`);
  }
  return new Timestamp(BigInt(ms) * 1000n, t.tz);
}

/** A field of a timestamp or date (date_part / EXTRACT): BIGINT, except epoch (DOUBLE). */
function datePart(field: string, v: Value): Value {
  const t = ts(v);
  const f = field.toLowerCase();
  if (f === "epoch") return Number(t.us) / 1e6;
  const ms = Number((t.us - (((t.us % 1000n) + 1000n) % 1000n)) / 1000n);
  const d = new Date(ms);
  const micros = Number(((t.us % 60_000_000n) + 60_000_000n) % 60_000_000n);
  switch (f.replace(/s$/, "")) {
    case "year":
      return BigInt(d.getUTCFullYear());
    case "quarter":
      return BigInt(Math.floor(d.getUTCMonth() / 3) + 1);
    case "month":
      return BigInt(d.getUTCMonth() + 1);
    case "day":
      return BigInt(d.getUTCDate());
    case "hour":
      return BigInt(d.getUTCHours());
    case "minute":
      return BigInt(d.getUTCMinutes());
    case "second":
      return BigInt(Math.floor(micros / 1e6));
    case "millisecond":
      return BigInt(Math.floor(micros / 1e3));
    case "microsecond":
      return BigInt(micros);
    case "dow":
      return BigInt(d.getUTCDay());
    case "isodow":
      return BigInt(d.getUTCDay() || 7);
    case "doy":
      return BigInt(Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1);
    case "week": {
      const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      const thursday = day + (3 - ((new Date(day).getUTCDay() + 6) % 7)) * 86_400_000;
      const yearStart = Date.UTC(new Date(thursday).getUTCFullYear(), 0, 1);
      return BigInt(Math.floor((thursday - yearStart) / (7 * 86_400_000)) + 1);
    }
  }
  throw typeError(`Unknown date part '${field}'`);
}

/** Rounds half away from zero to `digits` places (PostgreSQL's round for numeric). */
function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return (Math.sign(x) * Math.round(Math.abs(x) * f)) / f;
}

const FUNCTIONS: Record<string, { fn: Fn; nullSafe?: boolean }> = {
  date_trunc: { fn: ([u, t]) => dateTrunc(str(u!), ts(t!)) },
  date_part: { fn: ([f, t]) => datePart(str(f!), t!) },
  upper: { fn: ([s]) => str(s!).toUpperCase() },
  lower: { fn: ([s]) => str(s!).toLowerCase() },
  length: { fn: ([s]) => BigInt([...str(s!)].length) },
  char_length: { fn: ([s]) => BigInt([...str(s!)].length) },
  substring: {
    fn: ([s, from, len]) => {
      const chars = [...str(s!)];
      const start = int(from!);
      const end = len === undefined ? chars.length + 1 : start + int(len);
      return chars.slice(Math.max(start, 1) - 1, Math.max(end - 1, 0)).join("");
    },
  },
  concat: { fn: (args) => args.map((a) => (a === null ? "" : str(a))).join(""), nullSafe: true },
  trim: { fn: ([s]) => str(s!).trim() },
  ltrim: { fn: ([s]) => str(s!).replace(/^\s+/, "") },
  rtrim: { fn: ([s]) => str(s!).replace(/\s+$/, "") },
  replace: { fn: ([s, a, b]) => str(s!).split(str(a!)).join(str(b!)) },
  strpos: { fn: ([s, sub]) => BigInt([...str(s!).slice(0, Math.max(str(s!).indexOf(str(sub!)), 0))].length + (str(s!).includes(str(sub!)) ? 1 : 0)) },
  starts_with: { fn: ([s, p]) => str(s!).startsWith(str(p!)) },
  left: { fn: ([s, n]) => [...str(s!)].slice(0, int(n!)).join("") },
  right: { fn: ([s, n]) => [...str(s!)].slice(-int(n!)).join("") },
  reverse: { fn: ([s]) => [...str(s!)].reverse().join("") },
  split_part: { fn: ([s, d, n]) => str(s!).split(str(d!))[int(n!) - 1] ?? "" },
  lpad: { fn: ([s, n, f]) => str(s!).padStart(int(n!), f === undefined ? " " : str(f)).slice(0, int(n!)) },
  rpad: { fn: ([s, n, f]) => str(s!).padEnd(int(n!), f === undefined ? " " : str(f)).slice(0, int(n!)) },
  abs: { fn: ([x]) => (typeof x === "bigint" ? (x < 0n ? -x : x) : Math.abs(num(x!))) },
  round: { fn: ([x, d]) => (typeof x === "bigint" ? x : round(num(x!), d === undefined ? 0 : int(d))) },
  floor: { fn: ([x]) => (typeof x === "bigint" ? x : Math.floor(num(x!))) },
  ceil: { fn: ([x]) => (typeof x === "bigint" ? x : Math.ceil(num(x!))) },
  ceiling: { fn: ([x]) => (typeof x === "bigint" ? x : Math.ceil(num(x!))) },
  sqrt: { fn: ([x]) => Math.sqrt(num(x!)) },
  power: { fn: ([x, y]) => num(x!) ** num(y!) },
  sign: { fn: ([x]) => (typeof x === "bigint" ? BigInt(x > 0n ? 1 : x < 0n ? -1 : 0) : Math.sign(num(x!))) },
  mod: { fn: ([x, y]) => (typeof x === "bigint" && typeof y === "bigint" ? x % y : num(x!) % num(y!)) },
  nullif: { fn: ([a, b]) => (a !== null && a !== undefined && b !== null && b !== undefined && compareValues(a, b) === 0 ? null : (a ?? null)), nullSafe: true },
  greatest: { fn: (args) => pick(args, 1), nullSafe: true },
  least: { fn: (args) => pick(args, -1), nullSafe: true },
  to_timestamp: { fn: ([s]) => new Timestamp(BigInt(Math.round(num(s!) * 1e6)), true) },
};

function pick(args: Value[], dir: 1 | -1): Value {
  let best: Value = null;
  for (const a of args) if (a !== null && (best === null || compareValues(a, best) * dir > 0)) best = a ?? null;
  return best;
}

/** Calls a scalar function; with `args` null, only checks that it exists (a 400 naming it if not). */
export function callScalar(name: string, args: Value[] | null, sql: string, pos: number | undefined): Value {
  const f = FUNCTIONS[name];
  if (!f) throw sqlError(sql, `Unknown or unsupported function ${name}()`, pos);
  if (args === null) return null;
  if (!f.nullSafe && args.some((a) => a === null)) return null;
  return f.fn(args);
}
