/**
 * When flushes run: on thresholds (soon), on age (a DO alarm, so an idle buffer still flushes),
 * on flush_request and POST /flush. Flushes never overlap. Failures back off through the circuit
 * breaker while events stay in the durable buffer.
 */
import { AckStatus, type ServerMessage } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { DurableBuffer } from "../buffer/durable-buffer.js";
import { CircuitBreaker } from "../flush/circuit-breaker.js";
import { TableHealth } from "../flush/table-health.js";
import { type FlushOutcome, flushBuffer } from "../flush/flusher.js";
import { createFlushSink, type FlushSinkHost } from "../flush/sink.js";
import type { SessionState } from "../ingest/ingest.js";
import type { Metrics } from "../ingest/metrics.js";
import { encodeServerMessage } from "../protocol/frames.js";
import { server } from "../protocol/server-message.js";

/** What the scheduler needs from its Durable Object (the DoLake object is one). */
export interface FlushHost extends FlushSinkHost {
  /** The durable buffer the flush drains. */
  readonly buffer: DurableBuffer;
  /** Flush counters and timings. */
  readonly metrics: Metrics;
  /** Open sockets bound to a source, by source id (persisted acks go to them). */
  socketsBySource(): Map<string, WebSocket[]>;
}

/** Schedules and runs flushes for one DoLake object. */
export class FlushScheduler {
  readonly breaker = new CircuitBreaker();
  /** Source tables whose flush fails (retried with backoff while the others flush). */
  readonly tables = new TableHealth();
  /** The tail of the one-at-a-time chain of flushes and exclusive work (orphan removal). */
  private queue: Promise<unknown> | undefined;
  /** Exclusive work (flushes, maintenance slices) waiting for the one in flight. */
  private queued = 0;

  /** How many flushes or exclusive works wait for the one in flight (maintenance does not rest while one does). */
  get waiting(): number {
    return this.queued;
  }
  /** True while a flush is writing. */
  running = false;
  private alarmAt: number | undefined;
  lastFlushTime = 0;
  lastError = "";

  constructor(private readonly lake: FlushHost) {}

  private get storage() {
    return this.lake.storage;
  }

  /** Milliseconds until the age trigger fires (or the scheduled alarm, if sooner). */
  timeUntilFlush(): number {
    const oldest = this.lake.buffer.stats().oldestAt;
    if (oldest === undefined) return 0;
    const due = oldest + this.lake.config.flushThresholdMs;
    return Math.max(0, Math.min(due, this.alarmAt ?? due) - Date.now());
  }

  private schedule(at: number): void {
    if (this.alarmAt !== undefined && this.alarmAt <= at && this.alarmAt > Date.now() - 1000) return;
    this.alarmAt = at;
    void this.storage.setAlarm(at);
  }

  /** When the alarm this scheduler set fires (undefined: none set, or not known since a restart). */
  pendingAlarm(): number | undefined {
    return this.alarmAt;
  }

  /** Makes sure an alarm will flush the buffer by its age deadline. */
  ensureAlarm(): void {
    const oldest = this.lake.buffer.stats().oldestAt;
    // A failing table's events are the oldest: its retry alarm (onAlarm) is the schedule then.
    if (this.tables.nextRetryAt() !== undefined && this.alarmAt !== undefined) return;
    if (oldest !== undefined) this.schedule(Math.max(oldest + this.lake.config.flushThresholdMs, this.breaker.retryAt()));
  }

  /** A threshold was crossed: flush as soon as the breaker allows. */
  soon(): void {
    this.schedule(Math.max(Date.now(), this.breaker.retryAt()));
  }

  /** The alarm: flush, then schedule the next one while anything is buffered. */
  async onAlarm(): Promise<void> {
    this.alarmAt = undefined;
    if (this.breaker.allows(Date.now()) && this.lake.buffer.stats().batchCount > 0) {
      await this.run(false).catch(() => undefined);
    }
    if (this.lake.buffer.stats().batchCount === 0) return;
    const failures = this.breaker.consecutiveFailures();
    // Failing: back off (1 s, 2 s, ... 64 s, or until the breaker lets a trial through).
    if (failures > 0) this.schedule(Math.max(this.breaker.retryAt(), Date.now() + 1000 * 2 ** Math.min(6, failures)));
    else {
      const retry = this.tables.nextRetryAt();
      // A table failing alone: retry it on its backoff, and flush the others by their age meanwhile.
      if (retry !== undefined) this.schedule(Math.max(Date.now() + 1000, Math.min(retry, Date.now() + this.lake.config.flushThresholdMs)));
      else this.ensureAlarm();
    }
  }

  /** Flushes now (after any running flush) and returns the flush_result message. */
  async flushNow(correlationId = ""): Promise<ServerMessage> {
    try {
      const outcome = await this.run();
      const failed = [...outcome.failed].map(([t, e]) => `${t}: ${e}`).join("; ");
      return server("flushResult", {
        timestamp: BigInt(Date.now()),
        correlationId,
        ok: outcome.failed.size === 0,
        errorMessage: failed ? `tables failed, their events stay in the durable buffer (the others flushed): ${failed}` : "",
        eventsFlushed: BigInt(outcome.eventsFlushed),
        tables: outcome.tables,
      });
    } catch (e) {
      return server("flushResult", {
        timestamp: BigInt(Date.now()),
        correlationId,
        ok: false,
        errorMessage: `flush failed; events stay in the durable buffer: ${(e as Error).message}`,
      });
    }
  }

  /**
   * Runs one flush; concurrent callers wait for the running one and then flush again. `force`
   * (flush requests) tries failing tables at once; alarms respect their backoff.
   */
  run(force = true): Promise<FlushOutcome> {
    return this.exclusive(() => this.flushOnce(force));
  }

  /**
   * Runs `work` when no flush is in flight, and holds later flushes until it ends: for work that must
   * not see a flush's files before their commit (orphan removal would take them for orphans).
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.queue ?? Promise.resolve(undefined);
    this.queued++;
    const next = previous
      .catch(() => undefined)
      .then(() => {
        this.queued--;
        return work();
      });
    this.queue = next;
    return next;
  }

  private async flushOnce(force: boolean): Promise<FlushOutcome> {
    const { lake } = this;
    const started = Date.now();
    this.running = true;
    try {
      const outcome = await flushBuffer(this.storage, lake.buffer, createFlushSink(lake), lake.config.maxFlushBytes, this.tables, force);
      this.breaker.success();
      this.lastError = [...outcome.failed].map(([t, e]) => `${t}: ${e}`).join("; ");
      if (outcome.failed.size > 0) {
        lake.metrics.flushFailures += 1;
        console.error("flush: tables failed", this.lastError);
      }
      if (outcome.eventsFlushed > 0) {
        lake.metrics.flushes += 1;
        lake.metrics.eventsFlushed += outcome.eventsFlushed;
        lake.metrics.flushDurationMs.observe(Date.now() - started);
        this.lastFlushTime = Date.now();
        this.announce(outcome);
      }
      return outcome;
    } catch (e) {
      this.breaker.failure(Date.now());
      this.lastError = (e as Error).message;
      lake.metrics.flushFailures += 1;
      console.error("flush failed", e);
      throw e;
    } finally {
      this.running = false;
    }
  }

  /** Tells connected producers which of their events are now in committed snapshots. */
  private announce(outcome: FlushOutcome): void {
    const sockets = this.lake.socketsBySource();
    for (const [sourceId, p] of outcome.persisted) {
      for (const ws of sockets.get(sourceId) ?? []) {
        const encoding = (ws.deserializeAttachment() as SessionState | null)?.encoding ?? "json";
        const ack = server("ack", {
          timestamp: BigInt(Date.now()),
          sequenceNumber: p.batchNumber,
          status: AckStatus.PERSISTED,
          batchId: `${sourceId}:${p.batchNumber}`,
          details: { persistedPath: outcome.persistedPath, lastAckSequence: p.sequence, eventsProcessed: 0 },
        });
        try {
          ws.send(encodeServerMessage(ack, encoding));
        } catch {
          // socket closing; the producer learns its persisted mark on reconnect
        }
      }
    }
  }
}
