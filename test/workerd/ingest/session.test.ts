import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { Operation } from "../../../gen/dolake/cdc/v1/cdc_pb.js";
import type { DoLake } from "../../../src/do/dolake.js";
import { rowFromJson } from "../../../src/protocol/json-value.js";
import { closeAll, getJson, jsonBatch, openSocket } from "../helpers.js";

const lake = () => env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));

afterEach(closeAll);

describe("CDC session over /ws", () => {
  it("connects, acks a JSON batch only once it is in SQLite, and answers in JSON", async () => {
    const s = await openSocket();
    s.sendJson({ type: "connect", timestamp: 1, sourceDoId: "src-a", sourceShardName: "shard-a", lastAckSequence: 0, protocolVersion: 1 });
    const connected = await s.next();
    expect(connected).toMatchObject({ type: "connected", sourceDoId: "src-a", lastAckSequence: 0, protocolVersion: 1, binary: false });
    s.sendJson(jsonBatch("src-a", 1, 1, 3));
    const ack = await s.next();
    expect(ack).toMatchObject({ type: "ack", sequenceNumber: 1, status: "buffered", details: { eventsProcessed: 3, lastAckSequence: 3 } });
    const src = await runInDurableObject(lake(), (obj: DoLake) => obj.buffer.source("src-a"));
    expect(src?.lastAckSequence).toBe(3n);
  });

  it("answers a binary client in binary, with 64-bit sequences exact", async () => {
    const s = await openSocket();
    const big = 2n ** 62n;
    s.sendBinary({ message: { case: "connect", value: { sourceDoId: "src-bin", protocolVersion: 1 } } });
    expect(await s.next()).toMatchObject({ type: "connected", binary: true });
    s.sendBinary({
      message: {
        case: "cdcBatch",
        value: {
          sourceDoId: "src-bin",
          sequenceNumber: 1n,
          events: [{ sequence: big, operation: Operation.INSERT, table: "t", rowId: "1", after: rowFromJson({ id: 1 }) }],
        },
      },
    });
    const ack = await s.next();
    expect(ack).toMatchObject({ type: "ack", status: "buffered", binary: true });
    expect((ack.details as any).lastAckSequence).toBe(big);
  });

  it("acks a replayed batch as duplicate and applies it once", async () => {
    const before = await runInDurableObject(lake(), (obj: DoLake) => obj.buffer.stats().eventCount);
    const s = await openSocket();
    s.sendJson(jsonBatch("src-dup", 1, 1, 5));
    expect(await s.next()).toMatchObject({ status: "buffered" });
    s.sendJson({ ...jsonBatch("src-dup", 1, 1, 5), isRetry: true, retryCount: 1 });
    expect(await s.next()).toMatchObject({ type: "ack", status: "duplicate", details: { eventsProcessed: 0, lastAckSequence: 5 } });
    // An overlapping retry applies only its new tail.
    s.sendJson(jsonBatch("src-dup", 2, 4, 8));
    expect(await s.next()).toMatchObject({ status: "buffered", details: { eventsProcessed: 3, lastAckSequence: 8 } });
    const after = await runInDurableObject(lake(), (obj: DoLake) => obj.buffer.stats().eventCount);
    expect(after - before).toBe(8);
  });

  it("nacks a gap with the expected sequence, marks nothing seen, and keeps the socket", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("src-gap", 1, 1, 2));
    await s.next();
    s.sendJson(jsonBatch("src-gap", 2, 5, 6));
    expect(await s.next()).toMatchObject({ type: "nack", sequenceNumber: 2, reason: "invalid_sequence", expectedSequence: 3, shouldRetry: false });
    s.sendJson(jsonBatch("src-gap", 3, 3, 4));
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered", details: { lastAckSequence: 4 } });
    // The nacked 5..6 was never marked seen: sending it now is accepted, not a duplicate.
    s.sendJson(jsonBatch("src-gap", 4, 5, 6));
    expect(await s.next()).toMatchObject({ status: "buffered", details: { eventsProcessed: 2 } });
  });

  it("tells a reconnecting producer where to resume", async () => {
    const a = await openSocket();
    a.sendJson(jsonBatch("src-resume", 1, 1, 10));
    await a.next();
    a.ws.close(1000, "bye");
    const b = await openSocket();
    b.sendJson({ type: "connect", sourceDoId: "src-resume", lastAckSequence: 0, protocolVersion: 1 });
    expect(await b.next()).toMatchObject({ type: "connected", lastAckSequence: 10, lastPersistedSequence: 0 });
  });

  it("answers heartbeats and status requests", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("src-hb", 1, 1, 1));
    await s.next();
    s.sendJson({ type: "heartbeat", timestamp: 1, sourceDoId: "src-hb", lastAckSequence: 1, pendingEvents: 0 });
    expect(await s.next()).toMatchObject({ type: "heartbeat_ack", lastAckSequence: 1 });
    s.sendJson({ type: "status_request", correlationId: "q1" });
    const status = await s.next();
    expect(status).toMatchObject({ type: "status", correlationId: "q1", state: "receiving" });
    expect((status.buffer as any).eventCount).toBeGreaterThanOrEqual(1);
  });

  it("refuses a batch for another source on a bound session", async () => {
    const s = await openSocket();
    s.sendJson({ type: "connect", sourceDoId: "one", protocolVersion: 1 });
    await s.next();
    s.sendJson(jsonBatch("two", 1, 1, 1));
    expect(await s.next()).toMatchObject({ type: "nack", reason: "not_connected", shouldRetry: false, retryDelayMs: 0 });
  });

  it("says a batch without sourceDoId before connect is not retryable as is (a naive producer would loop)", async () => {
    const s = await openSocket();
    const b = jsonBatch("", 1, 1, 1) as Record<string, unknown>;
    delete b.sourceDoId;
    s.sendJson(b);
    expect(await s.next()).toMatchObject({ type: "nack", reason: "not_connected", shouldRetry: false, retryDelayMs: 0 });
  });

  it("refuses an unsupported protocol version and closes", async () => {
    const s = await openSocket();
    s.sendJson({ type: "connect", sourceDoId: "v9", protocolVersion: 9 });
    expect(await s.next()).toMatchObject({ type: "nack", reason: "unsupported_version", shouldRetry: false });
    expect((await s.closed).code).toBe(1002);
  });

  it("reports sources and buffer on GET /status", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("src-status", 1, 1, 4));
    await s.next();
    const status = await getJson("/status");
    expect(status).toMatchObject({ state: "receiving", circuitBreakerState: "closed" });
    expect(status.buffer.eventCount).toBeGreaterThanOrEqual(4);
    expect(status.connectedSources).toBeGreaterThanOrEqual(1);
    expect(status.sources).toContainEqual(expect.objectContaining({ sourceDoId: "src-status", lastAckSequence: 4, connections: 1 }));
  });
});
