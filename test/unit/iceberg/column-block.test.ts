// The flush's columnar path (ColumnBlock) against the row path it replaced, which stays the
// definition: jsonRowsToColumns vs jsonRowToIceberg, changelogColumns vs changelogRow, and data
// files written from a block vs from row objects (unpartitioned with size splits, and
// partitioned) — the same bytes, the same metrics, the same row positions.
import { describe, expect, it } from "vitest";
import { bindSpec } from "../../../src/iceberg/avro-schema.js";
import type { CdcChange } from "../../../src/iceberg/cdc-plan.js";
import { partitionSpecFor } from "../../../src/iceberg/cdc-writer.js";
import { CHANGELOG_SCHEMA, changelogColumns, changelogRow } from "../../../src/iceberg/changelog.js";
import { writeDataFiles, type FileSink } from "../../../src/iceberg/file-writer.js";
import type { Schema } from "../../../src/iceberg/metadata/types.js";
import { MemoryObjectStore } from "../../../src/iceberg/object-store.js";
import { evolveSchema, jsonRowsToColumns, jsonRowToIceberg } from "../../../src/iceberg/schema-infer.js";
import { ColumnBlock } from "../../../src/parquet/column-block.js";
import type { Row } from "../../../src/parquet/writer.js";
import { JsonNumber, stringifyJson, type JsonObject } from "../../../src/util/json.js";
import { rng } from "../../support/rng.js";

function images(n: number, seed: number): JsonObject[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const o: JsonObject = { id: i, big: 2n ** 60n + BigInt(i), at: new Date(1_704_067_200_000 + i * 3_600_000).toISOString(), name: r() < 0.2 ? null : `n${i % 7}${"é".repeat(i % 3)}` };
    if (r() < 0.7) o.amount = r() < 0.5 ? i : i + 0.5;
    if (r() < 0.3) o.doc = { a: [1, null, "x"], b: 2n ** 70n };
    if (r() < 0.2) o.gone = null; // only ever null: no column
    o.flag = i % 3 === 0;
    return o;
  });
}

function sink(store: MemoryObjectStore, target: number): FileSink {
  let u = 0;
  return { store, keyFor: (l) => l.replace(/^s3:\/\//, ""), location: "s3://b/t", uuid: () => `00000000-0000-4000-8000-${String(++u).padStart(12, "0")}`, parquet: { rowGroupRows: 64 }, targetFileSizeBytes: target, written: [] };
}

describe("the columnar flush path", () => {
  const rows = images(700, 9);
  const schema: Schema = evolveSchema(undefined, 0, 0, rows, { detectTimestamps: true }).schema;

  it("jsonRowsToColumns gives jsonRowToIceberg's values, and its error for a bad row", () => {
    const block = jsonRowsToColumns(schema, rows);
    rows.forEach((img, i) => expect(block.row(i)).toEqual(jsonRowToIceberg(schema, img)));
    const bad = [...rows.slice(0, 5), { ...rows[5]!, amount: "text", flag: 3 }];
    expect(() => jsonRowsToColumns(schema, bad)).toThrow((() => { try { jsonRowToIceberg(schema, bad[5]!); } catch (e) { return (e as Error).message; } return "none"; })());
    expect(() => jsonRowsToColumns(schema, [{ ...rows[0]!, extra: 1 }])).toThrow(/row has column extra that the schema lacks/);
  });

  it("changelogColumns gives changelogRow's values (64-bit, nulls, JSON text, log positions)", () => {
    const changes: CdcChange[] = rows.slice(0, 50).map((img, i) => ({
      operation: (["INSERT", "UPDATE", "DELETE"] as const)[i % 3]!, rowId: String(i), sequence: 2n ** 62n + BigInt(i), timestamp: 1_704_067_200_000n + BigInt(i), source: "s",
      before: i % 3 === 0 ? null : img, after: i % 3 === 2 ? null : img, metadata: i % 4 === 0 ? { lsn: new JsonNumber("1.50") } : null,
      ...(i % 5 === 0 ? {} : { logPosition: BigInt(i + 1), ackedAt: 1_800_000_000_000n }),
    }));
    const block = changelogColumns(changes, 1_900_000_000_000n);
    changes.forEach((c, i) => {
      const want = changelogRow(c, 1_900_000_000_000n);
      const got = block.row(i);
      for (const f of CHANGELOG_SCHEMA.fields) expect(stringifyJson(got[f.name] ?? null), `${f.name} of ${i}`).toBe(stringifyJson(want[f.name] ?? null));
    });
  });

  for (const [what, partitionBy, target] of [
    ["unpartitioned, split by size", [], 9_000],
    ["partitioned by day and bucket", [{ column: "at", transform: "day" }, { column: "id", transform: "bucket[3]" }], 4_000],
  ] as const) {
    it(`writes the same data files from a block as from rows (${what})`, async () => {
      const bound = bindSpec(partitionSpecFor(schema, [...partitionBy]), schema);
      const objects: Row[] = rows.map((img) => jsonRowToIceberg(schema, img));
      const a = new MemoryObjectStore();
      const b = new MemoryObjectStore();
      const fromRows = await writeDataFiles(sink(a, target), schema.fields, bound, objects);
      const fromBlock = await writeDataFiles(sink(b, target), schema.fields, bound, jsonRowsToColumns(schema, rows));
      expect(fromRows.length).toBeGreaterThan(2);
      expect(stringifyJson(fromBlock, undefined)).toBe(stringifyJson(fromRows, undefined));
      expect([...b.objects.keys()]).toEqual([...a.objects.keys()]);
      for (const [k, v] of a.objects) expect(Buffer.from(b.objects.get(k)!).equals(Buffer.from(v)), k).toBe(true);
      // A block built from the same row objects writes the same too (fromRows is what tests and small callers use).
      const c = new MemoryObjectStore();
      await writeDataFiles(sink(c, target), schema.fields, bound, ColumnBlock.fromRows(schema.fields.map((f) => f.name), objects));
      for (const [k, v] of a.objects) expect(Buffer.from(c.objects.get(k)!).equals(Buffer.from(v)), k).toBe(true);
    });
  }
});
