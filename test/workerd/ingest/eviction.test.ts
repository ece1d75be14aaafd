// Eviction lives in its own file: evictDurableObject waits for in-flight requests to drain, and
// sockets other tests leave half-closed would hold it up.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { DoLake } from "../../../src/do/dolake.js";
import { bufferedAck, closeAll, jsonBatch, openSocket, openSubscriber } from "../helpers.js";

const lake = () => env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));

afterEach(closeAll);

describe("eviction", () => {
  it("keeps acked events and the high-water mark when the object is evicted; hibernated sockets keep their session", async () => {
    const s = await openSocket();
    s.sendJson({ type: "connect", sourceDoId: "evict-1", protocolVersion: 1 });
    await s.next();
    s.sendJson(jsonBatch("evict-1", 1, 1, 3));
    expect(await s.next()).toMatchObject({ status: "buffered" });
    await evictDurableObject(lake());
    // The same socket still works after eviction: its session lives in the attachment.
    s.sendJson({ ...jsonBatch("evict-1", 2, 4, 4), sourceDoId: "" });
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered", details: { lastAckSequence: 4 } });
    s.sendJson(jsonBatch("evict-1", 1, 1, 3));
    expect(await s.next()).toMatchObject({ status: "duplicate" });
    const src = await runInDurableObject(lake(), (obj: DoLake) => obj.buffer.source("evict-1"));
    expect(src?.lastAckSequence).toBe(4n);
  });


  it("keeps a subscription across eviction: filter, cursor and credits live in the socket's attachment", async () => {
    const p = await openSocket();
    p.sendJson({ type: "connect", sourceDoId: "evict-sub", protocolVersion: 1 });
    await p.next();
    const s = await openSubscriber();
    s.sendJson({ type: "subscribe", tables: ["evict_sub"], from: "now", credits: 2, maxBatchEvents: 10 });
    expect(await s.next()).toMatchObject({ type: "subscribed" });
    expect(await s.next()).toMatchObject({ type: "up_to_date" });
    p.sendJson(jsonBatch("evict-sub", 1, 1, 2, "evict_sub"));
    await bufferedAck(p, 1);
    expect(await s.next()).toMatchObject({ type: "change_batch", events: [{ rowId: "r1" }, { rowId: "r2" }] });
    await evictDurableObject(lake());
    // After eviction the object starts anew; the live ack still reaches the subscriber, from its cursor.
    p.sendJson(jsonBatch("evict-sub", 2, 3, 3, "evict_sub"));
    await bufferedAck(p, 2);
    expect(await s.next()).toMatchObject({ type: "change_batch", events: [{ rowId: "r3" }] });
    // Its two credits are spent: a third batch waits for credit, then comes.
    p.sendJson(jsonBatch("evict-sub", 3, 4, 4, "evict_sub"));
    await bufferedAck(p, 3);
    s.sendJson({ type: "ping", timestamp: 1 });
    expect(await s.next()).toMatchObject({ type: "pong" });
    s.sendJson({ type: "credit", batches: 1 });
    expect(await s.next()).toMatchObject({ type: "change_batch", events: [{ rowId: "r4" }] });
  });
});
