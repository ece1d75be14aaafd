/**
 * Rows held as columns: one array of values per column name, as the flush builds them (the
 * mirror's converted row images, the changelog's columns) without an object per row. The Parquet
 * encoder reads a column array directly; `row(i)` materialises a row only where a caller needs
 * one (partition tuples of partitioned tables).
 */
import type { PrimitiveValue } from "../iceberg/primitive.js";

/** A row: column name -> value (the shape column-chunk.ts's Row has). */
type Row = Record<string, PrimitiveValue | null | undefined>;

/** One column's values, by row; null or undefined is a null. */
export type ColumnValues = Array<PrimitiveValue | null | undefined>;

/** A block of rows stored column by column. */
export class ColumnBlock {
  constructor(
    /** Number of rows. */
    readonly length: number,
    /** Column name -> values (length `length`); a missing column is all nulls. */
    readonly columns: ReadonlyMap<string, ColumnValues>,
  ) {}

  /** A block of plain rows (tests and small callers). */
  static fromRows(names: readonly string[], rows: readonly Row[]): ColumnBlock {
    return new ColumnBlock(rows.length, new Map(names.map((n) => [n, rows.map((r) => r[n])])));
  }

  /** The values of a column (an all-null array when the block has no such column). */
  column(name: string): ColumnValues {
    return this.columns.get(name) ?? new Array(this.length).fill(null);
  }

  /** Row `i` as an object (only the block's columns). */
  row(i: number): Row {
    const r: Row = {};
    for (const [name, values] of this.columns) r[name] = values[i];
    return r;
  }

  /** The rows at `indexes`, in that order; a contiguous ascending run is sliced, not gathered. */
  select(indexes: readonly number[]): ColumnBlock {
    const n = indexes.length;
    const first = indexes[0] ?? 0;
    let contiguous = true;
    for (let k = 1; k < n && contiguous; k++) contiguous = indexes[k] === first + k;
    const columns = new Map<string, ColumnValues>();
    for (const [name, values] of this.columns) {
      if (contiguous && (first !== 0 || n !== this.length)) columns.set(name, values.slice(first, first + n));
      else if (contiguous) columns.set(name, values);
      else columns.set(name, indexes.map((i) => values[i]));
    }
    return new ColumnBlock(n, columns);
  }

  /** Estimated bytes of each row (strings and binaries by length, 8 for the rest), as file-writer sizes files. */
  rowSizes(): Float64Array {
    const sizes = new Float64Array(this.length);
    for (const values of this.columns.values()) {
      for (let i = 0; i < this.length; i++) {
        const v = values[i];
        // An absent value is not counted: a row object would not have the key.
        if (v === undefined) continue;
        sizes[i] = sizes[i]! + (typeof v === "string" ? v.length + 4 : v instanceof Uint8Array ? v.length + 4 : 8);
      }
    }
    return sizes;
  }
}
