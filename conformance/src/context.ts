/** What every case gets: the target, its limits, unique names, HTTP and socket helpers. */
import type { Json } from "./json.js";
import { parseJson, stringifyJson } from "./json.js";
import type { Encoding, Protocol, Published } from "./proto-json.js";
import { CdcSocket, ConnectionPacer, type Target } from "./socket.js";

/** Limits the server told (connected.limits) or exposes (GET /config). */
export interface Limits {
  maxPayloadSize: number;
  maxEventSize: number;
  maxBatchEvents: number;
}

/** An HTTP answer. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The run's context. */
export class Ctx {
  readonly pacer: ConnectionPacer;
  private readonly sockets = new Set<CdcSocket>();
  /** Limits from the first `connected`, else GET /config. */
  limits: Limits | undefined;
  /** The server's GET /config answer, when it has that route and lets us read it. */
  serverConfig: Record<string, Json> | undefined;
  /** Values the areas hand to each other (the streamed workload, for the data area). */
  readonly shared = new Map<string, unknown>();

  constructor(
    readonly target: Target,
    readonly runId: string,
    readonly caps: Record<string, unknown>,
    readonly opts: { root: string; mutateConfig: boolean; destructive: boolean; python?: string; log: (s: string) => void },
  ) {
    this.pacer = new ConnectionPacer(10);
  }

  /** CDC namespace of the target (capabilities.cdc.namespace, else GET /config's namespace, else "default"). */
  get cdcNamespace(): string {
    const fromCaps = (this.caps.cdc as { namespace?: string } | undefined)?.namespace;
    return fromCaps ?? (typeof this.serverConfig?.namespace === "string" ? this.serverConfig.namespace : "default");
  }

  /** A source id unique to this run. */
  source(name: string): string {
    return `conf-${this.runId}-${name}`;
  }

  /** A table name unique to this run. */
  table(name: string): string {
    return `conf_${this.runId}_${name}`.replace(/-/g, "_");
  }

  /** Opens a tracked CDC socket (closed after the case). */
  async open(encoding: Encoding, opts: { token?: string | null; protocol?: Protocol } = {}): Promise<CdcSocket> {
    const s = await CdcSocket.open(this.target, encoding, this.pacer, opts);
    this.sockets.add(s);
    return s;
  }

  /** Opens a socket and sends connect; returns the socket and the `connected`. */
  async connect(encoding: Encoding, source: string, extra: Record<string, Json> = {}): Promise<{ s: CdcSocket; connected: Published }> {
    for (let attempt = 0; ; attempt++) {
      const s = await this.open(encoding);
      const connected = await s.ask({ type: "connect", timestamp: Date.now(), sourceDoId: source, protocolVersion: 1, ...extra });
      // A connection refused for load (load_shedding/ip_limit) says when to come back: honour it.
      if (connected.type === "nack" && connected.shouldRetry && attempt < 5) {
        await s.close();
        await new Promise((r) => setTimeout(r, Number(connected.retryDelayMs ?? 1000) + 200));
        continue;
      }
      if (connected.type === "connected" && !this.limits && connected.limits) this.limits = connected.limits as unknown as Limits;
      return { s, connected };
    }
  }

  /** Closes every socket a case opened. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.sockets].map((s) => s.close()));
    this.sockets.clear();
  }

  /** An HTTP request to the target with the bearer token (unless auth: false). */
  async http(method: string, path: string, body?: unknown, opts: { auth?: boolean; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.auth !== false) headers.Authorization = `Bearer ${this.target.token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === "string" ? body : stringifyJson(body);
      headers["Content-Type"] ??= typeof body === "string" ? "application/x-www-form-urlencoded" : "application/json";
    }
    const res = await fetch(`${this.target.url.replace(/\/$/, "")}${path}`, { method, headers, body: payload });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? parseJson(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }
}

/** A JSON cdc_batch of INSERTs for sequences from..to into `table`. */
export function insertBatch(source: string, batchNumber: number, from: number, to: number, table: string, extra: Record<string, Json> = {}): Published {
  const events = [];
  for (let s = from; s <= to; s++) {
    events.push({ sequence: s, timestamp: 1_704_067_200_000 + s, operation: "INSERT", table, rowId: `r${s}`, after: { id: s, name: `n${s}` } });
  }
  return { type: "cdc_batch", timestamp: Date.now(), sourceDoId: source, sequenceNumber: batchNumber, firstEventSequence: from, lastEventSequence: to, events, ...extra };
}
