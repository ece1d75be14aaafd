/** Shared fixtures for the table-metadata unit tests. */
import { newTableMetadata } from "../../../src/iceberg/metadata/new-table.js";
import type { Snapshot, TableMetadata } from "../../../src/iceberg/metadata/types.js";

/** A snapshot id above 2^53, as real writers produce. */
export const BIG_ID = 9_007_199_254_740_993n;

/** A fresh v2 table: id long, data string, ts timestamptz; partitioned by day(ts). */
export function freshTable(now = 1_700_000_000_000n): TableMetadata {
  return newTableMetadata({
    schema: {
      type: "struct",
      fields: [
        { id: 1, name: "id", required: true, type: "long" },
        { id: 2, name: "data", required: false, type: "string" },
        { id: 3, name: "ts", required: false, type: "timestamptz" },
      ],
    },
    partitionSpec: { fields: [{ "source-id": 3, transform: "day", name: "ts_day" }] },
    location: "s3://bucket/wh/ns/t",
    now,
    tableUuid: "9c12d441-03fe-4693-9a96-a0705ddf69c1",
  });
}

/** A snapshot with the given id, parent and sequence number. */
export function snapshot(id: bigint, seq: bigint, parent?: bigint, ts = 1_700_000_100_000n): Snapshot {
  const s: Snapshot = {
    "snapshot-id": id,
    "sequence-number": seq,
    "timestamp-ms": ts,
    "manifest-list": `s3://bucket/wh/ns/t/metadata/snap-${id}.avro`,
    summary: { operation: "append" },
    "schema-id": 0,
  };
  if (parent !== undefined) s["parent-snapshot-id"] = parent;
  return s;
}
