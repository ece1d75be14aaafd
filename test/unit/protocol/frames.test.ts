import { create, equals } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  ClientMessageSchema,
  NackReason,
  Operation,
  ServerMessageSchema,
} from "../../../gen/dolake/cdc/v1/cdc_pb.js";
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeClientMessage,
  encodeServerMessage,
  FrameError,
} from "../../../src/protocol/frames.js";
import { rowToJson } from "../../../src/protocol/json-value.js";
import { JsonNumber, parseJson, stringifyJson } from "../../../src/util/json.js";

// The exact shape the product docs publish (dolake-package-reference.md, "CDC Batch Message").
const published = `{
  "type": "cdc_batch",
  "timestamp": 1704067200000,
  "sourceDoId": "dosql-shard-1",
  "events": [
    {
      "sequence": 1,
      "timestamp": 1704067200000,
      "operation": "INSERT",
      "table": "users",
      "rowId": "user-123",
      "after": { "id": "user-123", "name": "Alice", "email": "alice@example.com" }
    }
  ],
  "sequenceNumber": 1,
  "firstEventSequence": 1,
  "lastEventSequence": 1,
  "sizeBytes": 256,
  "isRetry": false,
  "retryCount": 0
}`;

describe("client frames", () => {
  it("decodes the published JSON shape and the equivalent binary frame to the same message", () => {
    const fromJson = decodeClientFrame(published);
    expect(fromJson.encoding).toBe("json");
    const binary = encodeClientMessage(fromJson.message, "binary") as Uint8Array;
    const fromBinary = decodeClientFrame(binary);
    expect(fromBinary.encoding).toBe("binary");
    expect(equals(ClientMessageSchema, fromJson.message, fromBinary.message)).toBe(true);
    const batch = fromBinary.message.message;
    expect(batch.case).toBe("cdcBatch");
    if (batch.case !== "cdcBatch") return;
    expect(batch.value.sourceDoId).toBe("dosql-shard-1");
    expect(batch.value.sequenceNumber).toBe(1n);
    expect(batch.value.events[0]!.operation).toBe(Operation.INSERT);
    expect(rowToJson(batch.value.events[0]!.after!)).toEqual({ id: "user-123", name: "Alice", email: "alice@example.com" });
  });

  it("re-encodes to the published JSON shape", () => {
    const { message } = decodeClientFrame(published);
    const again = JSON.parse(encodeClientMessage(message, "json") as string);
    const original = JSON.parse(published);
    expect(again).toEqual(original);
  });

  it("accepts the proto3 JSON envelope and int64 as strings", () => {
    const proto3 = `{"cdcBatch":{"sourceDoId":"s","sequenceNumber":"7","events":[{"sequence":"7","operation":"OPERATION_DELETE","table":"t","rowId":"r"}]}}`;
    const { message } = decodeClientFrame(proto3);
    expect(message.message.case).toBe("cdcBatch");
    if (message.message.case === "cdcBatch") {
      expect(message.message.value.sequenceNumber).toBe(7n);
      expect(message.message.value.events[0]!.operation).toBe(Operation.DELETE);
    }
  });

  it("round-trips every JSON value a producer can send in a row image", () => {
    const text =
      '{"type":"cdc_batch","sourceDoId":"s","sequenceNumber":1,"events":[{"sequence":1,"operation":"UPDATE","table":"t","rowId":"9007199254740993",' +
      '"after":{"big":9007199254740993,"huge":123456789012345678901234567890,"neg":-9223372036854775808,"pi":3.14159,' +
      '"precise":0.12345678901234567890123,"s":"x\\u0000y","b":true,"n":null,"arr":[1,"a",[null],{"k":2.5}],"obj":{"nested":{"deep":[]}},"e":{}}}]}';
    const { message } = decodeClientFrame(text);
    const viaBinary = decodeClientFrame(encodeClientMessage(message, "binary") as Uint8Array).message;
    if (viaBinary.message.case !== "cdcBatch") throw new Error("not a batch");
    const after = rowToJson(viaBinary.message.value.events[0]!.after!);
    expect(after.big).toBe(9007199254740993n);
    expect(after.huge).toBe(123456789012345678901234567890n);
    expect(after.neg).toBe(-9223372036854775808n);
    expect(after.precise).toBeInstanceOf(JsonNumber);
    expect(stringifyJson(after)).toBe(
      '{"big":9007199254740993,"huge":123456789012345678901234567890,"neg":-9223372036854775808,"pi":3.14159,' +
        '"precise":0.12345678901234567890123,"s":"x\\u0000y","b":true,"n":null,"arr":[1,"a",[null],{"k":2.5}],"obj":{"nested":{"deep":[]}},"e":{}}',
    );
  });

  it.each([
    ["not json", /invalid JSON/],
    ['{"type":"bogus"}', /unknown message type "bogus"/],
    ["[1,2]", /expected a JSON object/],
    ['{"type":"cdc_batch","sequenceNumber":"x"}', /cdc_batch.sequenceNumber: expected an integer/],
    ['{"type":"cdc_batch","events":[{"operation":"UPSERT"}]}', /events\[0\].operation: string "UPSERT" is not one of INSERT, UPDATE, DELETE/],
    ['{"type":"cdc_batch","events":[{"after":[1]}]}', /events\[0\].after: expected a JSON object/],
    ['{"type":"cdc_batch","surprise":1}', /unknown field "surprise"/],
    ['{"type":"connect","protocolVersion":-1}', /out of range/],
  ])("refuses %s with a message naming the problem", (text, pattern) => {
    expect(() => decodeClientFrame(text)).toThrow(FrameError);
    expect(() => decodeClientFrame(text)).toThrow(pattern);
  });

  it("refuses malformed and empty protobuf", () => {
    expect(() => decodeClientFrame(new Uint8Array([0x12, 0xff, 0xff]))).toThrow(/malformed protobuf/);
    expect(() => decodeClientFrame(new Uint8Array([]))).toThrow(/empty ClientMessage/);
  });
});

describe("server frames", () => {
  it("writes acks and nacks in the published shape, 64-bit values exact", () => {
    const nack = create(ServerMessageSchema, {
      message: {
        case: "nack",
        value: {
          timestamp: 1n,
          sequenceNumber: 2n ** 60n,
          reason: NackReason.BUFFER_FULL,
          errorMessage: "full",
          shouldRetry: true,
          retryDelayMs: 500,
        },
      },
    });
    const text = encodeServerMessage(nack, "json") as string;
    expect(text).toBe(
      '{"type":"nack","timestamp":1,"sequenceNumber":1152921504606846976,"reason":"buffer_full","errorMessage":"full","shouldRetry":true,"retryDelayMs":500,"maxSize":0,"expectedSequence":0}',
    );
    expect(parseJson(text)).toMatchObject({ sequenceNumber: 2n ** 60n });
    const back = decodeServerFrame(text);
    expect(equals(ServerMessageSchema, back, nack)).toBe(true);
    const bin = decodeServerFrame(encodeServerMessage(nack, "binary") as Uint8Array);
    expect(equals(ServerMessageSchema, bin, nack)).toBe(true);
  });
});

describe("BigInt-safe JSON", () => {
  it.each([
    ["2.2351741790771484e-8", "number"],
    ["0.1", "number"],
    ["1.10", "number"],
    ["123.4560000000000000", "number"],
    ["0.12345678901234567890123", "JsonNumber"],
    ["9007199254740993", "bigint"],
    ["9007199254740991", "number"],
  ])("parses %s as a %s", (text, kind) => {
    const v = parseJson(`[${text}, 1234567890123456789]`) as unknown[];
    const got = v[0] instanceof JsonNumber ? "JsonNumber" : typeof v[0];
    expect(got).toBe(kind);
  });
});

describe("BigInt-safe JSON fast path", () => {
  it.each([
    ["[0.38000000000000006]", 0.38000000000000006],
    ['{"a":1.5,"b":"1234567890123456789"}', { a: 1.5, b: "1234567890123456789" }],
    ["[-9007199254740993]", -9007199254740993n],
    ["[1e400]", Infinity],
    ["[12345678901234567.5]", "JsonNumber"],
  ])("parses %s exactly", (text, want) => {
    const got = parseJson(text) as any;
    const v = Array.isArray(got) ? got[0] : got;
    if (want === "JsonNumber") expect(v).toBeInstanceOf(JsonNumber);
    else expect(v).toEqual(want);
  });
});
