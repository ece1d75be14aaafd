/**
 * Reads a range of log positions from a changelog table (`<table>__changelog`) on R2, for
 * subscribers catching up on history. Files are chosen by the `log_position` bounds in the
 * manifests and row groups by their Parquet statistics; row groups are read through ranged R2
 * reads, so memory holds the rows of one row group at a time, whatever a file's size. Rows written
 * before changelogs had `log_position` (null) are not addressable by cursors and are skipped.
 */
import { parquetReadObjects } from "hyparquet";
import type { CatalogDeps } from "../catalog/deps.js";
import { keyOf, readMetadataFile } from "../catalog/metadata-files.js";
import { EntryStatus, FileContent, type DataFile } from "../iceberg/data-file.js";
import { readManifest } from "../iceberg/manifest.js";
import { readManifestList } from "../iceberg/manifest-list.js";
import { fromSingleValue } from "../iceberg/single-value.js";
import { PARQUET_DECOMPRESSORS } from "../parquet/decompressors.js";
import { openR2Parquet } from "../parquet/r2-async-buffer.js";

/** One changelog row, as the subscription needs it. */
export interface ChangelogRow {
  position: bigint;
  operation: string;
  sequence: bigint;
  source: string;
  /** Source commit time, epoch ms. */
  timestamp: bigint;
  /** Ack time, epoch ms (0 when unknown). */
  ackedAt: bigint;
  rowId: string;
  before: string | null;
  after: string | null;
  metadata: string | null;
}

/** Where a changelog table is; `deps` reads the warehouse's R2 (and caches parsed metadata). */
export interface ChangelogSource {
  deps: CatalogDeps;
  metadataLocation: string;
  /** Cached metadata.json text from the catalog row, when it had it. */
  metadataJson: string | null;
}

const COLUMNS = ["log_position", "operation", "sequence", "source", "source_timestamp", "acked_at", "row_id", "before", "after", "metadata"];

async function getBytes(src: ChangelogSource, location: string): Promise<Uint8Array> {
  const obj = await src.deps.bucket.get(keyOf(src.deps, location));
  if (!obj) throw new Error(`changelog file missing from storage: ${location}`);
  return new Uint8Array(await obj.arrayBuffer());
}

/** A live data file of a changelog with its `log_position` bounds and upper `acked_at` (µs; undefined when unknown). */
interface LoggedFile {
  file: DataFile;
  lower: bigint;
  upper: bigint;
  ackedUpperUs: bigint | undefined;
}

/** The changelog's current data files that carry `log_position` bounds (files written before log positions existed have none). */
async function loggedFiles(src: ChangelogSource): Promise<LoggedFile[]> {
  const m = await readMetadataFile(src.deps, src.metadataLocation, src.metadataJson);
  const snapshot = m.snapshots.find((s) => s["snapshot-id"] === m["current-snapshot-id"]);
  if (!snapshot) return [];
  const schema = m.schemas.find((s) => s["schema-id"] === m["current-schema-id"])!;
  const position = schema.fields.find((f) => f.name === "log_position");
  const acked = schema.fields.find((f) => f.name === "acked_at");
  if (!position) return [];
  const long = (b: Uint8Array) => fromSingleValue({ kind: "long" }, b) as bigint;
  const out: LoggedFile[] = [];
  for (const mf of readManifestList(await getBytes(src, snapshot["manifest-list"]))) {
    if (mf.content !== 0) continue;
    const spec = m["partition-specs"].find((s) => s["spec-id"] === mf.partitionSpecId)!;
    for (const e of readManifest(await getBytes(src, mf.manifestPath), spec, schema)) {
      if (e.status === EntryStatus.DELETED || e.dataFile.content !== FileContent.DATA) continue;
      const lo = e.dataFile.lowerBounds.get(position.id);
      const hi = e.dataFile.upperBounds.get(position.id);
      if (!lo || !hi) continue;
      // timestamptz bounds are 8-byte little-endian microseconds, as a long's are.
      const ackedHi = acked ? e.dataFile.upperBounds.get(acked.id) : undefined;
      out.push({ file: e.dataFile, lower: long(lo), upper: long(hi), ackedUpperUs: ackedHi ? long(ackedHi) : undefined });
    }
  }
  return out;
}

/** The changelog's data files that may hold positions in [from, to], by their lower bound. */
async function candidateFiles(src: ChangelogSource, from: bigint, to: bigint): Promise<DataFile[]> {
  const files = (await loggedFiles(src)).filter((f) => f.upper >= from && f.lower <= to);
  return files.sort((a, b) => (a.lower < b.lower ? -1 : a.lower > b.lower ? 1 : 0)).map((x) => x.file);
}

/**
 * The highest log position of the changelog's files whose every row was acked before `ms`
 * (epoch ms), from the files' `acked_at` and `log_position` statistics; undefined when none is.
 * Acks take positions in time order, so every lower position was acked before `ms` too. The
 * statistics live as long as the files (compaction merges them), unlike snapshot summaries,
 * which expire with their snapshots.
 */
export async function lastPositionAckedBefore(src: ChangelogSource, ms: bigint): Promise<bigint | undefined> {
  let best: bigint | undefined;
  for (const f of await loggedFiles(src)) {
    if (f.ackedUpperUs === undefined || f.ackedUpperUs >= ms * 1000n) continue;
    if (best === undefined || f.upper > best) best = f.upper;
  }
  return best;
}

const us = (v: unknown): bigint => (v instanceof Date ? BigInt(v.getTime()) * 1000n : v === null || v === undefined ? 0n : BigInt(v as bigint));

/**
 * The rows of a changelog with log positions in [from, to] that `wanted` accepts, in position
 * order. `wanted` lets the caller skip positions it has from elsewhere (the buffer).
 */
export async function readChangelogRange(src: ChangelogSource, from: bigint, to: bigint, wanted: (position: bigint) => boolean): Promise<ChangelogRow[]> {
  const rows: ChangelogRow[] = [];
  for (const file of await candidateFiles(src, from, to)) {
    const { buffer, meta } = await openR2Parquet(src.deps.bucket, keyOf(src.deps, file.filePath), Number(file.fileSizeInBytes));
    let rowStart = 0;
    for (const group of meta.row_groups) {
      const count = Number(group.num_rows);
      const stats = group.columns.find((c) => c.meta_data?.path_in_schema.join(".") === "log_position")?.meta_data?.statistics;
      const min = stats?.min_value ?? stats?.min;
      const max = stats?.max_value ?? stats?.max;
      const skip = min !== undefined && max !== undefined && min !== null && max !== null && (BigInt(max as bigint) < from || BigInt(min as bigint) > to);
      if (!skip) {
        const objects = await parquetReadObjects({ file: buffer, metadata: meta, columns: COLUMNS, rowStart, rowEnd: rowStart + count, compressors: PARQUET_DECOMPRESSORS });
        for (const r of objects) {
          if (r.log_position === null || r.log_position === undefined) continue;
          const position = BigInt(r.log_position as bigint);
          if (position < from || position > to || !wanted(position)) continue;
          rows.push({
            position,
            operation: String(r.operation),
            sequence: BigInt(r.sequence as bigint),
            source: String(r.source),
            timestamp: us(r.source_timestamp) / 1000n,
            ackedAt: us(r.acked_at) / 1000n,
            rowId: String(r.row_id),
            before: (r.before as string | null) ?? null,
            after: (r.after as string | null) ?? null,
            metadata: (r.metadata as string | null) ?? null,
          });
        }
      }
      rowStart += count;
    }
  }
  return rows.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
}
