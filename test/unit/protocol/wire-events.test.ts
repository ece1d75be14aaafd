// The binary fast path of change streams must write exactly what protobuf-es writes for the same
// changes: split a buffered batch, wrap each event's row bytes in a ChangeEvent, frame them, and
// compare with create + toBinary of the decoded messages (seeded random rows, 64-bit values,
// missing and empty images, metadata). Frames protobuf would merge go to the full decoder.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ClientMessageSchema, Operation } from "../../../gen/dolake/cdc/v1/cdc_pb.js";
import { ChangeEventSchema, SubscribeServerMessageSchema } from "../../../gen/dolake/subscribe/v1/subscribe_pb.js";
import { rowFromJson } from "../../../src/protocol/json-value.js";
import { changeBatchFrame, encodeWireEvent, splitBinaryBatch } from "../../../src/protocol/wire-events.js";
import { rng } from "../../support/rng.js";

function randomBatch(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const value = () => pick<unknown>([null, true, 42, -(2n ** 63n), 2n ** 63n - 1n, 1.5, "text", "", ["a", 1], { nested: { x: 1 } }]);
  const row = () => rowFromJson(Object.fromEntries(Array.from({ length: 1 + Math.floor(r() * 5) }, (_, i) => [`c${i}`, value()])));
  const events = Array.from({ length: 1 + Math.floor(r() * 20) }, (_, i) => ({
    sequence: BigInt(i + 1) + (r() < 0.3 ? 2n ** 62n : 0n),
    timestamp: r() < 0.3 ? 0n : BigInt(1_700_000_000_000 + i),
    operation: pick([Operation.INSERT, Operation.UPDATE, Operation.DELETE]),
    table: pick(["orders", "t"]),
    rowId: pick(["", "r1", "ключ"]),
    before: r() < 0.5 ? row() : undefined,
    after: r() < 0.7 ? (r() < 0.1 ? rowFromJson({}) : row()) : undefined,
    metadata: r() < 0.3 ? row() : undefined,
  }));
  return toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value: { sourceDoId: "s", sequenceNumber: 1n, events } } }));
}

describe("wire events", () => {
  it("frames exactly what protobuf-es writes for the decoded messages (200 random batches)", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const payload = randomBatch(seed);
      const wire = splitBinaryBatch(payload)!;
      const msg = fromBinary(ClientMessageSchema, payload).message;
      if (msg.case !== "cdcBatch") throw new Error("not a batch");
      expect(wire).toHaveLength(msg.value.events.length);
      const stamp = (ts: bigint) => (ts === 0n ? 99n : ts);
      const ours = changeBatchFrame(wire.map((e, i) => encodeWireEvent(e, 1000n + BigInt(i), "src", stamp(e.timestamp), 99n)), "1042");
      const events = msg.value.events.map((e, i) => create(ChangeEventSchema, {
        position: 1000n + BigInt(i), operation: e.operation, table: e.table, rowId: e.rowId, before: e.before, after: e.after,
        metadata: e.metadata, sequence: e.sequence, source: "src", timestamp: stamp(e.timestamp), ackedAt: 99n,
      }));
      const theirs = toBinary(SubscribeServerMessageSchema, create(SubscribeServerMessageSchema, { message: { case: "changeBatch", value: { events, cursor: "1042" } } }));
      expect(Buffer.from(ours).toString("hex"), `seed ${seed}`).toBe(Buffer.from(theirs).toString("hex"));
    }
  });

  it("leaves to the full decoder what protobuf would merge", () => {
    const payload = randomBatch(7);
    // The same cdc_batch field twice: protobuf merges the two batches.
    expect(splitBinaryBatch(new Uint8Array([...payload, ...payload]))).toBeUndefined();
    // An event with its after image twice (field 7 repeated): protobuf merges the rows.
    const event = toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value: { events: [{ sequence: 1n, table: "t", rowId: "r", after: rowFromJson({ a: 1 }) }] } } }));
    const afterField = [0x3a, 0x00]; // field 7, length 0
    const eventBytes = [...event.slice(4), ...afterField]; // the event after its two 2-byte headers (ClientMessage.cdc_batch, CdcBatch.events)
    const frame = new Uint8Array([0x12, eventBytes.length + 2, 0x2a, eventBytes.length, ...eventBytes]);
    expect(fromBinary(ClientMessageSchema, frame).message.case).toBe("cdcBatch");
    expect(splitBinaryBatch(frame)).toBeUndefined();
  });
});
