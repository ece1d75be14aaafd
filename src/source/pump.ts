/**
 * The pump: one run per alarm. Connects to DoLake, resumes from the slot (or from DoLake's own
 * durable mark when it is further: an ack that arrived just before an eviction), sends the outbox
 * after the slot as binary `cdc_batch` frames, and moves the slot (and trims the outbox) as acks
 * arrive. Backpressure, retryable nacks and an unreachable DoLake end the run with the delay
 * after which the next one should start; nothing is removed from the outbox until it is acked.
 */
import { create } from "@bufbuild/protobuf";
import { AckStatus, type CdcEvent, CdcEventSchema, ClientMessageSchema, NackReason, Operation, type ServerMessage } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { type Row, RowSchema, type Value, ValueSchema } from "../../gen/dolake/cdc/v1/value_pb.js";
import { encodeClientMessage } from "../protocol/frames.js";
import { rowFromJson, valueFromJson } from "../protocol/json-value.js";
import { NACK_RULES } from "../protocol/nack-reasons.js";
import { parseJson } from "../util/json.js";
import { type CdcDestination, SocketReader } from "./destination.js";
import type { Outbox, OutboxEvent } from "./outbox.js";
import type { SourceMetrics } from "./metrics.js";
import type { ColumnKind } from "./triggers.js";

/** Pump settings (all have defaults in enableCdc). */
export interface PumpOptions {
  sourceId: string;
  slot: string;
  /** Events per cdc_batch frame. */
  batchEvents: number;
  /** Longest run of one alarm, ms: the rest is sent by the next run. */
  runBudgetMs: number;
  /** How long to wait for an answer, ms. */
  answerTimeoutMs: number;
  /** Retry delay bounds after a failure, ms (doubling per consecutive failure). */
  retryDelayMs: { min: number; max: number };
}

/** How a run ended: `next` is when to run again (ms from now), undefined when the outbox is drained. */
export interface RunResult {
  sent: number;
  next: number | undefined;
  error?: string;
}

const OPS = { INSERT: Operation.INSERT, UPDATE: Operation.UPDATE, DELETE: Operation.DELETE } as const;

/** A value of a declared column kind as the wire carries it (REAL 2.0 stays a double, not int 2). */
function typedValue(v: unknown, kind: ColumnKind | undefined, path: string): Value {
  if (kind === "double" && typeof v === "number") return create(ValueSchema, { kind: { case: "doubleValue", value: v } });
  if (kind === "double" && typeof v === "bigint") return create(ValueSchema, { kind: { case: "doubleValue", value: Number(v) } });
  return valueFromJson(v, path);
}

/** A row image (JSON text from json_object) as a wire Row, typed by the table's declared column kinds. */
export function rowFromImage(text: string, kinds: Map<string, ColumnKind> | undefined): Row {
  const obj = parseJson(text);
  if (!kinds) return rowFromJson(obj);
  const fields: Record<string, Value> = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) fields[k] = typedValue(v, kinds.get(k), `row.${k}`);
  return create(RowSchema, { fields });
}

/** An outbox row as a CdcEvent. */
export function toCdcEvent(e: OutboxEvent, kinds: Map<string, ColumnKind> | undefined): CdcEvent {
  return create(CdcEventSchema, {
    sequence: e.sequence,
    timestamp: BigInt(e.timestamp),
    operation: OPS[e.operation],
    table: e.table,
    rowId: e.rowId,
    before: e.before === null ? undefined : rowFromImage(e.before, kinds),
    after: e.after === null ? undefined : rowFromImage(e.after, kinds),
  });
}

/** The pump of one source object towards one destination. */
export class Pump {
  private failures = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly destination: CdcDestination,
    private readonly options: PumpOptions,
    private readonly kindsOf: (table: string) => Map<string, ColumnKind> | undefined,
    private readonly metrics: SourceMetrics,
  ) {}

  /** The run in progress: runs never overlap (an alarm and a direct call would race the slot). */
  private inFlight: Promise<RunResult> | undefined;

  /** Sends what the slot has not acked yet, within the run budget; a call during a run shares it. */
  run(): Promise<RunResult> {
    this.inFlight ??= this.runOnce().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async runOnce(): Promise<RunResult> {
    const slotName = this.options.slot;
    let acked = this.outbox.slot(slotName)!.acked;
    if (this.outbox.read(acked, 1).length === 0) return { sent: 0, next: undefined };
    let reader: SocketReader | undefined;
    let sent = 0;
    try {
      reader = new SocketReader(await this.destination.connect());
      const started = Date.now();
      reader.ws.send(this.frame({ case: "connect", value: { timestamp: BigInt(started), sourceDoId: this.options.sourceId, lastAckSequence: acked, protocolVersion: 1, capabilities: { binaryProtocol: true, batching: true, maxBatchSize: this.options.batchEvents } } }));
      const hello = await reader.next(this.options.answerTimeoutMs);
      if (hello.message.case !== "connected") return this.failed(`DoLake answered connect with ${hello.message.case}`, sent);
      // DoLake's durable mark beyond the slot: the ack arrived, the slot update did not survive.
      const serverMark = hello.message.value.lastAckSequence;
      if (serverMark > this.outbox.head()) {
        // DoLake holds sequences this outbox never wrote: another object uses this sourceId, or
        // this one lost its storage. Sending would be acked "duplicate", that is, dropped: stop.
        return this.failed(`DoLake already holds sequence ${serverMark} for source ${this.options.sourceId}, beyond this outbox's last ${this.outbox.head()}: is the sourceId used by another object?`, sent);
      }
      if (serverMark > acked) acked = serverMark;
      const persisted = hello.message.value.lastPersistedSequence;
      this.outbox.updateSlot(slotName, acked, persisted <= acked ? persisted : acked);
      if (persisted > this.metrics.lastPersisted) this.metrics.lastPersisted = persisted;
      while (Date.now() - started < this.options.runBudgetMs) {
        // The slot only moves forward; another pump instance in this object may have moved it while
        // this one awaited DoLake: never read behind it.
        const slotNow = this.outbox.slot(slotName)!.acked;
        if (slotNow > acked) acked = slotNow;
        const events = this.outbox.read(acked, this.options.batchEvents);
        if (events.length === 0) break;
        const first = events[0]!.sequence;
        const last = events.at(-1)!.sequence;
        if (first !== acked + 1n) return this.failed(`outbox gap: slot ${slotName} is at ${acked} but the next event is ${first}`, sent);
        const batch = events.map((e) => toCdcEvent(e, this.kindsOf(e.table)));
        reader.ws.send(this.frame({ case: "cdcBatch", value: { timestamp: BigInt(Date.now()), sourceDoId: this.options.sourceId, sequenceNumber: last, firstEventSequence: first, lastEventSequence: last, events: batch, isRetry: this.failures > 0, retryCount: this.failures } }));
        this.metrics.batchesSent++;
        const m = await this.answerFor(reader, acked);
        if (m.case === "ack" && (m.value.status === AckStatus.BUFFERED || m.value.status === AckStatus.DUPLICATE || m.value.status === AckStatus.FALLBACK)) {
          acked = last; // an ack covers the whole batch (all-or-nothing)
          this.outbox.updateSlot(slotName, acked);
          sent += events.length;
          this.metrics.eventsAcked += events.length;
          this.failures = 0;
          const delay = m.value.details?.suggestedDelayMs ?? 0;
          if (delay > 0) {
            this.metrics.backpressurePauses++;
            return { sent, next: delay };
          }
          continue;
        }
        if (m.case === "nack") {
          this.metrics.nack(NackReason[m.value.reason] ?? String(m.value.reason));
          const expected = m.value.expectedSequence;
          if (m.value.reason === NackReason.INVALID_SEQUENCE && expected > acked + 1n && expected - 1n <= this.outbox.head()) {
            // DoLake already holds events up to expected - 1.
            acked = expected - 1n;
            this.outbox.updateSlot(slotName, acked);
            continue;
          }
          const rule = NACK_RULES[m.value.reason];
          const error = `nack ${NackReason[m.value.reason]}: ${m.value.errorMessage}`;
          if (rule.shouldRetry) return this.failed(error, sent, m.value.retryDelayMs || undefined);
          return this.failed(error, sent);
        }
        return this.failed(`unexpected answer ${m.case}`, sent);
      }
      const more = this.outbox.read(acked, 1).length > 0;
      this.metrics.lastError = "";
      return { sent, next: more ? 0 : undefined };
    } catch (e) {
      return this.failed(e instanceof Error ? e.message : String(e), sent);
    } finally {
      reader?.close();
    }
  }

  /** The answer to the batch in flight; `persisted` acks (sent by DoLake after a flush) are recorded on the way. */
  private async answerFor(reader: SocketReader, acked: bigint): Promise<ServerMessage["message"]> {
    for (;;) {
      const m = (await reader.next(this.options.answerTimeoutMs)).message;
      if (m.case !== "ack" || m.value.status !== AckStatus.PERSISTED) return m;
      const persisted = m.value.details?.lastAckSequence ?? 0n;
      this.outbox.updateSlot(this.options.slot, acked, persisted <= acked ? persisted : acked);
      this.metrics.lastPersisted = persisted;
    }
  }

  private failed(error: string, sent: number, delayMs?: number): RunResult {
    this.failures++;
    this.metrics.failures++;
    this.metrics.lastError = error;
    const { min, max } = this.options.retryDelayMs;
    return { sent, next: delayMs ?? Math.min(max, min * 2 ** (this.failures - 1)), error };
  }

  private frame(message: unknown): Uint8Array {
    return encodeClientMessage(create(ClientMessageSchema, { message } as never), "binary") as Uint8Array;
  }
}
