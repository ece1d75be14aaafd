/**
 * Runs a parsed SELECT over relations: CTEs, FROM (tables, subqueries, inner/left/cross joins),
 * WHERE, GROUP BY (ordinals, aliases) / HAVING with aggregates, DISTINCT, ORDER BY (NULLS
 * FIRST/LAST, PostgreSQL defaults), LIMIT/OFFSET, UNION [ALL], and uncorrelated subqueries
 * (scalar, IN, EXISTS). Tables come from a TableProvider, which the scan planner implements.
 */
import type { Expr, ExprCall, From, SelectedColumn, SelectFromStatement, Statement } from "pgsql-ast-parser";
import { AGGREGATES, newAccumulator } from "./aggregate.js";
import { at, type ColumnRef, compile, type CompileContext, type Evaluator, truthy } from "./expr.js";
import { sqlError } from "./parse.js";
import { compareValues, keyOf, type Timestamp, type Value } from "./values.js";

/** Rows with named columns. */
export interface Relation {
  columns: ColumnRef[];
  rows: Value[][];
}

/** Loads a lake table: only `columns` are needed ("*" for all). */
export interface TableProvider {
  load(name: string, schema: string | undefined, columns: Set<string> | "*", node: unknown): Promise<Relation>;
  /**
   * The same table as chunks of rows, for a SELECT straight from it: WHERE and aggregates run as
   * the chunks come, so only kept rows (or groups) are held. `keep` counts what the query holds.
   */
  stream?(name: string, schema: string | undefined, columns: Set<string> | "*", node: unknown): Promise<{ columns: ColumnRef[]; chunks: AsyncIterable<Value[][]>; keep(rows: number, columns: number): void }>;
}

/** What every part of one query shares. */
export interface QueryEnv {
  sql: string;
  params: Value[];
  now: Timestamp;
  provider: TableProvider;
  /** Columns each table reference needs, computed once per query. */
  needed: Map<string, Set<string> | "*">;
}

/** Runs a statement; CTEs in `ctes` are visible to it. */
export async function runStatement(s: Statement, env: QueryEnv, ctes: Map<string, Relation> = new Map()): Promise<Relation> {
  if (s.type === "with") {
    const scope = new Map(ctes);
    for (const b of s.bind) scope.set(b.alias.name, await runStatement(b.statement, env, scope));
    return runStatement(s.in, env, scope);
  }
  if (s.type === "union" || s.type === "union all") {
    // The parser hangs a trailing ORDER BY / LIMIT on the last member; SQL applies it to the union.
    const last = s.right;
    if (last.type === "select" && (last.orderBy || last.limit)) {
      const { orderBy, limit, ...member } = last;
      const inner = { ...s, right: member } as Statement;
      const outer = { type: "select", columns: [{ expr: { type: "ref", name: "*" } }], from: [{ type: "statement", statement: inner, alias: "_union" }], orderBy, limit };
      return runStatement(outer as Statement, env, ctes);
    }
    const l = await runStatement(s.left, env, ctes);
    const r = await runStatement(s.right, env, ctes);
    if (l.columns.length !== r.columns.length) throw sqlError(env.sql, "Each UNION query must have the same number of columns", at(s));
    const rows = [...l.rows, ...r.rows];
    return { columns: l.columns, rows: s.type === "union" ? distinct(rows) : rows };
  }
  if (s.type !== "select") throw sqlError(env.sql, `Unsupported statement ${s.type}`, at(s));
  return runSelect(s, env, ctes);
}

function distinct(rows: Value[][]): Value[][] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const k = r.map(keyOf).join("\u0001");
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

async function loadFrom(f: From, env: QueryEnv, ctes: Map<string, Relation>): Promise<Relation> {
  if (f.type === "statement") {
    const r = await runStatement(f.statement, env, ctes);
    return { columns: r.columns.map((c) => ({ table: f.alias, name: c.name })), rows: r.rows };
  }
  if (f.type === "table") {
    const alias = f.name.alias ?? f.name.name;
    const cte = f.name.schema ? undefined : ctes.get(f.name.name);
    const r = cte ?? (await env.provider.load(f.name.name, f.name.schema, env.needed.get(alias) ?? "*", f.name));
    return { columns: r.columns.map((c) => ({ table: alias, name: c.name })), rows: r.rows };
  }
  throw sqlError(env.sql, "Table functions in FROM are not supported", at(f));
}

async function runFrom(s: SelectFromStatement, env: QueryEnv, ctes: Map<string, Relation>): Promise<Relation> {
  if (!s.from || s.from.length === 0) return { columns: [], rows: [[]] };
  let acc: Relation | undefined;
  for (const f of s.from) {
    const right = await loadFrom(f, env, ctes);
    if (!acc) {
      acc = right;
      continue;
    }
    const join = f.join;
    const columns = [...acc.columns, ...right.columns];
    let on: Evaluator | undefined;
    if (join?.on) on = compile(join.on, { ...baseCtx(env, columns), subqueries: await subqueriesOf([join.on], env, ctes) });
    if (join?.using) {
      const pairs = join.using.map((u: { name: string }) => [indexIn(acc!.columns, u.name, env, u), acc!.columns.length + indexIn(right.columns, u.name, env, u)] as const);
      on = (row) => pairs.every(([a, b]: readonly [number, number]) => row[a] !== null && row[b] !== null && compareValues(row[a]!, row[b]!) === 0);
    }
    const type = join?.type ?? "CROSS JOIN";
    if (type !== "INNER JOIN" && type !== "LEFT JOIN" && type !== "CROSS JOIN") throw sqlError(env.sql, `${type} is not supported (inner, left and cross joins are)`, at(f));
    const rows: Value[][] = [];
    const nulls = right.columns.map(() => null);
    for (const l of acc.rows) {
      let matched = false;
      for (const r of right.rows) {
        const row = [...l, ...r];
        if (!on || truthy(on(row))) {
          rows.push(row);
          matched = true;
        }
      }
      if (!matched && type === "LEFT JOIN") rows.push([...l, ...nulls]);
    }
    acc = { columns, rows };
  }
  return acc!;
}

function indexIn(columns: ColumnRef[], name: string, env: QueryEnv, node: unknown): number {
  const i = columns.findIndex((c) => c.name === name);
  if (i < 0) throw sqlError(env.sql, `Unknown column "${name}" in USING`, at(node));
  return i;
}

function baseCtx(env: QueryEnv, scope: ColumnRef[]): CompileContext {
  return { scope, params: env.params, now: env.now, sql: env.sql, subqueries: new Map() };
}

/** Runs the uncorrelated subqueries inside expressions, keyed by their node. */
async function subqueriesOf(exprs: unknown[], env: QueryEnv, ctes: Map<string, Relation>): Promise<Map<object, Value[][]>> {
  const out = new Map<object, Value[][]>();
  const walk = async (n: unknown): Promise<void> => {
    if (!n || typeof n !== "object") return;
    if (Array.isArray(n)) {
      for (const x of n) await walk(x);
      return;
    }
    const t = (n as { type?: string }).type;
    if (t === "select" || t === "union" || t === "union all" || t === "with") {
      out.set(n, (await runStatement(n as Statement, env, ctes)).rows);
      return;
    }
    for (const [k, v] of Object.entries(n)) if (k !== "_location") await walk(v);
  };
  for (const e of exprs) await walk(e);
  return out;
}

/** Structural identity of an expression (positions ignored). */
function shape(e: unknown): string {
  return JSON.stringify(e, (k, v) => (k === "_location" ? undefined : v));
}

function isAggregate(e: Expr): e is ExprCall {
  return e.type === "call" && AGGREGATES.has(e.function.name.toLowerCase()) && !e.over;
}

function containsAggregate(n: unknown): boolean {
  if (!n || typeof n !== "object") return false;
  if (Array.isArray(n)) return n.some(containsAggregate);
  const t = (n as { type?: string }).type;
  if (t === "select" || t === "union" || t === "union all" || t === "with") return false;
  if (t === "call" && isAggregate(n as Expr)) return true;
  return Object.entries(n).some(([k, v]) => k !== "_location" && containsAggregate(v));
}

/** Output name of a select item, as PostgreSQL names it. */
function outputName(c: SelectedColumn): string {
  if (c.alias) return c.alias.name;
  const e = c.expr;
  if (e.type === "ref") return e.name;
  if (e.type === "call") return e.function.name.toLowerCase();
  if (e.type === "cast") return e.operand.type === "ref" ? e.operand.name : (e.to as { name: string }).name;
  if (e.type === "extract") return "extract";
  return "?column?";
}

/** The chunks of a SELECT straight from one lake table (no join, not a CTE), when the provider streams. */
async function streamedFrom(s: SelectFromStatement, env: QueryEnv, ctes: Map<string, Relation>) {
  const f = s.from?.length === 1 ? s.from[0]! : undefined;
  if (!f || f.type !== "table" || !env.provider.stream || (!f.name.schema && ctes.has(f.name.name))) return undefined;
  const alias = f.name.alias ?? f.name.name;
  const t = await env.provider.stream(f.name.name, f.name.schema, env.needed.get(alias) ?? "*", f.name);
  return { ...t, columns: t.columns.map((c) => ({ table: alias, name: c.name })) };
}

async function runSelect(s: SelectFromStatement, env: QueryEnv, ctes: Map<string, Relation>): Promise<Relation> {
  const streamed = await streamedFrom(s, env, ctes);
  const input = streamed ? { columns: streamed.columns, rows: [] } : await runFrom(s, env, ctes);
  const exprRoots = [s.where, s.columns, s.having, s.groupBy, s.orderBy];
  const subqueries = await subqueriesOf(exprRoots, env, ctes);
  const ctx: CompileContext = { ...baseCtx(env, input.columns), subqueries };
  const where = s.where ? compile(s.where, ctx) : undefined;
  let rows = where ? input.rows.filter((r) => truthy(where(r))) : input.rows;
  /** Calls `fn` for every input row the WHERE keeps, chunk by chunk when streamed. */
  const eachKept = async (fn: (r: Value[]) => void): Promise<void> => {
    if (!streamed) return rows.forEach(fn);
    for await (const chunk of streamed.chunks) for (const r of chunk) if (!where || truthy(where(r))) fn(r);
  };
  // Expand * and t.* into column refs.
  const items: SelectedColumn[] = [];
  for (const c of s.columns ?? []) {
    if (c.expr.type === "ref" && c.expr.name === "*") {
      const table = c.expr.table?.name;
      const cols = input.columns.filter((col) => !table || col.table === table);
      if (table && cols.length === 0) throw sqlError(env.sql, `Unknown table "${table}" in ${table}.*`, at(c.expr));
      for (const col of cols) items.push({ expr: { type: "ref", name: col.name, ...(col.table ? { table: { name: col.table } } : {}) } });
    } else items.push(c);
  }
  const names = items.map(outputName);
  const grouped = (s.groupBy?.length ?? 0) > 0 || containsAggregate(items) || containsAggregate(s.having) || containsAggregate(s.orderBy);
  // The row the select list is evaluated on: the input row, or a group row [keys..., aggregates...].
  let evalRows: Value[][];
  let evalCtx: CompileContext;
  if (grouped) {
    const keys = (s.groupBy ?? []).map((g) => {
      if (g.type === "integer") {
        const item = items[g.value - 1];
        if (!item) throw sqlError(env.sql, `GROUP BY position ${g.value} is not in the select list`, at(g));
        return item.expr;
      }
      if (g.type === "ref" && !g.table && !input.columns.some((c) => c.name === g.name)) {
        const i = names.indexOf(g.name);
        if (i >= 0) return items[i]!.expr;
      }
      return g;
    });
    const keyShapes = keys.map(shape);
    const aggregates: ExprCall[] = [];
    const aggShapes: string[] = [];
    const collect = (n: unknown): void => {
      if (!n || typeof n !== "object") return;
      if (Array.isArray(n)) return n.forEach(collect);
      const t = (n as { type?: string }).type;
      if (t === "select" || t === "union" || t === "union all" || t === "with") return;
      if (t === "call" && isAggregate(n as Expr)) {
        const sh = shape(n);
        if (!aggShapes.includes(sh)) {
          aggShapes.push(sh);
          aggregates.push(n as ExprCall);
        }
        return;
      }
      for (const [k, v] of Object.entries(n)) if (k !== "_location") collect(v);
    };
    collect([items, s.having, s.orderBy]);
    const keyEvals = keys.map((k) => compile(k, ctx));
    const argEvals = aggregates.map((a) => {
      const star = a.args.length === 1 && a.args[0]!.type === "ref" && a.args[0]!.name === "*";
      if (!star && a.args.length !== 1) throw sqlError(env.sql, `${a.function.name}() takes one argument`, at(a));
      return { arg: star ? () => 1n : compile(a.args[0]!, ctx), filter: a.filter ? compile(a.filter, ctx) : undefined };
    });
    const groups = new Map<string, { keys: Value[]; accs: ReturnType<typeof newAccumulator>[] }>();
    await eachKept((r) => {
      const kv = keyEvals.map((k) => k(r));
      const gk = kv.map(keyOf).join("\u0001");
      let g = groups.get(gk);
      if (!g) {
        groups.set(gk, (g = { keys: kv, accs: aggregates.map((a) => newAccumulator(a, env.sql)) }));
        streamed?.keep(1, kv.length + aggregates.length);
      }
      argEvals.forEach((a, i) => {
        if (!a.filter || truthy(a.filter(r))) g!.accs[i]!.add(a.arg(r));
      });
    });
    // No GROUP BY: one group even over no rows (COUNT(*) = 0).
    if (groups.size === 0 && keys.length === 0) groups.set("", { keys: [], accs: aggregates.map((a) => newAccumulator(a, env.sql)) });
    evalRows = [...groups.values()].map((g) => [...g.keys, ...g.accs.map((a) => a.result())]);
    const nKeys = keys.length;
    evalCtx = {
      ...ctx,
      hook: (e) => {
        const k = keyShapes.indexOf(shape(e));
        if (k >= 0) return (row) => row[k] as Value;
        if (e.type === "call" && isAggregate(e)) {
          const j = aggShapes.indexOf(shape(e));
          return (row) => row[nKeys + j] as Value;
        }
        if (e.type === "ref" && e.name !== "*") {
          throw sqlError(env.sql, `Column "${e.name}" must appear in the GROUP BY clause or be used in an aggregate function`, at(e));
        }
        return undefined;
      },
    };
    if (s.having) {
      const having = compile(s.having, evalCtx);
      evalRows = evalRows.filter((r) => truthy(having(r)));
    }
  } else {
    if (s.having) throw sqlError(env.sql, "HAVING needs GROUP BY or an aggregate", at(s.having));
    if (streamed) {
      rows = [];
      await eachKept((r) => {
        rows.push(r);
        streamed.keep(1, r.length);
      });
    }
    evalRows = rows;
    evalCtx = ctx;
  }
  const outputs = items.map((c) => compile(c.expr, evalCtx));
  let out = evalRows.map((r) => ({ src: r, values: outputs.map((o) => o(r)) }));
  if (s.distinct === "distinct") {
    const seen = new Set<string>();
    out = out.filter((o) => {
      const k = o.values.map(keyOf).join("\u0001");
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  } else if (s.distinct && s.distinct !== "all") throw sqlError(env.sql, "DISTINCT ON is not supported", at(s));
  if (s.orderBy?.length) {
    const keys = s.orderBy.map((o) => {
      const desc = o.order === "DESC";
      const nullsFirst = o.nulls ? o.nulls === "FIRST" : desc; // PostgreSQL: NULLs are larger than any value
      let ev: (x: { src: Value[]; values: Value[] }) => Value;
      if (o.by.type === "integer") {
        const i = o.by.value - 1;
        if (i < 0 || i >= items.length) throw sqlError(env.sql, `ORDER BY position ${o.by.value} is not in the select list`, at(o.by));
        ev = (x) => x.values[i] as Value;
      } else if (o.by.type === "ref" && !o.by.table && names.includes(o.by.name)) {
        const i = names.indexOf(o.by.name);
        ev = (x) => x.values[i] as Value;
      } else {
        const i = items.findIndex((c) => shape(c.expr) === shape(o.by));
        if (i >= 0) ev = (x) => x.values[i] as Value;
        else {
          if (s.distinct === "distinct") throw sqlError(env.sql, "For SELECT DISTINCT, ORDER BY expressions must appear in the select list", at(o.by));
          const f = compile(o.by, evalCtx);
          ev = (x) => f(x.src);
        }
      }
      return { ev, desc, nullsFirst };
    });
    const decorated = out.map((x, idx) => ({ x, idx, k: keys.map((k) => k.ev(x)) }));
    decorated.sort((a, b) => {
      for (let i = 0; i < keys.length; i++) {
        const { desc, nullsFirst } = keys[i]!;
        const p = a.k[i] as Value;
        const q = b.k[i] as Value;
        if (p === null || q === null) {
          if (p === q) continue;
          return (p === null) === nullsFirst ? -1 : 1;
        }
        const c = compareValues(p, q);
        if (c !== 0) return desc ? -c : c;
      }
      return a.idx - b.idx;
    });
    out = decorated.map((d) => d.x);
  }
  let result = out.map((o) => o.values);
  const offset = s.limit?.offset ? Number(constantOf(s.limit.offset, env)) : 0;
  const limit = s.limit?.limit ? Number(constantOf(s.limit.limit, env)) : undefined;
  if (offset || limit !== undefined) result = result.slice(offset, limit === undefined ? undefined : offset + limit);
  return { columns: names.map((name) => ({ table: null, name })), rows: result };
}

function constantOf(e: Expr, env: QueryEnv): Value {
  const v = compile(e, baseCtx(env, []))([]);
  if (typeof v !== "bigint" || v < 0n) throw sqlError(env.sql, "LIMIT and OFFSET need a non-negative integer", at(e));
  return v;
}
