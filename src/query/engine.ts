/**
 * One query from request to result: parse, find the tables it names, fetch their consistent read
 * state from the object (one RPC), scan them in this Worker, run the SELECT, and shape the answer
 * (columns with types, rows as BigInt-safe JSON values, stats, snapshot ids).
 *
 * A row's history: a table reference whose query names `_commit_timestamp`, `_operation`,
 * `_sequence`, `_source_timestamp` or `_row_id` reads the table's changelog (`<table>__changelog`
 * plus the buffered changes) instead of the mirror: one row per change, the row's columns from
 * the `after` image (`before` for a DELETE) and those five columns.
 */
import type { Statement } from "pgsql-ast-parser";
import { HttpError } from "../http/errors.js";
import type { Warehouse } from "../catalog/names.js";
import { parseJson, type JsonObject } from "../util/json.js";
import { compile } from "./expr.js";
import { parseQuery } from "./parse.js";
import { rangeTerms } from "./prune.js";
import { type AsOf, imageRow, metadataOf, type ScanContext, scanTable, type ScanStats, toQueryValue, scanChunks, charge } from "./scan.js";
import type { BufferedChangeRow, TableState } from "./buffered-state.js";
import type { TableRequest } from "./query-state.js";
import { runStatement, type Relation, type TableProvider } from "./select.js";
import { type SqlType, Timestamp, typeOf, type Value, valueToJson } from "./values.js";

/** Virtual columns that turn a table reference into its history. */
export const HISTORY_COLUMNS = ["_commit_timestamp", "_operation", "_sequence", "_source_timestamp", "_row_id"];

/** A query request body. */
export interface QueryRequest {
  sql: string;
  params?: unknown[];
  asOf?: unknown;
}

/** Where a query reads from: the object's state RPC and the bucket. */
export interface QuerySources {
  state(tables: TableRequest[]): Promise<TableState[]>;
  bucket: R2Bucket;
  warehouse: Warehouse;
}

/** The answer of POST /v1/query. */
export interface QueryResult {
  columns: Array<{ name: string; type: SqlType }>;
  rows: Array<Record<string, null | boolean | number | bigint | string>>;
  stats: Omit<ScanStats, "files"> & { elapsedMs: number };
  snapshots: Record<string, string | null>;
}

/** Parses `asOf`: ISO-8601 instant, epoch ms, or {"snapshotId"}. */
export function parseAsOf(v: unknown): AsOf {
  if (v === undefined || v === null) return { kind: "now" };
  if (typeof v === "number" && Number.isFinite(v)) return { kind: "instant", ms: v };
  if (typeof v === "string") {
    const ms = Date.parse(v);
    if (!Number.isNaN(ms) && /^\d{4}-\d{2}-\d{2}/.test(v)) return { kind: "instant", ms };
  }
  if (typeof v === "object" && v !== null && "snapshotId" in v) {
    const id = (v as { snapshotId: unknown }).snapshotId;
    if ((typeof id === "string" && /^-?\d+$/.test(id)) || typeof id === "bigint" || (typeof id === "number" && Number.isInteger(id))) return { kind: "snapshot", id: BigInt(id as string) };
  }
  throw new HttpError(400, "BadRequestException", `asOf must be an ISO-8601 instant, epoch milliseconds or {"snapshotId": "<id>"}, got ${JSON.stringify(String(v))}`);
}

/** Query parameters from JSON: integers become bigint, the rest stay as they are. */
function paramValue(v: unknown, i: number): Value {
  if (v === null || typeof v === "boolean" || typeof v === "string" || typeof v === "bigint") return v as Value;
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  throw new HttpError(400, "BadRequestException", `params[${i}] must be a string, number, boolean or null`);
}

/** Names every table reference, the columns the query names, and whether it uses `*`. */
function referencedTables(s: Statement): { tables: Array<{ schema?: string; name: string }>; names: Set<string>; star: boolean; ctes: Set<string> } {
  const tables: Array<{ schema?: string; name: string }> = [];
  const names = new Set<string>();
  const ctes = new Set<string>();
  let star = false;
  const walk = (n: unknown): void => {
    if (!n || typeof n !== "object") return;
    if (Array.isArray(n)) return n.forEach(walk);
    const o = n as Record<string, unknown> & { type?: string };
    if (o.type === "with") for (const b of o.bind as Array<{ alias: { name: string } }>) ctes.add(b.alias.name);
    if (o.type === "table" && o.name && typeof o.name === "object") {
      const t = o.name as { name: string; schema?: string };
      tables.push({ name: t.name, ...(t.schema ? { schema: t.schema } : {}) });
    }
    if (o.type === "ref") {
      if (o.name === "*") star = true;
      else names.add(o.name as string);
    }
    // COUNT(*) counts rows: its `*` needs no column.
    const args = o.type === "call" ? (o.args as Array<{ type?: string; name?: string }> | undefined) : undefined;
    if (args?.length === 1 && args[0]!.type === "ref" && args[0]!.name === "*") {
      for (const [k, v] of Object.entries(o)) if (k !== "_location" && k !== "args") walk(v);
      return;
    }
    for (const [k, v] of Object.entries(o)) if (k !== "_location") walk(v);
  };
  walk(s);
  return { tables: tables.filter((t) => t.schema || !ctes.has(t.name)), names, star, ctes };
}

/** Runs a query (or only plans it) against the lake. */
export async function runQuery(body: QueryRequest, src: QuerySources, planOnly: boolean): Promise<QueryResult & { plan?: ScanStats["files"] }> {
  const started = performance.now();
  if (!body || typeof body !== "object") throw new HttpError(400, "BadRequestException", "body must be a JSON object");
  const { statement, sql } = parseQuery(body.sql);
  if (body.params !== undefined && !Array.isArray(body.params)) throw new HttpError(400, "BadRequestException", "params must be an array");
  const params = (body.params ?? []).map(paramValue);
  const asOf = parseAsOf(body.asOf);
  const refs = referencedTables(statement);
  const history = HISTORY_COLUMNS.some((c) => refs.names.has(c));
  const requests: TableRequest[] = [];
  const keyOf = (t: { schema?: string; name: string }) => `${t.schema ?? ""}.${t.name}`;
  for (const t of refs.tables) {
    // An empty namespace is the CDC namespace (the object fills it in).
    const ns = t.schema ? t.schema.split(".") : [];
    requests.push({ namespace: ns, name: t.name });
    if (history) requests.push({ namespace: ns, name: `${t.name}__changelog` });
  }
  const answered = await src.state(requests);
  const states = new Map(requests.map((r, i) => [`${r.namespace.join(".")}.${r.name}`, answered[i]!]));
  const stats: ScanStats = { filesScanned: 0, filesPruned: 0, rowGroupsScanned: 0, bufferedEventsIncluded: 0, bytesRead: 0, files: [] };
  const ctx: ScanContext = { bucket: src.bucket, warehouse: src.warehouse, asOf, stats, cells: { used: 0 }, planOnly };
  const snapshots: Record<string, string | null> = {};
  const needed = refs.star ? ("*" as const) : refs.names;
  const now = new Timestamp(BigInt(asOf.kind === "instant" ? asOf.ms : Date.now()) * 1000n, true);
  // Pruning by column bounds only for a SELECT straight from one table (a name then means that
  // table's column; over a derived table or a join it may name something else).
  const terms =
    statement.type === "select" && refs.tables.length === 1 && !history && statement.from?.length === 1 && statement.from[0]!.type === "table"
      ? rangeTerms(statement.where, (e) => {
          if (!["integer", "numeric", "string", "parameter", "cast", "binary", "call", "keyword"].includes(e.type) || hasRef(e)) return undefined;
          try {
            return compile(e, { scope: [], params, now, sql, subqueries: new Map() })([]);
          } catch {
            return undefined;
          }
        })
      : [];
  /** A table's state; 404 for one that does not exist (no metadata and nothing buffered). */
  const stateOf = (name: string, schema: string | undefined, node?: unknown): TableState => {
    const state = states.get(keyOf({ name, ...(schema ? { schema } : {}) }))!;
    if (!state.metadataLocation && state.buffered.length === 0) {
      const pos = (node as { _location?: { start: number } } | undefined)?._location?.start;
      throw new HttpError(404, "NoSuchTableException", `Table does not exist: ${state.namespace.join(".")}.${name}${pos === undefined ? "" : ` (at offset ${pos})`}`);
    }
    return state;
  };
  const provider: TableProvider = {
    async load(name, schema, _cols, node) {
      const key = keyOf({ name, ...(schema ? { schema } : {}) });
      const state = stateOf(name, schema, node);
      if (history) return loadHistory(ctx, state, states.get(`${key}__changelog`), state.buffered);
      const t = await scanTable(ctx, state, needed, terms);
      snapshots[`${state.namespace.join(".")}.${name}`] = t.snapshotId === null ? null : t.snapshotId.toString();
      return { columns: t.columns.map((c) => ({ table: null, name: c })), rows: t.rows };
    },
  };
  // A SELECT straight from one table (not a history read) streams: only kept rows or groups count against the budget.
  if (!history) {
    provider.stream = async (name, schema, _cols, node) => {
      const state = stateOf(name, schema, node);
      const t = await scanChunks(ctx, state, needed, terms, false);
      snapshots[`${state.namespace.join(".")}.${name}`] = t.snapshotId === null ? null : t.snapshotId.toString();
      return { columns: t.columns.map((c) => ({ table: null, name: c })), chunks: t.chunks, keep: (rows, columns) => charge(ctx, rows, columns, name) };
    };
  }
  const rel = await runStatement(statement, { sql, params, now, provider, needed: new Map() });
  const elapsedMs = Math.round((performance.now() - started) * 100) / 100;
  const { files, ...rest } = stats;
  // Answer rows are objects: a repeated name (COUNT(a), COUNT(b) are both "count") gets _2, _3...
  const names = uniqueNames(rel.columns.map((c) => c.name));
  return {
    columns: names.map((name, i) => ({ name, type: columnType(rel, i) })),
    rows: planOnly ? [] : rel.rows.map((r) => Object.fromEntries(names.map((name, i) => [name, valueToJson(r[i] as Value)]))),
    stats: { ...rest, elapsedMs },
    snapshots,
    ...(planOnly ? { plan: files } : {}),
  };
}

function hasRef(n: unknown): boolean {
  if (!n || typeof n !== "object") return false;
  if ((n as { type?: string }).type === "ref" || (n as { type?: string }).type === "select") return true;
  return Object.entries(n).some(([k, v]) => k !== "_location" && hasRef(v));
}

function columnType(rel: Relation, i: number): SqlType {
  for (const r of rel.rows) if (r[i] !== null) return typeOf(r[i] as Value);
  return "NULL";
}

/** A table's history: its changelog's rows plus the buffered changes, each as the row image and five columns. */
async function loadHistory(ctx: ScanContext, mirror: TableState, changelog: TableState | undefined, buffered: BufferedChangeRow[]): Promise<Relation> {
  const m = await metadataOf(ctx, mirror);
  const schema = m?.schemas.find((s) => s["schema-id"] === m["current-schema-id"]);
  const events: Array<{ op: string; seq: bigint; commitUs: bigint; sourceUs: bigint; rowId: string; image: JsonObject | null }> = [];
  if (changelog?.metadataLocation) {
    const t = await scanTable(ctx, { ...changelog, buffered: [], replaced: [] }, "*");
    const at = (n: string) => t.columns.indexOf(n);
    for (const r of t.rows) {
      const after = r[at("after")] as string | null;
      const before = r[at("before")] as string | null;
      events.push({
        op: r[at("operation")] as string,
        seq: r[at("sequence")] as bigint,
        commitUs: (r[at("commit_timestamp")] as Timestamp).us,
        sourceUs: (r[at("source_timestamp")] as Timestamp).us,
        rowId: r[at("row_id")] as string,
        image: (parseJson(after ?? before ?? "null") as JsonObject | null) ?? null,
      });
    }
  }
  if (ctx.asOf.kind === "now") {
    for (const c of buffered) {
      ctx.stats.bufferedEventsIncluded++;
      events.push({ op: c.operation, seq: BigInt(c.sequence), commitUs: BigInt(c.ackedAt) * 1000n, sourceUs: BigInt(c.timestamp) * 1000n, rowId: c.rowId, image: c.after ?? c.before });
    }
  }
  const limit = ctx.asOf.kind === "instant" ? BigInt(ctx.asOf.ms) * 1000n : undefined;
  const names = new Set<string>(schema?.fields.map((f) => f.name) ?? []);
  for (const e of events) for (const k of Object.keys(e.image ?? {})) names.add(k);
  const fields = [...names].map((name) => schema?.fields.find((f) => f.name === name) ?? { id: 0, name, required: false, type: "unknown" });
  const wanted = fields.map(() => true);
  const rows: Value[][] = [];
  for (const e of events) {
    if (limit !== undefined && e.commitUs > limit) continue;
    const values = e.image ? imageRow(schema, fields, wanted, e.image).map((v, i) => (fields[i]!.type === "unknown" ? toQueryValue(e.image![fields[i]!.name], "unknown") : v)) : fields.map(() => null);
    rows.push([...values, new Timestamp(e.commitUs, true), e.op, e.seq, new Timestamp(e.sourceUs, true), e.rowId]);
  }
  return { columns: [...fields.map((f) => ({ table: null, name: f.name })), ...HISTORY_COLUMNS.map((name) => ({ table: null, name }))], rows };
}

/** Column names made unique for answer objects: the second "count" becomes "count_2" (never an existing name). */
export function uniqueNames(names: string[]): string[] {
  const taken = new Set(names);
  const seen = new Set<string>();
  return names.map((n) => {
    if (!seen.has(n)) {
      seen.add(n);
      return n;
    }
    let k = 2;
    while (taken.has(`${n}_${k}`) || seen.has(`${n}_${k}`)) k++;
    seen.add(`${n}_${k}`);
    return `${n}_${k}`;
  });
}
