// groupByTable: decodes buffered frames (JSON and binary) and fills in a missing source timestamp
// with the batch's ack time, so the README's JSON example does not land in 1970.
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ClientMessageSchema, Operation } from "../../../gen/dolake/cdc/v1/cdc_pb.js";
import type { BufferedBatch } from "../../../src/buffer/durable-buffer.js";
import { groupByTable } from "../../../src/flush/flusher.js";

const ACKED_AT = Date.UTC(2026, 10, 29, 1, 2, 3);

function batch(payload: Uint8Array, format: "json" | "binary"): BufferedBatch {
  return { id: 1, sourceId: "s", batchNumber: 1n, firstSequence: 1n, lastSequence: 2n, eventCount: 2, sizeBytes: payload.length, receivedAt: ACKED_AT, payload, format, logStart: 41n };
}

describe("groupByTable", () => {
  it("gives a JSON event without timestamp its ack time and keeps a given one", () => {
    const frame = { type: "cdc_batch", sourceDoId: "s", sequenceNumber: 2, events: [
      { sequence: 1, operation: "INSERT", table: "users", rowId: "u1", after: { id: "u1" } },
      { sequence: 2, timestamp: 1704067200000, operation: "INSERT", table: "users", rowId: "u2", after: { id: "u2" } },
    ] };
    const [a, b] = groupByTable([batch(new TextEncoder().encode(JSON.stringify(frame)), "json")]).get("users")!;
    expect(a!.change.timestamp).toBe(BigInt(ACKED_AT));
    expect(b!.change.timestamp).toBe(1704067200000n);
  });

  it("does the same for a binary frame", () => {
    const msg = create(ClientMessageSchema, { message: { case: "cdcBatch", value: { sourceDoId: "s", sequenceNumber: 1n, events: [{ sequence: 1n, operation: Operation.INSERT, table: "t", rowId: "r" }] } } });
    const [a] = groupByTable([batch(toBinary(ClientMessageSchema, msg), "binary")]).get("t")!;
    expect(a!.change.timestamp).toBe(BigInt(ACKED_AT));
  });

  it("gives each event its log position, counting events of tables already done", () => {
    const frame = { type: "cdc_batch", sourceDoId: "s", sequenceNumber: 2, events: [
      { sequence: 1, operation: "INSERT", table: "a", rowId: "1", after: { id: "1" } },
      { sequence: 2, operation: "INSERT", table: "b", rowId: "2", after: { id: "2" } },
      { sequence: 3, operation: "INSERT", table: "a", rowId: "3", after: { id: "3" } },
    ] };
    const grouped = groupByTable([batch(new TextEncoder().encode(JSON.stringify(frame)), "json")], new Map([[1, new Set(["b"])]]));
    expect(grouped.get("a")!.map((c) => [c.change.logPosition, c.change.ackedAt])).toEqual([[41n, BigInt(ACKED_AT)], [43n, BigInt(ACKED_AT)]]);
    expect(grouped.has("b")).toBe(false);
  });
});
