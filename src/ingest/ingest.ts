/**
 * The CDC session protocol: one decoded frame in, the answers out. Runs synchronously, so within
 * one Durable Object turn nothing interleaves between the dedup check and the durable append.
 * The Durable Object (src/do) owns sockets and alarms; this module owns the rules.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  AckStatus,
  type CdcBatch,
  CircuitBreakerState,
  type ClientMessage,
  ClientMessageSchema,
  type Connect,
  NackReason,
  type ServerMessage,
  type ServerState,
} from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { DurableBuffer } from "../buffer/durable-buffer.js";
import type { DoLakeConfig } from "../config.js";
import { server } from "../protocol/server-message.js";
import { binaryEventSizes, type SkimBatch } from "../protocol/skim.js";
import { NACK_REASONS_JSON, nackMessage } from "./nack.js";
import type { Metrics } from "./metrics.js";
import { Refusal } from "./refusal.js";
import { TokenBucket } from "./token-bucket.js";
import type { SchemaGuard } from "./schema-guard.js";
import { type IngestBatch, validateBatch } from "./validate.js";

/** Per-socket state, kept in the WebSocket attachment so it survives hibernation. */
export interface SessionState {
  sourceId?: string;
  shardName?: string;
  ip?: string;
  connectedAt: number;
  /** Encoding of the socket's frames, for messages the server sends unprompted (persisted acks). */
  encoding?: "binary" | "json";
}

/** What the session logic needs from its Durable Object. */
export interface IngestHost {
  readonly buffer: DurableBuffer;
  readonly config: DoLakeConfig;
  readonly metrics: Metrics;
  /** Column types of the mirror tables: rows that cannot be written are refused before the ack. */
  readonly schema: SchemaGuard;
  now(): number;
  /** Open sockets bound to a source, other than the caller's. */
  otherConnections(sourceId: string): number;
  /** A flush threshold was crossed: flush soon (not inline, to keep acks fast). */
  flushSoon(): void;
  /** Milliseconds until the next scheduled flush. */
  timeUntilFlush(): number;
  /** State of the R2 circuit breaker. */
  circuitState(): CircuitBreakerState;
  /** What a Status message reports beyond the buffer. */
  statusExtras(): { state: ServerState; connectedSources: number; lastFlushTime: number; nextFlushTime: number };
}

/** The outcome of one frame. */
export interface FrameOutcome {
  replies: ServerMessage[];
  /** The session changed (save the attachment). */
  sessionChanged?: boolean;
  /** Run a flush, then answer with a flush_result carrying this correlation id. */
  flush?: { correlationId: string };
  /** Close the socket after sending the replies. */
  close?: { code: number; reason: string };
}

const PROTOCOL_VERSION = 1;

/** A frame as received: its size, and its bytes (binary) or text (JSON). */
export interface IngestFrame {
  bytes: number;
  raw?: Uint8Array;
  text?: string;
}

const utf8 = new TextEncoder();

/** True for a batch decoded into messages (JSON frames, or binary frames the skim reader left alone). */
function isDecoded(batch: IngestBatch): batch is CdcBatch {
  return "$typeName" in batch;
}

/** The fully decoded batch of a binary cdc_batch frame. */
function decodedBatch(raw: Uint8Array): CdcBatch {
  const m = fromBinary(ClientMessageSchema, raw).message;
  if (m.case !== "cdcBatch") throw new Error("not a cdc_batch frame");
  return m.value;
}

/** Rate-limit buckets: per connection (in memory, refilled after hibernation) and per source. */
export class Buckets {
  private readonly bySocket = new WeakMap<object, TokenBucket>();
  private readonly bySource = new Map<string, TokenBucket>();
  constructor(private readonly config: DoLakeConfig) {}
  /** The bucket of a socket. */
  socket(key: object, now: number): TokenBucket {
    let b = this.bySocket.get(key);
    if (!b) this.bySocket.set(key, (b = new TokenBucket(this.config.burstCapacity, this.config.messagesPerSecond, now)));
    return b;
  }
  /** The bucket of a source. */
  source(id: string, now: number): TokenBucket {
    let b = this.bySource.get(id);
    if (!b) this.bySource.set(id, (b = new TokenBucket(this.config.sourceBurstCapacity, this.config.sourceMessagesPerSecond, now)));
    return b;
  }
}

/** Handles decoded frames for one Durable Object. */
export class Ingest {
  private buckets: Buckets;
  constructor(private readonly host: IngestHost) {
    this.buckets = new Buckets(host.config);
  }

  /** Starts every rate-limit bucket afresh (after a config change). */
  resetRateLimits(): void {
    this.buckets = new Buckets(this.host.config);
  }

  /** The nack for a refusal (counted in the metrics by reason): the one way a frame is refused. */
  refuse(e: Refusal, sequenceNumber = 0n, correlationId = ""): ServerMessage {
    this.host.metrics.nack(NACK_REASONS_JSON[e.reason]);
    return nackMessage(e, this.host.config, this.host.now(), sequenceNumber, correlationId);
  }

  /** Buffer fill, 0..1. */
  utilization(): number {
    return Math.min(1, this.host.buffer.stats().bytes / Math.max(1, this.host.config.maxBufferSize));
  }

  /** Backpressure hint for the current fill: 0 below the threshold, then doubling up to maxRetryDelayMs. */
  suggestedDelayMs(): number {
    const { backpressureThreshold: t, baseRetryDelayMs, maxRetryDelayMs } = this.host.config;
    const u = this.utilization();
    if (u < t) return 0;
    const steps = t >= 1 ? 8 : ((u - t) / (1 - t)) * 8;
    return Math.min(maxRetryDelayMs, Math.round(baseRetryDelayMs * 2 ** steps));
  }

  /** Answers one decoded frame. `socketKey` identifies the connection's rate-limit bucket. */
  handle(session: SessionState, message: ClientMessage, frame: IngestFrame, socketKey: object): FrameOutcome {
    const m = message.message;
    const now = this.host.now();
    try {
      switch (m.case) {
        case "connect":
          return this.connect(session, m.value, now);
        case "cdcBatch":
          return this.batch(session, m.value, frame, socketKey, now);
        case "heartbeat": {
          const src = session.sourceId ? this.host.buffer.source(session.sourceId) : undefined;
          return {
            replies: [
              server("heartbeatAck", {
                timestamp: BigInt(now),
                lastAckSequence: src?.lastAckSequence ?? 0n,
                lastPersistedSequence: src?.lastPersistedSequence ?? 0n,
              }),
            ],
          };
        }
        case "flushRequest":
          return { replies: [], flush: { correlationId: m.value.correlationId } };
        case "statusRequest":
          return { replies: [this.statusMessage(m.value.correlationId)] };
        default:
          throw new Refusal(NackReason.INVALID_FORMAT, "frame: empty ClientMessage");
      }
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      const batch = m.case === "cdcBatch" ? m.value : undefined;
      return { replies: [this.refuse(e, batch?.sequenceNumber, batch?.correlationId)] };
    }
  }

  private connect(session: SessionState, c: Connect, now: number): FrameOutcome {
    if (!c.sourceDoId) throw new Refusal(NackReason.INVALID_FORMAT, "connect.sourceDoId is missing");
    if (c.protocolVersion > PROTOCOL_VERSION) {
      const e = new Refusal(NackReason.UNSUPPORTED_VERSION, `protocolVersion ${c.protocolVersion} is not supported; this server speaks ${PROTOCOL_VERSION}`);
      return { replies: [this.refuse(e, 0n, c.correlationId)], close: { code: 1002, reason: "unsupported protocol version" } };
    }
    if (session.sourceId !== c.sourceDoId && this.host.otherConnections(c.sourceDoId) >= this.host.config.maxConnectionsPerSource) {
      const e = new Refusal(NackReason.CONNECTION_LIMIT, `source ${c.sourceDoId} already has ${this.host.config.maxConnectionsPerSource} connections (maxConnectionsPerSource)`);
      return { replies: [this.refuse(e, 0n, c.correlationId)], close: { code: 1008, reason: "connection_limit" } };
    }
    session.sourceId = c.sourceDoId;
    session.shardName = c.sourceShardName;
    const src = this.host.buffer.source(c.sourceDoId);
    const { maxPayloadSize, maxEventSize, maxBatchEvents } = this.host.config;
    return {
      sessionChanged: true,
      replies: [
        server("connected", {
          timestamp: BigInt(now),
          correlationId: c.correlationId,
          sourceDoId: c.sourceDoId,
          lastAckSequence: src?.lastAckSequence ?? 0n,
          lastPersistedSequence: src?.lastPersistedSequence ?? 0n,
          protocolVersion: PROTOCOL_VERSION,
          limits: { maxPayloadSize: Math.floor(maxPayloadSize), maxEventSize: Math.floor(maxEventSize), maxBatchEvents: Math.floor(maxBatchEvents) },
        }),
      ],
    };
  }

  /**
   * Answers a cdc_batch read by the skim reader from a binary frame (src/protocol/skim.ts): the
   * same rules as any batch; the frame is stored as it came.
   */
  handleSkimmedBatch(session: SessionState, batch: SkimBatch, frame: { bytes: number; raw: Uint8Array }, socketKey: object): FrameOutcome {
    const now = this.host.now();
    try {
      return this.batch(session, batch, frame, socketKey, now);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      return { replies: [this.refuse(e, batch.sequenceNumber, batch.correlationId)] };
    }
  }

  private batch(session: SessionState, batch: IngestBatch, frame: IngestFrame, socketKey: object, now: number): FrameOutcome {
    const { config, buffer, metrics } = this.host;
    metrics.eventsReceived += batch.events.length;
    // Sessions may skip connect (the published JSON producers do): the first batch binds the source.
    let sessionChanged = false;
    const sourceId = batch.sourceDoId || session.sourceId;
    if (!sourceId) throw new Refusal(NackReason.NOT_CONNECTED, "cdc_batch.sourceDoId is missing and no connect was sent");
    if (session.sourceId && batch.sourceDoId && batch.sourceDoId !== session.sourceId) {
      throw new Refusal(NackReason.NOT_CONNECTED, `cdc_batch.sourceDoId ${batch.sourceDoId} differs from this session's source ${session.sourceId}`);
    }
    if (!session.sourceId) {
      session.sourceId = sourceId;
      session.shardName = batch.sourceShardName;
      sessionChanged = true;
    }
    const conn = this.buckets.socket(socketKey, now);
    const src = this.buckets.source(sourceId, now);
    if (!conn.take(now)) {
      throw new Refusal(NackReason.RATE_LIMITED, `more than ${config.messagesPerSecond} messages/s on this connection`, { retryDelayMs: Math.max(conn.msUntilToken(now), 1) });
    }
    if (!src.take(now)) {
      throw new Refusal(NackReason.RATE_LIMITED, `more than ${config.sourceMessagesPerSecond} messages/s from source ${sourceId}`, { retryDelayMs: Math.max(src.msUntilToken(now), 1) });
    }
    // Event sizes of a binary frame come from its length prefixes (only needed for large frames).
    const sizes = frame.raw && frame.bytes > config.maxEventSize && isDecoded(batch) ? binaryEventSizes(frame.raw) : undefined;
    validateBatch(batch, frame.bytes, config, sizes);

    const first = batch.events[0]!.sequence;
    const last = batch.events[batch.events.length - 1]!.sequence;
    const state = buffer.source(sourceId);
    const hwm = state?.lastAckSequence ?? 0n;
    let accepted: IngestBatch = batch;
    if (state && last <= hwm) {
      // Exactly once: everything here was accepted before (a retry or a replay).
      metrics.duplicateBatches += 1;
      metrics.duplicateEvents += batch.events.length;
      return { sessionChanged, replies: [this.ack(batch, AckStatus.DUPLICATE, 0, hwm, conn, now)] };
    }
    if (state && first > hwm + 1n) {
      throw new Refusal(NackReason.INVALID_SEQUENCE, `gap: batch starts at sequence ${first} but ${sourceId} is at ${hwm}; expected ${hwm + 1n}`, {
        expectedSequence: hwm + 1n,
      });
    }
    // The frame is stored as it came (binary, or JSON text: no re-encode on the ack path).
    let payload = frame.raw ?? (frame.text !== undefined ? utf8.encode(frame.text) : undefined);
    let format: "binary" | "json" = frame.raw ? "binary" : "json";
    if (state && first <= hwm) {
      // Overlaps what was accepted: apply only the new tail, once (rare: decode the frame fully).
      const full = isDecoded(batch) ? batch : decodedBatch(frame.raw!);
      const fresh = full.events.filter((e) => e.sequence > hwm);
      metrics.duplicateEvents += batch.events.length - fresh.length;
      accepted = { ...full, events: fresh };
      payload = toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value: { ...full, events: fresh } } }));
      format = "binary";
    } else if (!payload) {
      payload = toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value: batch as CdcBatch } }));
      format = "binary";
    }
    const newColumns = this.host.schema.check(accepted.events);
    if (buffer.stats().bytes + payload.byteLength > config.maxBufferSize) {
      throw new Refusal(NackReason.BUFFER_FULL, `durable buffer is full (${config.maxBufferSize} bytes); retry after the next flush`);
    }
    buffer.append({
      sourceId,
      shardName: session.shardName || batch.sourceShardName,
      batchNumber: batch.sequenceNumber,
      firstSequence: accepted.events[0]!.sequence,
      lastSequence: last,
      eventCount: accepted.events.length,
      payload,
      format,
      receivedAt: now,
    });
    this.host.schema.record(newColumns);
    metrics.eventsAcked += accepted.events.length;
    metrics.batchesAcked += 1;
    const totals = buffer.stats();
    if (totals.eventCount >= config.flushThresholdEvents || totals.bytes >= config.flushThresholdBytes) this.host.flushSoon();
    const status = this.host.circuitState() === CircuitBreakerState.OPEN ? AckStatus.FALLBACK : AckStatus.BUFFERED;
    return { sessionChanged, replies: [this.ack(batch, status, accepted.events.length, last, conn, now)] };
  }

  private ack(batch: IngestBatch, status: AckStatus, processed: number, lastAck: bigint, conn: TokenBucket, now: number): ServerMessage {
    return server("ack", {
      timestamp: BigInt(now),
      correlationId: batch.correlationId,
      sequenceNumber: batch.sequenceNumber,
      status,
      batchId: `${batch.sourceDoId}:${batch.sequenceNumber}`,
      details: {
        eventsProcessed: processed,
        bufferUtilization: this.utilization(),
        timeUntilFlush: BigInt(Math.max(0, Math.round(this.host.timeUntilFlush()))),
        remainingTokens: conn.remaining(now),
        bucketCapacity: conn.capacity,
        suggestedDelayMs: this.suggestedDelayMs(),
        circuitBreakerState: this.host.circuitState(),
        lastAckSequence: lastAck,
      },
      rateLimit: {
        limit: Math.floor(this.host.config.messagesPerSecond), // uint32 on the wire; rates may be fractional
        remaining: conn.remaining(now),
        resetAt: BigInt(conn.fullAt(now)),
      },
    });
  }

  /** A Status message for the current state. */
  statusMessage(correlationId = ""): ServerMessage {
    const t = this.host.buffer.stats();
    const extras = this.host.statusExtras();
    return server("status", {
      timestamp: BigInt(this.host.now()),
      correlationId,
      state: extras.state,
      connectedSources: extras.connectedSources,
      lastFlushTime: BigInt(extras.lastFlushTime),
      nextFlushTime: BigInt(extras.nextFlushTime),
      buffer: {
        batchCount: BigInt(t.batchCount),
        eventCount: BigInt(t.eventCount),
        totalSizeBytes: BigInt(t.bytes),
        utilization: this.utilization(),
        oldestBatchTime: BigInt(t.oldestAt ?? 0),
        newestBatchTime: BigInt(t.newestAt ?? 0),
      },
    });
  }

}
