/**
 * Server-Sent Events beside the WebSocket: `GET /v1/subscribe?tables=orders&from=earliest` with
 * `Accept: text/event-stream`, so a browser's EventSource resumes by itself: every change_batch
 * and up_to_date event carries its cursor as the SSE `id`, and EventSource sends it back as
 * `Last-Event-ID` when it reconnects. Flow control is the stream's own backpressure (a write waits
 * until the client has read). Query parameters: tables, operations, columns (comma-separated),
 * from (now | earliest | epoch ms | ISO-8601 instant), cursor, maxBatchEvents, token.
 * A subscription that cannot start is an HTTP error with the Iceberg-style error body
 * (400 invalid_request, 410 cursor_expired), which EventSource does not retry.
 */
import { create } from "@bufbuild/protobuf";
import { Operation } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { type SubscribeServerMessage, StartFrom, SubscribeErrorCode, SubscribeSchema } from "../../gen/dolake/subscribe/v1/subscribe_pb.js";
import { subscribeServer, subscribeServerMessageToJson } from "../protocol/subscribe-frames.js";
import { stringifyJson } from "../util/json.js";
import type { Endpoint, SubscriptionHub } from "./hub.js";
import { invalidRequest, startSubscription, SubscribeFailure, type Subscription } from "./start.js";

/** Keep-alive comment period: proxies close idle streams. */
const KEEP_ALIVE_MS = 15_000;

const OPERATIONS: Record<string, Operation> = { INSERT: Operation.INSERT, UPDATE: Operation.UPDATE, DELETE: Operation.DELETE };

const list = (v: string | null) => (v ? v.split(",").map((x) => x.trim()).filter(Boolean) : []);

/** The Subscribe a request's query (and Last-Event-ID) asks for. */
function subscribeOf(request: Request) {
  const q = new URL(request.url).searchParams;
  const operations = list(q.get("operations")).map((o) => {
    const op = OPERATIONS[o.toUpperCase()];
    if (op === undefined) throw invalidRequest(`unknown operation ${JSON.stringify(o)}; expected INSERT, UPDATE or DELETE`);
    return op;
  });
  const lastEventId = request.headers.get("Last-Event-ID");
  const from = q.get("from") ?? "now";
  const start: { from: StartFrom; cursor?: string; timestamp?: bigint } =
    lastEventId || q.get("cursor") ? { from: StartFrom.CURSOR, cursor: lastEventId || q.get("cursor")! }
    : from === "now" ? { from: StartFrom.NOW }
    : from === "earliest" ? { from: StartFrom.EARLIEST }
    : { from: StartFrom.TIMESTAMP, timestamp: instant(from) };
  const maxBatchEvents = Number(q.get("maxBatchEvents") ?? 0);
  if (!Number.isInteger(maxBatchEvents) || maxBatchEvents < 0) throw invalidRequest(`maxBatchEvents ${q.get("maxBatchEvents")} is not a count`);
  return create(SubscribeSchema, { tables: list(q.get("tables")), operations, columns: list(q.get("columns")), maxBatchEvents, ...start });
}

function instant(v: string): bigint {
  if (/^\d+$/.test(v)) return BigInt(v);
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw invalidRequest(`from=${JSON.stringify(v)}: expected now, earliest, epoch milliseconds or an ISO-8601 instant`);
  return BigInt(ms);
}

/** One SSE event: its type, the cursor as its id where it has one, the JSON message as its data. */
function sseFrame(type: string, data: string, cursor?: string): string {
  return `${cursor ? `id: ${cursor}\n` : ""}event: ${type}\ndata: ${data}\n\n`;
}

/** The SSE event of a server message. */
function sseEvent(m: SubscribeServerMessage): string {
  const json = subscribeServerMessageToJson(m);
  const cursor = m.message.case === "changeBatch" || m.message.case === "upToDate" ? m.message.value.cursor : undefined;
  return sseFrame(json.type as string, stringifyJson(json), cursor);
}

/** Answers GET /v1/subscribe with an event stream (the Worker checked the token). */
export async function openEventStream(hub: SubscriptionHub, request: Request): Promise<Response> {
  let started;
  try {
    started = await startSubscription(hub.sources(), subscribeOf(request), "json", true);
  } catch (e) {
    if (!(e instanceof SubscribeFailure)) throw e;
    const expired = e.code === SubscribeErrorCode.CURSOR_EXPIRED;
    const body = { error: { message: e.message, type: expired ? "CursorExpiredException" : "BadRequestException", code: expired ? 410 : 400, ...(expired ? { earliest: e.earliest } : {}) } };
    return new Response(JSON.stringify(body), { status: expired ? 410 : 400, headers: { "Content-Type": "application/json" } });
  }
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  let sub: Subscription = started.sub;
  let open = true;
  const end = () => {
    if (!open) return;
    open = false;
    clearInterval(keepAlive);
    hub.detach(endpoint);
    writer.close().catch(() => {});
  };
  const write = async (text: string) => {
    try {
      await writer.ready;
      await writer.write(encoder.encode(text));
    } catch {
      end(); // the client went away
    }
  };
  const endpoint: Endpoint = {
    key: {},
    load: () => sub,
    save: (s) => (sub = s),
    send: (m) => (open ? write(sseEvent(m)) : undefined),
    sendBatch: (build, cursor) => (open ? write(sseFrame("change_batch", build("json") as string, cursor)) : undefined),
    isOpen: () => open,
    close: () => end(),
  };
  const keepAlive = setInterval(() => void write(": keep-alive\n\n"), KEEP_ALIVE_MS);
  void write(`retry: 1000\n\n${sseEvent(subscribeServer("subscribed", { cursor: sub.cursor, head: started.head.toString(), earliest: started.earliest.toString() }))}`);
  hub.attach(endpoint);
  return new Response(readable, { headers: { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" } });
}
