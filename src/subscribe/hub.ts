/**
 * Subscriptions in the DoLake object. A WebSocket subscriber (tag "subscriber", hibernatable)
 * keeps its subscription in the socket's attachment, so it survives hibernation; an SSE
 * subscriber (sse.ts) keeps it in memory. A pump per subscriber sends the changes after its
 * cursor, one ChangeBatch per credit (SSE: as fast as the stream drains), reading windows of the
 * log (log-window.ts): history from the changelogs and the buffer, then, after one UpToDate, live
 * acks (`onAppend` runs after each ack went out). Positions are only read once acked, so a
 * subscriber never sees a change that could still be lost.
 */
import { type SubscribeServerMessage, SubscribeErrorCode } from "../../gen/dolake/subscribe/v1/subscribe_pb.js";
import { type Encoding, FrameError } from "../protocol/frames.js";
import { decodeSubscribeClientFrame, encodeSubscribeServerMessage, subscribeServer } from "../protocol/subscribe-frames.js";
import { captureWindow, DecodedBatches, type LogSources, readWindow, type Segment } from "./log-window.js";
import { Lru } from "./lru.js";
import { changeBatchFrame } from "../protocol/wire-events.js";
import { filterOf, invalidRequest, SUBSCRIBE_LIMITS, startSubscription, SubscribeFailure, type Subscription } from "./start.js";
import { yieldToEvents } from "../util/pace.js";

/** The WebSocket tag of subscriber sockets. */
export const SUBSCRIBER_TAG = "subscriber";

/** A subscriber connection, whatever its transport. */
export interface Endpoint {
  /** Identity for the pump (the WebSocket, or the SSE stream). */
  readonly key: object;
  load(): Subscription | undefined;
  save(sub: Subscription): void;
  /** Sends a message; resolves when the transport can take more. */
  send(m: SubscribeServerMessage): void | Promise<void>;
  /** Sends a change batch built for the endpoint's encoding (`frameKey` names a frame other subscribers may share). */
  sendBatch(build: (encoding: Encoding) => string | Uint8Array, cursor: string, frameKey?: string): void | Promise<void>;
  isOpen(): boolean;
  close(code: number, reason: string): void;
}

/** Encoded frames of change batches, by window, filter, slice and encoding (at most 8 MiB): fan-out encodes once. */
const frames = new Lru<string | Uint8Array>(8 << 20, (f) => (typeof f === "string" ? f.length * 2 : f.byteLength));

const encodingOf = (ws: WebSocket, fallback: Encoding): Encoding => (ws.deserializeAttachment() as { sub?: Subscription } | null)?.sub?.encoding ?? fallback;

/** A WebSocket subscriber: the subscription lives in the attachment; answers go in its encoding (else the frame's). */
function socketEndpoint(ws: WebSocket, frameEncoding: Encoding = "json"): Endpoint {
  return {
    key: ws,
    load: () => (ws.deserializeAttachment() as { sub?: Subscription } | null)?.sub,
    save: (sub) => ws.serializeAttachment({ kind: "subscriber", sub }),
    send: (m) => ws.send(encodeSubscribeServerMessage(m, encodingOf(ws, frameEncoding))),
    sendBatch: (build, _cursor, frameKey) => {
      const encoding = encodingOf(ws, frameEncoding);
      const key = frameKey && `${frameKey}|${encoding}`;
      let data = key ? frames.get(key) : undefined;
      if (data === undefined) {
        data = build(encoding);
        if (key) frames.set(key, data);
      }
      ws.send(data);
    },
    isOpen: () => ws.readyState === WebSocket.OPEN,
    close: (code, reason) => ws.close(code, reason),
  };
}

/** The subscriptions of one DoLake object. */
export class SubscriptionHub {
  private readonly decoded = new DecodedBatches();
  /** Selections of recent buffered batches (at most 20,000 events), by batch, start and filter: fan-out selects once. */
  private readonly selections = new Lru<Segment>(20_000, (s) => s.positions.length + 1);
  /** Subscribers whose pump runs, and whether it should look again when done. */
  private readonly pumping = new Map<object, { again: boolean }>();
  /** Events of a window read but not sent yet (no credit), per subscriber. */
  private readonly pending = new WeakMap<object, { cursor: bigint; segments: Segment[]; index: number; offset: number }>();
  /** Subscribers on other transports (SSE), live while their stream is. */
  private readonly streams = new Set<Endpoint>();
  /** Sockets whose subscription is being started (a timestamp start reads R2). */
  private readonly starting = new Map<WebSocket, Promise<void>>();

  constructor(
    private readonly ctx: DurableObjectState,
    readonly sources: () => LogSources,
    private readonly metrics?: { subscribeBatches: number; subscribeEvents: number; subscribeStepMs: { observe(ms: number): void } },
  ) {}

  /** Accepts a subscriber socket (the Worker checked the token). */
  openSocket(): Response {
    const { 0: client, 1: socket } = new WebSocketPair();
    this.ctx.acceptWebSocket(socket, [SUBSCRIBER_TAG]);
    socket.serializeAttachment({ kind: "subscriber" });
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Starts a subscriber of another transport (its subscription started already). */
  attach(endpoint: Endpoint): void {
    this.streams.add(endpoint);
    void this.pump(endpoint);
  }

  /** Forgets a subscriber whose stream ended. */
  detach(endpoint: Endpoint): void {
    this.streams.delete(endpoint);
  }

  /** True for the attachment of a subscriber socket (the caller reads it once per message). */
  static owns(attachment: unknown): boolean {
    return (attachment as { kind?: string } | null)?.kind === "subscriber";
  }

  /** Open subscribers (both transports). */
  count(): number {
    return this.ctx.getWebSockets(SUBSCRIBER_TAG).length + this.streams.size;
  }

  /** A frame from a subscriber socket. */
  async onMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    // A start from a timestamp reads R2: frames that arrive meanwhile wait for it, in order.
    const starting = this.starting.get(ws);
    if (starting) await starting;
    const encoding: Encoding = typeof data === "string" ? "json" : "binary";
    const ep = socketEndpoint(ws, encoding);
    try {
      let message;
      try {
        message = decodeSubscribeClientFrame(data).message.message;
      } catch (e) {
        if (e instanceof FrameError) throw invalidRequest(e.message);
        throw e;
      }
      const sub = ep.load();
      if (message.case === "subscribe") {
        if (sub) throw invalidRequest("this socket has a subscription already: open another socket");
        const start = startSubscription(this.sources(), message.value, encoding);
        this.starting.set(ws, start.then(() => {}, () => {}));
        let started;
        try {
          started = await start;
        } finally {
          this.starting.delete(ws);
        }
        ep.save(started.sub);
        await ep.send(subscribeServer("subscribed", { cursor: started.sub.cursor, head: started.head.toString(), earliest: started.earliest.toString(), correlationId: message.value.correlationId }));
      } else if (message.case === "credit") {
        if (!sub) throw invalidRequest("credit before subscribe");
        if (sub.credits !== "stream") sub.credits = Math.min(SUBSCRIBE_LIMITS.maxCredits, sub.credits + message.value.batches);
        ep.save(sub);
      } else if (message.case === "ping") {
        const head = this.sources().buffer.logBounds().next - 1n;
        await ep.send(subscribeServer("pong", { timestamp: message.value.timestamp, head: head.toString() }));
        return;
      }
    } catch (e) {
      this.fail(ep, e);
      return;
    }
    await this.pump(ep);
  }

  /** After each ack: live subscribers read the new changes (several acks coalesce into one read). */
  onAppend(): void {
    for (const ws of this.ctx.getWebSockets(SUBSCRIBER_TAG)) {
      const ep = socketEndpoint(ws);
      const sub = ep.load();
      if (sub && (sub.credits === "stream" || sub.credits > 0)) void this.pump(ep);
    }
    for (const ep of this.streams) void this.pump(ep);
  }

  /** Sends what the subscriber has credit for; one pump per subscriber, re-run when asked meanwhile. */
  private async pump(ep: Endpoint): Promise<void> {
    const running = this.pumping.get(ep.key);
    if (running) {
      running.again = true;
      return;
    }
    const flag = { again: false };
    this.pumping.set(ep.key, flag);
    try {
      for (;;) {
        flag.again = false;
        const started = performance.now();
        const sent = await this.step(ep);
        this.metrics?.subscribeStepMs.observe(performance.now() - started);
        if (!sent && !flag.again) break;
        // Let acks and other subscribers run between windows: a catch-up never stalls ingest.
        await yieldToEvents();
      }
    } catch (e) {
      this.fail(ep, e);
    } finally {
      this.pumping.delete(ep.key);
    }
  }

  /** One step: a batch sent or a window passed over (true), or nothing to do now (false). */
  private async step(ep: Endpoint): Promise<boolean> {
    if (!ep.isOpen()) return false;
    const sub = ep.load();
    if (!sub || sub.credits === 0) return false;
    const cursor = BigInt(sub.cursor);
    let pend = this.pending.get(ep.key);
    if (!pend || pend.cursor !== cursor) {
      const src = this.sources();
      const filter = filterOf(sub);
      const window = captureWindow(src, cursor, filter);
      if (!window) {
        if (!sub.upToDate) {
          sub.upToDate = true;
          ep.save(sub);
          await ep.send(subscribeServer("upToDate", { cursor: sub.cursor }));
        }
        return false;
      }
      pend = { cursor, segments: await readWindow(src, window, filter, filterKey(sub), this.decoded, this.selections), index: 0, offset: 0 };
      if (!ep.isOpen()) return false;
    }
    // Segments with nothing selected only move the cursor.
    while (pend.index < pend.segments.length && pend.segments[pend.index]!.positions.length === 0) pend.index++;
    const segment = pend.segments[pend.index];
    const fresh = ep.load()!; // credits may have grown meanwhile
    if (!segment) {
      fresh.cursor = pend.segments.at(-1)!.end.toString();
      ep.save(fresh);
      this.pending.delete(ep.key);
      return true;
    }
    const from = pend.offset;
    const to = Math.min(segment.positions.length, from + sub.maxBatchEvents);
    const done = to >= segment.positions.length;
    const next = done ? segment.end : segment.positions[to - 1]!;
    const cursorText = next.toString();
    fresh.cursor = cursorText;
    if (fresh.credits !== "stream") fresh.credits -= 1;
    ep.save(fresh);
    const rest = done ? { ...pend, index: pend.index + 1, offset: 0 } : { ...pend, offset: to };
    if (rest.index < rest.segments.length) this.pending.set(ep.key, { ...rest, cursor: next });
    else this.pending.delete(ep.key);
    const projected = sub.columns !== null;
    const build = (encoding: Encoding) => {
      const wire = encoding === "binary" && !projected ? segment.wire(from, to) : undefined;
      if (wire) return changeBatchFrame(wire, cursorText);
      return encodeSubscribeServerMessage(subscribeServer("changeBatch", { events: segment.messages(from, to), cursor: cursorText }), encoding);
    };
    await ep.sendBatch(build, cursorText, segment.key && `${segment.key}|${from}|${to}`);
    if (this.metrics) {
      this.metrics.subscribeBatches += 1;
      this.metrics.subscribeEvents += to - from;
    }
    return true;
  }

  private fail(ep: Endpoint, e: unknown): void {
    this.pending.delete(ep.key);
    const f = e instanceof SubscribeFailure ? e : new SubscribeFailure(SubscribeErrorCode.INTERNAL_ERROR, "internal error; resume from the last cursor");
    if (!(e instanceof SubscribeFailure)) console.error("subscription failed", e);
    try {
      void ep.send(subscribeServer("error", { code: f.code, message: f.message, earliest: f.earliest }));
      ep.close(f.code === SubscribeErrorCode.INTERNAL_ERROR ? 1011 : 1008, f.message.slice(0, 120));
    } catch {
      // the connection is gone already
    }
  }
}

/** What makes two subscriptions select the same events from a window. */
function filterKey(sub: Subscription): string {
  return JSON.stringify([sub.tables, sub.operations, sub.columns, sub.notBefore]);
}
