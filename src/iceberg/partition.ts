/**
 * Partition tuples of rows and their paths (Iceberg spec "Partitioning"; path naming is Java's
 * convention `<field>=<url-encoded human string>` joined by `/`, shared/iceberg/WRITER-FACTS §7).
 */
import type { BoundPartitionField } from "./avro-schema.js";
import type { PrimitiveValue } from "./primitive.js";
import { applyTransform, humanString } from "./transforms.js";

/** A partition tuple: one value per partition field, in spec order. */
export type PartitionTuple = (PrimitiveValue | null)[];

/** The partition tuple of a row (column name -> value). */
export function partitionTuple(fields: BoundPartitionField[], row: Record<string, PrimitiveValue | null | undefined>): PartitionTuple {
  return fields.map((f) => applyTransform(f.transform, f.sourceType, row[f.sourceName] ?? null));
}

/** The relative path of a tuple (`at_day=2017-11-16/id_bucket=3`); "" when unpartitioned. */
export function partitionPath(fields: BoundPartitionField[], tuple: PartitionTuple): string {
  return fields.map((f, i) => `${encodeURIComponent(f.name)}=${encodeURIComponent(humanString(f.transform, f.sourceType, tuple[i] ?? null))}`).join("/");
}

/** A string that is equal for equal tuples (to group rows by partition). */
export function tupleKey(tuple: PartitionTuple): string {
  return tuple
    .map((v) => {
      if (v === null) return "n";
      if (v instanceof Uint8Array) return `b${[...v].join(",")}`;
      return `${typeof v}:${String(v)}`;
    })
    .join("|");
}
