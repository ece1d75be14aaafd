/**
 * Aggregate functions: COUNT(*), COUNT/SUM/AVG/MIN/MAX (each with DISTINCT and FILTER),
 * BOOL_AND/BOOL_OR. SUM of integers stays an exact bigint; AVG is a double; NULLs are skipped.
 */
import type { ExprCall } from "pgsql-ast-parser";
import { sqlError } from "./parse.js";
import { compareValues, keyOf, typeError, type Value } from "./values.js";

/** Names of the aggregate functions. */
export const AGGREGATES = new Set(["count", "sum", "avg", "min", "max", "bool_and", "bool_or"]);

/** One running aggregate. */
export interface Accumulator {
  add(v: Value): void;
  result(): Value;
}

/** A new accumulator for an aggregate call (`star` for COUNT(*)). */
export function newAccumulator(call: ExprCall, sql: string): Accumulator {
  const name = call.function.name.toLowerCase();
  const distinct = call.distinct === "distinct";
  const inner = base(name, call, sql);
  if (!distinct) return inner;
  const seen = new Set<string>();
  return {
    add(v) {
      if (v === null) return;
      const k = keyOf(v);
      if (seen.has(k)) return;
      seen.add(k);
      inner.add(v);
    },
    result: () => inner.result(),
  };
}

function base(name: string, call: ExprCall, sql: string): Accumulator {
  switch (name) {
    case "count": {
      let n = 0n;
      const star = call.args.length === 1 && call.args[0]!.type === "ref" && call.args[0]!.name === "*";
      return { add: (v) => void (star || v !== null ? n++ : 0), result: () => n };
    }
    case "sum":
    case "avg": {
      let big: bigint | null = null;
      let dbl: number | null = null;
      let n = 0;
      return {
        add(v) {
          if (v === null) return;
          n++;
          if (typeof v === "bigint" && dbl === null) big = (big ?? 0n) + v;
          else if (typeof v === "number" || typeof v === "bigint") {
            dbl = (dbl ?? (big === null ? 0 : Number(big))) + Number(v);
            big = null;
          } else throw typeError(`${name.toUpperCase()} needs numbers`);
        },
        result() {
          if (n === 0) return null;
          if (name === "sum") return dbl ?? big;
          return (dbl ?? Number(big)) / n;
        },
      };
    }
    case "min":
    case "max": {
      let best: Value = null;
      const dir = name === "min" ? -1 : 1;
      return {
        add(v) {
          if (v !== null && (best === null || compareValues(v, best) * dir > 0)) best = v;
        },
        result: () => best,
      };
    }
    case "bool_and":
    case "bool_or": {
      let acc: Value = null;
      return {
        add(v) {
          if (v === null) return;
          acc = acc === null ? v : name === "bool_and" ? acc && v : acc || v;
        },
        result: () => acc,
      };
    }
  }
  throw sqlError(sql, `Unsupported aggregate ${name}()`, call._location?.start);
}
