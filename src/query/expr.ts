/**
 * Expressions compiled to closures over a row (an array of values, one per column in scope):
 * operators, CASE, CAST, LIKE, IN, BETWEEN, scalar functions. Aggregates are compiled by
 * select.ts through the `hook`, which sees every node first. Three-valued logic as in PostgreSQL.
 */
import type { Expr } from "pgsql-ast-parser";
import { HttpError } from "../http/errors.js";
import { callScalar } from "./functions.js";
import { sqlError } from "./parse.js";
import { addInterval, castTo, compareValues, DateValue, dateToTimestamp, Interval, keyOf, Timestamp, typeError, type Value } from "./values.js";

/** A column in scope: the table (alias) it comes from and its name. */
export interface ColumnRef {
  table: string | null;
  name: string;
}

/** A compiled expression. */
export type Evaluator = (row: Value[]) => Value;

/** What compiling needs: the columns in scope, parameters, the query's clock, and hooks. */
export interface CompileContext {
  scope: ColumnRef[];
  params: Value[];
  now: Timestamp;
  sql: string;
  /** Sees each node first (aggregates, GROUP BY keys, output aliases); undefined to compile normally. */
  hook?: (e: Expr) => Evaluator | undefined;
  /** Results of uncorrelated subqueries, run before compiling. */
  subqueries: Map<object, Value[][]>;
}

/** Position of a node, for error messages. */
export function at(e: unknown): number | undefined {
  return (e as { _location?: { start: number } })._location?.start;
}

/** Index of a column in scope; a 400 naming it when unknown or ambiguous. */
export function resolveColumn(ctx: CompileContext, name: string, table: string | undefined, node: unknown): number {
  const hits: number[] = [];
  ctx.scope.forEach((c, i) => {
    if (c.name === name && (table === undefined || c.table === table)) hits.push(i);
  });
  if (hits.length === 0) throw sqlError(ctx.sql, `Unknown column "${table ? `${table}.` : ""}${name}"`, at(node));
  if (hits.length > 1) throw sqlError(ctx.sql, `Column reference "${name}" is ambiguous`, at(node));
  return hits[0]!;
}

/** True when a value counts as TRUE in WHERE / HAVING / ON / CASE. */
export function truthy(v: Value): boolean {
  return v === true;
}

/** Compiles an expression. */
export function compile(e: Expr, ctx: CompileContext): Evaluator {
  const hooked = ctx.hook?.(e);
  if (hooked) return hooked;
  const sub = (x: Expr) => compile(x, ctx);
  switch (e.type) {
    case "ref": {
      if (e.name === "*") throw sqlError(ctx.sql, "* is only allowed in the select list or COUNT(*)", at(e));
      const i = resolveColumn(ctx, e.name, e.table?.name, e);
      return (row) => row[i] as Value;
    }
    case "integer":
      return constant(BigInt(e.value));
    case "numeric":
      return constant(e.value);
    case "string":
      return constant(e.value);
    case "boolean":
      return constant(e.value);
    case "null":
      return constant(null);
    case "parameter": {
      const n = Number(e.name.slice(1));
      if (!(n >= 1 && n <= ctx.params.length)) throw sqlError(ctx.sql, `Parameter ${e.name} has no value (${ctx.params.length} given)`, at(e));
      return constant(ctx.params[n - 1] as Value);
    }
    case "keyword":
      if (e.keyword === "current_timestamp" || e.keyword === "localtimestamp") return constant(ctx.now);
      if (e.keyword === "current_date") return constant(castTo(ctx.now, "date"));
      throw sqlError(ctx.sql, `Unsupported keyword ${e.keyword.toUpperCase()}`, at(e));
    case "cast": {
      const v = sub(e.operand);
      const to = (e.to as { name: string }).name;
      if (!to) throw sqlError(ctx.sql, "Unsupported CAST target", at(e));
      castTo(null, to); // unknown type names fail at compile time only when reached; check now:
      checkType(ctx, to, e);
      return (row) => castTo(v(row), to);
    }
    case "unary":
      return unary(e.op, sub(e.operand));
    case "binary":
      return binary(e, ctx);
    case "ternary": {
      const v = sub(e.value);
      const lo = sub(e.lo);
      const hi = sub(e.hi);
      const not = e.op === "NOT BETWEEN";
      return (row) => {
        const x = v(row);
        const ge = cmp(x, lo(row), (c) => c >= 0);
        const le = cmp(x, hi(row), (c) => c <= 0);
        const r = and(ge, le);
        return not ? negate(r) : r;
      };
    }
    case "case": {
      const value = e.value ? sub(e.value) : undefined;
      const whens = e.whens.map((w) => ({ when: sub(w.when), then: sub(w.value) }));
      const otherwise = e.else ? sub(e.else) : constant(null);
      return (row) => {
        const v = value?.(row);
        for (const w of whens) {
          const c = w.when(row);
          if (value ? v !== null && v !== undefined && c !== null && compareValues(v, c) === 0 : truthy(c)) return w.then(row);
        }
        return otherwise(row);
      };
    }
    case "extract": {
      const from = sub(e.from);
      const field = e.field.name.toLowerCase();
      return (row) => callScalar("date_part", [field, from(row)], ctx.sql, at(e));
    }
    case "substring": {
      const v = sub(e.value);
      const from = e.from ? sub(e.from) : constant(1n);
      const len = e.for ? sub(e.for) : undefined;
      return (row) => callScalar("substring", len ? [v(row), from(row), len(row)] : [v(row), from(row)], ctx.sql, at(e));
    }
    case "call": {
      const name = e.function.name.toLowerCase();
      if (e.over) throw sqlError(ctx.sql, "Window functions (OVER) are not supported", at(e));
      if (name === "exists") {
        const rows = ctx.subqueries.get(e.args[0] as object);
        if (!rows) throw sqlError(ctx.sql, "EXISTS needs a subquery", at(e));
        return constant(rows.length > 0);
      }
      if (name === "coalesce") {
        const args = e.args.map(sub);
        return (row) => {
          for (const a of args) {
            const v = a(row);
            if (v !== null) return v;
          }
          return null;
        };
      }
      if (name === "position" && e.args.length === 1 && e.args[0]!.type === "binary" && e.args[0]!.op === "IN") {
        const needle = sub(e.args[0]!.left);
        const hay = sub(e.args[0]!.right as Expr);
        return (row) => callScalar("strpos", [hay(row), needle(row)], ctx.sql, at(e));
      }
      if (name === "now" || name === "current_timestamp") return constant(ctx.now);
      const args = e.args.map(sub);
      callScalar(name, null, ctx.sql, at(e)); // a 400 now for unknown functions
      return (row) => callScalar(name, args.map((a) => a(row)), ctx.sql, at(e));
    }
    case "select":
    case "union":
    case "union all":
    case "with": {
      const rows = ctx.subqueries.get(e);
      if (!rows) throw sqlError(ctx.sql, "Unsupported subquery", at(e));
      if (rows.length > 1) throw sqlError(ctx.sql, "More than one row returned by a subquery used as an expression", at(e));
      return constant((rows[0]?.[0] ?? null) as Value);
    }
  }
  throw sqlError(ctx.sql, `Unsupported expression: ${e.type}`, at(e));
}

function checkType(ctx: CompileContext, to: string, e: Expr): void {
  try {
    castTo("0", to);
  } catch (err) {
    if (err instanceof HttpError && err.message.startsWith("Unsupported type")) throw sqlError(ctx.sql, err.message, at(e));
  }
}

function constant(v: Value): Evaluator {
  return () => v;
}

function cmp(a: Value, b: Value, test: (c: number) => boolean): Value {
  if (a === null || b === null) return null;
  return test(compareValues(a, b));
}

function and(a: Value, b: Value): Value {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

function or(a: Value, b: Value): Value {
  if (a === true || b === true) return true;
  if (a === null || b === null) return null;
  return false;
}

function negate(a: Value): Value {
  return a === null ? null : !a;
}

function unary(op: string, v: Evaluator): Evaluator {
  switch (op) {
    case "NOT":
      return (row) => negate(asBool(v(row)));
    case "IS NULL":
      return (row) => v(row) === null;
    case "IS NOT NULL":
      return (row) => v(row) !== null;
    case "IS TRUE":
      return (row) => v(row) === true;
    case "IS NOT TRUE":
      return (row) => v(row) !== true;
    case "IS FALSE":
      return (row) => v(row) === false;
    case "IS NOT FALSE":
      return (row) => v(row) !== false;
    case "-":
      return (row) => {
        const x = v(row);
        if (x === null) return null;
        if (typeof x === "bigint") return -x;
        if (typeof x === "number") return -x;
        if (x instanceof Interval) return new Interval(-x.months, -x.days, -x.us);
        throw typeError("Unary minus needs a number or interval");
      };
    case "+":
      return v;
  }
  throw typeError(`Unsupported operator ${op}`);
}

function asBool(v: Value): Value {
  if (v === null || typeof v === "boolean") return v;
  throw typeError(`Expected a boolean, got ${String(v)}`);
}

/** SQL LIKE pattern to a RegExp (% and _; backslash escapes). */
export function likeRegExp(pattern: string, insensitive: boolean): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\" && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === "%") re += "[\\s\\S]*";
    else if (c === "_") re += "[\\s\\S]";
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, insensitive ? "i" : "");
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function binary(e: Extract<Expr, { type: "binary" }>, ctx: CompileContext): Evaluator {
  const l = compile(e.left, ctx);
  if (e.op === "IN" || e.op === "NOT IN") {
    const not = e.op === "NOT IN";
    let candidates: Evaluator[] | undefined;
    let set: Set<string> | undefined;
    let hasNull = false;
    if (e.right.type === "list") candidates = e.right.expressions.map((x) => compile(x, ctx));
    else {
      const rows = ctx.subqueries.get(e.right);
      if (!rows) throw sqlError(ctx.sql, "IN needs a list or a subquery", at(e.right));
      set = new Set();
      for (const r of rows) {
        if (r[0] === null) hasNull = true;
        else set.add(keyOf(r[0] as Value));
      }
    }
    return (row) => {
      const x = l(row);
      if (x === null) return null;
      let found = false;
      let nullSeen = hasNull;
      if (set) found = set.has(keyOf(x));
      else {
        for (const c of candidates!) {
          const y = c(row);
          if (y === null) nullSeen = true;
          else if (compareValues(x, y) === 0) {
            found = true;
            break;
          }
        }
      }
      const r: Value = found ? true : nullSeen ? null : false;
      return not ? negate(r) : r;
    };
  }
  const r = compile(e.right, ctx);
  switch (e.op) {
    case "AND":
      return (row) => {
        const a = asBool(l(row));
        return a === false ? false : and(a, asBool(r(row)));
      };
    case "OR":
      return (row) => {
        const a = asBool(l(row));
        return a === true ? true : or(a, asBool(r(row)));
      };
    case "=":
      return (row) => cmp(l(row), r(row), (c) => c === 0);
    case "!=":
      return (row) => cmp(l(row), r(row), (c) => c !== 0);
    case "<":
      return (row) => cmp(l(row), r(row), (c) => c < 0);
    case "<=":
      return (row) => cmp(l(row), r(row), (c) => c <= 0);
    case ">":
      return (row) => cmp(l(row), r(row), (c) => c > 0);
    case ">=":
      return (row) => cmp(l(row), r(row), (c) => c >= 0);
    case "LIKE":
    case "NOT LIKE":
    case "ILIKE":
    case "NOT ILIKE": {
      const insensitive = e.op.includes("ILIKE");
      const not = e.op.startsWith("NOT");
      const cache = new Map<string, RegExp>();
      return (row) => {
        const a = l(row);
        const p = r(row);
        if (a === null || p === null) return null;
        const ps = String(p);
        let re = cache.get(ps);
        if (!re) cache.set(ps, (re = likeRegExp(ps, insensitive)));
        const m = re.test(typeof a === "string" ? a : String(a));
        return not ? !m : m;
      };
    }
    case "||":
      return (row) => {
        const a = l(row);
        const b = r(row);
        return a === null || b === null ? null : callScalar("concat", [a, b], ctx.sql, at(e));
      };
    case "+":
    case "-":
    case "*":
    case "/":
    case "%":
      return arithmetic(e.op, l, r);
  }
  throw sqlError(ctx.sql, `Unsupported operator ${e.op}`, at(e));
}

function arithmetic(op: "+" | "-" | "*" | "/" | "%", l: Evaluator, r: Evaluator): Evaluator {
  return (row) => {
    const a = l(row);
    const b = r(row);
    if (a === null || b === null) return null;
    if (typeof a === "bigint" && typeof b === "bigint") {
      switch (op) {
        case "+":
          return a + b;
        case "-":
          return a - b;
        case "*":
          return a * b;
        case "/":
          if (b === 0n) throw typeError("Division by zero");
          return a / b; // integer division truncates toward zero (PostgreSQL)
        case "%":
          if (b === 0n) throw typeError("Division by zero");
          return a % b;
      }
    }
    if ((typeof a === "number" || typeof a === "bigint") && (typeof b === "number" || typeof b === "bigint")) {
      const x = Number(a);
      const y = Number(b);
      switch (op) {
        case "+":
          return x + y;
        case "-":
          return x - y;
        case "*":
          return x * y;
        case "/":
          if (y === 0) throw typeError("Division by zero");
          return x / y;
        case "%":
          if (y === 0) throw typeError("Division by zero");
          return x % y;
      }
    }
    return temporal(op, a, b);
  };
}

function temporal(op: string, a: Value, b: Value): Value {
  const ts = (v: Value) => (v instanceof DateValue ? dateToTimestamp(v) : v);
  if ((a instanceof Timestamp || a instanceof DateValue) && b instanceof Interval && (op === "+" || op === "-")) return addInterval(ts(a) as Timestamp, b, op === "+" ? 1 : -1);
  if (a instanceof Interval && (b instanceof Timestamp || b instanceof DateValue) && op === "+") return addInterval(ts(b) as Timestamp, a, 1);
  if (a instanceof DateValue && typeof b === "bigint" && (op === "+" || op === "-")) return new DateValue(a.days + (op === "+" ? 1 : -1) * Number(b));
  if (a instanceof DateValue && b instanceof DateValue && op === "-") return BigInt(a.days - b.days);
  if (a instanceof Timestamp && b instanceof Timestamp && op === "-") {
    const us = a.us - b.us;
    const days = us / 86_400_000_000n;
    return new Interval(0, Number(days), us - days * 86_400_000_000n);
  }
  if (a instanceof Interval && b instanceof Interval && (op === "+" || op === "-")) {
    const s = op === "+" ? 1 : -1;
    return new Interval(a.months + s * b.months, a.days + s * b.days, a.us + BigInt(s) * b.us);
  }
  throw typeError(`Operator ${op} is not defined for these types`);
}
