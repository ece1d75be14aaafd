/**
 * The Parquet encoders alone, on the bench's `orders` rows already converted to Iceberg values: the
 * one-pass column encoder (src/parquet/column-chunk.ts) against hyparquet-writer's (the path it
 * replaced), same rows, same process, alternating. `node bench/flush/encoder.mjs [--rows N]`.
 */
import type { NestedField } from "../../src/iceberg/metadata/types.js";
import { writeParquet, writeParquetWithHyparquet, type Row } from "../../src/parquet/writer.js";
import { makeRow } from "../lib/workload.js";

const FIELDS: NestedField[] = [
  ["id", "long"], ["customer_id", "long"], ["email", "string"], ["name", "string"], ["status", "string"],
  ["amount", "double"], ["quantity", "long"], ["active", "boolean"], ["created_at", "string"], ["note", "string"],
].map(([name, type], i) => ({ id: i + 1, name: name!, required: false, type: type! }));

/** Rows/s of each encoder over `n` rows, best of `rounds`. */
export function run(n: number, rounds = 5): { encoder: string; bestMs: number; rowsPerSec: number; mib: number }[] {
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const r = makeRow(i) as Record<string, unknown>;
    rows.push({ ...r, id: BigInt(r.id as number), customer_id: BigInt(r.customer_id as number), quantity: BigInt(r.quantity as number) } as Row);
  }
  const encoders = { "one-pass column encoder": writeParquet, "hyparquet-writer": writeParquetWithHyparquet };
  const best: Record<string, { ms: number; bytes: number }> = {};
  for (let k = 0; k < rounds; k++) {
    for (const [name, write] of Object.entries(encoders)) {
      const t = performance.now();
      const f = write(FIELDS, rows);
      const ms = performance.now() - t;
      if (!best[name] || ms < best[name]!.ms) best[name] = { ms, bytes: f.bytes.length };
    }
  }
  return Object.entries(best).map(([encoder, b]) => ({ encoder, bestMs: Math.round(b.ms), rowsPerSec: Math.round((n / b.ms) * 1000), mib: Math.round((b.bytes / 2 ** 20) * 10) / 10 }));
}
