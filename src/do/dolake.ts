/**
 * The DoLake Durable Object: one writer for a warehouse's tables. Thin by design: it wires
 * WebSockets (hibernatable), alarms and storage to plain modules — src/ingest (the session rules),
 * src/buffer (durable buffer), src/flush (flush orchestration), src/catalog (Iceberg REST).
 */
import { DurableObject } from "cloudflare:workers";
import { CircuitBreakerState, NackReason, type ServerMessage, ServerState } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { DurableBuffer } from "../buffer/durable-buffer.js";
import { depsOf } from "../catalog/deps.js";
import { type CatalogContext, handleCatalogRequest } from "../catalog/index.js";
import { ConfigError, type DoLakeConfig, resolveConfig } from "../config.js";
import type { Env } from "../env.js";
import { errorResponse } from "../http/errors.js";
import { Ingest, type SessionState } from "../ingest/ingest.js";
import { Metrics } from "../ingest/metrics.js";
import { NACK_REASONS_JSON } from "../ingest/nack.js";
import { Refusal } from "../ingest/refusal.js";
import { SchemaGuard } from "../ingest/schema-guard.js";
import { TokenBucket } from "../ingest/token-bucket.js";
import { decodeClientFrame, type Encoding, encodeServerMessage, FrameError } from "../protocol/frames.js";
import { type SkimBatch, SkimError, skimCdcBatchFrame } from "../protocol/skim.js";
import { mirrorCommitGuard } from "../flush/external-writes.js";
import { cdcSchemaHook, cdcStateHook } from "./cdc-state.js";
import { FlushScheduler } from "./flush-scheduler.js";
import { WarehouseName } from "./warehouse.js";
import { type RawQueryState, readBatchPayloads, readQueryStatePaged, type StateSources, type TableRequest } from "../query/query-state.js";
import { routeOperations } from "./operations.js";
import { MaintenanceScheduler } from "./maintenance.js";
import { routeCompaction } from "./compaction-routes.js";
import { utf8Length } from "../util/utf8.js";
import { SubscriptionHub } from "../subscribe/hub.js";
import { openEventStream } from "../subscribe/sse.js";
import { yieldToEvents } from "../util/pace.js";

/** The DoLake Durable Object class (bound as DOLAKE). */
export class DoLake extends DurableObject<Env> {
  readonly config: DoLakeConfig;
  readonly buffer: DurableBuffer;
  readonly metrics = new Metrics();
  readonly ingest: Ingest;
  readonly schemaGuard: SchemaGuard;
  readonly warehouse: WarehouseName;
  readonly flushes: FlushScheduler;
  /** Change-stream subscribers (GET /v1/subscribe). */
  readonly subscriptions: SubscriptionHub;
  /** Automatic compaction and expiry (src/do/maintenance.ts). */
  readonly maintenance: MaintenanceScheduler;
  /** Maintenance's yield (CompactorHost): rests while producers are sending (src/util/pace.ts Throttle). */
  readonly maintenancePause = (): Promise<void> => this.maintenance.throttle.pause();
  readonly foldPause = (): Promise<void> => this.maintenance.throttle.deferrablePause();
  private newConnections: TokenBucket;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.buffer = new DurableBuffer(ctx.storage);
    this.warehouse = new WarehouseName(ctx.storage.sql, env.WAREHOUSE || "warehouse");
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS dolake_config (id INTEGER PRIMARY KEY CHECK (id = 1), overrides TEXT NOT NULL)");
    const stored = ctx.storage.sql.exec<{ overrides: string }>("SELECT overrides FROM dolake_config").toArray()[0]?.overrides;
    this.config = resolveConfig(stored, resolveConfig(env.DOLAKE_CONFIG));
    this.flushes = new FlushScheduler(this);
    this.maintenance = new MaintenanceScheduler(this);
    void ctx.blockConcurrencyWhile(() => this.maintenance.ensureAlarm());
    this.schemaGuard = new SchemaGuard(ctx.storage.sql, () => this.config);
    this.ingest = new Ingest({
      buffer: this.buffer,
      config: this.config,
      metrics: this.metrics,
      schema: this.schemaGuard,
      now: () => Date.now(),
      otherConnections: (sourceId) => this.connectionsOf(sourceId),
      flushSoon: () => this.flushes.soon(),
      timeUntilFlush: () => this.flushes.timeUntilFlush(),
      circuitState: () => this.flushes.breaker.state(Date.now()),
      statusExtras: () => this.statusExtras(),
    });
    this.newConnections = newConnectionBucket(this.config.connectionsPerSecond);
    this.subscriptions = new SubscriptionHub(ctx, () => ({ buffer: this.buffer, deps: depsOf(this.catalogContext()), namespace: this.config.namespace }), this.metrics);
  }

  /** Bucket of new connections per second (replaced when the config changes). */
  private connectionBucket(): TokenBucket {
    if (this.newConnections.refillPerSecond !== this.config.connectionsPerSecond) {
      this.newConnections = newConnectionBucket(this.config.connectionsPerSecond);
    }
    return this.newConnections;
  }

  override async fetch(request: Request): Promise<Response> {
    this.warehouse.learn(request);
    const url = new URL(request.url);
    if (url.pathname === "/v1/subscribe") {
      if (request.headers.get("Upgrade")?.toLowerCase() === "websocket") return this.subscriptions.openSocket();
      if (request.headers.get("Accept")?.includes("text/event-stream")) return openEventStream(this.subscriptions, request);
      return errorResponse(426, "UpgradeRequiredException", "GET /v1/subscribe is a WebSocket (Upgrade: websocket) or an event stream (Accept: text/event-stream)");
    }
    if (url.pathname.startsWith("/v1/compaction/")) {
      return (await routeCompaction(this, request, url)) ?? errorResponse(404, "NoSuchRouteException", `No route for ${request.method} ${url.pathname}`);
    }
    // Other requests are foreground work maintenance leaves room for (its own routes above are not).
    this.maintenance.throttle.foreground();
    if (url.pathname.startsWith("/v1/")) {
      return handleCatalogRequest(request, this.catalogContext());
    }
    if (url.pathname === "/ws") return this.openSocket(request);
    return (await routeOperations(this, request, url)) ?? errorResponse(404, "NoSuchRouteException", `No route for ${request.method} ${url.pathname}`);
  }

  /**
   * Applies runtime overrides (PATCH /config) on top of DOLAKE_CONFIG and stores them, so they
   * survive restarts. Mutates the one config object every module holds.
   */
  updateConfig(json: string): void {
    const stored = this.ctx.storage.sql.exec<{ overrides: string }>("SELECT overrides FROM dolake_config").toArray()[0]?.overrides;
    let patch: unknown;
    try {
      patch = JSON.parse(json || "{}");
    } catch (e) {
      throw new ConfigError(`config patch is not JSON: ${(e as Error).message}`);
    }
    if (patch === null || typeof patch !== "object" || Array.isArray(patch)) throw new ConfigError("config patch must be a JSON object");
    const before = stored ? (JSON.parse(stored) as Record<string, unknown>) : {};
    const merged = { ...before, ...patch };
    // "compaction" is patched key by key (a PATCH may set one of its knobs).
    if ("compaction" in patch && isObject(before.compaction) && isObject(merged.compaction)) merged.compaction = { ...before.compaction, ...merged.compaction };
    const next = resolveConfig(merged, resolveConfig(this.env.DOLAKE_CONFIG));
    this.ctx.storage.sql.exec(
      "INSERT INTO dolake_config (id, overrides) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET overrides = excluded.overrides",
      JSON.stringify(merged),
    );
    Object.assign(this.config, next);
    this.ingest.resetRateLimits();
    void this.maintenance.configChanged();
  }

  /** Coarse state, connected sources and flush times, for Status messages and GET /status. */
  statusExtras(): { state: ServerState; connectedSources: number; lastFlushTime: number; nextFlushTime: number } {
    const now = Date.now();
    const t = this.buffer.stats();
    const state =
      this.flushes.breaker.state(now) === CircuitBreakerState.OPEN
        ? ServerState.RECOVERING
        : this.flushes.running
          ? ServerState.FLUSHING
          : this.flushes.lastError
            ? ServerState.ERROR
            : t.eventCount > 0
              ? ServerState.RECEIVING
              : ServerState.IDLE;
    return {
      state,
      connectedSources: this.socketsBySource().size,
      lastFlushTime: this.flushes.lastFlushTime,
      nextFlushTime: t.oldestAt !== undefined ? now + this.flushes.timeUntilFlush() : 0,
    };
  }

  /**
   * RPC for the query engine: the consistent read state of tables (pointer, buffered changes,
   * replaced positions), read in short steps with acks going on between them (src/query/query-state.ts).
   */
  async queryState(tables: TableRequest[]): Promise<RawQueryState> {
    this.maintenance.throttle.foreground();
    const started = performance.now();
    let stepStart = started;
    const pause = async () => {
      this.metrics.queryStateStepMs.observe(performance.now() - stepStart);
      await yieldToEvents(); // a macrotask: queued WebSocket messages (acks) run here
      stepStart = performance.now();
    };
    const state = await readQueryStatePaged(this.stateSources(), tables, pause);
    this.metrics.queryStateStepMs.observe(performance.now() - stepStart);
    this.metrics.queryStateMs.observe(performance.now() - started);
    this.metrics.queryStateRestarts += state.attempts - 1;
    const { attempts: _attempts, ...raw } = state;
    return raw;
  }

  /** RPC for the query engine: one page of the buffered batches a queryState named, or null when a table was committed since. */
  queryBatches(tables: Array<TableRequest & { metadataLocation: string | null }>, ids: number[]): Uint8Array[] | null {
    return readBatchPayloads(this.stateSources(), tables, ids);
  }

  private stateSources(): StateSources {
    return { sql: this.ctx.storage.sql, buffer: this.buffer, catalog: depsOf(this.catalogContext()).store, cdcNamespace: this.config.namespace, detectTimestamps: this.config.detectTimestamps };
  }


  /** What the catalog runs on in this object. */
  catalogContext(): CatalogContext {
    const ctx: CatalogContext = {
      storage: this.ctx.storage,
      bucket: this.env.LAKEHOUSE_BUCKET,
      warehouse: this.warehouse.get(),
      env: this.env,
      onTableChange: cdcStateHook(this.ctx.storage.sql, this.schemaGuard, () => this.config.namespace),
      onTableSchema: cdcSchemaHook(this.schemaGuard, () => this.config.namespace),
    };
    // REST commits to CDC mirror tables keep the primary-key index right, or are refused.
    ctx.commitGuard = mirrorCommitGuard(this.ctx.storage.sql, () => depsOf(ctx));
    return ctx;
  }

  /** The object's storage (SQLite, alarms). */
  get storage(): DurableObjectStorage {
    return this.ctx.storage;
  }

  /** Every open socket. */
  sockets(): WebSocket[] {
    return this.ctx.getWebSockets();
  }

  /** Open sockets bound to `sourceId`. */
  connectionsOf(sourceId: string, except?: WebSocket): number {
    let n = 0;
    for (const ws of this.ctx.getWebSockets()) {
      if (ws !== except && (ws.deserializeAttachment() as SessionState | null)?.sourceId === sourceId) n++;
    }
    return n;
  }

  /** Sockets bound to any source, by source id. */
  socketsBySource(): Map<string, WebSocket[]> {
    const out = new Map<string, WebSocket[]>();
    for (const ws of this.ctx.getWebSockets()) {
      const id = (ws.deserializeAttachment() as SessionState | null)?.sourceId;
      if (!id) continue;
      const list = out.get(id) ?? [];
      list.push(ws);
      out.set(id, list);
    }
    return out;
  }

  private openSocket(request: Request): Response {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(426, "UpgradeRequiredException", "GET /ws needs a WebSocket upgrade (Upgrade: websocket)");
    }
    const ip = request.headers.get("CF-Connecting-IP") ?? "unknown";
    const { 0: client, 1: socket } = new WebSocketPair();
    const now = Date.now();
    let refusal: Refusal | undefined;
    if (!this.connectionBucket().take(now)) {
      refusal = new Refusal(NackReason.LOAD_SHEDDING, `more than ${this.config.connectionsPerSecond} new connections/s`);
    } else if (this.ctx.getWebSockets(`ip:${ip}`).length >= this.config.maxConnectionsPerIp) {
      refusal = new Refusal(NackReason.IP_LIMIT, `${ip} already has ${this.config.maxConnectionsPerIp} connections (maxConnectionsPerIp)`);
    }
    if (refusal) {
      // Never a silently dropped socket: accept, say why (JSON: the encoding is not known yet), close.
      // A plain (non-hibernatable) accept: its close frame goes out at once. A hibernatable socket
      // closed in the same turn as the 101 delivered its close only seconds later (wrangler dev).
      socket.accept();
      socket.send(encodeServerMessage(this.ingest.refuse(refusal), "json"));
      socket.close(1008, NACK_REASONS_JSON[refusal.reason]);
      return new Response(null, { status: 101, webSocket: client });
    }
    this.ctx.acceptWebSocket(socket, [`ip:${ip}`]);
    const session: SessionState = { ip, connectedAt: now };
    socket.serializeAttachment(session);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    // One read of the attachment per message: a subscriber's, or the producer session.
    const attachment = ws.deserializeAttachment() as SessionState | null;
    if (SubscriptionHub.owns(attachment)) return this.subscriptions.onMessage(ws, data);
    this.maintenance.throttle.foreground(); // producers are sending: maintenance rests between its stretches
    const started = performance.now();
    const encoding: Encoding = typeof data === "string" ? "json" : "binary";
    const bytes = typeof data === "string" ? utf8Length(data) : data.byteLength;
    this.metrics.bytesReceived += bytes;
    const send = (m: ServerMessage) => {
      // A producer that closed its socket misses the answer, not the batch: it learns its place from connected.lastAckSequence.
      if (ws.readyState === WebSocket.OPEN) ws.send(encodeServerMessage(m, encoding));
    };
    if (bytes > this.config.maxPayloadSize) {
      const e = new Refusal(NackReason.PAYLOAD_TOO_LARGE, `frame of ${bytes} bytes exceeds maxPayloadSize ${this.config.maxPayloadSize}`, {
        maxSize: this.config.maxPayloadSize,
      });
      send(this.ingest.refuse(e));
      return;
    }
    const raw = typeof data === "string" ? undefined : new Uint8Array(data);
    let decoded: ReturnType<typeof decodeClientFrame> | undefined;
    let skimmed: SkimBatch | undefined;
    try {
      // Binary cdc_batch frames take the skim reader (no row materialisation); the rest the full decoder.
      skimmed = raw ? skimCdcBatchFrame(raw) : undefined;
      if (!skimmed) decoded = decodeClientFrame(data);
    } catch (e) {
      if (!(e instanceof FrameError) && !(e instanceof SkimError)) throw e;
      const partial = e instanceof FrameError ? e.partial : {};
      const message = e instanceof SkimError ? `frame: malformed protobuf (${e.message})` : e.message;
      send(this.ingest.refuse(new Refusal(NackReason.INVALID_FORMAT, message), partial.sequenceNumber, partial.correlationId));
      return;
    }
    const session = attachment ?? { connectedAt: Date.now() };
    const isBatch = skimmed !== undefined || decoded?.message.message.case === "cdcBatch";
    let outcome;
    try {
      outcome = skimmed ? this.ingest.handleSkimmedBatch(session, skimmed, { bytes, raw: raw! }, ws) : this.ingest.handle(session, decoded!.message, { bytes, raw, text: typeof data === "string" ? data : undefined }, ws);
    } catch (e) {
      // Nothing of the batch was applied (the append is one transaction); the producer may retry.
      console.error("ingest failed", e);
      const m = decoded?.message.message;
      const seq = skimmed ? skimmed.sequenceNumber : m?.case === "cdcBatch" ? m.value.sequenceNumber : 0n;
      send(this.ingest.refuse(new Refusal(NackReason.INTERNAL_ERROR, "internal error; nothing of the batch was applied"), seq));
      return;
    }
    if (session.encoding !== encoding) {
      session.encoding = encoding;
      outcome.sessionChanged = true;
    }
    if (outcome.sessionChanged) ws.serializeAttachment(session);
    if (this.buffer.stats().batchCount > 0) this.flushes.ensureAlarm();
    for (const reply of outcome.replies) send(reply);
    if (isBatch) this.metrics.ackLatencyMs.observe(performance.now() - started);
    // Subscribers see a change only once it is acked (durable): after the ack went out.
    if (isBatch) this.subscriptions.onAppend();
    if (outcome.close) ws.close(outcome.close.code, outcome.close.reason);
    if (outcome.flush) send(await this.flushes.flushNow(outcome.flush.correlationId));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  override async webSocketError(): Promise<void> {
    // The runtime closes the socket; sessions hold no state that needs cleanup.
  }

  override async alarm(): Promise<void> {
    // One alarm serves flushes and maintenance: a maintenance-only wake-up keeps the flush's time.
    const flushAt = this.flushes.pendingAlarm();
    if (flushAt === undefined || flushAt <= Date.now() || !this.maintenance.due()) await this.flushes.onAlarm();
    else await this.ctx.storage.setAlarm(flushAt);
    await this.maintenance.onAlarm();
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** New connections per second: a bucket of one second's worth (at least one), refilled at that rate. */
function newConnectionBucket(perSecond: number): TokenBucket {
  return new TokenBucket(Math.max(1, perSecond), perSecond, Date.now());
}
