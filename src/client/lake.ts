/**
 * The lake client: `createLakeClient({url, token})`, then `lake.query<T>(sql, {params, asOf,
 * signal})` runs SQL (PostgreSQL dialect) over the lake's tables, fresh to the last ack. Answers
 * are parsed with the BigInt-safe JSON codec: integers beyond 2^53 arrive as `bigint`, exact.
 * Transient failures (network errors, 429, 502, 503, 504) are retried with backoff. Runs wherever
 * `fetch` does: Node >= 18, browsers, Workers. `lake.subscribe()` streams changes (subscribe.ts).
 */
import { parseJson, stringifyJson } from "../util/json.js";
import { type ChangeBatch, changeStream, type SubscribeOptions } from "./subscribe.js";

export { SubscribeError, type ChangeBatch, type ChangeEvent, type StartPosition, type SubscribeOptions } from "./subscribe.js";

/** Options of createLakeClient. */
export interface LakeClientOptions {
  /** Base URL of the DoLake Worker, e.g. http://127.0.0.1:8787. */
  url: string;
  /** Bearer token. */
  token?: string;
  /** Warehouse (default: the deployment's). */
  warehouse?: string;
  /** Attempts for transient failures (default 4). */
  maxAttempts?: number;
  /** fetch to use (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** WebSocket constructor for subscribe() (default: globalThis.WebSocket; on Node 18/20 the `ws` package's). */
  WebSocket?: typeof WebSocket;
}

/** Options of one query. */
export interface QueryOptions {
  /** Values of `?` / `$n` placeholders. */
  params?: unknown[];
  /** Read the tables as of an instant (Date, ISO-8601 text, epoch ms) or a snapshot id. */
  asOf?: Date | string | number | { snapshotId: string | bigint };
  signal?: AbortSignal;
}

/** A query answer. */
export interface QueryResult<T> {
  columns: Array<{ name: string; type: string }>;
  rows: T[];
  stats: { filesScanned: number; filesPruned: number; rowGroupsScanned: number; bufferedEventsIncluded: number; bytesRead: number; elapsedMs: number };
  snapshots: Record<string, string | null>;
}

/** A refused query: the server's status, Iceberg error type and message. */
export class LakeError extends Error {
  override readonly name = "LakeError";
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** The lake client. */
export interface LakeClient {
  /** Runs a SELECT; rows are objects keyed by column name. */
  query<T = Record<string, unknown>>(sql: string, options?: QueryOptions): Promise<QueryResult<T>>;
  /** Which files, row groups and buffered events a query would read, without reading data. */
  plan(sql: string, options?: QueryOptions): Promise<unknown>;
  /**
   * A change stream: `for await (const batch of lake.subscribe({tables, operations, from}))`.
   * Resumes from the last batch's cursor across reconnects; `break` closes it.
   */
  subscribe<Row = Record<string, unknown>>(options?: SubscribeOptions): AsyncGenerator<ChangeBatch<Row>, void, undefined>;
}

const TRANSIENT = new Set([429, 502, 503, 504]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}

/** Creates a lake client. */
export function createLakeClient(options: LakeClientOptions): LakeClient {
  const base = options.url.replace(/\/+$/, "");
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const attempts = Math.max(1, options.maxAttempts ?? 4);
  const prefix = options.warehouse ? `/v1/${encodeURIComponent(options.warehouse)}` : "/v1";

  async function post(path: string, sql: string, o: QueryOptions = {}): Promise<unknown> {
    const asOf = o.asOf instanceof Date ? o.asOf.toISOString() : o.asOf;
    const body = stringifyJson({ sql, params: o.params ?? [], ...(asOf !== undefined ? { asOf } : {}) });
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let res: Response;
      try {
        res = await doFetch(`${base}${prefix}/${path}`, { method: "POST", headers, body, signal: o.signal });
      } catch (e) {
        if (o.signal?.aborted) throw e;
        last = e; // network error: transient
        if (attempt < attempts) await sleep(100 * 2 ** (attempt - 1), o.signal);
        continue;
      }
      const text = await res.text();
      if (res.ok) return parseJson(text);
      let err: { message?: string; type?: string } = {};
      try {
        err = (JSON.parse(text) as { error?: typeof err }).error ?? {};
      } catch {
        // not an Iceberg error body
      }
      last = new LakeError(res.status, err.type ?? "HttpError", err.message ?? `${res.status} ${res.statusText}`);
      if (!TRANSIENT.has(res.status) || attempt === attempts) throw last;
      const retryAfter = Number(res.headers.get("Retry-After"));
      await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 100 * 2 ** (attempt - 1), o.signal);
    }
    throw last;
  }

  return {
    async query<T>(sql: string, o?: QueryOptions) {
      return (await post("query", sql, o)) as QueryResult<T>;
    },
    plan: (sql, o) => post("query/plan", sql, o),
    subscribe: <Row>(o?: SubscribeOptions) => changeStream<Row>({ url: options.url, token: options.token, warehouse: options.warehouse, WebSocket: options.WebSocket }, o),
  };
}
