// Parquet files from writeParquet, read back by hyparquet (a reader we did not write): field ids,
// logical types, exact 64-bit values, row groups, compression, and the manifest metrics.
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { gunzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import type { NestedField } from "../../../src/iceberg/metadata/types.js";
import { fromSingleValue } from "../../../src/iceberg/single-value.js";
import { writeParquet, type Row } from "../../../src/parquet/writer.js";

const fields: NestedField[] = [
  { id: 1, name: "id", required: true, type: "long" },
  { id: 2, name: "name", required: false, type: "string" },
  { id: 3, name: "score", required: false, type: "double" },
  { id: 4, name: "ok", required: false, type: "boolean" },
  { id: 5, name: "at", required: false, type: "timestamptz" },
  { id: 6, name: "local", required: false, type: "timestamp" },
  { id: 7, name: "day", required: false, type: "date" },
  { id: 8, name: "n", required: false, type: "int" },
  { id: 9, name: "raw", required: false, type: "binary" },
  { id: 10, name: "price", required: false, type: "decimal(10,2)" },
  { id: 11, name: "f", required: false, type: "float" },
];

const BIG = 9007199254740993n; // 2^53 + 1
const rows: Row[] = Array.from({ length: 25 }, (_, i) => ({
  id: i === 0 ? BIG : i === 1 ? -(1n << 63n) : BigInt(i),
  name: i % 5 === 0 ? null : `name-${String(i).padStart(2, "0")}`,
  score: i === 3 ? NaN : i === 4 ? null : i / 4,
  ok: i % 2 === 0,
  at: 1510871468000000n + BigInt(i),
  local: 1510871468000000n,
  day: 17486 + i,
  n: 0 - i,
  raw: new Uint8Array([i, 1]),
  price: BigInt(i * 100 + 5),
  f: 1.5,
}));

const compressors = { GZIP: (input: Uint8Array) => gunzipSync(input) };

async function read(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return (await parquetReadObjects({ file, compressors })) as Record<string, unknown>[];
}

describe("writeParquet", () => {
  it("writes booleans PLAIN, never RLE (Iceberg's vectorized reader in Spark cannot read RLE booleans)", () => {
    const out = writeParquet(fields, rows);
    const md = parquetMetadata(out.bytes.buffer as ArrayBuffer);
    const ok = md.row_groups[0]!.columns[3]!.meta_data!;
    expect(ok.path_in_schema).toEqual(["ok"]);
    expect(ok.encodings).not.toContain("RLE_DICTIONARY");
    expect(ok.encoding_stats?.filter((e) => e.page_type !== "DICTIONARY_PAGE").map((e) => e.encoding)).toEqual(["PLAIN"]);
  });

  it("writes field ids and Iceberg's logical types into the footer", () => {
    const out = writeParquet(fields, rows);
    const md = parquetMetadata(out.bytes.buffer as ArrayBuffer);
    const byName = Object.fromEntries(md.schema.slice(1).map((e) => [e.name, e]));
    expect(md.schema.slice(1).map((e) => e.field_id)).toEqual(fields.map((f) => f.id));
    expect(byName.id!.repetition_type).toBe("REQUIRED");
    expect(byName.name!.repetition_type).toBe("OPTIONAL");
    expect(byName.id!.type).toBe("INT64");
    expect(byName.at!.logical_type).toEqual({ type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" });
    expect(byName.local!.logical_type).toEqual({ type: "TIMESTAMP", isAdjustedToUTC: false, unit: "MICROS" });
    expect(byName.day!.logical_type).toEqual({ type: "DATE" });
    expect(byName.name!.logical_type).toEqual({ type: "STRING" });
    expect(byName.price!.type).toBe("INT64");
    expect(byName.price!.logical_type).toEqual({ type: "DECIMAL", precision: 10, scale: 2 });
    expect(md.row_groups[0]!.columns[0]!.meta_data!.codec).toBe("SNAPPY");
  });

  it("round-trips values exactly, 64-bit included", async () => {
    const out = writeParquet(fields, rows);
    const back = await read(out.bytes);
    expect(back).toHaveLength(25);
    expect(back[0]!.id).toBe(BIG);
    expect(back[1]!.id).toBe(-(1n << 63n));
    expect(back[0]!.name).toBeNull();
    expect(back[2]!.name).toBe("name-02");
    expect(Number.isNaN(back[3]!.score)).toBe(true);
    expect(back[4]!.score).toBeNull();
    expect((back[2]!.at as Date).toISOString()).toBe("2017-11-16T22:31:08.000Z");
    expect(back[7]!.n).toBe(-7);
  });

  it("splits row groups and records their offsets", async () => {
    const out = writeParquet(fields, rows, { rowGroupRows: 10 });
    const md = parquetMetadata(out.bytes.buffer as ArrayBuffer);
    expect(md.row_groups.map((g) => g.num_rows)).toEqual([10n, 10n, 5n]);
    expect(out.splitOffsets).toHaveLength(3);
    expect(out.splitOffsets[0]).toBe(4n);
    expect(out.splitOffsets[1]! > out.splitOffsets[0]!).toBe(true);
    expect((await read(out.bytes)).map((r) => r.n)).toEqual(rows.map((r) => r.n));
  });

  it("gathers value, null and NaN counts, sizes and bounds per field id", () => {
    const out = writeParquet(fields, rows, { rowGroupRows: 10 });
    expect(out.recordCount).toBe(25n);
    expect(out.valueCounts.get(1)).toBe(25n);
    expect(out.nullValueCounts.get(2)).toBe(5n);
    expect(out.nullValueCounts.get(3)).toBe(1n);
    expect(out.nanValueCounts.get(3)).toBe(1n);
    expect(out.nanValueCounts.has(1)).toBe(false);
    expect(fromSingleValue({ kind: "long" }, out.lowerBounds.get(1)!)).toBe(-(1n << 63n));
    expect(fromSingleValue({ kind: "long" }, out.upperBounds.get(1)!)).toBe(BIG);
    expect(fromSingleValue({ kind: "string" }, out.lowerBounds.get(2)!)).toBe("name-01");
    expect(fromSingleValue({ kind: "string" }, out.upperBounds.get(2)!)).toBe("name-24");
    expect(fromSingleValue({ kind: "double" }, out.upperBounds.get(3)!)).toBe(24 / 4);
    expect(fromSingleValue({ kind: "date" }, out.lowerBounds.get(7)!)).toBe(17486);
    expect(fromSingleValue({ kind: "decimal", precision: 10, scale: 2 }, out.upperBounds.get(10)!)).toBe(2405n);
    expect(fromSingleValue({ kind: "boolean" }, out.lowerBounds.get(4)!)).toBe(false);
    const total = [...out.columnSizes.values()].reduce((a, b) => a + b, 0n);
    expect(total > 0n && total < BigInt(out.bytes.length)).toBe(true);
  });

  it("truncates long string bounds to 16 code points, incrementing the upper one", () => {
    const f: NestedField[] = [{ id: 1, name: "s", required: true, type: "string" }];
    const out = writeParquet(f, [{ s: "aaaaaaaaaaaaaaaaaaaa" }, { s: "zzzzzzzzzzzzzzzzzzzz" }]);
    expect(fromSingleValue({ kind: "string" }, out.lowerBounds.get(1)!)).toBe("a".repeat(16));
    expect(fromSingleValue({ kind: "string" }, out.upperBounds.get(1)!)).toBe("z".repeat(15) + "{");
  });

  for (const compression of ["gzip", "none"] as const) {
    it(`writes ${compression} files that read back`, async () => {
      const out = writeParquet(fields, rows, { compression });
      const md = parquetMetadata(out.bytes.buffer as ArrayBuffer);
      expect(md.row_groups[0]!.columns[0]!.meta_data!.codec).toBe(compression === "gzip" ? "GZIP" : "UNCOMPRESSED");
      expect((await read(out.bytes)).map((r) => r.id)).toEqual(rows.map((r) => r.id));
    });
  }

  it("refuses a null in a required column and a wrong JS type, naming the column", () => {
    expect(() => writeParquet(fields, [{ ...rows[0], id: null }])).toThrow(/column id is required/);
    expect(() => writeParquet(fields, [{ ...rows[0], id: 5 }])).toThrow(/column id \(long\)/);
    expect(() => writeParquet([{ id: 1, name: "s", required: false, type: { type: "struct", fields: [] } }], [])).toThrow(/nested type/);
  });
});
