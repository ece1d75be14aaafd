// The state a compaction job saves between slices goes through state-codec: values must come back
// with their JS types (a small bigint stays a bigint), and a Parquet file written across a saved and
// restored ParquetStreamWriter must be byte-identical to one written in one go.
import { parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import type { NestedField } from "../../../src/iceberg/metadata/types.js";
import { ParquetStreamWriter, writeParquet, type Row } from "../../../src/parquet/writer.js";
import { decodeState, encodeState } from "../../../src/util/state-codec.js";

const fields: NestedField[] = [
  { id: 1, name: "id", required: true, type: "long" },
  { id: 2, name: "name", required: false, type: "string" },
  { id: 3, name: "score", required: false, type: "double" },
  { id: 4, name: "ok", required: false, type: "boolean" },
];

describe("state codec", () => {
  it("round-trips bigints, bytes, maps, non-finite numbers and nesting with their types", () => {
    const v = { a: 1n, b: -(2n ** 70n), c: new Uint8Array([0, 255, 7]), d: new Map<number, unknown>([[5, 3n], [6, new Uint8Array(0)]]), e: [NaN, Infinity, -Infinity, -0, 1.5], f: { g: null, h: "x", i: true }, j: undefined };
    const back = decodeState<typeof v>(encodeState(v));
    expect(back.a).toBe(1n);
    expect(back.b).toBe(-(2n ** 70n));
    expect(back.c).toEqual(new Uint8Array([0, 255, 7]));
    expect(back.d).toEqual(new Map<number, unknown>([[5, 3n], [6, new Uint8Array(0)]]));
    expect(back.e).toEqual([NaN, Infinity, -Infinity, -0, 1.5]);
    expect(Object.is(back.e[3], -0)).toBe(true);
    expect(back.f).toEqual({ g: null, h: "x", i: true });
    expect("j" in back).toBe(false);
  });

  it("a ParquetStreamWriter saved and restored between row groups writes the same bytes as one that was not", async () => {
    const rows: Row[] = Array.from({ length: 300 }, (_, i) => ({ id: BigInt(i) * 3n - 100n, name: i % 7 === 0 ? null : `n${(i * 37) % 101}`, score: i % 11 === 0 ? NaN : i / 3, ok: i % 5 === 0 ? null : i % 2 === 0 }));
    const whole = writeParquet(fields, rows, { rowGroupRows: 100 });
    const parts: Uint8Array[] = [];
    let w = new ParquetStreamWriter(fields, { rowGroupRows: 100 });
    for (let g = 0; g < 3; g++) {
      parts.push(...w.rowGroup(rows, g * 100, (g + 1) * 100));
      // What a slice saves in SQLite, and the writer the next slice (another instance) restores from it.
      w = ParquetStreamWriter.restore(fields, { rowGroupRows: 100 }, decodeState(encodeState(w.save())));
    }
    const { tail, file } = w.finish();
    parts.push(...tail);
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { bytes.set(p, at); at += p.length; }
    expect(bytes).toEqual(whole.bytes);
    expect(file.lowerBounds).toEqual(whole.lowerBounds);
    expect(file.upperBounds).toEqual(whole.upperBounds);
    expect(file.nullValueCounts).toEqual(whole.nullValueCounts);
    const back = await parquetReadObjects({ file: bytes.buffer as ArrayBuffer });
    expect(back).toHaveLength(300);
  });
});
