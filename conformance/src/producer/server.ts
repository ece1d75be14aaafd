/**
 * Producer conformance mode: plays the DoLake server on a local port so a third-party producer
 * can be certified. Answers per the protocol (connected, ack buffered/duplicate, heartbeat_ack,
 * status, flush_result, persisted acks), injects retryable nacks and one disconnect, checks every
 * frame against the contract and the session rules, and prints a verdict.
 */
import { parseArgs } from "node:util";
import { WebSocketServer, type WebSocket } from "ws";
import { big, type Json, parseJson, stringifyJson } from "../json.js";
import { clientFromBinary, clientToBinary, type Published, serverToBinary } from "../proto-json.js";
import { loadVectors } from "../areas/golden.js";

/** One rule of the verdict and what broke it. */
interface Rule {
  id: string;
  title: string;
  violations: string[];
  /** How often the rule was exercised (0 = not exercised: reported as such, not as a pass). */
  exercised: number;
}

/** Injections, by the ordinal of the cdc_batch frame received (1-based, over the whole run). */
interface Plan {
  nacks: Map<number, { reason: string; retryDelayMs: number }>;
  disconnectAfter: number;
}

const RULES: Array<[string, string]> = [
  ["decode", "every frame decodes (protobuf ClientMessage, or published JSON with a known type)"],
  ["shape", "messages carry the fields the golden vectors carry (sourceDoId, sequenceNumber, events[].sequence/operation/table/rowId, after for INSERT/UPDATE)"],
  ["connect-first", "a session starts with connect, or with a cdc_batch that names its sourceDoId"],
  ["version", "connect.protocolVersion is 1"],
  ["consecutive", "sequences are consecutive inside a batch and from batch to batch (replays of acked ones are fine)"],
  ["batch-fields", "firstEventSequence/lastEventSequence, when set, match the events"],
  ["retry-delay", "a batch refused with a retryable nack is sent again no sooner than retryDelayMs"],
  ["retried", "every batch refused with a retryable nack is sent again and finally acked"],
  ["resume", "after a dropped connection the producer reconnects and resumes from connected.lastAckSequence"],
];

/** Entry point of `dolake-conformance producer`. */
export async function runProducerMode(argv: string[], env: { root: string }): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "8788" },
      token: { type: "string" },
      idle: { type: "string", default: "3" },
      timeout: { type: "string", default: "120" },
      "no-inject": { type: "boolean" },
    },
  });
  const port = Number(values.port);
  const plan: Plan = values["no-inject"]
    ? { nacks: new Map(), disconnectAfter: 0 }
    : {
        nacks: new Map([
          [2, { reason: "rate_limited", retryDelayMs: 300 }],
          [4, { reason: "buffer_full", retryDelayMs: 500 }],
        ]),
        disconnectAfter: 6,
      };
  const golden = new Map(loadVectors(env.root, "client").map((v) => [v.name, v.json]));
  const rules = new Map(RULES.map(([id, title]) => [id, { id, title, violations: [], exercised: 0 } as Rule]));
  const fail = (id: string, msg: string) => rules.get(id)!.violations.length < 20 && rules.get(id)!.violations.push(msg);
  const ran = (id: string) => rules.get(id)!.exercised++;

  // Server state, per source: the high-water mark survives reconnects, as on a real server.
  const hwm = new Map<string, bigint>();
  const pendingRetries = new Map<string, { nackedAt: number; delay: number; key: string }>(); // by batch key
  let batchOrdinal = 0;
  let disconnected: { source: string; at: bigint } | undefined;
  let sessions = 0;
  let open = 0;
  let lastActivity = Date.now();
  let eventsAccepted = 0;

  const wss = new WebSocketServer({ port, host: "127.0.0.1", path: "/ws" });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  console.log(`producer conformance: playing a DoLake server at ws://127.0.0.1:${port}/ws (token ${values.token ? "required" : "not checked"})`);
  console.log(`  injections: ${plan.nacks.size ? [...plan.nacks].map(([n, x]) => `${x.reason} on cdc_batch #${n}`).join(", ") : "none"}${plan.disconnectAfter ? `, disconnect after cdc_batch #${plan.disconnectAfter}` : ""}`);

  wss.on("connection", (ws: WebSocket, req) => {
    if (values.token && req.headers.authorization !== `Bearer ${values.token}` && !req.url?.includes(`token=${encodeURIComponent(values.token)}`)) {
      ws.close(1008, "unauthorized");
      return;
    }
    sessions++;
    open++;
    lastActivity = Date.now();
    let source: string | undefined;
    let first = true;
    const reply = (binary: boolean, m: Published) => ws.send(binary ? serverToBinary(m) : stringifyJson(m));
    ws.on("close", () => {
      open--;
      lastActivity = Date.now();
    });
    ws.on("message", (data, isBinary) => {
      lastActivity = Date.now();
      let m: Published;
      ran("decode");
      try {
        if (isBinary) m = clientFromBinary(new Uint8Array(data as Buffer));
        else {
          const obj = parseJson((data as Buffer).toString("utf8")) as Published;
          if (!obj || typeof obj !== "object" || typeof obj.type !== "string" || !golden.has(goldenName(obj.type))) throw new Error(`unknown or missing type ${JSON.stringify((obj as { type?: unknown })?.type)}`);
          clientToBinary(obj); // every key must be a field of the message, of the right type
          m = obj;
        }
      } catch (e) {
        fail("decode", `frame ${isBinary ? "binary" : "text"}: ${(e as Error).message}`);
        reply(isBinary, nack("invalid_format", `cannot decode: ${(e as Error).message}`, 0));
        return;
      }
      shapeCheck(m, golden, (msg) => fail("shape", msg), () => ran("shape"));
      if (first) {
        ran("connect-first");
        if (m.type !== "connect" && !(m.type === "cdc_batch" && m.sourceDoId)) fail("connect-first", `session ${sessions} began with ${m.type} without sourceDoId`);
        first = false;
      }
      switch (m.type) {
        case "connect": {
          ran("version");
          if (Number(m.protocolVersion ?? 0) !== 1) fail("version", `connect.protocolVersion ${m.protocolVersion}`);
          source = String(m.sourceDoId ?? "");
          const last = hwm.get(source) ?? 0n;
          if (disconnected?.source === source) ran("resume");
          reply(isBinary, {
            type: "connected",
            timestamp: Date.now(),
            correlationId: (m.correlationId as string) ?? "",
            sourceDoId: source,
            lastAckSequence: last,
            lastPersistedSequence: 0,
            protocolVersion: 1,
            limits: { maxPayloadSize: 4194304, maxEventSize: 1048576, maxBatchEvents: 10000 },
          });
          return;
        }
        case "cdc_batch": {
          source ??= m.sourceDoId as string | undefined;
          const events = (m.events as Array<Record<string, Json>>) ?? [];
          if (!source || events.length === 0) {
            reply(isBinary, nack(source ? "invalid_format" : "not_connected", source ? "no events" : "connect first", m.sequenceNumber));
            return;
          }
          const firstSeq = big(events[0]!.sequence);
          const lastSeq = big(events.at(-1)!.sequence);
          ran("consecutive");
          ran("batch-fields");
          events.forEach((e, i) => i > 0 && big(e.sequence) !== big(events[i - 1]!.sequence) + 1n && fail("consecutive", `batch ${m.sequenceNumber}: events[${i}].sequence ${e.sequence} after ${events[i - 1]!.sequence}`));
          if (m.firstEventSequence !== undefined && big(m.firstEventSequence) !== 0n && big(m.firstEventSequence) !== firstSeq) fail("batch-fields", `batch ${m.sequenceNumber}: firstEventSequence ${m.firstEventSequence} != ${firstSeq}`);
          if (m.lastEventSequence !== undefined && big(m.lastEventSequence) !== 0n && big(m.lastEventSequence) !== lastSeq) fail("batch-fields", `batch ${m.sequenceNumber}: lastEventSequence ${m.lastEventSequence} != ${lastSeq}`);
          const key = `${source}:${firstSeq}`;
          const waiting = pendingRetries.get(key);
          if (waiting) {
            ran("retry-delay");
            const waited = Date.now() - waiting.nackedAt;
            if (waited + 20 < waiting.delay) fail("retry-delay", `batch at ${firstSeq} retried after ${waited} ms; retryDelayMs was ${waiting.delay}`);
          }
          const mark = hwm.get(source) ?? 0n;
          if (lastSeq <= mark) {
            reply(isBinary, ack(m, "duplicate", 0, mark));
            return;
          }
          if (firstSeq > mark + 1n) {
            fail("consecutive", `batch ${m.sequenceNumber} starts at ${firstSeq}; the last acked sequence is ${mark}`);
            reply(isBinary, { ...nack("invalid_sequence", `gap: expected ${mark + 1n}`, m.sequenceNumber), expectedSequence: mark + 1n });
            return;
          }
          batchOrdinal++;
          const inject = plan.nacks.get(batchOrdinal);
          if (inject) {
            pendingRetries.set(key, { nackedAt: Date.now(), delay: inject.retryDelayMs, key });
            ran("retried");
            reply(isBinary, { ...nack(inject.reason, `injected by the conformance server`, m.sequenceNumber), shouldRetry: true, retryDelayMs: inject.retryDelayMs });
            return;
          }
          pendingRetries.delete(key);
          hwm.set(source, lastSeq);
          eventsAccepted += Number(lastSeq - (firstSeq > mark ? firstSeq : mark + 1n) + 1n);
          reply(isBinary, ack(m, "buffered", events.length, lastSeq));
          if (plan.disconnectAfter && batchOrdinal === plan.disconnectAfter && !disconnected) {
            disconnected = { source, at: lastSeq };
            // The ack may or may not reach the producer: it must resume from connected.lastAckSequence either way.
            setTimeout(() => ws.terminate(), 5);
          }
          return;
        }
        case "heartbeat":
          reply(isBinary, { type: "heartbeat_ack", timestamp: Date.now(), lastAckSequence: hwm.get(source ?? "") ?? 0n, lastPersistedSequence: 0 });
          return;
        case "status_request":
          reply(isBinary, { type: "status", timestamp: Date.now(), state: "receiving", correlationId: (m.correlationId as string) ?? "", connectedSources: open });
          return;
        case "flush_request": {
          const last = hwm.get(source ?? "") ?? 0n;
          if (source && last > 0n) reply(isBinary, { type: "ack", timestamp: Date.now(), sequenceNumber: 0, status: "persisted", details: { lastAckSequence: last, persistedPath: "s3://conformance/metadata/00001.metadata.json" } });
          reply(isBinary, { type: "flush_result", timestamp: Date.now(), correlationId: (m.correlationId as string) ?? "", ok: true, eventsFlushed: 0, tables: [] });
          return;
        }
      }
    });
  });

  const idleMs = Number(values.idle) * 1000;
  const deadline = Date.now() + Number(values.timeout) * 1000;
  while (Date.now() < deadline && !(sessions > 0 && open === 0 && Date.now() - lastActivity > idleMs)) await new Promise((r) => setTimeout(r, 100));
  wss.close();

  if (pendingRetries.size) for (const p of pendingRetries.values()) fail("retried", `batch ${p.key} was nacked (retryable) and never sent again`);
  if (disconnected && rules.get("resume")!.exercised === 0) fail("resume", `the producer did not reconnect after the server dropped the connection`);
  console.log(`\nproducer verdict (${sessions} sessions, ${batchOrdinal} batches, ${eventsAccepted} events accepted):`);
  let ok = sessions > 0;
  for (const r of rules.values()) {
    const status = r.violations.length ? "FAIL" : r.exercised ? "pass" : "not exercised";
    if (r.violations.length) ok = false;
    console.log(`  ${status.padEnd(13)} ${r.id}: ${r.title}${r.violations.map((v) => `\n                - ${v}`).join("")}`);
  }
  if (sessions === 0) console.log("  no producer connected");
  console.log(`\nproducer conformance: ${ok ? "PASS" : "FAIL"}`);
  return ok ? 0 : 1;
}

function goldenName(type: string): string {
  return { connect: "connect", cdc_batch: "cdc-batch-insert", heartbeat: "heartbeat", flush_request: "flush-request", status_request: "status-request" }[type] ?? "";
}

/** Checks the fields a message must carry, as the golden vectors show them. */
function shapeCheck(m: Published, golden: Map<string, Published>, fail: (s: string) => void, ran: () => void): void {
  ran();
  if (m.type === "connect" && !m.sourceDoId) fail("connect without sourceDoId");
  if (m.type !== "cdc_batch") return;
  if (m.sequenceNumber === undefined) fail("cdc_batch without sequenceNumber");
  for (const [i, e] of ((m.events as Array<Record<string, Json>>) ?? []).entries()) {
    for (const k of ["sequence", "operation", "table", "rowId"]) if (e[k] === undefined || e[k] === "" || e[k] === 0) fail(`cdc_batch ${m.sequenceNumber}: events[${i}].${k} missing`);
    if ((e.operation === "INSERT" || e.operation === "UPDATE") && !e.after) fail(`cdc_batch ${m.sequenceNumber}: events[${i}] ${e.operation} without after`);
    if (e.operation !== undefined && !["INSERT", "UPDATE", "DELETE"].includes(String(e.operation))) fail(`cdc_batch ${m.sequenceNumber}: events[${i}].operation ${String(e.operation)}`);
  }
  void golden;
}

function nack(reason: string, errorMessage: string, sequenceNumber: Json | undefined): Published {
  return { type: "nack", timestamp: Date.now(), sequenceNumber: big(sequenceNumber), reason, errorMessage, shouldRetry: false, retryDelayMs: 0, maxSize: 0, expectedSequence: 0 };
}

function ack(m: Published, status: string, processed: number, last: bigint): Published {
  return {
    type: "ack",
    timestamp: Date.now(),
    correlationId: (m.correlationId as string) ?? "",
    sequenceNumber: big(m.sequenceNumber),
    status,
    batchId: `${m.sourceDoId ?? ""}:${m.sequenceNumber}`,
    details: { eventsProcessed: processed, bufferUtilization: 0, timeUntilFlush: 0, remainingTokens: 50, bucketCapacity: 50, suggestedDelayMs: 0, circuitBreakerState: "closed", lastAckSequence: last },
  };
}
