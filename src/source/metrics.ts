/** Counters of a source's pump and the Prometheus text of them with its lag. */

/** Lag of a source behind its destination. */
export interface SourceLag {
  /** Committed changes DoLake has not acked yet. */
  events: number;
  /** Age of the oldest of them, seconds (0 when none). */
  seconds: number;
  /** Last sequence written to the outbox. */
  head: bigint;
  /** Last sequence DoLake acked as durable (the slot). */
  acked: bigint;
  /** Last sequence DoLake reported in a committed Iceberg snapshot (0 when not yet seen). */
  persisted: bigint;
  /** Events held in the outbox (acked ones are trimmed). */
  outboxEvents: number;
  /** The configured bound beyond which writes are refused. */
  maxOutboxEvents: number;
  /** The last failure of the pump ("" after a clean run). */
  lastError: string;
}

/** In-memory counters of one source object (since it started). */
export class SourceMetrics {
  batchesSent = 0;
  eventsAcked = 0;
  failures = 0;
  backpressurePauses = 0;
  lastError = "";
  lastPersisted = 0n;
  readonly nacks = new Map<string, number>();

  /** Counts a nack by reason. */
  nack(reason: string): void {
    this.nacks.set(reason, (this.nacks.get(reason) ?? 0) + 1);
  }

  /** Prometheus exposition text of the counters and the lag. */
  prometheus(lag: SourceLag, source: string): string {
    const l = `{source=${JSON.stringify(source)}}`;
    const lines = [
      "# HELP dolake_source_lag_events Committed changes not yet acked by DoLake.",
      "# TYPE dolake_source_lag_events gauge",
      `dolake_source_lag_events${l} ${lag.events}`,
      "# HELP dolake_source_lag_seconds Age of the oldest change not yet acked by DoLake.",
      "# TYPE dolake_source_lag_seconds gauge",
      `dolake_source_lag_seconds${l} ${lag.seconds}`,
      "# HELP dolake_source_outbox_events Changes held in the outbox.",
      "# TYPE dolake_source_outbox_events gauge",
      `dolake_source_outbox_events${l} ${lag.outboxEvents}`,
      "# HELP dolake_source_outbox_max_events Bound of the outbox; writes are refused at it.",
      "# TYPE dolake_source_outbox_max_events gauge",
      `dolake_source_outbox_max_events${l} ${lag.maxOutboxEvents}`,
      "# HELP dolake_source_acked_sequence Last sequence DoLake acked as durable.",
      "# TYPE dolake_source_acked_sequence gauge",
      `dolake_source_acked_sequence${l} ${lag.acked}`,
      "# HELP dolake_source_batches_sent_total cdc_batch frames sent.",
      "# TYPE dolake_source_batches_sent_total counter",
      `dolake_source_batches_sent_total${l} ${this.batchesSent}`,
      "# HELP dolake_source_events_acked_total Events acked by DoLake.",
      "# TYPE dolake_source_events_acked_total counter",
      `dolake_source_events_acked_total${l} ${this.eventsAcked}`,
      "# HELP dolake_source_failures_total Pump runs that ended in a failure (unreachable, nack, timeout).",
      "# TYPE dolake_source_failures_total counter",
      `dolake_source_failures_total${l} ${this.failures}`,
      "# HELP dolake_source_backpressure_total Runs paused by DoLake's suggestedDelayMs.",
      "# TYPE dolake_source_backpressure_total counter",
      `dolake_source_backpressure_total${l} ${this.backpressurePauses}`,
      "# HELP dolake_source_nacks_total Nacks by reason.",
      "# TYPE dolake_source_nacks_total counter",
      ...[...this.nacks].map(([reason, n]) => `dolake_source_nacks_total{source=${JSON.stringify(source)},reason=${JSON.stringify(reason.toLowerCase())}} ${n}`),
    ];
    return `${lines.join("\n")}\n`;
  }
}
