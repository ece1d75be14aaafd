import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DurableBuffer } from "../../../src/buffer/durable-buffer.js";
import type { DoLake } from "../../../src/do/dolake.js";

describe("durable buffer", () => {
  it("upgrades a v0.1 buffer (binary payloads only) in place and keeps both payload formats", async () => {
    const stub = env.DOLAKE.get(env.DOLAKE.idFromName("legacy-buffer"));
    await runInDurableObject(stub, (_obj: DoLake, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE IF EXISTS cdc_batches");
      sql.exec(
        "CREATE TABLE cdc_batches (id INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT NOT NULL, batch_number INTEGER NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, event_count INTEGER NOT NULL, size_bytes INTEGER NOT NULL, received_at INTEGER NOT NULL)",
      );
      sql.exec("INSERT INTO cdc_batches (source_id, batch_number, first_seq, last_seq, event_count, size_bytes, received_at) VALUES ('old', 1, 1, 1, 1, 0, 1)");
      const buffer = new DurableBuffer(state.storage);
      const text = new TextEncoder().encode('{"type":"cdc_batch"}');
      buffer.append({ sourceId: "new", shardName: "", batchNumber: 2n, firstSequence: 2n, lastSequence: 2n, eventCount: 1, payload: text, format: "json", receivedAt: 2 });
      const batches = buffer.take(1 << 20);
      expect(batches.map((b) => [b.sourceId, b.format])).toEqual([
        ["old", "binary"],
        ["new", "json"],
      ]);
      expect(new TextDecoder().decode(batches[1]!.payload)).toBe('{"type":"cdc_batch"}');
      expect(buffer.source("new")?.lastAckSequence).toBe(2n);
      // The old batch got log position 1 when the buffer learned positions; the new one follows.
      expect(batches.map((b) => b.logStart)).toEqual([1n, 2n]);
    });
  });

  it("gives acked events dense log positions that survive flushes and restarts", async () => {
    const stub = env.DOLAKE.get(env.DOLAKE.idFromName("log-positions"));
    await runInDurableObject(stub, (_obj: DoLake, state) => {
      const payload = new Uint8Array(4);
      const append = (b: DurableBuffer, n: number, count: number) =>
        b.append({ sourceId: "s", shardName: "", batchNumber: BigInt(n), firstSequence: BigInt(n * 10), lastSequence: BigInt(n * 10 + count - 1), eventCount: count, payload, format: "binary", receivedAt: n });
      const buffer = new DurableBuffer(state.storage);
      const start = buffer.logBounds().next;
      expect(append(buffer, 1, 3).logStart).toBe(start);
      expect(append(buffer, 2, 5).logStart).toBe(start + 3n);
      expect(buffer.logBounds()).toEqual({ next: start + 8n, oldestBuffered: start, retainedFrom: 1n });
      const from = (a: bigint, b: bigint, bytes = 1 << 20) => {
        const r = buffer.fromPosition(a, b, bytes);
        return [r.batches.map((x) => x.logStart), r.complete];
      };
      expect(from(start + 3n, start + 100n)).toEqual([[start + 3n], true]);
      expect(from(start + 2n, start + 100n)).toEqual([[start, start + 3n], true]);
      expect(from(start, start + 2n)).toEqual([[start], true]);
      expect(from(start, start + 100n, 1)).toEqual([[start], false]);
      state.storage.transactionSync(() => buffer.removeFlushed(buffer.take(1 << 20)));
      // A new instance (the object restarted) continues after the last position, never reusing one.
      const again = new DurableBuffer(state.storage);
      expect(again.logBounds()).toEqual({ next: start + 8n, oldestBuffered: undefined, retainedFrom: 1n });
      expect(append(again, 3, 1).logStart).toBe(start + 8n);
      expect(again.logBounds().oldestBuffered).toBe(start + 8n);
    });
  });
});
