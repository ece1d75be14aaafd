// Our Avro container files, decoded by avsc (a reader we did not write), and read back by ours.
import { describe, expect, it } from "vitest";
import { readAvroFile, writeAvroFile } from "../../../src/avro/container.js";
import type { AvroSchema, AvroValue } from "../../../src/avro/types.js";
import { avsc, decodeWithAvsc } from "./avsc-helper.js";

const schema: AvroSchema = {
  type: "record",
  name: "everything",
  fields: [
    { name: "id", type: "long", "field-id": 1 },
    { name: "n", type: "int", "field-id": 2 },
    { name: "maybe", type: ["null", "string"], default: null, "field-id": 3 },
    { name: "flag", type: "boolean", "field-id": 4 },
    { name: "d", type: "double", "field-id": 5 },
    { name: "f", type: "float", "field-id": 6 },
    { name: "blob", type: "bytes", "field-id": 7 },
    { name: "fx", type: { type: "fixed", name: "f4", size: 4 }, "field-id": 8 },
    { name: "tags", type: { type: "array", items: "long", "element-id": 10 }, "field-id": 9 },
    {
      name: "sizes",
      type: [
        "null",
        {
          type: "array",
          logicalType: "map",
          items: { type: "record", name: "k11_v12", fields: [{ name: "key", type: "int", "field-id": 11 }, { name: "value", type: "long", "field-id": 12 }] },
        },
      ],
      default: null,
      "field-id": 13,
    },
    { name: "props", type: { type: "map", values: "string" }, "field-id": 14 },
    { name: "inner", type: { type: "record", name: "r15", fields: [{ name: "x", type: ["null", "long"], "field-id": 16 }] }, "field-id": 15 },
    { name: "again", type: "r15", "field-id": 17 },
  ],
};

const big = (1n << 62n) + 12345n; // far beyond 2^53
const records: AvroValue[] = [0, 1, 2, 3, 4].map((i) => ({
  id: i === 0 ? big : i === 1 ? -big : BigInt(i * 1000),
  n: i === 1 ? -2147483648 : i * 7,
  maybe: i % 2 === 0 ? null : `row ${i} ✓`,
  flag: i % 2 === 0,
  d: i / 3,
  f: 1.5,
  blob: new Uint8Array([i, 255, 0]),
  fx: new Uint8Array([1, 2, 3, i]),
  tags: i === 0 ? [] : [BigInt(i), -(1n << 63n), (1n << 63n) - 1n],
  sizes: i === 2 ? null : [{ key: 1, value: 10n }, { key: 2, value: big }],
  props: new Map([["k", `v${i}`]]),
  inner: { x: i === 3 ? null : BigInt(i) },
  again: { x: 7n },
}));

describe("avro container writer", () => {
  for (const codec of ["null", "deflate"] as const) {
    it(`writes a ${codec} file that avsc decodes exactly`, async () => {
      const bytes = writeAvroFile(schema, records, { codec, metadata: { "format-version": "2", content: "data" }, blockRecords: 2 });
      const { header, records: decoded } = await decodeWithAvsc(bytes);
      expect(header.meta["avro.codec"]!.toString()).toBe(codec);
      expect(header.meta["format-version"]!.toString()).toBe("2");
      expect(JSON.parse(header.meta["avro.schema"]!.toString())).toEqual(schema);
      expect(decoded).toHaveLength(5);
      const first = decoded[0] as Record<string, unknown>;
      expect(first.id).toBe(big);
      expect((decoded[1] as Record<string, unknown>).id).toBe(-big);
      expect((decoded[1] as Record<string, unknown>).n).toBe(-2147483648);
      expect((decoded[1] as Record<string, unknown>).maybe).toBe("row 1 ✓");
      expect((decoded[1] as Record<string, unknown>).tags).toEqual([1n, -(1n << 63n), (1n << 63n) - 1n]);
      expect(first.sizes).toEqual([{ key: 1, value: 10n }, { key: 2, value: big }]);
      expect((decoded[2] as Record<string, unknown>).sizes).toBeNull();
      expect(Buffer.from(first.blob as Buffer)).toEqual(Buffer.from([0, 255, 0]));
      expect(first.props).toEqual({ k: "v0" });
      expect((decoded[3] as Record<string, unknown>).inner).toEqual({ x: null });
      expect(first.again).toEqual({ x: 7n });
      expect((decoded[4] as Record<string, unknown>).d).toBeCloseTo(4 / 3, 15);
    });

    it(`reads back its own ${codec} file`, () => {
      const bytes = writeAvroFile(schema, records, { codec, metadata: { k: "v" } });
      const file = readAvroFile(bytes);
      expect(file.metadata.k).toBe("v");
      expect(file.schema).toEqual(schema);
      expect(file.records).toEqual(records);
    });
  }

  it("reads a file that avsc wrote", async () => {
    const type = avsc.Type.forSchema({ type: "record", name: "t", fields: [{ name: "a", type: "string" }, { name: "b", type: ["null", "int"] }] });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve) => {
      const enc = new avsc.streams.BlockEncoder(type, { codec: "deflate", metadata: { who: Buffer.from("avsc") } } as never);
      enc.on("data", (c: Buffer) => chunks.push(c));
      enc.on("end", resolve);
      enc.write({ a: "x", b: null });
      enc.write({ a: "y", b: 3 });
      enc.end();
    });
    const file = readAvroFile(new Uint8Array(Buffer.concat(chunks)));
    expect(file.metadata.who).toBe("avsc");
    expect(file.records).toEqual([{ a: "x", b: null }, { a: "y", b: 3 }]);
  });

  it("names the field when a value does not fit the schema", () => {
    expect(() => writeAvroFile(schema, [{ ...(records[0] as object), n: 1.5 }])).toThrow(/n must be an int/);
    expect(() => writeAvroFile(schema, [{ ...(records[0] as object), id: 2 ** 60 }])).toThrow(/id must be a long/);
  });

  it("rejects a truncated file", () => {
    const bytes = writeAvroFile(schema, records, { codec: "null" });
    expect(() => readAvroFile(bytes.subarray(0, bytes.length - 20))).toThrow();
  });
});
