// Manifests and manifest lists: decoded by avsc (not our reader) for field ids, record names and
// metadata keys, and read back by ours for exact values.
import { describe, expect, it } from "vitest";
import { bindSpec } from "../../../src/iceberg/avro-schema.js";
import { emptyMetrics, type ManifestEntry } from "../../../src/iceberg/data-file.js";
import { readManifest, writeManifest } from "../../../src/iceberg/manifest.js";
import { readManifestList, summarizeManifest, writeManifestList } from "../../../src/iceberg/manifest-list.js";
import type { PartitionSpec, Schema } from "../../../src/iceberg/metadata/types.js";
import { fromSingleValue } from "../../../src/iceberg/single-value.js";
import { decodeWithAvsc } from "../avro/avsc-helper.js";

const schema: Schema = {
  type: "struct",
  "schema-id": 3,
  fields: [
    { id: 1, name: "id", required: true, type: "long" },
    { id: 2, name: "at", required: false, type: "timestamptz" },
    { id: 3, name: "region name", required: false, type: "string" },
  ],
};
const spec: PartitionSpec = {
  "spec-id": 1,
  fields: [
    { "source-id": 2, "field-id": 1000, name: "at_day", transform: "day" },
    { "source-id": 1, "field-id": 1001, name: "id_bucket", transform: "bucket[8]" },
    { "source-id": 3, "field-id": 1002, name: "region name", transform: "identity" },
  ],
};
const SNAP = (1n << 62n) + 7n;

function entry(path: string, day: number | null, bucket: number, region: string | null, rows: bigint): ManifestEntry {
  const m = emptyMetrics();
  m.valueCounts.set(1, rows);
  m.lowerBounds.set(1, new Uint8Array(8));
  return { status: 1, snapshotId: null, sequenceNumber: null, fileSequenceNumber: null, dataFile: { content: 0, filePath: path, fileFormat: "PARQUET", partition: [day, bucket, region], recordCount: rows, fileSizeInBytes: 1234n, splitOffsets: [4n], sortOrderId: 0, ...m } };
}

describe("manifest writer", () => {
  const entries = [entry("s3://b/t/data/a.parquet", 17486, 3, "eu", 10n), entry("s3://b/t/data/b.parquet", null, 5, null, 5n)];
  const bytes = writeManifest({ schema, spec, content: "data", entries });

  it("writes the spec's record names, field ids and metadata keys (read by avsc)", async () => {
    const { header, records } = await decodeWithAvsc(bytes);
    const meta = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString()]));
    expect(meta["format-version"]).toBe("2");
    expect(meta.content).toBe("data");
    expect(meta["partition-spec-id"]).toBe("1");
    expect(meta["schema-id"]).toBe("3");
    expect(JSON.parse(meta["partition-spec"]!)).toEqual(spec.fields);
    expect(JSON.parse(meta.schema!)).toEqual(schema);
    const avroSchema = JSON.parse(meta["avro.schema"]!);
    expect(avroSchema.name).toBe("manifest_entry");
    const ids = Object.fromEntries(avroSchema.fields.map((f: { name: string; "field-id": number }) => [f.name, f["field-id"]]));
    expect(ids).toEqual({ status: 0, snapshot_id: 1, sequence_number: 3, file_sequence_number: 4, data_file: 2 });
    const r2 = avroSchema.fields[4].type;
    expect(r2.name).toBe("r2");
    const colSizes = r2.fields.find((f: { name: string }) => f.name === "column_sizes");
    expect(colSizes["field-id"]).toBe(108);
    expect(colSizes.type[1]).toMatchObject({ type: "array", logicalType: "map", items: { name: "k117_v118" } });
    const part = r2.fields.find((f: { name: string }) => f.name === "partition").type;
    expect(part.name).toBe("r102");
    expect(part.fields.map((f: { name: string; "field-id": number }) => [f.name, f["field-id"]])).toEqual([["at_day", 1000], ["id_bucket", 1001], ["region_x20name", 1002]]);
    expect(part.fields[0].type[1]).toEqual({ type: "int", logicalType: "date" });
    const first = records[0] as { status: number; snapshot_id: null; data_file: Record<string, unknown> };
    expect(first.status).toBe(1);
    expect(first.snapshot_id).toBeNull();
    expect(first.data_file.partition).toEqual({ at_day: 17486, id_bucket: 3, region_x20name: "eu" });
    expect(first.data_file.record_count).toBe(10n);
    expect(first.data_file.value_counts).toEqual([{ key: 1, value: 10n }]);
  });

  it("reads back what it wrote", () => {
    const back = readManifest(bytes, spec, schema);
    expect(back).toEqual(entries.map((e) => ({ ...e, dataFile: { ...e.dataFile, keyMetadata: null, equalityIds: null, referencedDataFile: null } })));
  });

  it("refuses a delete file in a data manifest", () => {
    const bad = entry("x", 1, 1, "a", 1n);
    bad.dataFile.content = 1;
    expect(() => writeManifest({ schema, spec, content: "data", entries: [bad] })).toThrow(/cannot hold content 1/);
  });
});

describe("manifest list writer", () => {
  const entries = [entry("a", 17486, 3, "eu", 10n), entry("b", 17490, 5, null, 5n)];
  const summary = summarizeManifest({ manifestPath: "s3://b/t/metadata/m0.avro", manifestLength: 999n, partitionSpecId: 1, content: 0, snapshotId: SNAP, sequenceNumber: 4n }, entries, bindSpec(spec, schema));

  it("summarizes counts and partitions", () => {
    expect(summary.addedFilesCount).toBe(2);
    expect(summary.addedRowsCount).toBe(15n);
    expect(summary.minSequenceNumber).toBe(4n);
    expect(summary.partitions![0]!.containsNull).toBe(false);
    expect(fromSingleValue({ kind: "date" }, summary.partitions![0]!.lowerBound!)).toBe(17486);
    expect(fromSingleValue({ kind: "date" }, summary.partitions![0]!.upperBound!)).toBe(17490);
    expect(summary.partitions![2]!.containsNull).toBe(true);
  });

  it("writes manifest_file records with field ids and snapshot metadata (read by avsc)", async () => {
    const bytes = writeManifestList({ snapshotId: SNAP, parentSnapshotId: null, sequenceNumber: 4n, manifests: [summary] });
    const { header, records } = await decodeWithAvsc(bytes);
    expect(header.meta["snapshot-id"]!.toString()).toBe(String(SNAP));
    expect(header.meta["parent-snapshot-id"]!.toString()).toBe("null");
    expect(header.meta["sequence-number"]!.toString()).toBe("4");
    expect(header.meta["format-version"]!.toString()).toBe("2");
    const avroSchema = JSON.parse(header.meta["avro.schema"]!.toString());
    expect(avroSchema.name).toBe("manifest_file");
    expect(avroSchema.fields.map((f: { "field-id": number }) => f["field-id"])).toEqual([500, 501, 502, 517, 515, 516, 503, 504, 505, 506, 512, 513, 514, 507, 519]);
    expect(avroSchema.fields[13].type[1]).toMatchObject({ type: "array", "element-id": 508, items: { name: "r508" } });
    const rec = records[0] as Record<string, unknown>;
    expect(rec.added_snapshot_id).toBe(SNAP);
    expect(rec.manifest_length).toBe(999n);
    expect(readManifestList(bytes)).toEqual([{ ...summary, keyMetadata: null }]);
  });
});
