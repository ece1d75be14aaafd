/** DoLake's own HTTP routes (openapi/dolake.yaml): /status, /metrics, /flush. */
import type { FlushResult } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { CircuitBreakerState, ServerState } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { DurableBuffer } from "../buffer/durable-buffer.js";
import { depsOf, type CatalogContext } from "../catalog/deps.js";
import { ConfigError, type DoLakeConfig } from "../config.js";
import { removeOrphanFiles } from "../flush/orphans.js";
import { errorResponse } from "../http/errors.js";
import type { Metrics } from "../ingest/metrics.js";
import type { FlushScheduler } from "./flush-scheduler.js";
import type { MaintenanceScheduler } from "./maintenance.js";

/** The smallest age guard orphan removal accepts when it deletes (Iceberg's Spark procedure refuses < 24 h). */
export const MIN_ORPHAN_AGE_MS = 3_600_000;

const STATE: Record<number, string> = {
  [ServerState.IDLE]: "idle",
  [ServerState.RECEIVING]: "receiving",
  [ServerState.FLUSHING]: "flushing",
  [ServerState.RECOVERING]: "recovering",
  [ServerState.ERROR]: "error",
};

const BREAKER: Record<number, string> = {
  [CircuitBreakerState.CLOSED]: "closed",
  [CircuitBreakerState.OPEN]: "open",
  [CircuitBreakerState.HALF_OPEN]: "half-open",
};

/** What the operations routes read and drive in their Durable Object (the DoLake object is one). */
export interface OperationsHost {
  readonly config: DoLakeConfig;
  readonly buffer: DurableBuffer;
  readonly metrics: Metrics;
  readonly flushes: FlushScheduler;
  /** Automatic compaction and expiry (src/do/maintenance.ts). */
  readonly maintenance: MaintenanceScheduler;
  /** Buffer utilisation as ingest computes it (0..1). */
  readonly ingest: { utilization(): number };
  /** Applies and stores a PATCH /config body (throws ConfigError). */
  updateConfig(json: string): void;
  /** Coarse state, connected sources and flush times. */
  statusExtras(): { state: ServerState; connectedSources: number; lastFlushTime: number; nextFlushTime: number };
  /** What the catalog runs on in this object. */
  catalogContext(): CatalogContext;
  /** Every open socket. */
  sockets(): WebSocket[];
  /** Sockets bound to any source, by source id. */
  socketsBySource(): Map<string, WebSocket[]>;
  /** Open change-stream subscribers (WebSocket and SSE). */
  readonly subscriptions: { count(): number };
}

/** Serves an operations route, or undefined when the path is not one. */
export async function routeOperations(lake: OperationsHost, request: Request, url: URL): Promise<Response | undefined> {
  const route = `${request.method} ${url.pathname}`;
  switch (route) {
    case "GET /status":
      return Response.json(status(lake));
    case "GET /metrics":
      return new Response(metrics(lake), { headers: { "Content-Type": "text/plain; version=0.0.4" } });
    case "GET /config":
      return Response.json(lake.config);
    case "PATCH /config": {
      try {
        lake.updateConfig(await request.text());
      } catch (e) {
        if (e instanceof ConfigError) return errorResponse(400, "BadRequestException", e.message);
        throw e;
      }
      return Response.json(lake.config);
    }
    case "POST /maintenance/remove-orphan-files": {
      // Default age guard: 1 day. Our own flushes are kept out by running between them; files an
      // external engine is still writing (before its commit) only by age, hence the minimum.
      const olderThanMs = Number(url.searchParams.get("olderThanMs") ?? 86_400_000);
      const dryRun = url.searchParams.get("dryRun") === "true";
      if (!Number.isFinite(olderThanMs) || olderThanMs < 0) return errorResponse(400, "BadRequestException", "olderThanMs must be a number >= 0");
      if (!dryRun && olderThanMs < MIN_ORPHAN_AGE_MS) {
        return errorResponse(400, "BadRequestException", `olderThanMs must be at least ${MIN_ORPHAN_AGE_MS} (1 hour) when deleting: younger files may belong to a commit still in flight (dryRun=true reports any age)`);
      }
      return Response.json(await lake.flushes.exclusive(() => removeOrphanFiles(depsOf(lake.catalogContext()), olderThanMs, dryRun)));
    }
    case "POST /flush": {
      const msg = await lake.flushes.flushNow();
      const r = msg.message.value as FlushResult;
      const body = { ok: r.ok, eventsFlushed: Number(r.eventsFlushed), tables: r.tables, ...(r.errorMessage ? { errorMessage: r.errorMessage } : {}) };
      return Response.json(body, { status: r.ok ? 200 : 503 });
    }
  }
  return undefined;
}

function status(lake: OperationsHost) {
  const t = lake.buffer.stats();
  const now = Date.now();
  const breaker = lake.flushes.breaker.state(now);
  const bySource = lake.socketsBySource();
  const sources = lake.buffer.sources().map((s) => ({
    sourceDoId: s.sourceId,
    sourceShardName: s.shardName,
    lastAckSequence: Number(s.lastAckSequence),
    lastPersistedSequence: Number(s.lastPersistedSequence),
    connections: bySource.get(s.sourceId)?.length ?? 0,
  }));
  const extras = lake.statusExtras();
  const state = STATE[extras.state] ?? "idle";
  const log = lake.buffer.logBounds();
  return {
    state,
    buffer: {
      eventCount: t.eventCount,
      batchCount: t.batchCount,
      totalSizeBytes: t.bytes,
      utilization: lake.ingest.utilization(),
      ...(t.oldestAt !== undefined ? { oldestBatchTime: t.oldestAt, newestBatchTime: t.newestAt } : {}),
    },
    sources,
    connectedSources: extras.connectedSources,
    ...(extras.lastFlushTime ? { lastFlushTime: extras.lastFlushTime } : {}),
    ...(extras.nextFlushTime ? { nextFlushTime: extras.nextFlushTime } : {}),
    circuitBreakerState: BREAKER[breaker] ?? "closed",
    ...(lake.flushes.lastError ? { lastError: lake.flushes.lastError } : {}),
    // Tables whose flush fails: their events stay buffered and are retried; the others flush.
    failingTables: lake.flushes.tables.list().map((b) => ({ table: b.table, error: b.error, since: b.since, attempts: b.attempts, retryAt: b.retryAt })),
    // The warehouse's log: subscribers' cursors are positions in it (docs/subscribe.md).
    log: { head: Number(log.next - 1n), oldestBuffered: log.oldestBuffered === undefined ? null : Number(log.oldestBuffered), retainedFrom: Number(log.retainedFrom) },
    subscribers: lake.subscriptions.count(),
    compaction: compactionStatus(lake.maintenance, lake.config.compaction.autoCompact),
  };
}

function compactionStatus(m: MaintenanceScheduler, autoCompact: boolean) {
  const next = m.nextRunAt();
  return {
    autoCompact,
    running: m.running,
    steps: m.metrics.steps,
    ...(m.metrics.lastRunAt ? { lastRunAt: m.metrics.lastRunAt } : {}),
    ...(next !== undefined ? { nextRunAt: next } : {}),
    ...(m.metrics.lastError ? { lastError: m.metrics.lastError } : {}),
  };
}

function metrics(lake: OperationsHost): string {
  const t = lake.buffer.stats();
  const failing = lake.flushes.tables.list();
  const perTable = failing.length
    ? "# HELP dolake_table_flush_failed_attempts Consecutive failed flush attempts of a source table (its events stay buffered).\n" +
      "# TYPE dolake_table_flush_failed_attempts gauge\n" +
      failing.map((b) => `dolake_table_flush_failed_attempts{table="${b.table}"} ${b.attempts}\n`).join("")
    : "";
  return lake.metrics.render({
    dolake_failing_tables: failing.length,
    dolake_buffer_events: t.eventCount,
    dolake_buffer_batches: t.batchCount,
    dolake_buffer_bytes: t.bytes,
    dolake_buffer_utilization: lake.ingest.utilization(),
    dolake_connected_sockets: lake.sockets().length,
    dolake_subscribers: lake.subscriptions.count(),
    dolake_log_head_position: Number(lake.buffer.logBounds().next - 1n),
    dolake_circuit_breaker_open: lake.flushes.breaker.state(Date.now()) === CircuitBreakerState.OPEN ? 1 : 0,
  }) + perTable + lake.maintenance.metrics.render();
}
