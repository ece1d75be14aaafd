// Eviction lives in its own file: evictDurableObject waits for in-flight requests to drain, and
// sockets other tests leave half-closed would hold it up.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { DoLake } from "../../../src/do/dolake.js";
import { closeAll, jsonBatch, openSocket } from "../helpers.js";

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

});
