/**
 * Subscriptions in the DoLake object: one hibernatable WebSocket each (tag "subscriber"), its
 * state (filter, cursor, credits) in the socket's attachment so it survives hibernation. A pump
 * per socket sends the changes after its cursor, one ChangeBatch per credit, reading windows of
 * the log (log-window.ts): history from the changelogs and the buffer, then, after one
 * UpToDate, live acks (`onAppend` runs after each ack was sent). Positions are only ever read
 * once acked, so a subscriber never sees a change that could still be lost.
 */
import { type Operation } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { type ChangeEvent, type Subscribe, StartFrom, SubscribeErrorCode } from "../../gen/dolake/subscribe/v1/subscribe_pb.js";
import { type Encoding, FrameError } from "../protocol/frames.js";
import { decodeSubscribeClientFrame, encodeSubscribeServerMessage, subscribeServer } from "../protocol/subscribe-frames.js";
import { CHANGELOG_SUFFIX } from "../iceberg/changelog.js";
import { captureWindow, DecodedBatches, type LogFilter, type LogSources, readWindow } from "./log-window.js";

/** The WebSocket tag of subscriber sockets. */
export const SUBSCRIBER_TAG = "subscriber";

/** Defaults and limits of a subscription. */
export const SUBSCRIBE_LIMITS = { defaultBatchEvents: 500, maxBatchEvents: 10_000, defaultCredits: 16, maxCredits: 1_000, maxAttachmentBytes: 2_000 };

/** A subscriber socket's attachment. */
interface SubscriberState {
  kind: "subscriber";
  encoding?: Encoding;
  /** Set once Subscribe was accepted. */
  sub?: {
    tables: string[] | null;
    operations: number[] | null;
    columns: string[] | null;
    notBefore: string;
    maxBatchEvents: number;
    cursor: string;
    credits: number;
    upToDate: boolean;
  };
}

/** A typed subscription error: sent, then the socket closes. */
class SubscribeFailure extends Error {
  constructor(readonly code: SubscribeErrorCode, message: string, readonly earliest = "") {
    super(message);
  }
}

/** The subscriptions of one DoLake object. */
export class SubscriptionHub {
  private readonly decoded = new DecodedBatches();
  /** Sockets whose pump runs, and whether it should look again when done. */
  private readonly pumping = new Map<WebSocket, { again: boolean }>();
  /** Events of a window read but not sent yet (no credit), per socket. */
  private readonly pending = new WeakMap<WebSocket, { cursor: bigint; events: ChangeEvent[]; to: bigint }>();

  constructor(private readonly ctx: DurableObjectState, private readonly sources: () => LogSources) {}

  /** Accepts a subscriber socket (the Worker checked the token). */
  open(): Response {
    const { 0: client, 1: socket } = new WebSocketPair();
    this.ctx.acceptWebSocket(socket, [SUBSCRIBER_TAG]);
    socket.serializeAttachment({ kind: "subscriber" } satisfies SubscriberState);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** True for a subscriber socket. */
  owns(ws: WebSocket): boolean {
    return (ws.deserializeAttachment() as SubscriberState | null)?.kind === "subscriber";
  }

  /** Open subscriber sockets. */
  count(): number {
    return this.ctx.getWebSockets(SUBSCRIBER_TAG).length;
  }

  /** A frame from a subscriber. */
  async onMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const state = ws.deserializeAttachment() as SubscriberState;
    const encoding: Encoding = typeof data === "string" ? "json" : "binary";
    try {
      let message;
      try {
        message = decodeSubscribeClientFrame(data).message.message;
      } catch (e) {
        if (e instanceof FrameError) throw new SubscribeFailure(SubscribeErrorCode.INVALID_REQUEST, e.message);
        throw e;
      }
      if (message.case === "subscribe") {
        if (state.sub) throw new SubscribeFailure(SubscribeErrorCode.INVALID_REQUEST, "this socket has a subscription already: open another socket");
        this.subscribe(ws, state, encoding, message.value);
      } else if (message.case === "credit") {
        if (!state.sub) throw new SubscribeFailure(SubscribeErrorCode.INVALID_REQUEST, "credit before subscribe");
        state.sub.credits = Math.min(SUBSCRIBE_LIMITS.maxCredits, state.sub.credits + message.value.batches);
        ws.serializeAttachment(state);
      } else if (message.case === "ping") {
        const head = this.sources().buffer.logBounds().next - 1n;
        this.send(ws, state.encoding ?? encoding, subscribeServer("pong", { timestamp: message.value.timestamp, head: head.toString() }));
        return;
      }
    } catch (e) {
      this.fail(ws, encoding, e);
      return;
    }
    await this.pump(ws);
  }

  /** After each ack: live subscribers read the new changes (several acks coalesce into one read). */
  onAppend(): void {
    for (const ws of this.ctx.getWebSockets(SUBSCRIBER_TAG)) {
      const state = ws.deserializeAttachment() as SubscriberState | null;
      if (state?.sub && state.sub.credits > 0) void this.pump(ws);
    }
  }

  private subscribe(ws: WebSocket, state: SubscriberState, encoding: Encoding, s: Subscribe): void {
    const src = this.sources();
    const bounds = src.buffer.logBounds();
    const head = bounds.next - 1n;
    const earliest = bounds.retainedFrom - 1n;
    const invalid = (m: string) => new SubscribeFailure(SubscribeErrorCode.INVALID_REQUEST, m);
    if (s.maxBatchEvents > SUBSCRIBE_LIMITS.maxBatchEvents) throw invalid(`maxBatchEvents ${s.maxBatchEvents} is above ${SUBSCRIBE_LIMITS.maxBatchEvents}`);
    for (const t of s.tables) if (!t || t.endsWith(CHANGELOG_SUFFIX)) throw invalid(`invalid table name ${JSON.stringify(t)}: name the source table (its changelog is read for history)`);
    for (const op of s.operations) if (op < 1 || op > 3) throw invalid(`unknown operation ${op}`);
    let cursor: bigint;
    let notBefore = 0n;
    const from = s.from === StartFrom.UNSPECIFIED ? (s.cursor ? StartFrom.CURSOR : StartFrom.NOW) : s.from;
    if (from === StartFrom.NOW) cursor = head;
    else if (from === StartFrom.EARLIEST) cursor = earliest;
    else if (from === StartFrom.TIMESTAMP) {
      notBefore = s.timestamp;
      cursor = startBefore(src, s.timestamp, earliest);
    } else {
      if (!/^\d{1,19}$/.test(s.cursor)) throw invalid(`cursor ${JSON.stringify(s.cursor.slice(0, 40))} is not a cursor of this warehouse`);
      cursor = BigInt(s.cursor);
      if (cursor > head) throw invalid(`cursor ${cursor} is ahead of this warehouse's log (head ${head}): it comes from another warehouse or deployment`);
      if (cursor < earliest) throw new SubscribeFailure(SubscribeErrorCode.CURSOR_EXPIRED, `cursor ${cursor} is older than the retained history (earliest ${earliest})`, earliest.toString());
    }
    state.encoding = encoding;
    state.sub = {
      tables: s.tables.length ? [...new Set(s.tables)] : null,
      operations: s.operations.length ? [...new Set(s.operations)] : null,
      columns: s.columns.length ? [...new Set(s.columns)] : null,
      notBefore: notBefore.toString(),
      maxBatchEvents: s.maxBatchEvents || SUBSCRIBE_LIMITS.defaultBatchEvents,
      cursor: cursor.toString(),
      credits: Math.min(SUBSCRIBE_LIMITS.maxCredits, s.credits || SUBSCRIBE_LIMITS.defaultCredits),
      upToDate: false,
    };
    if (JSON.stringify(state).length > SUBSCRIBE_LIMITS.maxAttachmentBytes) throw invalid("the subscription names too many tables or columns (its state must fit 2 KB)");
    ws.serializeAttachment(state);
    this.send(ws, encoding, subscribeServer("subscribed", { cursor: cursor.toString(), head: head.toString(), earliest: earliest.toString(), correlationId: s.correlationId }));
  }

  /** Sends what the subscriber has credit for; one pump per socket, re-run when asked meanwhile. */
  private async pump(ws: WebSocket): Promise<void> {
    const running = this.pumping.get(ws);
    if (running) {
      running.again = true;
      return;
    }
    const flag = { again: false };
    this.pumping.set(ws, flag);
    try {
      for (;;) {
        flag.again = false;
        const sent = await this.step(ws);
        if (!sent && !flag.again) break;
        // Let acks and other sockets run between windows: a catch-up never stalls ingest.
        await new Promise((r) => setTimeout(r, 0));
      }
    } catch (e) {
      this.fail(ws, (ws.deserializeAttachment() as SubscriberState | null)?.encoding ?? "json", e);
    } finally {
      this.pumping.delete(ws);
    }
  }

  /** One step: a batch sent (true), or nothing to do now (false). */
  private async step(ws: WebSocket): Promise<boolean> {
    if (ws.readyState !== WebSocket.OPEN) return false;
    const state = ws.deserializeAttachment() as SubscriberState;
    const sub = state.sub;
    if (!sub || sub.credits <= 0) return false;
    const cursor = BigInt(sub.cursor);
    let pend = this.pending.get(ws);
    if (!pend || pend.cursor !== cursor) {
      const src = this.sources();
      const filter = filterOf(sub);
      const window = captureWindow(src, cursor, filter);
      if (!window) {
        if (!sub.upToDate) {
          sub.upToDate = true;
          ws.serializeAttachment(state);
          this.send(ws, state.encoding!, subscribeServer("upToDate", { cursor: sub.cursor }));
        }
        return false;
      }
      pend = { cursor, events: await readWindow(src, window, filter, this.decoded), to: window.to };
      if (ws.readyState !== WebSocket.OPEN) return false;
    }
    const chunk = pend.events.slice(0, sub.maxBatchEvents);
    const rest = pend.events.slice(chunk.length);
    const next = rest.length === 0 ? pend.to : chunk.at(-1)!.position;
    const fresh = ws.deserializeAttachment() as SubscriberState; // credits may have grown meanwhile
    fresh.sub!.cursor = next.toString();
    if (chunk.length > 0) {
      fresh.sub!.credits -= 1;
      this.send(ws, state.encoding!, subscribeServer("changeBatch", { events: chunk, cursor: next.toString() }));
    }
    ws.serializeAttachment(fresh);
    if (rest.length > 0) this.pending.set(ws, { cursor: next, events: rest, to: pend.to });
    else this.pending.delete(ws);
    return true;
  }

  private send(ws: WebSocket, encoding: Encoding, message: ReturnType<typeof subscribeServer>): void {
    ws.send(encodeSubscribeServerMessage(message, encoding));
  }

  private fail(ws: WebSocket, encoding: Encoding, e: unknown): void {
    const f = e instanceof SubscribeFailure ? e : new SubscribeFailure(SubscribeErrorCode.INTERNAL_ERROR, "internal error; resume from the last cursor");
    if (!(e instanceof SubscribeFailure)) console.error("subscription failed", e);
    try {
      this.send(ws, encoding, subscribeServer("error", { code: f.code, message: f.message, earliest: f.earliest }));
      ws.close(f.code === SubscribeErrorCode.INTERNAL_ERROR ? 1011 : 1008, f.message.slice(0, 120));
    } catch {
      // the socket is gone already
    }
  }
}

function filterOf(sub: NonNullable<SubscriberState["sub"]>): LogFilter {
  return {
    tables: sub.tables ? new Set(sub.tables) : null,
    operations: sub.operations ? new Set(sub.operations as Operation[]) : null,
    columns: sub.columns ? new Set(sub.columns) : null,
    notBefore: BigInt(sub.notBefore),
  };
}

/**
 * A cursor before the first change acked at or after `ms`: the highest position of any
 * changelog snapshot committed before `ms` (those changes were acked before it, and so were all
 * lower positions), else the oldest buffered batch acked at or after it, else `earliest`.
 */
function startBefore(src: LogSources, ms: bigint, earliest: bigint): bigint {
  let best = earliest;
  const ns = [src.namespace];
  for (let after: string | undefined; ; ) {
    const page = src.catalog.listTables(ns, after, 1000);
    for (const name of page.filter((n) => n.endsWith(CHANGELOG_SUFFIX))) {
      const json = src.catalog.getTable({ namespace: ns, name })?.metadataJson;
      if (!json) continue;
      for (const s of (JSON.parse(json) as { snapshots?: Array<{ "timestamp-ms": number; summary?: Record<string, string> }> }).snapshots ?? []) {
        const max = s.summary?.["dolake.log-position-max"];
        if (max && BigInt(s["timestamp-ms"]) < ms && BigInt(max) > best) best = BigInt(max);
      }
    }
    if (page.length < 1000) break;
    after = page.at(-1);
  }
  return best;
}
