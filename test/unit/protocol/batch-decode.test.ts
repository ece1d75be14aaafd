// decodeBinaryBatch (the flush's one-walk decoder) against the path it replaced: fromBinary then
// rowToJson per row image. Equality is exact: value types (number vs bigint vs JsonNumber), -0,
// NaN and the key order of every object (it decides the changelog's JSON text and the order in
// which new columns get their ids).
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { rng } from "../../support/rng.js";
import { CdcEventSchema, ClientMessageSchema, Operation } from "../../../gen/dolake/cdc/v1/cdc_pb.js";
import { RowSchema, ValueSchema } from "../../../gen/dolake/cdc/v1/value_pb.js";
import { decodeBinaryBatch, type DecodedEvent } from "../../../src/protocol/batch-decode.js";
import { rowFromJson, rowToJson } from "../../../src/protocol/json-value.js";
import { JsonNumber } from "../../../src/util/json.js";

/** The old flush decode: fromBinary + rowToJson (src/flush/sink.ts toChange before issue 12). */
function oracle(frame: Uint8Array): DecodedEvent[] {
  const msg = fromBinary(ClientMessageSchema, frame).message;
  if (msg.case !== "cdcBatch") throw new Error("not a cdc_batch");
  return msg.value.events.map((e) => ({
    sequence: e.sequence, timestamp: e.timestamp, operation: e.operation, table: e.table, rowId: e.rowId,
    before: e.before ? rowToJson(e.before) : null, after: e.after ? rowToJson(e.after) : null, metadata: e.metadata ? rowToJson(e.metadata) : null,
  }));
}

/** A typed, order-preserving picture of a value: equal pictures mean identical values. */
function picture(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof JsonNumber) return `J(${v.text})`;
  if (Array.isArray(v)) return `[${v.map(picture).join(",")}]`;
  switch (typeof v) {
    case "number": return Object.is(v, -0) ? "n(-0)" : `n(${v})`;
    case "bigint": return `b(${v})`;
    case "string": return JSON.stringify(v);
    case "boolean": return String(v);
    case "object": return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${picture((v as Record<string, unknown>)[k])}`).join(",")}}`;
    default: throw new Error(`unexpected ${typeof v}`);
  }
}

const ROWS: Record<string, unknown>[] = [
  { id: 1, s: "x", d: 1.5, b: true, f: false, n: null, zero: -0, big: 2n ** 62n, edge: 2n ** 53n + 1n, safe: 2 ** 53 - 1, unsafe: -(2n ** 53n), min: -(2n ** 63n), max: 2n ** 63n - 1n },
  { id: "k", ts: "2024-01-02T03:04:05.123456Z", date: "2024-01-02", huge: 2n ** 80n, dec: new JsonNumber("0.12345678901234567890123"), tiny: 5e-324, neg: -1.5e300 },
  { nested: { a: [1, { b: "c" }, [], {}], "": null }, list: [null, 2.5, "é", 2n ** 70n], empty: "", e: {} },
  { "1": "integer-like keys go first in JS objects", b: 1, "0": "x", a: 2, "10": 3 },
  { u: "\uFEFFbom", emoji: "😀 ünïcødé ✓", long: "y".repeat(5000), longU: "ü".repeat(3000), ctl: "a\"b\\c\n\u0001" },
  {},
];

/** Doubles no JSON text carries (NaN, infinities) still travel in binary frames. */
const RAW_DOUBLES = create(RowSchema, { fields: {
  nan: create(ValueSchema, { kind: { case: "doubleValue", value: Number.NaN } }),
  inf: create(ValueSchema, { kind: { case: "doubleValue", value: Number.NEGATIVE_INFINITY } }),
  unset: create(ValueSchema, {}),
} });

function frame(events: number, seed: number): Uint8Array {
  const r = rng(seed);
  const pick = () => (r() < 0.1 ? RAW_DOUBLES : rowFromJson(ROWS[Math.floor(r() * ROWS.length)]!));
  const evs = Array.from({ length: events }, (_, i) =>
    create(CdcEventSchema, {
      sequence: BigInt(i + 1) + (r() < 0.2 ? 2n ** 61n : 0n),
      timestamp: r() < 0.3 ? 0n : 1700000000000n + BigInt(i),
      operation: [Operation.INSERT, Operation.UPDATE, Operation.DELETE, 7][Math.floor(r() * 4)]!,
      table: `t${i % 3}`,
      rowId: r() < 0.1 ? "ключ" : `r${i % 5}`,
      after: r() < 0.85 ? pick() : undefined,
      before: r() < 0.4 ? pick() : undefined,
      metadata: r() < 0.3 ? rowFromJson({ tx: 9, lsn: 2n ** 60n }) : undefined,
    }),
  );
  return toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value: { sourceDoId: "src", correlationId: "c", sequenceNumber: 5n, events: evs } } }));
}

/** Hand-written bytes no encoder writes but protobuf reads: duplicate map keys, unknown fields, a oneof set twice. */
function oddFrame(): Uint8Array {
  const value = (fn: (w: BinaryWriter) => void) => { const w = new BinaryWriter(); fn(w); return w.finish(); };
  const entry = (key: string, v: Uint8Array) => value((w) => w.tag(1, 2).string(key).tag(2, 2).bytes(v));
  const row = value((w) => {
    w.tag(1, 2).bytes(entry("a", value((x) => x.tag(3, 0).sint64(1n))));
    w.tag(1, 2).bytes(entry("b", value((x) => x.tag(5, 2).string("first").tag(3, 0).sint64(2n)))); // oneof: last wins
    w.tag(1, 2).bytes(entry("a", value((x) => x.tag(5, 2).string("dup wins, in place"))));
    w.tag(1, 2).bytes(value((x) => x.tag(1, 2).string("novalue"))); // a map entry without value
    w.tag(9, 0).uint32(5); // unknown field in Row
    w.tag(1, 2).bytes(entry("c", value((x) => x.tag(99, 2).string("unknown").tag(2, 0).bool(true))));
  });
  const event = value((w) => w.tag(1, 0).int64(3n).tag(3, 0).int32(1).tag(4, 2).string("t").tag(5, 2).string("r").tag(7, 2).bytes(row).tag(1, 0).int64(4n));
  const batch = value((w) => w.tag(5, 2).bytes(event).tag(12, 0).uint32(1));
  return value((w) => w.tag(2, 2).bytes(batch));
}

describe("decodeBinaryBatch (differential against fromBinary + rowToJson)", () => {
  it("decodes the oracle workloads exactly as the full decoder (64-bit, nulls, nested, unicode, key order)", () => {
    let events = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const bytes = frame(1 + (seed % 9), seed);
      const mine = decodeBinaryBatch(bytes);
      expect(mine, `seed ${seed}`).toBeDefined();
      expect(picture(mine)).toBe(picture(oracle(bytes)));
      expect(mine!.map((e) => [e.sequence, e.timestamp, e.operation, e.table, e.rowId])).toEqual(oracle(bytes).map((e) => [e.sequence, e.timestamp, e.operation, e.table, e.rowId]));
      events += mine!.length;
    }
    expect(events).toBeGreaterThan(1000);
  });

  it("agrees on bytes only a hand-written encoder makes (duplicate keys, unknown fields, a oneof set twice)", () => {
    const bytes = oddFrame();
    const mine = decodeBinaryBatch(bytes)!;
    expect(picture(mine)).toBe(picture(oracle(bytes)));
    expect(Object.keys(mine[0]!.after!)).toEqual(["a", "b", "novalue", "c"]);
    expect(mine[0]!.sequence).toBe(4n);
  });

  it("leaves merges and other messages to the full decoder", () => {
    const one = frame(2, 1);
    expect(decodeBinaryBatch(new Uint8Array([...one, ...one]))).toBeUndefined(); // two cdc_batch fields merge
    const hb = toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "heartbeat", value: { sourceDoId: "s" } } }));
    expect(decodeBinaryBatch(hb)).toBeUndefined();
    // A "__proto__" column: an own key in protobuf's map, a prototype on a plain object.
    const w = new BinaryWriter();
    const entry = new BinaryWriter().tag(1, 2).string("__proto__").tag(2, 2).bytes(new BinaryWriter().tag(3, 0).sint64(1n).finish()).finish();
    const event = new BinaryWriter().tag(4, 2).string("t").tag(7, 2).bytes(new BinaryWriter().tag(1, 2).bytes(entry).finish()).finish();
    w.tag(2, 2).bytes(new BinaryWriter().tag(5, 2).bytes(event).finish());
    expect(decodeBinaryBatch(w.finish())).toBeUndefined();
  });

  // What it accepts, fromBinary decodes to the same values (the flush relies on this; frames
  // reach it only after the skim reader accepted them at ingest, but the decoder must not invent
  // values for bytes that merely look right).
  it("never returns values that differ from fromBinary's on mutated frames (5,000)", { timeout: 120_000 }, () => {
    const r = rng(11);
    let accepted = 0;
    for (let i = 0; i < 5_000; i++) {
      let m = frame(1 + (i % 4), i).slice();
      for (let k = 1 + Math.floor(r() * 3); k > 0; k--) {
        if (r() < 0.7) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
        else m = m.slice(0, Math.floor(r() * m.length));
      }
      const mine = decodeBinaryBatch(m);
      if (mine === undefined) continue;
      let full: DecodedEvent[] | Error;
      try {
        full = oracle(m);
      } catch (e) {
        full = e as Error;
      }
      expect(full instanceof Error ? `fromBinary refused: ${full.message}` : picture(full), `mutation ${i}`).toBe(picture(mine));
      accepted++;
    }
    expect(accepted).toBeGreaterThan(100);
  });
});
