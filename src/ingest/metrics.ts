/**
 * Ingest and flush metrics, exposed at GET /metrics in the Prometheus text format. Counters live
 * in memory and restart from zero when the object restarts (Prometheus handles counter resets);
 * gauges are read from the buffer when scraped.
 */

const LATENCY_BUCKETS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
const FLUSH_BUCKETS_MS = [10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

/** A Prometheus histogram. */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  /** Records one observation. */
  observe(v: number): void {
    this.sum += v;
    this.count += 1;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) this.counts[i]! += 1;
  }
  /** Exposition lines for `name`. */
  render(name: string): string[] {
    const lines = this.buckets.map((b, i) => `${name}_bucket{le="${b}"} ${this.counts[i]}`);
    lines.push(`${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${this.sum}`, `${name}_count ${this.count}`);
    return lines;
  }
}

/** All counters of one DoLake object. */
export class Metrics {
  eventsReceived = 0;
  eventsAcked = 0;
  batchesAcked = 0;
  duplicateBatches = 0;
  duplicateEvents = 0;
  bytesReceived = 0;
  nacks = new Map<string, number>();
  flushes = 0;
  flushFailures = 0;
  eventsFlushed = 0;
  readonly ackLatencyMs = new Histogram(LATENCY_BUCKETS_MS);
  readonly flushDurationMs = new Histogram(FLUSH_BUCKETS_MS);
  /** Change batches and events sent to subscribers. */
  subscribeBatches = 0;
  subscribeEvents = 0;
  /** Time to read a query's state (pointers, index, buffered batches): its steps and the pauses between them. */
  readonly queryStateMs = new Histogram(LATENCY_BUCKETS_MS);
  /** One synchronous step of a query's state read (what an ack can wait behind). */
  readonly queryStateStepMs = new Histogram(LATENCY_BUCKETS_MS);
  /** State reads restarted because a requested table was committed while they were paged. */
  queryStateRestarts = 0;
  /** Time the object spends on one subscriber step (reading a window, building and sending a frame). */
  readonly subscribeStepMs = new Histogram(LATENCY_BUCKETS_MS);

  /** Counts one nack. */
  nack(reason: string): void {
    this.nacks.set(reason, (this.nacks.get(reason) ?? 0) + 1);
  }

  /** The Prometheus text exposition, with the gauges passed in. */
  render(gauges: Record<string, number>): string {
    const out: string[] = [];
    const counter = (name: string, help: string, value: number) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`);
    counter("dolake_events_received_total", "CDC events received in cdc_batch frames.", this.eventsReceived);
    counter("dolake_events_acked_total", "CDC events durably buffered and acked.", this.eventsAcked);
    counter("dolake_batches_acked_total", "cdc_batch frames acked buffered.", this.batchesAcked);
    counter("dolake_duplicate_batches_total", "Batches acked as duplicate (already applied).", this.duplicateBatches);
    counter("dolake_duplicate_events_total", "Events skipped as already applied.", this.duplicateEvents);
    counter("dolake_bytes_received_total", "Bytes of frames received.", this.bytesReceived);
    out.push("# HELP dolake_nacks_total Nacks sent, by reason.", "# TYPE dolake_nacks_total counter");
    for (const [reason, n] of [...this.nacks].sort()) out.push(`dolake_nacks_total{reason="${reason}"} ${n}`);
    counter("dolake_flushes_total", "Flushes committed.", this.flushes);
    counter("dolake_flush_failures_total", "Flushes that failed (events stay buffered).", this.flushFailures);
    counter("dolake_events_flushed_total", "Events moved from the buffer into Iceberg snapshots.", this.eventsFlushed);
    for (const [name, value] of Object.entries(gauges)) out.push(`# TYPE ${name} gauge`, `${name} ${value}`);
    out.push("# HELP dolake_ack_latency_ms Time from frame receipt to ack sent.", "# TYPE dolake_ack_latency_ms histogram");
    out.push(...this.ackLatencyMs.render("dolake_ack_latency_ms"));
    out.push("# HELP dolake_flush_duration_ms Duration of committed flushes.", "# TYPE dolake_flush_duration_ms histogram");
    out.push(...this.flushDurationMs.render("dolake_flush_duration_ms"));
    out.push("# HELP dolake_query_state_ms Time to read one query's consistent state (steps and pauses).", "# TYPE dolake_query_state_ms histogram");
    out.push(...this.queryStateMs.render("dolake_query_state_ms"));
    out.push("# HELP dolake_query_state_step_ms One synchronous step of a query's state read.", "# TYPE dolake_query_state_step_ms histogram");
    out.push(...this.queryStateStepMs.render("dolake_query_state_step_ms"));
    counter("dolake_query_state_restarts_total", "Query state reads restarted because a requested table was committed meanwhile.", this.queryStateRestarts);
    counter("dolake_subscribe_batches_total", "Change batches sent to subscribers.", this.subscribeBatches);
    counter("dolake_subscribe_events_total", "Changes sent to subscribers.", this.subscribeEvents);
    out.push("# HELP dolake_subscribe_step_ms Object time of one subscriber step (window read, frame built and sent).", "# TYPE dolake_subscribe_step_ms histogram");
    out.push(...this.subscribeStepMs.render("dolake_subscribe_step_ms"));
    return `${out.join("\n")}\n`;
  }
}
