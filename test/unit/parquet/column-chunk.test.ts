// The one-pass column encoder (src/parquet/column-chunk.ts) against hyparquet-writer's: seeded random
// columns of every kind it handles (nulls, NaN, signed zeros, 64-bit extremes, non-ASCII and astral
// strings, few and many distinct values, several row groups), read back by hyparquet (a reader we did not
// write) with the same values, and the same manifest metrics as the hyparquet-writer path.
import { gunzipSync } from "fflate";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import type { NestedField } from "../../../src/iceberg/metadata/types.js";
import { writeParquet, writeParquetWithHyparquet, type ParquetWriteOptions, type Row } from "../../../src/parquet/writer.js";
import { rng } from "../../support/rng.js";

const KINDS = ["boolean", "int", "date", "long", "time", "timestamp", "timestamptz", "float", "double", "string"] as const;
const WORDS = [
  "", "a", "Lisbon", "Ōsaka", "naïve", "😀 grin", "\u{10FFFF}", "\uE000 private", "zzz", "Z", "ab", "abc",
  // Longer than 32 units: written by TextEncoder.encodeInto whole (ASCII, BMP, astral, private use).
  "long ascii text ".repeat(3), "ü".repeat(33), `${"😀".repeat(20)} long astral`, "\uE000".repeat(40),
];

function value(kind: (typeof KINDS)[number], r: () => number, distinct: number): Row[string] {
  const pick = Math.floor(r() * distinct);
  switch (kind) {
    case "boolean": return r() < 0.5;
    case "date": return [0, -1, 20000, -719162][pick % 4]! + (pick % 4 === 0 ? Math.floor(r() * 1000) - 500 : 0); // JS Date's range (hyparquet reads Dates)
    case "int": return [0, -1, 2147483647, -2147483648][pick % 4]! + (pick % 4 === 0 ? Math.floor(r() * 1000) - 500 : 0);
    case "long": case "time": case "timestamp": case "timestamptz":
      return [0n, (1n << 63n) - 1n, -(1n << 63n), 9007199254740993n][pick % 4]! + (pick % 4 === 0 ? BigInt(Math.floor(r() * 1e6)) : 0n);
    case "float": return [NaN, -0, 0, 1.5, -2.25, Infinity, -Infinity][pick % 7]!;
    case "double": return [NaN, -0, 0, Math.PI, -1e300, 5e-324][pick % 6]! * (pick % 6 > 2 ? r() : 1);
    case "string": return `${WORDS[pick % WORDS.length]}${distinct > 100 ? pick : ""}`;
  }
}

function table(seed: number, n: number): { fields: NestedField[]; rows: Row[] } {
  const r = rng(seed);
  const fields: NestedField[] = KINDS.flatMap((kind, k) => [
    { id: 2 * k + 1, name: `${kind}_opt`, required: false, type: kind },
    { id: 2 * k + 2, name: `${kind}_req`, required: true, type: kind },
  ]);
  const distinct = [1, 3, 12, 5000][seed % 4]!;
  const nullRate = [0, 0.1, 0.9, 1][seed % 4]!;
  const rows: Row[] = Array.from({ length: n }, () => {
    const row: Row = {};
    for (const f of fields) row[f.name] = !f.required && r() < nullRate ? null : value(f.type as (typeof KINDS)[number], r, distinct);
    return row;
  });
  return { fields, rows };
}

const same = (a: unknown, b: unknown) => Object.is(a, b) || (typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b));

describe("one-pass column encoder", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    // An explicit, generous timeout: the verdict must not depend on the machine's load.
    it(`reads back as written and matches hyparquet-writer's metrics (seed ${seed})`, { timeout: 120_000 }, async () => {
      const { fields, rows } = table(seed, [1, 7, 300, 2500][seed % 4]!);
      const options: ParquetWriteOptions = { rowGroupRows: [1000, 64, 100_000, 7][seed % 4]!, compression: seed % 3 === 0 ? "gzip" : seed % 3 === 1 ? "snappy" : "none" };
      const fast = writeParquet(fields, rows, options);
      const slow = writeParquetWithHyparquet(fields, rows, options);
      const buf = fast.bytes.buffer.slice(fast.bytes.byteOffset, fast.bytes.byteOffset + fast.bytes.byteLength) as ArrayBuffer;
      const meta = parquetMetadata(buf);
      expect(meta.schema.slice(1).map((e) => e.field_id)).toEqual(fields.map((f) => f.id));
      expect(meta.row_groups.length).toBe(Math.ceil(rows.length / options.rowGroupRows!));
      expect(meta.row_groups.map((g) => g.columns[0]!.meta_data!.dictionary_page_offset ?? g.columns[0]!.meta_data!.data_page_offset)).toEqual(fast.splitOffsets);
      const read = await parquetReadObjects({ file: buf, utf8: true, compressors: { GZIP: (input: Uint8Array) => gunzipSync(input) } });
      expect(read.length).toBe(rows.length);
      for (let i = 0; i < rows.length; i++) {
        for (const f of fields) {
          const want = rows[i]![f.name] ?? null;
          let got = read[i]![f.name];
          // hyparquet converts logical types: dates to Date, timestamps to Date (ms), times stay bigint.
          if (got instanceof Date) got = f.type === "date" ? Math.round(got.getTime() / 86_400_000) : undefined;
          if (got === undefined) continue; // a converted value hyparquet cannot give exactly (µs timestamps)
          if (!same(got, want)) expect({ row: i, column: f.name, got }).toEqual({ row: i, column: f.name, got: want });
        }
      }
      // Row-group statistics are what engines prune row groups by: they must equal hyparquet-writer's.
      const slowBuf = slow.bytes.buffer.slice(slow.bytes.byteOffset, slow.bytes.byteOffset + slow.bytes.byteLength) as ArrayBuffer;
      const stats = (m: ReturnType<typeof parquetMetadata>) => m.row_groups.map((g) => g.columns.map((c) => {
        const { min_value, max_value, null_count } = c.meta_data!.statistics ?? {};
        return { column: c.meta_data!.path_in_schema[0], min_value, max_value, null_count };
      }));
      expect(stats(meta)).toEqual(stats(parquetMetadata(slowBuf)));
      expect(fast.recordCount).toBe(slow.recordCount);
      expect(fast.valueCounts).toEqual(slow.valueCounts);
      expect(fast.nullValueCounts).toEqual(slow.nullValueCounts);
      expect(fast.nanValueCounts).toEqual(slow.nanValueCounts);
      expect(fast.lowerBounds).toEqual(slow.lowerBounds);
      expect(fast.upperBounds).toEqual(slow.upperBounds);
    });
  }

  it("refuses what the other path refuses: a missing required value, a value of the wrong type, a long out of range", () => {
    const f: NestedField[] = [{ id: 1, name: "x", required: true, type: "long" }];
    expect(() => writeParquet(f, [{ x: null }])).toThrow(/required but row 0 has no value/);
    expect(() => writeParquet(f, [{ x: 1 }])).toThrow(/cannot hold number/);
    expect(() => writeParquet(f, [{ x: 1n << 63n }])).toThrow(/cannot hold/);
    expect(() => writeParquet([{ id: 1, name: "s", required: false, type: "string" }], [{ s: 5 }])).toThrow(/cannot hold number/);
    expect(() => writeParquet([{ id: 1, name: "i", required: false, type: "int" }], [{ i: 2 ** 31 }])).toThrow(/cannot hold/);
  });
});
