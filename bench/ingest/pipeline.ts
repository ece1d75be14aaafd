/**
 * The server's ingest path in Node, for profiling: the same modules the DoLake object runs per
 * WebSocket message (decodeClientFrame -> Ingest.handle -> encodeServerMessage, as in
 * src/do/dolake.ts webSocketMessage), over DurableBuffer on node:sqlite. Also times each stage
 * on its own, in CPU time (decode, validate, re-encode of JSON frames, the schema guard, the SQLite append, the ack).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { CircuitBreakerState, ClientMessageSchema, type CdcBatch } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { DurableBuffer } from "../../src/buffer/durable-buffer.js";
import { DEFAULT_CONFIG, resolveConfig } from "../../src/config.js";
import { Ingest, type IngestHost, type SessionState } from "../../src/ingest/ingest.js";
import { Metrics } from "../../src/ingest/metrics.js";
import { SchemaGuard } from "../../src/ingest/schema-guard.js";
import { validateBatch } from "../../src/ingest/validate.js";
import { decodeClientFrame, encodeServerMessage } from "../../src/protocol/frames.js";
import { batchFrame } from "../lib/workload.js";
import { sqliteStorage } from "../lib/sqlite-storage.js";

/** CPU time of this process (user + system), ms: robust to other load on the machine, unlike wall time. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Limits raised as bench/ingest/run.mjs raises them. */
const RAISED = {
  messagesPerSecond: 1e9, burstCapacity: 1e9, sourceMessagesPerSecond: 1e9, sourceBurstCapacity: 1e9,
  maxBufferSize: 64 * 2 ** 30, flushThresholdEvents: 1e12, flushThresholdBytes: 64 * 2 ** 30, flushThresholdMs: 3.6e6,
};

/** What one pipeline run measured. */
export interface PipelineResult {
  encoding: "binary" | "json";
  batch: number;
  events: number;
  frameBytes: number;
  /** Whole path per message (decode + handle + encode ack), events per CPU second. */
  eventsPerSec: number;
  /** Microseconds per event of each stage, from the end-to-end loop. */
  usPerEvent: { decode: number; handle: number; ackEncode: number; total: number };
  /** Microseconds per event of the parts of handle(), each timed on its own. */
  handleParts: { validate: number; jsonReencode: number; schemaGuard: number; sqliteAppend: number };
}

function frames(encoding: "binary" | "json", source: string, batch: number, count: number, rowBase: number): Array<string | Uint8Array> {
  const out = [];
  for (let b = 0; b < count; b++) out.push(batchFrame(encoding, source, b + 1, b * batch + 1, batch, rowBase + b * batch));
  return out;
}

const bytesOf = (f: string | Uint8Array) => (typeof f === "string" ? Buffer.byteLength(f) : f.byteLength);

/** Hooks around the end-to-end loop only (frame generation excluded), e.g. a CPU profiler. */
export interface Hooks {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs `events` events through the ingest path in batches of `batch`; `db` is ":memory:" or a file. */
export async function runPipeline(encoding: "binary" | "json", batch: number, events: number, db = ":memory:", hooks?: Hooks): Promise<PipelineResult> {
  const storage = sqliteStorage({ path: db });
  const buffer = new DurableBuffer(storage);
  const config = resolveConfig(RAISED, DEFAULT_CONFIG);
  const schema = new SchemaGuard(storage.sql, () => config);
  // Cast: the host interface grows as the DO does; the bench provides what the batch path uses.
  const host = {
    buffer, config, metrics: new Metrics(), schema, now: () => Date.now(), otherConnections: () => 0,
    flushSoon: () => {}, timeUntilFlush: () => 0, circuitState: () => CircuitBreakerState.CLOSED,
    statusExtras: () => ({ state: 2, connectedSources: 1, lastFlushTime: 0, nextFlushTime: 0 }),
  } as unknown as IngestHost;
  const ingest = new Ingest(host);
  const count = Math.max(1, Math.floor(events / batch));
  const n = count * batch;

  // End to end, as webSocketMessage does it.
  const input = frames(encoding, "pipe", batch, count, 1);
  const session: SessionState = { connectedAt: Date.now() };
  const key = {};
  let tDecode = 0, tHandle = 0, tAck = 0;
  await hooks?.start();
  const start = cpuMs();
  for (const f of input) {
    const a = cpuMs();
    const { message } = decodeClientFrame(f);
    const b = cpuMs();
    const outcome = ingest.handle(session, message, { bytes: bytesOf(f), raw: typeof f === "string" ? undefined : f }, key);
    const c = cpuMs();
    for (const r of outcome.replies) {
      if (r.message.case !== "ack") throw new Error(`expected an ack, got ${r.message.case}: ${JSON.stringify(r.message.value)}`);
      encodeServerMessage(r, encoding);
    }
    tAck += cpuMs() - c;
    tDecode += b - a;
    tHandle += c - b;
  }
  const total = cpuMs() - start;
  await hooks?.stop();

  // The parts of handle(), on fresh decoded batches of a second source.
  const decoded = frames(encoding, "parts", batch, count, 1).map((f) => ({ f, batch: (decodeClientFrame(f).message.message.value as CdcBatch) }));
  let tValidate = 0, tReencode = 0, tAppend = 0, tGuard = 0;
  for (const { f, batch: bm } of decoded) {
    const a = cpuMs();
    validateBatch(bm, bytesOf(f), config);
    const b = cpuMs();
    const payload = typeof f === "string" ? toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value: bm } })) : f;
    const c0 = cpuMs();
    schema.record(schema.check(bm.events));
    const c = cpuMs();
    tGuard += c - c0;
    buffer.append({ sourceId: "parts", shardName: "", batchNumber: bm.sequenceNumber, firstSequence: bm.events[0]!.sequence, lastSequence: bm.events[bm.events.length - 1]!.sequence, eventCount: bm.events.length, payload, format: "binary", receivedAt: Date.now() });
    const d = cpuMs();
    tValidate += b - a;
    tReencode += typeof f === "string" ? c0 - b : 0;
    tAppend += d - c;
  }
  const us = (ms: number) => +((ms * 1000) / n).toFixed(3);
  storage.db.close();
  return {
    encoding, batch, events: n,
    frameBytes: Math.round(input.reduce((s, f) => s + bytesOf(f), 0) / count),
    eventsPerSec: Math.round(n / (total / 1000)),
    usPerEvent: { decode: us(tDecode), handle: us(tHandle), ackEncode: us(tAck), total: us(total) },
    handleParts: { validate: us(tValidate), jsonReencode: us(tReencode), schemaGuard: us(tGuard), sqliteAppend: us(tAppend) },
  };
}
