/**
 * The DoLake producer client: `createProducer({url, token, sourceId})`, then `send(events)`
 * resolves once every event is durably acked. Batches automatically, pipelines a few batches,
 * retries retryable nacks after the server's delay, honours backpressure (suggestedDelayMs),
 * and reconnects, resuming from the server's durable high-water mark (connected.lastAckSequence)
 * so nothing is lost or doubled. Uses the platform WebSocket: Workers, Durable Objects, browsers,
 * Node >= 22 (on Node 18/20 pass `WebSocket` from the `ws` package). A wrong token fails every call
 * at once; an unreachable server fails each call after `timeoutMs`.
 */
import { create } from "@bufbuild/protobuf";
import { type CdcEvent, CdcEventSchema, ClientMessageSchema, NackReason, Operation, type ServerMessage } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { decodeServerFrame, type Encoding, encodeClientMessage } from "../protocol/frames.js";
import { rowFromJson } from "../protocol/json-value.js";
import type { JsonObject } from "../util/json.js";
import { NACK_RULES } from "../protocol/nack-reasons.js";

/** One change to send. `sequence` is assigned (consecutively) when omitted. */
export interface ProducerEvent {
  table: string;
  rowId: string;
  operation: "INSERT" | "UPDATE" | "DELETE";
  after?: JsonObject;
  before?: JsonObject;
  metadata?: JsonObject;
  /** Source commit time, Unix ms (default: now). */
  timestamp?: number;
  /** Source sequence; when given, must continue the stream without gaps. */
  sequence?: bigint;
}

/** Options of createProducer. */
export interface ProducerOptions {
  /** Base URL of the DoLake Worker (http(s):// or ws(s)://). */
  url: string;
  /** Bearer token (sent as ?token=, which every WebSocket client can do). */
  token?: string;
  /** Identity of this source (its sequences are per source). */
  sourceId: string;
  shardName?: string;
  /** Frame encoding (default binary). */
  encoding?: Encoding;
  /** Largest batch, events (default 1000). */
  maxBatchEvents?: number;
  /** How long to wait to fill a batch, ms (default 5). */
  lingerMs?: number;
  /** Batches in flight before waiting for acks (default 4). */
  maxInFlight?: number;
  /** Reconnect backoff bounds, ms. */
  reconnectDelayMs?: { min: number; max: number };
  /** The WebSocket constructor (default globalThis.WebSocket). */
  WebSocket?: typeof WebSocket;
  /** How long send(), flush() and close() wait for the server before rejecting, ms (default 30000). */
  timeoutMs?: number;
  /** Called with each source sequence that became part of a committed Iceberg snapshot. */
  onPersisted?: (lastPersistedSequence: bigint) => void;
}

/** A refusal the producer cannot fix by retrying (invalid_format, schema_conflict, ...). */
export class ProducerError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(`${reason}: ${message}`);
  }
}

interface Batch {
  events: CdcEvent[];
  first: bigint;
  last: bigint;
  retries: number;
  waiters: Waiter[];
  sent: boolean;
}

type Waiter = { resolve: () => void; reject: (e: Error) => void };

/** A producer. */
export interface Producer {
  /** Queues events; resolves when all are durably acked (buffered or duplicate). */
  send(events: ProducerEvent[]): Promise<void>;
  /** Asks the server to flush now; resolves with its flush_result. */
  flush(): Promise<{ ok: boolean; eventsFlushed: bigint; errorMessage: string }>;
  /** Highest sequence the server has durably acked. */
  readonly lastAckSequence: bigint;
  /** Batches sent and not yet acked (they are resent after a reconnect). */
  readonly inFlightBatches: number;
  /** Sends what is queued, waits for the acks, closes the socket. */
  close(): Promise<void>;
}

const OPS = { INSERT: Operation.INSERT, UPDATE: Operation.UPDATE, DELETE: Operation.DELETE } as const;

/** Creates a producer and connects it. */
export function createProducer(options: ProducerOptions): Producer {
  return new ProducerImpl(options);
}

class ProducerImpl implements Producer {
  lastAckSequence = 0n;
  get inFlightBatches(): number {
    return this.pending.filter((b) => b.sent).length;
  }
  private nextSequence: bigint | undefined;
  private readonly encoding: Encoding;
  private readonly pending: Batch[] = []; // in sequence order: sent-but-unacked first, then queued
  private filling: Batch | undefined;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  private ws: WebSocket | undefined;
  private ready = false;
  private pausedUntil = 0;
  private closed = false;
  private reconnectAttempt = 0;
  private readonly flushWaiters = new Map<string, (r: { ok: boolean; eventsFlushed: bigint; errorMessage: string }) => void>();
  private resumeWaiters: Waiter[] = [];
  /** A permanent failure (the token was refused): every call rejects with it. */
  private failed: ProducerError | undefined;
  /** Why the last connection attempt failed, for the timeout's message. */
  private lastConnectError = "no connection attempt finished yet";
  private opened = false;
  private readonly timeoutMs: number;

  constructor(private readonly options: ProducerOptions) {
    this.encoding = options.encoding ?? "binary";
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (!(options.WebSocket ?? globalThis.WebSocket)) throw new Error("this runtime has no global WebSocket (Node < 22): pass createProducer({ WebSocket }) from the ws package");
    this.connect();
  }

  private url(): string {
    const u = new URL(this.options.url.replace(/^http/, "ws"));
    u.pathname = `${u.pathname.replace(/\/$/, "")}/ws`;
    if (this.options.token) u.searchParams.set("token", this.options.token);
    return u.toString();
  }

  private connect(): void {
    const WS = this.options.WebSocket ?? globalThis.WebSocket;
    this.opened = false;
    const ws = new WS(this.url());
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.opened = true;
      this.sendFrame({ case: "connect", value: { timestamp: BigInt(Date.now()), sourceDoId: this.options.sourceId, sourceShardName: this.options.shardName ?? "", lastAckSequence: this.lastAckSequence, protocolVersion: 1, capabilities: { binaryProtocol: this.encoding === "binary", batching: true, maxBatchSize: this.maxBatch } } });
    });
    ws.addEventListener("message", (ev) => this.onMessage(decodeServerFrame(typeof ev.data === "string" ? ev.data : new Uint8Array(ev.data as ArrayBuffer))));
    // A failed connection attempt may report only "error" (Node's WebSocket): treat both as the end.
    ws.addEventListener("close", () => this.onClose(ws));
    ws.addEventListener("error", () => this.onClose(ws));
  }

  private get maxBatch(): number {
    return this.options.maxBatchEvents ?? 1000;
  }

  private onClose(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    this.ready = false;
    for (const b of this.pending) b.sent = false;
    if (this.closed) return;
    const { min, max } = this.options.reconnectDelayMs ?? { min: 100, max: 10_000 };
    const delay = Math.min(max, min * 2 ** this.reconnectAttempt++);
    const retry = () => setTimeout(() => this.closed || this.connect(), delay);
    // The platform WebSocket hides the HTTP status of a refused upgrade: ask once over HTTP why.
    if (this.opened) retry();
    else void this.diagnose().then(retry, retry);
  }

  /** Learns why the upgrade failed: a 401 is permanent (fails everything), anything else is retried. */
  private async diagnose(): Promise<void> {
    const url = this.url().replace(/^ws/, "http");
    const shown = url.replace(/token=[^&]*/, "token=***");
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.min(10_000, this.timeoutMs)) });
      await res.body?.cancel();
      if (res.status === 401 || res.status === 403) this.fail(new ProducerError("unauthorized", `${shown} refused the token (HTTP ${res.status}): check the token option`));
      else this.lastConnectError = `the WebSocket upgrade to ${shown} failed (HTTP ${res.status} without upgrade)`;
    } catch (e) {
      this.lastConnectError = `cannot reach ${shown}: ${String((e as { cause?: unknown }).cause ?? e)}`;
    }
  }

  /** A permanent failure: rejects every waiting call and every later one, stops reconnecting. */
  private fail(err: ProducerError): void {
    this.failed = err;
    this.closed = true;
    for (const w of this.resumeWaiters.splice(0)) w.reject(err);
    for (const b of this.pending.splice(0)) for (const w of b.waiters) w.reject(err);
    for (const w of this.filling?.waiters ?? []) w.reject(err);
    this.filling = undefined;
    this.ws?.close();
  }

  /** Rejects with a clear error when `p` has not settled within timeoutMs. */
  private within<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.failed ?? new ProducerError("timeout", `${what} not acknowledged within ${this.timeoutMs} ms: ${this.ready ? "the server did not answer" : this.lastConnectError}`)), this.timeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  private sendFrame(message: Parameters<typeof create<typeof ClientMessageSchema>>[1] extends infer I ? I extends { message?: infer M } ? M : never : never): void {
    this.ws?.send(encodeClientMessage(create(ClientMessageSchema, { message } as never), this.encoding));
  }

  private onMessage(msg: ServerMessage): void {
    const m = msg.message;
    switch (m.case) {
      case "connected": {
        this.reconnectAttempt = 0;
        this.ready = true;
        this.lastAckSequence = m.value.lastAckSequence > this.lastAckSequence ? m.value.lastAckSequence : this.lastAckSequence;
        this.nextSequence ??= this.lastAckSequence + 1n;
        // Everything the server already has is acked; the rest is sent again, in order.
        while (this.pending[0] && this.pending[0].last <= this.lastAckSequence) this.settle(this.pending.shift()!);
        for (const b of this.pending) b.sent = false;
        for (const w of this.resumeWaiters.splice(0)) w.resolve();
        this.pump();
        return;
      }
      case "ack": {
        const last = m.value.details?.lastAckSequence ?? 0n;
        if (m.value.status === 4 /* duplicate */ || m.value.status === 2 /* buffered */ || m.value.status === 5 /* fallback */) {
          if (last > this.lastAckSequence) this.lastAckSequence = last;
          while (this.pending[0] && this.pending[0].sent && this.pending[0].last <= this.lastAckSequence) this.settle(this.pending.shift()!);
          const delay = m.value.details?.suggestedDelayMs ?? 0;
          if (delay > 0) this.pausedUntil = Math.max(this.pausedUntil, Date.now() + delay);
        } else if (m.value.status === 3 /* persisted */) {
          this.options.onPersisted?.(last);
        }
        this.pump();
        return;
      }
      case "nack": {
        const rule = NACK_RULES[m.value.reason];
        const batch = this.pending.find((b) => b.last === m.value.sequenceNumber);
        if (m.value.reason === NackReason.INVALID_SEQUENCE && m.value.expectedSequence > 0n && batch && batch !== this.pending[0]) {
          // A batch after a refused one: it is sent again after the one before it.
          batch.sent = false;
          return;
        }
        if (rule.shouldRetry || m.value.reason === NackReason.NOT_CONNECTED) {
          for (const b of this.pending) b.sent = false;
          if (batch) batch.retries++;
          this.pausedUntil = Math.max(this.pausedUntil, Date.now() + (m.value.retryDelayMs || 100));
          setTimeout(() => this.pump(), Math.max(1, this.pausedUntil - Date.now()));
          return;
        }
        const err = new ProducerError(Object.keys(NackReason).find((k) => NackReason[k as keyof typeof NackReason] === m.value.reason)!.toLowerCase(), m.value.errorMessage);
        if (batch) {
          this.pending.splice(this.pending.indexOf(batch), 1);
          for (const w of batch.waiters) w.reject(err);
        }
        return;
      }
      case "flushResult": {
        const w = this.flushWaiters.get(m.value.correlationId);
        this.flushWaiters.delete(m.value.correlationId);
        w?.({ ok: m.value.ok, eventsFlushed: m.value.eventsFlushed, errorMessage: m.value.errorMessage });
        return;
      }
      default:
        return;
    }
  }

  private settle(b: Batch): void {
    for (const w of b.waiters) w.resolve();
  }

  /** Sends unsent batches in order, up to maxInFlight, unless paused. */
  private pump(): void {
    if (!this.ready || !this.ws || this.ws.readyState !== 1) return;
    const wait = this.pausedUntil - Date.now();
    if (wait > 0) {
      setTimeout(() => this.pump(), wait);
      return;
    }
    let inFlight = this.pending.filter((b) => b.sent).length;
    for (const b of this.pending) {
      if (inFlight >= (this.options.maxInFlight ?? 4)) break;
      if (b.sent) continue;
      b.sent = true;
      inFlight++;
      const events = b.events.filter((e) => e.sequence > this.lastAckSequence);
      this.sendFrame({
        case: "cdcBatch",
        value: {
          timestamp: BigInt(Date.now()),
          sourceDoId: this.options.sourceId,
          sourceShardName: this.options.shardName ?? "",
          events: events.length ? events : b.events,
          sequenceNumber: b.last,
          firstEventSequence: (events[0] ?? b.events[0]!).sequence,
          lastEventSequence: b.last,
          isRetry: b.retries > 0,
          retryCount: b.retries,
        },
      });
    }
  }

  private async resumed(): Promise<void> {
    if (this.nextSequence !== undefined) return;
    await new Promise<void>((resolve, reject) => this.resumeWaiters.push({ resolve, reject }));
  }

  async send(events: ProducerEvent[]): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.closed) throw new Error("producer is closed");
    await this.within(this.resumed(), "connect");
    const done: Promise<void>[] = [];
    for (const e of events) {
      const sequence = e.sequence ?? this.nextSequence!;
      if (sequence !== this.nextSequence) throw new ProducerError("invalid_sequence", `event sequence ${sequence}; expected ${this.nextSequence}`);
      this.nextSequence = sequence + 1n;
      const event = create(CdcEventSchema, {
        sequence,
        timestamp: BigInt(e.timestamp ?? Date.now()),
        operation: OPS[e.operation],
        table: e.table,
        rowId: e.rowId,
        before: e.before ? rowFromJson(e.before) : undefined,
        after: e.after ? rowFromJson(e.after) : undefined,
        metadata: e.metadata ? rowFromJson(e.metadata) : undefined,
      });
      if (!this.filling) {
        this.filling = { events: [], first: sequence, last: sequence, retries: 0, waiters: [], sent: false };
        done.push(new Promise((resolve, reject) => this.filling!.waiters.push({ resolve, reject })));
      }
      this.filling.events.push(event);
      this.filling.last = sequence;
      if (this.filling.events.length >= this.maxBatch) this.seal();
    }
    if (this.filling && !this.lingerTimer) this.lingerTimer = setTimeout(() => this.seal(), this.options.lingerMs ?? 5);
    await this.within(Promise.all(done), `events ${events[0]?.sequence ?? ""}..`);
  }

  /** Resolves when every batch queued so far is acked (rejects with its refusal). */
  private allAcked(): Promise<unknown> {
    return Promise.all(this.pending.map((b) => new Promise<void>((resolve, reject) => b.waiters.push({ resolve, reject }))));
  }

  private seal(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    if (!this.filling) return;
    this.pending.push(this.filling);
    this.filling = undefined;
    this.pump();
  }

  async flush(): Promise<{ ok: boolean; eventsFlushed: bigint; errorMessage: string }> {
    if (this.failed) throw this.failed;
    this.seal();
    await this.within(this.allAcked(), "flush: queued events");
    const correlationId = `flush-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const result = new Promise<{ ok: boolean; eventsFlushed: bigint; errorMessage: string }>((r) => this.flushWaiters.set(correlationId, r));
    this.sendFrame({ case: "flushRequest", value: { timestamp: BigInt(Date.now()), sourceDoId: this.options.sourceId, reason: 1, correlationId } });
    return this.within(result, "flush_request");
  }

  async close(): Promise<void> {
    this.seal();
    try {
      if (!this.failed) await this.within(this.allAcked(), "close: queued events");
    } finally {
      // Closed even when the wait failed, so the process can exit.
      this.closed = true;
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      this.ws?.close(1000, "producer closed");
    }
  }
}
