import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Operation } from "../../../gen/dolake/cdc/v1/cdc_pb.js";
import { DEFAULT_CONFIG } from "../../../src/config.js";
import { rowFromJson } from "../../../src/protocol/json-value.js";
import type { DoLake } from "../../../src/do/dolake.js";
import { closeAll, configure, jsonBatch, openSocket } from "../helpers.js";

const lake = () => env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));

afterEach(async () => {
  closeAll();
  await configure({ ...DEFAULT_CONFIG });
});

describe("limits and backpressure", () => {
  it("refuses an oversized frame with payload_too_large and maxSize, socket open", async () => {
    await configure({ maxPayloadSize: 2000 });
    const s = await openSocket();
    const big = jsonBatch("lim-payload", 1, 1, 1);
    (big.events[0]!.after as Record<string, unknown>).blob = "x".repeat(3000);
    s.sendJson(big);
    expect(await s.next()).toMatchObject({ type: "nack", reason: "payload_too_large", maxSize: 2000, shouldRetry: false });
    s.sendJson(jsonBatch("lim-payload", 1, 1, 1));
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered" });
  });

  it("measures JSON frames in UTF-8 bytes: an emoji frame just over maxPayloadSize is refused", async () => {
    // Issue 13 item 8: emoji (4 UTF-8 bytes, 2 UTF-16 units) were counted at 2 bytes each.
    const s = await openSocket();
    const batch = jsonBatch("lim-emoji", 1, 1, 1);
    (batch.events[0]!.after as Record<string, unknown>).blob = "😀".repeat(500);
    const text = JSON.stringify(batch, (_k, v) => (typeof v === "bigint" ? Number(v) : v));
    const bytes = new TextEncoder().encode(text).byteLength;
    expect(text.length).toBeLessThan(bytes - 900);
    await configure({ maxPayloadSize: bytes - 1 });
    s.sendText(text);
    expect(await s.next()).toMatchObject({ type: "nack", reason: "payload_too_large", maxSize: bytes - 1 });
    await configure({ maxPayloadSize: bytes });
    s.sendText(text);
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered" });
  });

  it("refuses an oversized event with event_too_large", async () => {
    await configure({ maxEventSize: 500 });
    const s = await openSocket();
    const b = jsonBatch("lim-event", 1, 1, 2);
    (b.events[1]!.after as Record<string, unknown>).blob = "y".repeat(800);
    s.sendJson(b);
    expect(await s.next()).toMatchObject({ type: "nack", reason: "event_too_large", maxSize: 500, errorMessage: expect.stringContaining("events[1]") });
  });

  it("refuses an oversized event in a binary frame, measured from the frame itself", async () => {
    await configure({ maxEventSize: 500 });
    const s = await openSocket();
    const events = [1, 2].map((i) => ({ sequence: BigInt(i), operation: Operation.INSERT, table: "big", rowId: `b${i}`, after: rowFromJson({ blob: "z".repeat(i === 2 ? 800 : 10) }) }));
    s.sendBinary({ message: { case: "cdcBatch", value: { sourceDoId: "lim-event-bin", sequenceNumber: 1n, events } } });
    expect(await s.next()).toMatchObject({ type: "nack", reason: "event_too_large", maxSize: 500, binary: true, errorMessage: expect.stringContaining("events[1]") });
  });

  it("rate-limits per connection with a retry delay", async () => {
    await configure({ burstCapacity: 2, messagesPerSecond: 0.001 }); // no refill during the test
    const s = await openSocket();
    s.sendJson(jsonBatch("lim-rate", 1, 1, 1));
    s.sendJson(jsonBatch("lim-rate", 2, 2, 2));
    s.sendJson(jsonBatch("lim-rate", 3, 3, 3));
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered", rateLimit: { limit: 0 } });
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered" });
    const nack = await s.next();
    expect(nack).toMatchObject({ type: "nack", sequenceNumber: 3, reason: "rate_limited", shouldRetry: true });
    expect(nack.retryDelayMs).toBeGreaterThan(0);
    // The refused batch was not marked seen: its sequence is still expected.
    const src = await runInDurableObject(lake(), (obj: DoLake) => obj.buffer.source("lim-rate"));
    expect(src?.lastAckSequence).toBe(2n);
  });

  it("rate-limits per source across connections", async () => {
    await configure({ sourceBurstCapacity: 1, sourceMessagesPerSecond: 0.001 });
    const a = await openSocket();
    const b = await openSocket();
    a.sendJson(jsonBatch("lim-src", 1, 1, 1));
    expect(await a.next()).toMatchObject({ status: "buffered" });
    b.sendJson(jsonBatch("lim-src", 2, 2, 2));
    expect(await b.next()).toMatchObject({ type: "nack", reason: "rate_limited", errorMessage: expect.stringContaining("source lim-src") });
  });

  it("signals backpressure above the threshold and refuses with buffer_full at capacity", async () => {
    const base = await runInDurableObject(lake(), (obj: DoLake) => obj.buffer.stats().bytes);
    await configure({ maxBufferSize: base + 1500, backpressureThreshold: 0.01 });
    const s = await openSocket();
    s.sendJson(jsonBatch("lim-buf", 1, 1, 2));
    const ack = await s.next();
    expect(ack).toMatchObject({ type: "ack", status: "buffered" });
    expect((ack.details as any).suggestedDelayMs).toBeGreaterThan(0);
    expect((ack.details as any).bufferUtilization).toBeGreaterThan(0);
    const big = jsonBatch("lim-buf", 2, 3, 30);
    s.sendJson(big);
    expect(await s.next()).toMatchObject({ type: "nack", reason: "buffer_full", shouldRetry: true, retryDelayMs: expect.any(Number) });
  });

  it("limits connections per source: the extra one is told why and closed", async () => {
    await configure({ maxConnectionsPerSource: 1 });
    const a = await openSocket();
    a.sendJson({ type: "connect", sourceDoId: "lim-conn", protocolVersion: 1 });
    expect(await a.next()).toMatchObject({ type: "connected" });
    const b = await openSocket();
    b.sendJson({ type: "connect", sourceDoId: "lim-conn", protocolVersion: 1 });
    expect(await b.next()).toMatchObject({ type: "nack", reason: "connection_limit", shouldRetry: true });
    expect(await b.closed).toMatchObject({ code: 1008, reason: "connection_limit" });
  });

  it("limits connections per IP", async () => {
    await configure({ maxConnectionsPerIp: 1 });
    await openSocket({ "CF-Connecting-IP": "203.0.113.9" });
    const b = await openSocket({ "CF-Connecting-IP": "203.0.113.9" });
    expect(await b.next()).toMatchObject({ type: "nack", reason: "ip_limit" });
    expect((await b.closed).code).toBe(1008);
  });

  it("sheds new connections above connectionsPerSecond", async () => {
    await configure({ connectionsPerSecond: 0.001 }); // bucket of 1, no refill during the test
    await openSocket();
    const b = await openSocket();
    expect(await b.next()).toMatchObject({ type: "nack", reason: "load_shedding", shouldRetry: true });
  });

  it("refuses an invalid config patch with a 400 Iceberg error body", async () => {
    const { SELF } = await import("cloudflare:test");
    const res = await SELF.fetch("http://lake/config", { method: "PATCH", headers: { Authorization: "Bearer test-token" }, body: '{"maxPayloadSize":"big"}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: "BadRequestException", code: 400 } });
  });
});

describe("durability across eviction and alarms", () => {
  // These tests open sockets quickly; the connection-rate limit is tested above.
  beforeEach(() => configure({ connectionsPerSecond: 1000 }));

  it("sets an alarm at the age deadline so an idle buffer flushes", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("alarm-1", 1, 1, 2));
    await s.next();
    const { alarm, oldest } = await runInDurableObject(lake(), async (obj: DoLake) => ({
      alarm: await obj.storage.getAlarm(),
      oldest: obj.buffer.stats().oldestAt!,
    }));
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(oldest + DEFAULT_CONFIG.flushThresholdMs);
    const before = await runInDurableObject(lake(), (obj: DoLake) => obj.buffer.stats().eventCount);
    expect(await runDurableObjectAlarm(lake())).toBe(true);
    const after = await runInDurableObject(lake(), async (obj: DoLake) => ({
      events: obj.buffer.stats().eventCount,
      flushes: obj.metrics.flushes + obj.metrics.flushFailures,
      alarm: await obj.storage.getAlarm(),
    }));
    expect(before).toBeGreaterThan(0);
    expect(after.flushes).toBeGreaterThan(0);
    expect(after.events).toBe(0);
    // What remains is the maintenance alarm, a compaction interval away (src/do/maintenance.ts).
    expect(after.alarm === null || after.alarm >= Date.now() + DEFAULT_CONFIG.compaction.compactionIntervalMs - 120_000).toBe(true);
  });
});
