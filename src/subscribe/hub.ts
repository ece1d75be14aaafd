/**
 * Subscriptions in the DoLake object. A WebSocket subscriber (tag "subscriber", hibernatable)
 * keeps its subscription in the socket's attachment, so it survives hibernation; an SSE
 * subscriber (sse.ts) keeps it in memory. A pump per subscriber sends the changes after its
 * cursor, one ChangeBatch per credit (SSE: as fast as the stream drains), reading windows of the
 * log (log-window.ts): history from the changelogs and the buffer, then, after one UpToDate, live
 * acks (`onAppend` runs after each ack went out). Positions are only read once acked, so a
 * subscriber never sees a change that could still be lost.
 */
import { type ChangeEvent, type SubscribeServerMessage, SubscribeErrorCode } from "../../gen/dolake/subscribe/v1/subscribe_pb.js";
import { type Encoding, FrameError } from "../protocol/frames.js";
import { decodeSubscribeClientFrame, encodeSubscribeServerMessage, subscribeServer } from "../protocol/subscribe-frames.js";
import { captureWindow, DecodedBatches, type LogSources, readWindow } from "./log-window.js";
import { filterOf, invalidRequest, SUBSCRIBE_LIMITS, startSubscription, SubscribeFailure, type Subscription } from "./start.js";

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
  isOpen(): boolean;
  close(code: number, reason: string): void;
}

/** A WebSocket subscriber: the subscription lives in the attachment; answers go in its encoding (else the frame's). */
function socketEndpoint(ws: WebSocket, frameEncoding: Encoding = "json"): Endpoint {
  return {
    key: ws,
    load: () => (ws.deserializeAttachment() as { sub?: Subscription } | null)?.sub,
    save: (sub) => ws.serializeAttachment({ kind: "subscriber", sub }),
    send: (m) => ws.send(encodeSubscribeServerMessage(m, (ws.deserializeAttachment() as { sub?: Subscription } | null)?.sub?.encoding ?? frameEncoding)),
    isOpen: () => ws.readyState === WebSocket.OPEN,
    close: (code, reason) => ws.close(code, reason),
  };
}

/** The subscriptions of one DoLake object. */
export class SubscriptionHub {
  private readonly decoded = new DecodedBatches();
  /** Subscribers whose pump runs, and whether it should look again when done. */
  private readonly pumping = new Map<object, { again: boolean }>();
  /** Events of a window read but not sent yet (no credit), per subscriber. */
  private readonly pending = new WeakMap<object, { cursor: bigint; events: ChangeEvent[]; to: bigint }>();
  /** Subscribers on other transports (SSE), live while their stream is. */
  private readonly streams = new Set<Endpoint>();

  constructor(
    private readonly ctx: DurableObjectState,
    readonly sources: () => LogSources,
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

  /** True for a subscriber socket. */
  owns(ws: WebSocket): boolean {
    return (ws.deserializeAttachment() as { kind?: string } | null)?.kind === "subscriber";
  }

  /** Open subscribers (both transports). */
  count(): number {
    return this.ctx.getWebSockets(SUBSCRIBER_TAG).length + this.streams.size;
  }

  /** A frame from a subscriber socket. */
  async onMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
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
        const started = startSubscription(this.sources(), message.value, encoding);
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
        const sent = await this.step(ep);
        if (!sent && !flag.again) break;
        // Let acks and other subscribers run between windows: a catch-up never stalls ingest.
        await new Promise((r) => setTimeout(r, 0));
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
      pend = { cursor, events: await readWindow(src, window, filter, this.decoded), to: window.to };
      if (!ep.isOpen()) return false;
    }
    const chunk = pend.events.slice(0, sub.maxBatchEvents);
    const rest = pend.events.slice(chunk.length);
    const next = rest.length === 0 ? pend.to : chunk.at(-1)!.position;
    const fresh = ep.load()!; // credits may have grown meanwhile
    fresh.cursor = next.toString();
    if (chunk.length > 0 && fresh.credits !== "stream") fresh.credits -= 1;
    ep.save(fresh);
    if (rest.length > 0) this.pending.set(ep.key, { cursor: next, events: rest, to: pend.to });
    else this.pending.delete(ep.key);
    if (chunk.length > 0) await ep.send(subscribeServer("changeBatch", { events: chunk, cursor: next.toString() }));
    return true;
  }

  private fail(ep: Endpoint, e: unknown): void {
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
