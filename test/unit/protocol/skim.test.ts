import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CdcEventSchema, ClientMessageSchema, Operation } from "../../../gen/dolake/cdc/v1/cdc_pb.js";
import { rowFromJson } from "../../../src/protocol/json-value.js";
import { binaryEventSizes } from "../../../src/protocol/skim.js";

describe("binaryEventSizes", () => {
  it("equals the encoded size of each event", () => {
    const events = [1, 2, 3].map((i) =>
      create(CdcEventSchema, { sequence: BigInt(i), operation: Operation.INSERT, table: "t", rowId: `r${i}`, after: rowFromJson({ id: i, pad: "x".repeat(i * 300) }) }),
    );
    const frame = toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value: { sourceDoId: "s", sequenceNumber: 7n, events } } }));
    expect(binaryEventSizes(frame)).toEqual(events.map((e) => toBinary(CdcEventSchema, e).byteLength));
  });
  it("is empty for other messages", () => {
    const frame = toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "heartbeat", value: { sourceDoId: "s" } } }));
    expect(binaryEventSizes(frame)).toEqual([]);
  });
});
