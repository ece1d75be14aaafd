/**
 * File pruning from manifest column statistics: the WHERE clause's top-level AND terms of the
 * form `column <op> constant` (=, <, <=, >, >=, BETWEEN) are checked against each data file's
 * lower/upper bounds (Iceberg spec, "Scan Planning"). A file is skipped only when no row can
 * match. String bounds may be truncated prefixes, so strings prune only on exact-length bounds.
 */
import type { Expr } from "pgsql-ast-parser";
import type { DataFile } from "../iceberg/data-file.js";
import type { NestedField, PartitionSpec } from "../iceberg/metadata/types.js";
import { parsePrimitive, type PrimitiveValue } from "../iceberg/primitive.js";
import { applyTransform, parseTransform } from "../iceberg/transforms.js";
import { fromSingleValue } from "../iceberg/single-value.js";
import { compareValues, DateValue, Timestamp, toQueryValue, type Value } from "./values.js";

/** One prunable term: column op value. */
export interface RangeTerm {
  column: string;
  op: "=" | "<" | "<=" | ">" | ">=";
  value: Value;
}

const FLIP: Record<string, RangeTerm["op"]> = { "=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

/** The prunable terms of a WHERE clause; `constant` evaluates literals and parameters (undefined otherwise). */
export function rangeTerms(where: Expr | undefined | null, constant: (e: Expr) => Value | undefined): RangeTerm[] {
  const out: RangeTerm[] = [];
  const visit = (e: Expr): void => {
    if (e.type === "binary" && e.op === "AND") {
      visit(e.left);
      visit(e.right);
      return;
    }
    if (e.type === "binary" && e.op in FLIP) {
      const l = e.left.type === "ref" ? e.left : undefined;
      const r = e.right.type === "ref" ? e.right : undefined;
      if (l && !r) {
        const v = constant(e.right);
        if (v !== undefined && v !== null) out.push({ column: l.name, op: e.op as RangeTerm["op"], value: v });
      } else if (r && !l) {
        const v = constant(e.left);
        if (v !== undefined && v !== null) out.push({ column: r.name, op: FLIP[e.op]!, value: v });
      }
    }
    if (e.type === "ternary" && e.op === "BETWEEN" && e.value.type === "ref") {
      const lo = constant(e.lo);
      const hi = constant(e.hi);
      if (lo !== undefined && lo !== null) out.push({ column: e.value.name, op: ">=", value: lo });
      if (hi !== undefined && hi !== null) out.push({ column: e.value.name, op: "<=", value: hi });
    }
  };
  if (where) visit(where);
  return out;
}

/** Why a file can be skipped (a term its partition values or bounds rule out), or undefined when it may hold matches. */
export function pruneReason(file: DataFile, fields: NestedField[], terms: RangeTerm[], spec?: PartitionSpec): string | undefined {
  const byPartition = spec ? partitionReason(file, spec, fields, terms) : undefined;
  if (byPartition) return byPartition;
  return prune(fields, terms, (f, p) => {
    const lowerBytes = file.lowerBounds.get(f.id);
    const upperBytes = file.upperBounds.get(f.id);
    return [lowerBytes ? toQueryValue(fromSingleValue(p, lowerBytes), f.type as string) : undefined, upperBytes ? toQueryValue(fromSingleValue(p, upperBytes), f.type as string) : undefined];
  });
}

/**
 * Why a Parquet row group can be skipped, from its column statistics (min/max of each column, as
 * query values, by Iceberg field), or undefined when it may hold matches.
 */
export function pruneRowGroup(fields: NestedField[], terms: RangeTerm[], stats: (f: NestedField) => [Value | undefined, Value | undefined]): string | undefined {
  return prune(fields, terms, (f) => stats(f));
}

function prune(fields: NestedField[], terms: RangeTerm[], bounds: (f: NestedField, p: ReturnType<typeof parsePrimitive>) => [Value | undefined, Value | undefined]): string | undefined {
  for (const t of terms) {
    const f = fields.find((x) => x.name === t.column);
    if (!f || typeof f.type !== "string") continue;
    try {
      const p = parsePrimitive(f.type);
      if (p.kind === "string" || p.kind === "binary" || p.kind === "uuid") continue; // bounds may be truncated
      const [lower, upper] = bounds(f, p);
      const below = (b: Value | undefined, strict: boolean) => b !== undefined && b !== null && (strict ? compareValues(b, t.value) < 0 : compareValues(b, t.value) <= 0);
      const above = (b: Value | undefined, strict: boolean) => b !== undefined && b !== null && (strict ? compareValues(b, t.value) > 0 : compareValues(b, t.value) >= 0);
      let ruled = false;
      if (t.op === "=") ruled = below(upper, true) || above(lower, true);
      else if (t.op === "<") ruled = above(lower, false);
      else if (t.op === "<=") ruled = above(lower, true);
      else if (t.op === ">") ruled = below(upper, false);
      else if (t.op === ">=") ruled = below(upper, true);
      if (ruled) return `${t.column} ${t.op} bound [${String(lower)}, ${String(upper)}]`;
    } catch {
      // Not comparable (type mismatch): keep it; the filter decides per row.
    }
  }
  return undefined;
}

/** Transforms that keep order (a < b implies t(a) <= t(b)): a range term prunes on them too. */
const MONOTONIC = new Set(["identity", "year", "month", "day", "hour", "truncate"]);

/** A query constant as the Iceberg value of a source column's type (undefined when it is not one). */
function icebergValue(v: Value, type: string): PrimitiveValue | undefined {
  switch (type) {
    case "int":
      return typeof v === "bigint" && v >= -(2n ** 31n) && v < 2n ** 31n ? Number(v) : undefined;
    case "long":
      return typeof v === "bigint" ? v : undefined;
    case "string":
      return typeof v === "string" ? v : undefined;
    case "date":
      return v instanceof DateValue ? v.days : undefined;
    case "timestamp":
    case "timestamptz":
      return v instanceof Timestamp ? v.us : undefined;
  }
  return undefined;
}

function compareParts(a: PrimitiveValue, b: PrimitiveValue): number {
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if ((typeof a === "number" || typeof a === "bigint") && (typeof b === "number" || typeof b === "bigint")) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return Number.NaN;
}

/**
 * Why a file's partition rules a term out (spec "Scan Planning": the term projected through the
 * partition transform): `col = c` against every transform (bucket included), ranges against
 * order-keeping ones. A null partition value holds only rows where the column is null, which no
 * comparison matches.
 */
function partitionReason(file: DataFile, spec: PartitionSpec, fields: NestedField[], terms: RangeTerm[]): string | undefined {
  for (const [i, pf] of spec.fields.entries()) {
    const source = fields.find((f) => f.id === pf["source-id"]);
    if (!source || typeof source.type !== "string" || i >= file.partition.length) continue;
    const part = file.partition[i];
    for (const t of terms) {
      if (t.column !== source.name) continue;
      let transform;
      try {
        transform = parseTransform(pf.transform);
      } catch {
        continue;
      }
      if (transform.kind === "void") continue;
      if (part === null || part === undefined) return `${t.column} ${t.op} ${String(t.value)}: partition ${pf.name} is null`;
      // Ranges prune on order-keeping transforms of numbers and times (string order in JS is UTF-16's, not Iceberg's UTF-8 bytes).
      if (t.op !== "=" && (!MONOTONIC.has(transform.kind) || typeof part === "string")) continue;
      const v = icebergValue(t.value, source.type);
      if (v === undefined) continue;
      let want: PrimitiveValue | null;
      try {
        want = applyTransform(transform, source.type, v);
      } catch {
        continue;
      }
      if (want === null) continue;
      const c = compareParts(part, want);
      if (Number.isNaN(c)) continue;
      const ruled = t.op === "=" ? c !== 0 : t.op === "<" || t.op === "<=" ? c > 0 : c < 0;
      if (ruled) return `${t.column} ${t.op} ${String(t.value)}: partition ${pf.name}=${String(part)}`;
    }
  }
  return undefined;
}
