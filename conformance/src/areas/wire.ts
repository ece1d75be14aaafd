/**
 * Area 1, the wire protocol (proto/dolake/cdc/v1/cdc.proto), in binary and in JSON: handshake,
 * acks, duplicates, resume, heartbeats, status, flush and persisted acks, and every nack reason
 * that can be provoked from outside.
 */
import { type Ctx, insertBatch, type Limits } from "../context.js";
import { check, expectMatch, is, Skip, type TestCase } from "../harness.js";
import { big, type Json } from "../json.js";
import type { Encoding, Published } from "../proto-json.js";
import type { Answer, CdcSocket } from "../socket.js";
import { expectShape, loadVectors } from "./golden.js";

type Case = TestCase<Ctx>;

/** An ack that took the batch: buffered, or fallback while R2 is down (durable either way). */
const accepted = is.oneOf("buffered", "fallback");

/** The golden server vector of a name, for shape checks of JSON answers. */
function golden(ctx: Ctx, name: string): Record<string, unknown> {
  const v = loadVectors(ctx.opts.root, "server").find((x) => x.name === name);
  if (!v) throw new Error(`no golden vector ${name}`);
  return v.json;
}

/** Checks a nack's common rules: reason, retry rule, a message for a person; same encoding as the request. */
function expectNack(m: Answer, encoding: Encoding, reason: string, extra: Record<string, unknown> = {}): void {
  const retryable = ["buffer_full", "rate_limited", "internal_error", "shutting_down", "load_shedding", "connection_limit", "ip_limit"].includes(reason);
  expectMatch(m, { type: "nack", reason, shouldRetry: retryable, errorMessage: is.nonEmpty, binary: encoding === "binary", ...extra }, `nack ${reason}`);
  if (!retryable) expectMatch(m.retryDelayMs ?? 0, 0, `${reason}: retryDelayMs of a non-retryable nack`);
}

/** After a refusal the socket must still work: the next valid batch is acked, so nothing of the refused one was marked seen. */
async function expectStillAccepting(s: CdcSocket, source: string, table: string, from = 1): Promise<void> {
  const ack = await s.ask(insertBatch(source, 99, from, from, table));
  expectMatch(ack, { type: "ack", status: accepted, details: { eventsProcessed: 1, lastAckSequence: from } }, "valid batch after the refusal");
}

/** The limits: connected.limits, else GET /config. */
async function limits(ctx: Ctx, encoding: Encoding): Promise<Limits> {
  if (!ctx.limits) {
    const { s } = await ctx.connect(encoding, ctx.source(`limits-${encoding}`));
    await s.close();
  }
  if (!ctx.limits) throw new Skip("the server told no limits (connected.limits)");
  return ctx.limits;
}

/** A number from GET /config, or a skip saying the limit is unknown. */
function configNumber(ctx: Ctx, key: string): number {
  const v = ctx.serverConfig?.[key];
  if (typeof v !== "number") throw new Skip(`limit ${key} unknown (GET /config not readable): cannot provoke it`);
  return v;
}

/** Sends a refused batch-like frame and checks the nack, then that the socket still accepts. */
function formatCase(encoding: Encoding, name: string, title: string, mutate: (b: Published) => void, reason = "invalid_format", extra: Record<string, unknown> = {}): Case {
  return {
    id: `wire.${encoding}.nack.${reason}.${name}`,
    area: "wire",
    title,
    async run(ctx) {
      const source = ctx.source(`${encoding}-fmt-${name}`);
      const table = ctx.table("wire");
      const { s } = await ctx.connect(encoding, source);
      const b = insertBatch(source, 7, 1, 2, table, { correlationId: `bad-${name}` });
      mutate(b);
      const m = await s.ask(b);
      expectNack(m, encoding, reason, { sequenceNumber: 7, ...extra });
      await expectStillAccepting(s, source, table);
    },
  };
}

const ev = (b: Published, i = 0) => (b.events as Array<Record<string, Json>>)[i]!;

/** The cases of one encoding. */
export function wireCases(encoding: Encoding): Case[] {
  const id = (name: string) => `wire.${encoding}.${name}`;
  const json = encoding === "json";
  const cases: Case[] = [
    {
      id: id("handshake"),
      area: "wire",
      title: "connect -> connected: correlation id, source, resume point, version, limits, same encoding",
      async run(ctx) {
        const source = ctx.source(`${encoding}-hs`);
        const caps = { binaryProtocol: !json, compression: false, batching: true, maxBatchSize: 1000, maxMessageSize: 4194304 };
        const { connected } = await ctx.connect(encoding, source, { correlationId: "c-1", sourceShardName: "shard-1", lastAckSequence: 0, capabilities: caps });
        expectMatch(
          connected,
          {
            type: "connected",
            binary: !json,
            correlationId: "c-1",
            sourceDoId: source,
            lastAckSequence: 0,
            lastPersistedSequence: 0,
            protocolVersion: 1,
            limits: { maxPayloadSize: is.positive, maxEventSize: is.positive, maxBatchEvents: is.positive },
          },
          "connected",
        );
        if (json) expectShape(connected, golden(ctx, "connected"), "connected");
      },
    },
    {
      id: id("ack.buffered"),
      area: "wire",
      title: "cdc_batch -> ack buffered, batch number and correlation id echoed, high-water mark",
      async run(ctx) {
        const source = ctx.source(`${encoding}-ack`);
        const { s } = await ctx.connect(encoding, source);
        const ack = await s.ask(insertBatch(source, 1, 1, 3, ctx.table("wire"), { correlationId: "b-1" }));
        expectMatch(
          ack,
          { type: "ack", binary: !json, sequenceNumber: 1, correlationId: "b-1", status: accepted, batchId: is.nonEmpty, details: { eventsProcessed: 3, lastAckSequence: 3 } },
          "ack",
        );
        if (json) expectShape(ack, golden(ctx, "ack-buffered"), "ack", ["details.persistedPath"]);
      },
    },
    {
      id: id("ack.without-connect"),
      area: "wire",
      title: "a first cdc_batch carrying sourceDoId binds the session without connect (published JSON producers)",
      requires: ["wire.connectOptional"],
      async run(ctx) {
        const source = ctx.source(`${encoding}-noconnect`);
        const s = await ctx.open(encoding);
        expectMatch(await s.ask(insertBatch(source, 1, 1, 2, ctx.table("wire"))), { type: "ack", status: accepted, details: { lastAckSequence: 2 } }, "ack");
      },
    },
    {
      id: id("ack.duplicate"),
      area: "wire",
      title: "a replayed batch is acked duplicate with nothing applied; an overlapping one applies only its new tail",
      async run(ctx) {
        const source = ctx.source(`${encoding}-dup`);
        const table = ctx.table("wire");
        const { s } = await ctx.connect(encoding, source);
        await s.ask(insertBatch(source, 1, 1, 3, table));
        const dup = await s.ask(insertBatch(source, 1, 1, 3, table, { isRetry: true, retryCount: 1, correlationId: "again" }));
        expectMatch(dup, { type: "ack", status: "duplicate", sequenceNumber: 1, correlationId: "again", details: { eventsProcessed: 0, lastAckSequence: 3 } }, "replay");
        if (json) expectShape(dup, golden(ctx, "ack-duplicate"), "duplicate ack");
        const overlap = await s.ask(insertBatch(source, 2, 2, 5, table));
        expectMatch(overlap, { type: "ack", status: accepted, details: { eventsProcessed: 2, lastAckSequence: 5 } }, "overlapping batch");
      },
    },
    {
      id: id("resume"),
      area: "wire",
      title: "reconnect: connected.lastAckSequence is where to resume; replays of acked batches are duplicates",
      async run(ctx) {
        const source = ctx.source(`${encoding}-resume`);
        const table = ctx.table("wire");
        const a = await ctx.connect(encoding, source);
        await a.s.ask(insertBatch(source, 1, 1, 4, table));
        await a.s.ask(insertBatch(source, 2, 5, 6, table));
        await a.s.close();
        const { s, connected } = await ctx.connect(encoding, source, { lastAckSequence: 0 });
        expectMatch(connected, { type: "connected", lastAckSequence: 6 }, "connected after reconnect");
        expectMatch(await s.ask(insertBatch(source, 2, 5, 6, table)), { status: "duplicate", details: { eventsProcessed: 0 } }, "replay after reconnect");
        expectMatch(await s.ask(insertBatch(source, 3, 7, 7, table)), { status: accepted, details: { lastAckSequence: 7 } }, "next batch");
      },
    },
    {
      id: id("heartbeat"),
      area: "wire",
      title: "heartbeat -> heartbeat_ack with the source's high-water mark",
      async run(ctx) {
        const source = ctx.source(`${encoding}-hb`);
        const { s } = await ctx.connect(encoding, source);
        await s.ask(insertBatch(source, 1, 1, 2, ctx.table("wire")));
        const hb = await s.ask({ type: "heartbeat", timestamp: Date.now(), sourceDoId: source, lastAckSequence: 2, pendingEvents: 0 });
        expectMatch(hb, { type: "heartbeat_ack", binary: !json, lastAckSequence: 2, lastPersistedSequence: is.number }, "heartbeat_ack");
        if (json) expectShape(hb, golden(ctx, "heartbeat-ack"), "heartbeat_ack");
      },
    },
    {
      id: id("status"),
      area: "wire",
      title: "status_request -> status with the correlation id, state and buffer",
      async run(ctx) {
        const source = ctx.source(`${encoding}-status`);
        const { s } = await ctx.connect(encoding, source);
        await s.ask(insertBatch(source, 1, 1, 2, ctx.table("wire")));
        const st = await s.ask({ type: "status_request", timestamp: Date.now(), correlationId: "s-1" });
        expectMatch(
          st,
          { type: "status", binary: !json, correlationId: "s-1", state: is.oneOf("idle", "receiving", "flushing", "recovering", "error"), buffer: { eventCount: is.number, utilization: is.number } },
          "status",
        );
        if (json) expectShape(st, golden(ctx, "status"), "status", ["lastFlushTime", "nextFlushTime"]);
      },
    },
    {
      id: id("status.connected-sources"),
      area: "wire",
      title: "status.connectedSources counts the asking session's own source",
      async run(ctx) {
        const source = ctx.source(`${encoding}-status-src`);
        const { s } = await ctx.connect(encoding, source);
        const st = await s.ask({ type: "status_request", correlationId: "s-2" });
        check(Number(st.connectedSources ?? 0) >= 1, `status.connectedSources is ${st.connectedSources} with this socket connected`);
      },
    },
    {
      id: id("flush"),
      area: "wire",
      title: "flush_request -> flush_result naming the table, a persisted ack, and lastPersistedSequence on reconnect",
      requires: ["wire.flushRequest", "wire.persistedAcks"],
      async run(ctx) {
        const source = ctx.source(`${encoding}-flush`);
        const table = ctx.table(`flush_${encoding}`);
        const { s } = await ctx.connect(encoding, source);
        await s.ask(insertBatch(source, 1, 1, 3, table));
        await s.ask(insertBatch(source, 2, 4, 5, table));
        const fr = await s.ask({ type: "flush_request", timestamp: Date.now(), sourceDoId: source, reason: "manual", correlationId: "f-1" }, 60_000);
        expectMatch(fr, { type: "flush_result", binary: !json, correlationId: "f-1", ok: true, eventsFlushed: (v: unknown) => Number(v) >= 5 }, "flush_result");
        check((fr.tables as string[]).includes(`${ctx.cdcNamespace}.${table}`), `flush_result.tables ${JSON.stringify(fr.tables)} lacks ${ctx.cdcNamespace}.${table}`);
        if (json) expectShape(fr, golden(ctx, "flush-result"), "flush_result");
        const p = await s.waitPersisted((m) => big((m.details as Record<string, Json>)?.lastAckSequence) === 5n);
        expectMatch(p, { binary: !json, details: { persistedPath: (v: unknown) => typeof v === "string" && /^s3:\/\/.+\.metadata\.json$/.test(v) } }, "persisted ack");
        const hb = await s.ask({ type: "heartbeat", sourceDoId: source });
        expectMatch(hb, { type: "heartbeat_ack", lastAckSequence: 5, lastPersistedSequence: 5 }, "heartbeat_ack after flush");
        await s.close();
        const again = await ctx.connect(encoding, source);
        expectMatch(again.connected, { lastAckSequence: 5, lastPersistedSequence: 5 }, "connected after flush");
        expectMatch(await again.s.ask(insertBatch(source, 1, 1, 3, table)), { status: "duplicate" }, "replay of a persisted batch");
      },
    },
    // invalid_format, provoked by the batch's content
    formatCase(encoding, "missing-table", "an event without table -> invalid_format", (b) => delete ev(b).table),
    formatCase(encoding, "missing-rowid", "an event without rowId -> invalid_format", (b) => delete ev(b).rowId),
    formatCase(encoding, "bad-table-name", "a table name that is not an identifier -> invalid_format", (b) => (ev(b).table = "../etc")),
    formatCase(encoding, "no-operation", "an event without operation -> invalid_format", (b) => delete ev(b).operation),
    formatCase(encoding, "insert-without-after", "INSERT without an after image -> invalid_format", (b) => delete ev(b).after),
    formatCase(encoding, "no-events", "a batch without events -> invalid_format", (b) => (b.events = [])),
    formatCase(encoding, "zero-sequence", "an event with sequence 0 -> invalid_format", (b) => {
      ev(b).sequence = 0;
      b.events = [ev(b)];
      delete b.firstEventSequence;
      delete b.lastEventSequence;
    }),
    formatCase(encoding, "first-sequence-mismatch", "firstEventSequence that does not match the events -> invalid_format", (b) => (b.firstEventSequence = 5)),
    formatCase(encoding, "within-batch", "non-consecutive sequences inside a batch -> invalid_sequence with expectedSequence", (b) => {
      ev(b, 1).sequence = 4;
      b.lastEventSequence = 4;
    }, "invalid_sequence", { expectedSequence: 2 }),
    {
      id: id("nack.invalid_sequence.gap"),
      area: "wire",
      title: "a gap -> invalid_sequence with expectedSequence; the refused batch is not marked seen",
      async run(ctx) {
        const source = ctx.source(`${encoding}-gap`);
        const table = ctx.table("wire");
        const { s } = await ctx.connect(encoding, source);
        await s.ask(insertBatch(source, 1, 1, 2, table));
        const m = await s.ask(insertBatch(source, 2, 5, 6, table));
        expectNack(m, encoding, "invalid_sequence", { sequenceNumber: 2, expectedSequence: 3 });
        if (json) expectShape(m, golden(ctx, "nack-invalid-sequence"), "nack");
        expectMatch(await s.ask(insertBatch(source, 3, 3, 4, table)), { status: accepted }, "the missing batch");
        expectMatch(await s.ask(insertBatch(source, 4, 5, 6, table)), { status: accepted, details: { eventsProcessed: 2 } }, "the once-refused batch");
      },
    },
    {
      id: id("nack.not_connected.no-source"),
      area: "wire",
      title: "a cdc_batch with no sourceDoId on a fresh socket -> not_connected",
      async run(ctx) {
        const s = await ctx.open(encoding);
        const b = insertBatch("", 3, 1, 1, ctx.table("wire"));
        delete b.sourceDoId;
        expectNack(await s.ask(b), encoding, "not_connected", { sequenceNumber: 3 });
      },
    },
    {
      id: id("nack.not_connected.other-source"),
      area: "wire",
      title: "a cdc_batch for another source than the session's -> not_connected",
      async run(ctx) {
        const { s } = await ctx.connect(encoding, ctx.source(`${encoding}-one`));
        expectNack(await s.ask(insertBatch(ctx.source(`${encoding}-two`), 1, 1, 1, ctx.table("wire"))), encoding, "not_connected");
      },
    },
    {
      id: id("nack.invalid_format.connect-without-source"),
      area: "wire",
      title: "connect without sourceDoId -> invalid_format",
      async run(ctx) {
        const s = await ctx.open(encoding);
        expectNack(await s.ask({ type: "connect", protocolVersion: 1, correlationId: "c-x" }), encoding, "invalid_format");
      },
    },
    {
      id: id("nack.unsupported_version"),
      area: "wire",
      title: "connect with a protocol version the server does not speak -> unsupported_version, then the socket closes",
      async run(ctx) {
        const s = await ctx.open(encoding);
        expectNack(await s.ask({ type: "connect", sourceDoId: ctx.source(`${encoding}-v99`), protocolVersion: 99 }), encoding, "unsupported_version");
        const closed = await Promise.race([s.closed, new Promise<undefined>((r) => setTimeout(r, 5000))]);
        check(closed, "socket not closed within 5 s after unsupported_version");
      },
    },
    {
      id: id("nack.payload_too_large.frame"),
      area: "wire",
      title: "a frame above maxPayloadSize -> payload_too_large with maxSize; the socket stays usable",
      async run(ctx) {
        const lim = await limits(ctx, encoding);
        const source = ctx.source(`${encoding}-bigframe`);
        const table = ctx.table("wire");
        const { s } = await ctx.connect(encoding, source);
        const b = insertBatch(source, 1, 1, 1, table);
        (ev(b).after as Record<string, Json>).blob = "x".repeat(lim.maxPayloadSize + 16);
        const m = await s.ask(b, 30_000);
        expectNack(m, encoding, "payload_too_large", { maxSize: lim.maxPayloadSize });
        if (json) expectShape(m, golden(ctx, "nack-payload-too-large"), "nack");
        await expectStillAccepting(s, source, table);
      },
    },
    {
      id: id("nack.payload_too_large.events"),
      area: "wire",
      title: "more than maxBatchEvents events in one batch -> payload_too_large",
      async run(ctx) {
        const lim = await limits(ctx, encoding);
        const source = ctx.source(`${encoding}-manyevents`);
        const table = ctx.table("wire");
        const b = insertBatch(source, 1, 1, lim.maxBatchEvents + 1, table);
        for (const e of b.events as Array<Record<string, Json>>) e.after = { id: Number(e.sequence) };
        const { s } = await ctx.connect(encoding, source);
        expectNack(await s.ask(b, 30_000), encoding, "payload_too_large", { maxSize: lim.maxBatchEvents });
        await expectStillAccepting(s, source, table);
      },
    },
    {
      id: id("nack.event_too_large"),
      area: "wire",
      title: "one event above maxEventSize in a frame under maxPayloadSize -> event_too_large naming the event",
      async run(ctx) {
        const lim = await limits(ctx, encoding);
        if (lim.maxEventSize + 1024 >= lim.maxPayloadSize) throw new Skip("maxEventSize is not below maxPayloadSize");
        const source = ctx.source(`${encoding}-bigevent`);
        const table = ctx.table("wire");
        const { s } = await ctx.connect(encoding, source);
        const b = insertBatch(source, 1, 1, 2, table);
        (ev(b, 1).after as Record<string, Json>).blob = "y".repeat(lim.maxEventSize + 16);
        expectNack(await s.ask(b, 30_000), encoding, "event_too_large", { maxSize: lim.maxEventSize, errorMessage: is.contains("events[1]") });
        await expectStillAccepting(s, source, table);
      },
    },
    {
      id: id("nack.rate_limited"),
      area: "wire",
      title: "a burst above the connection's bucket -> rate_limited with retryDelayMs; retrying after it succeeds",
      async run(ctx) {
        const burst = Number(ctx.serverConfig?.burstCapacity ?? 50);
        const rate = Number(ctx.serverConfig?.messagesPerSecond ?? 100);
        const source = ctx.source(`${encoding}-rate`);
        const table = ctx.table("wire");
        const { s } = await ctx.connect(encoding, source);
        // The documented rule, free of timing races: a connection never gets more than
        // burst + rate x elapsed batches accepted, and once it outruns the bucket it is refused with
        // rate_limited. A slow (loaded) server may refill as fast as it works, so the burst grows
        // until a refusal comes (bounded rounds); the bound only loosens as the machine slows.
        const started = Date.now();
        let okCount = 0;
        let sent = 0;
        let first: Answer | undefined;
        for (let round = 0; round < 6 && !first; round++) {
          const n = burst + rate * 3 * 2 ** round;
          for (let i = 1; i <= n; i++) s.send(insertBatch(source, sent + i, sent + i, sent + i, table));
          for (let i = 1; i <= n; i++) {
            const m = await s.next(120_000);
            if (!first && m.type === "nack") first = m;
            else if (!first) okCount++;
          }
          sent += n;
          const bound = burst + (rate * (Date.now() - started)) / 1000 + 1;
          check(okCount <= bound, `${okCount} batches accepted within ${Date.now() - started} ms: more than burst + rate x elapsed (${Math.floor(bound)})`);
        }
        check(first, `${sent} batches in bursts were all accepted (burst capacity ${burst}, rate ${rate}/s)`);
        expectNack(first, encoding, "rate_limited", { retryDelayMs: is.positive });
        // Retrying the refused batch after retryDelayMs succeeds; batches after it were gaps or
        // refusals that may have drained the bucket again, so each new rate_limited delay is honoured.
        const k = Number(first.sequenceNumber);
        let answer: Answer = first;
        for (let attempt = 0; attempt < 10 && answer.type === "nack" && answer.reason === "rate_limited"; attempt++) {
          await new Promise((r) => setTimeout(r, Number(answer.retryDelayMs) + 50));
          answer = await s.ask(insertBatch(source, k, k, k, table));
        }
        expectMatch(answer, { type: "ack", status: accepted, details: { eventsProcessed: 1 } }, `batch ${k} retried after retryDelayMs`);
        return `first refusal at batch ${k} after ${okCount} accepted, retryDelayMs ${first.retryDelayMs}`;
      },
    },
    {
      id: id("nack.connection_limit"),
      area: "wire",
      title: "one connection more than maxConnectionsPerSource -> connection_limit, shouldRetry, closed",
      async run(ctx) {
        const max = configNumber(ctx, "maxConnectionsPerSource");
        const source = ctx.source(`${encoding}-connlimit`);
        for (let i = 0; i < max; i++) expectMatch((await ctx.connect(encoding, source)).connected, { type: "connected" }, `connection ${i + 1}`);
        const extra = await ctx.open(encoding);
        expectNack(await extra.ask({ type: "connect", sourceDoId: source, protocolVersion: 1 }), encoding, "connection_limit", { retryDelayMs: is.positive });
        const closed = await Promise.race([extra.closed, new Promise<undefined>((r) => setTimeout(r, 5000))]);
        check(closed, "socket not closed after connection_limit");
      },
    },
  ];
  if (json) {
    cases.push(
      rawCase("json", "bad-json", "a text frame that is not JSON -> invalid_format", '{"type":"cdc_batch",'),
      rawCase("json", "unknown-type", "an unknown message type -> invalid_format", '{"type":"launch_rockets","sequenceNumber":4}', { sequenceNumber: 4 }),
      rawCase("json", "missing-type", "a JSON object without type -> invalid_format", '{"sourceDoId":"x"}'),
      rawCase("json", "wrong-field-type", "a field of the wrong JSON type -> invalid_format", '{"type":"cdc_batch","sourceDoId":"x","sequenceNumber":5,"events":"none"}', { sequenceNumber: 5 }),
    );
  } else {
    cases.push(
      rawCase("binary", "bad-protobuf", "a binary frame that is not protobuf -> invalid_format", new Uint8Array([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])),
      rawCase("binary", "empty-envelope", "an empty ClientMessage -> invalid_format", new Uint8Array(0)),
    );
  }
  return cases;
}

/** A raw frame that must be refused as invalid_format, the socket staying usable. */
function rawCase(encoding: Encoding, name: string, title: string, frame: string | Uint8Array, extra: Record<string, unknown> = {}): Case {
  return {
    id: `wire.${encoding}.nack.invalid_format.${name}`,
    area: "wire",
    title,
    async run(ctx) {
      const source = ctx.source(`${encoding}-raw-${name}`);
      const { s } = await ctx.connect(encoding, source);
      s.sendRaw(frame);
      expectNack(await s.next(), encoding, "invalid_format", extra);
      await expectStillAccepting(s, source, ctx.table("wire"));
    },
  };
}

/** Cases that do not depend on the encoding, or that disturb other clients (run last). */
export function wireSharedCases(): Case[] {
  return [
    {
      id: "wire.unauthorized",
      area: "wire",
      title: "an upgrade without the token is refused (HTTP 401 with an error body), never a silent drop",
      async run(ctx) {
        try {
          const s = await ctx.open("json", { token: null });
          const m = await s.next(5000).catch(() => undefined);
          check(m?.type === "nack" && m.reason === "unauthorized", `socket opened without a token and answered ${JSON.stringify(m)}`);
        } catch (e) {
          const status = (e as { status?: number }).status;
          check(status === 401, `upgrade refused with ${status ?? (e as Error).message}, expected 401`);
          const body = JSON.parse((e as { body: string }).body);
          expectMatch(body, { error: { message: is.string, type: is.string, code: 401 } }, "401 body");
        }
      },
    },
    {
      id: "wire.backpressure.buffer_full",
      area: "wire",
      title: "above backpressureThreshold acks carry suggestedDelayMs; at capacity batches get buffer_full (retryable)",
      requires: ["http.configPatch"],
      async run(ctx) {
        if (!ctx.opts.mutateConfig) throw new Skip("needs --mutate-config (changes the server's limits, then restores them)");
        const before = (await ctx.http("GET", "/config")).json as Record<string, Json>;
        const bytes = Number(((await ctx.http("GET", "/status")).json as { buffer: { totalSizeBytes: number } }).buffer.totalSizeBytes);
        const patch = await ctx.http("PATCH", "/config", { maxBufferSize: bytes + 1500, backpressureThreshold: 0.01 });
        check(patch.status === 200, `PATCH /config: ${patch.status} ${patch.text}`);
        try {
          const source = ctx.source("bp");
          const table = ctx.table("wire");
          const { s } = await ctx.connect("json", source);
          const ack = await s.ask(insertBatch(source, 1, 1, 2, table));
          expectMatch(ack, { type: "ack", status: accepted, details: { suggestedDelayMs: is.positive, bufferUtilization: is.positive } }, "ack above the threshold");
          const full = await s.ask(insertBatch(source, 2, 3, 40, table));
          expectNack(full, "json", "buffer_full", { retryDelayMs: is.positive, sequenceNumber: 2 });
          expectShape(full, golden(ctx, "nack-buffer-full"), "nack");
        } finally {
          await ctx.http("PATCH", "/config", { maxBufferSize: before.maxBufferSize, backpressureThreshold: before.backpressureThreshold });
        }
      },
    },
    {
      id: "wire.nack.ip_limit",
      area: "wire",
      title: "one connection more than maxConnectionsPerIp -> ip_limit, closed",
      requires: ["wire.disruptiveLimits"],
      async run(ctx) {
        if (!ctx.opts.destructive) throw new Skip("disturbs other clients of the server: needs --destructive");
        const max = configNumber(ctx, "maxConnectionsPerIp");
        for (let i = 0; i < max; i++) await ctx.open("json");
        const extra = await ctx.open("json");
        expectNack(await extra.next(), "json", "ip_limit", { retryDelayMs: is.positive });
        check(await Promise.race([extra.closed, new Promise<undefined>((r) => setTimeout(r, 5000))]), "socket not closed after ip_limit");
      },
    },
    {
      id: "wire.nack.load_shedding",
      area: "wire",
      title: "more new connections per second than connectionsPerSecond -> load_shedding, closed",
      requires: ["wire.disruptiveLimits"],
      async run(ctx) {
        if (!ctx.opts.destructive) throw new Skip("disturbs other clients of the server: needs --destructive");
        const cps = configNumber(ctx, "connectionsPerSecond");
        const { CdcSocket } = await import("../socket.js");
        await new Promise((r) => setTimeout(r, 1100)); // a full bucket
        const opened = await Promise.all(Array.from({ length: Math.ceil(cps) + 5 }, () => CdcSocket.open(ctx.target, "json")));
        try {
          const firsts = await Promise.all(opened.map((s) => s.next(2000).catch(() => undefined)));
          const shed = firsts.find((m) => m?.type === "nack");
          check(shed, `${opened.length} connections in a burst were all accepted (connectionsPerSecond ${cps})`);
          expectNack(shed, "json", "load_shedding", { retryDelayMs: is.positive });
          const refused = opened[firsts.indexOf(shed)]!;
          check(await Promise.race([refused.closed, new Promise<undefined>((r) => setTimeout(r, 5000))]), "socket not closed after load_shedding");
        } finally {
          await Promise.all(opened.map((s) => s.close()));
          await new Promise((r) => setTimeout(r, 1100));
        }
      },
    },
  ];
}

/** Runs last of all: a schema conflict, which a server that detects it only at flush time may never recover from. */
export function schemaConflictCase(): Case {
  return {
    id: "wire.json.nack.schema_conflict",
    area: "wire",
    title: "a row that cannot fit the table's schema (long column, then 1.5) -> schema_conflict nack at ingest, buffer unharmed",
    requires: ["wire.schemaConflictNack"],
    async run(ctx) {
      if (!ctx.opts.destructive) throw new Skip("may leave an unflushable buffer behind on servers that fail it: needs --destructive");
      const source = ctx.source("schema");
      const table = ctx.table("schema_conflict");
      const { s } = await ctx.connect("json", source);
      const e = (seq: number, v: Json) => ({ sequence: seq, timestamp: 1, operation: "INSERT", table, rowId: String(seq), after: { id: seq, v } });
      expectMatch(await s.ask({ type: "cdc_batch", sourceDoId: source, sequenceNumber: 1, events: [e(1, 1)] }), { status: accepted }, "first row");
      expectMatch(await s.ask({ type: "flush_request", correlationId: "sc-1" }, 60_000), { type: "flush_result", ok: true }, "first flush");
      const m = await s.ask({ type: "cdc_batch", sourceDoId: source, sequenceNumber: 2, events: [e(2, 1.5)] });
      if (m.type === "ack") {
        const fr = await s.ask({ type: "flush_request", correlationId: "sc-2" }, 60_000);
        throw new Error(`the conflicting batch was acked (${m.status}); the next flush answered ok=${fr.ok} ${fr.errorMessage ?? ""}`);
      }
      expectNack(m, "json", "schema_conflict", { errorMessage: is.contains("v") });
    },
  };
}
