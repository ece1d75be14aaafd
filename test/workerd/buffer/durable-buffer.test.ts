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
    });
  });
});
