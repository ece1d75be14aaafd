/**
 * `lake.subscribe()`: a change stream as an async iterator of `{events, cursor}` batches. It
 * speaks the JSON form of proto/dolake/subscribe/v1 over a WebSocket to /v1/subscribe, grants one
 * credit per batch the loop has taken (so a slow consumer is never flooded), and reconnects with
 * backoff after a dropped connection or a server restart, resuming from the cursor of the last
 * batch it yielded: a `for await` loop sees every selected change once, in log order. `break`
 * (or the AbortSignal) closes the socket. Uses the platform WebSocket (Node >= 22, browsers,
 * Workers); on Node 18/20 pass `WebSocket` from the `ws` package.
 */
import { parseJson, stringifyJson, type JsonObject } from "../util/json.js";

/** A change as a subscriber receives it. */
export interface ChangeEvent<Row = Record<string, unknown>> {
  /** Position in the warehouse's log (dense, in ack order). */
  position: bigint;
  operation: "INSERT" | "UPDATE" | "DELETE";
  table: string;
  rowId: string;
  before: Row | null;
  after: Row | null;
  /** The producer's sequence. */
  sequence: bigint;
  /** The producer (source) id. */
  source: string;
  /** Commit time at the source, epoch ms. */
  timestamp: number;
  /** When DoLake acknowledged the change, epoch ms. */
  ackedAt: number;
  metadata: Record<string, unknown> | null;
}

/** One batch of a change stream; `cursor` resumes after it. */
export interface ChangeBatch<Row = Record<string, unknown>> {
  events: ChangeEvent<Row>[];
  cursor: string;
}

/** Where a stream starts: new changes, the oldest retained, an instant, or after a cursor. */
export type StartPosition = "now" | "earliest" | Date | { cursor: string };

/** Options of subscribe(). */
export interface SubscribeOptions {
  /** Source tables (default: all). */
  tables?: string[];
  /** Operations (default: all). */
  operations?: Array<"INSERT" | "UPDATE" | "DELETE">;
  /** Columns of before/after (default: all). */
  columns?: string[];
  /** Where to start (default "now"). */
  from?: StartPosition;
  /** Most events per batch (default 500). */
  maxBatchEvents?: number;
  /** Batches the server may send ahead of the loop (default 4). */
  prefetch?: number;
  /** Closes the stream. */
  signal?: AbortSignal;
  /** Called when the stream has caught up with the log (after each (re)connection). */
  onUpToDate?: (cursor: string) => void;
  /** Keep-alive period (default 20 s); a connection silent for two periods is replaced. */
  heartbeatMs?: number;
}

/** What subscribe() needs from the lake client. */
export interface SubscribeTransport {
  url: string;
  token?: string;
  warehouse?: string;
  WebSocket?: typeof WebSocket;
}

/** A stream that cannot go on (cursor expired, unauthorized, invalid request). */
export class SubscribeError extends Error {
  override readonly name = "SubscribeError";
  constructor(readonly code: string, message: string, readonly earliest?: string) {
    super(message);
  }
}

type Frame = JsonObject & { type: string };

/** One connection: frames in arrival order, or its end. */
class Connection {
  private readonly queue: Array<Frame | Error | null> = [];
  private waiter: ((v: Frame | Error | null) => void) | undefined;
  lastHeard = Date.now();

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => {
      this.lastHeard = Date.now();
      try {
        this.push(parseJson(String(ev.data)) as Frame);
      } catch (e) {
        this.push(e as Error);
      }
    });
    ws.addEventListener("close", () => this.push(null));
    ws.addEventListener("error", () => this.push(null));
  }

  private push(v: Frame | Error | null): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w(v);
    else this.queue.push(v);
  }

  next(): Promise<Frame | Error | null> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift()!);
    return new Promise((r) => (this.waiter = r));
  }

  send(obj: unknown): void {
    if (this.ws.readyState === 1) this.ws.send(stringifyJson(obj as never));
  }

  close(): void {
    try {
      this.ws.close(1000, "done");
    } catch {
      // closed already
    }
    this.push(null);
  }
}

const TERMINAL = new Set(["cursor_expired", "unauthorized", "invalid_request"]);

function toEvent(e: JsonObject): ChangeEvent {
  return {
    position: BigInt(e.position as number | bigint),
    operation: e.operation as ChangeEvent["operation"],
    table: String(e.table ?? ""),
    rowId: String(e.rowId ?? ""),
    before: (e.before as Record<string, unknown> | undefined) ?? null,
    after: (e.after as Record<string, unknown> | undefined) ?? null,
    sequence: BigInt((e.sequence as number | bigint | undefined) ?? 0),
    source: String(e.source ?? ""),
    timestamp: Number(e.timestamp ?? 0),
    ackedAt: Number(e.ackedAt ?? 0),
    metadata: (e.metadata as Record<string, unknown> | undefined) ?? null,
  };
}

function socketUrl(t: SubscribeTransport): string {
  const u = new URL(`${t.url.replace(/\/+$/, "")}/v1/subscribe`);
  u.protocol = u.protocol === "https:" ? "wss:" : u.protocol === "http:" ? "ws:" : u.protocol;
  if (t.token) u.searchParams.set("token", t.token);
  if (t.warehouse) u.searchParams.set("warehouse", t.warehouse);
  return u.toString();
}

/** The change stream of subscribe(); see the module comment. */
export async function* changeStream<Row = Record<string, unknown>>(t: SubscribeTransport, o: SubscribeOptions = {}): AsyncGenerator<ChangeBatch<Row>, void, undefined> {
  const WS = t.WebSocket ?? globalThis.WebSocket;
  if (!WS) throw new Error("this runtime has no global WebSocket (Node < 22): pass createLakeClient({ WebSocket }) from the ws package");
  const prefetch = Math.max(1, o.prefetch ?? 4);
  const heartbeat = o.heartbeatMs ?? 20_000;
  const from = o.from ?? "now";
  let cursor: string | undefined = typeof from === "object" && !(from instanceof Date) ? from.cursor : undefined;
  let failures = 0;
  while (!o.signal?.aborted) {
    const conn = new Connection(new WS(socketUrl(t)));
    const onAbort = () => conn.close();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setInterval(() => {
      if (Date.now() - conn.lastHeard > 2 * heartbeat) conn.close();
      else conn.send({ type: "ping", timestamp: Date.now() });
    }, heartbeat);
    try {
      await opened(conn.ws);
      const start = cursor !== undefined ? { from: "cursor", cursor } : from === "now" || from === "earliest" ? { from } : { from: "timestamp", timestamp: (from as Date).getTime() };
      conn.send({ type: "subscribe", tables: o.tables ?? [], operations: o.operations ?? [], columns: o.columns ?? [], maxBatchEvents: o.maxBatchEvents ?? 0, credits: prefetch, ...start });
      for (;;) {
        const m = await conn.next();
        if (m === null) break;
        if (m instanceof Error) throw m;
        if (m.type === "subscribed") {
          cursor ??= String(m.cursor);
          failures = 0;
        } else if (m.type === "change_batch") {
          cursor = String(m.cursor);
          const events = ((m.events as JsonObject[] | undefined) ?? []).map(toEvent) as unknown as ChangeEvent<Row>[];
          yield { events, cursor };
          conn.send({ type: "credit", batches: 1 });
        } else if (m.type === "up_to_date") {
          cursor = String(m.cursor);
          o.onUpToDate?.(cursor);
        } else if (m.type === "error") {
          const code = String(m.code);
          if (TERMINAL.has(code)) throw new SubscribeError(code, String(m.message ?? code), m.earliest === undefined ? undefined : String(m.earliest));
          break; // internal_error: reconnect and resume
        }
      }
    } catch (e) {
      if (e instanceof SubscribeError) throw e;
      // a failed connection: retry below
    } finally {
      clearInterval(timer);
      o.signal?.removeEventListener("abort", onAbort);
      conn.close();
    }
    if (o.signal?.aborted) return;
    failures++;
    await new Promise((r) => setTimeout(r, Math.min(10_000, 100 * 2 ** Math.min(failures, 7)) * (0.5 + Math.random() / 2)));
  }
}

function opened(ws: WebSocket): Promise<void> {
  if (ws.readyState === 1) return Promise.resolve();
  return new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("close", () => reject(new Error("connection closed before it opened")), { once: true });
    ws.addEventListener("error", () => reject(new Error("connection failed")), { once: true });
  });
}
