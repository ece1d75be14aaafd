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

/** Tuple text for storage (SQLite): each value tagged with its JS kind so longs stay bigint. */
export function encodeTuple(tuple: PartitionTuple): string {
  return JSON.stringify(
    tuple.map((v) => {
      if (v === null) return null;
      if (typeof v === "bigint") return ["l", v.toString()];
      if (typeof v === "number") return ["n", String(v)]; // String keeps NaN/Infinity and -0 readable
      if (typeof v === "string") return ["s", v];
      if (typeof v === "boolean") return ["b", v];
      return ["x", [...v].map((b) => b.toString(16).padStart(2, "0")).join("")];
    }),
  );
}

/** The inverse of encodeTuple. */
export function decodeTuple(text: string): PartitionTuple {
  return (JSON.parse(text) as ([string, string | boolean] | null)[]).map((e) => {
    if (e === null) return null;
    const [kind, v] = e;
    if (kind === "l") return BigInt(v as string);
    if (kind === "n") return Number(v);
    if (kind === "s" || kind === "b") return v;
    if (kind === "x") return new Uint8Array(((v as string).match(/../g) ?? []).map((h) => parseInt(h, 16)));
    throw new Error(`unknown partition value kind ${kind}`);
  });
}
