/**
 * What compaction would rewrite (issue 9; Iceberg's RewriteDataFiles bin-pack strategy): the live
 * files of a table's current snapshot, grouped per partition (spec id + tuple); a partition whose
 * small data files (below the target size, and below the step budget) number at least
 * `minFilesToCompact` is a candidate, and one step takes at most `maxFilesToCompact` of them and
 * at most `maxBytesPerStep` bytes of input. Only Parquet data files and position deletes are
 * handled: a partition with equality deletes or deletion vectors is skipped with a reason.
 */
import { EntryStatus, FileContent, type DataFile, type ManifestEntry, type ManifestFile } from "./data-file.js";
import { readManifest } from "./manifest.js";
import { readManifestList } from "./manifest-list.js";
import type { Snapshot, TableMetadata } from "./metadata/types.js";
import type { ObjectStore } from "./object-store.js";
import { tupleKey, type PartitionTuple } from "./partition.js";
import { currentSnapshotId } from "./table-commit.js";

/** The product's CompactionConfig (dolake-package-reference "Compaction"), plus the step budget. */
export interface CompactionConfig {
  /** A partition is compacted once it has this many small data files. */
  minFilesToCompact: number;
  /** Most data files one step rewrites. */
  maxFilesToCompact: number;
  /** Files at or above this size are not rewritten; outputs are cut at it (estimated, uncompressed). */
  targetFileSizeBytes: number;
  /** Run compaction from the object's alarm every compactionIntervalMs. */
  autoCompact: boolean;
  /** How often automatic maintenance looks for work (ms). */
  compactionIntervalMs: number;
  /**
   * Most bytes of data files one job reads (its output files approach targetFileSizeBytes when
   * this is as large). Files larger than this are not rewritten.
   */
  maxBytesPerStep: number;
  /**
   * Bytes of input one slice of a job reads (the flush lock is held per slice: flushes run between
   * slices; a crash redoes at most one slice). Docs/maintenance.md "Memory of a step".
   */
  maxBytesPerSlice: number;
}

/** The defaults: the product's, a job of up to the target file size, read 2 MiB a slice. */
export const DEFAULT_COMPACTION_CONFIG: CompactionConfig = {
  minFilesToCompact: 5,
  maxFilesToCompact: 100,
  targetFileSizeBytes: 128 * 1024 * 1024,
  autoCompact: true,
  compactionIntervalMs: 3_600_000,
  maxBytesPerStep: 128 * 1024 * 1024,
  maxBytesPerSlice: 2 * 1024 * 1024,
};

/** A live file of a snapshot with its data sequence number. */
export interface LiveFile {
  file: DataFile;
  specId: number;
  seq: bigint;
}

/** A table's current snapshot as compaction sees it: its manifests (with entries) and live files. */
export interface TableFiles {
  snapshot: Snapshot;
  manifests: Array<{ file: ManifestFile; entries: ManifestEntry[] }>;
  data: LiveFile[];
  deletes: LiveFile[];
}

/** One partition's compaction work. */
export interface PartitionCandidate {
  specId: number;
  partition: PartitionTuple;
  /** Small data files in the partition (all of them, not only this step's). */
  smallFiles: number;
  smallBytes: bigint;
  /** The files one step rewrites. */
  files: LiveFile[];
  /** Position delete files of the partition (they may reference the rewritten files). */
  deletes: LiveFile[];
  /** Why the partition is not compacted, when it is not. */
  skipped?: string;
}

/** Reads the current snapshot's manifests; undefined for a table without snapshots. */
export async function readTableFiles(m: TableMetadata, store: ObjectStore, keyFor: (l: string) => string): Promise<TableFiles | undefined> {
  const id = currentSnapshotId(m);
  const snapshot = id === null ? undefined : m.snapshots.find((s) => s["snapshot-id"] === id);
  if (!snapshot) return undefined;
  const get = async (location: string) => {
    const bytes = await store.get(keyFor(location));
    if (!bytes) throw new Error(`file of the current snapshot is missing: ${location}`);
    return bytes;
  };
  const schema = m.schemas.find((s) => s["schema-id"] === m["current-schema-id"])!;
  const out: TableFiles = { snapshot, manifests: [], data: [], deletes: [] };
  for (const mf of readManifestList(await get(snapshot["manifest-list"]))) {
    const spec = m["partition-specs"].find((s) => s["spec-id"] === mf.partitionSpecId);
    if (!spec) throw new Error(`partition spec ${mf.partitionSpecId} of ${mf.manifestPath} is not in the table metadata`);
    const entries = readManifest(await get(mf.manifestPath), spec, schema);
    out.manifests.push({ file: mf, entries });
    for (const e of entries) {
      if (e.status === EntryStatus.DELETED) continue;
      const live = { file: e.dataFile, specId: mf.partitionSpecId, seq: e.sequenceNumber ?? mf.sequenceNumber };
      (e.dataFile.content === FileContent.DATA ? out.data : out.deletes).push(live);
    }
  }
  return out;
}

/** The partitions worth compacting (and those skipped, with why), most small files first. */
export function compactionCandidates(files: TableFiles, config: CompactionConfig): PartitionCandidate[] {
  const groups = new Map<string, PartitionCandidate>();
  const group = (f: LiveFile) => {
    const key = `${f.specId}/${tupleKey(f.file.partition)}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { specId: f.specId, partition: f.file.partition, smallFiles: 0, smallBytes: 0n, files: [], deletes: [] }));
    return g;
  };
  const limit = BigInt(Math.min(config.targetFileSizeBytes, config.maxBytesPerStep));
  for (const f of files.data) {
    if (f.file.fileSizeInBytes >= limit) continue;
    const g = group(f);
    g.smallFiles++;
    g.smallBytes += f.file.fileSizeInBytes;
    g.files.push(f);
  }
  for (const d of files.deletes) group(d).deletes.push(d);
  const out: PartitionCandidate[] = [];
  for (const g of groups.values()) {
    if (g.smallFiles < Math.max(2, config.minFilesToCompact)) continue;
    const odd = g.files.find((f) => f.file.fileFormat.toUpperCase() !== "PARQUET") ?? g.deletes.find((d) => d.file.content !== FileContent.POSITION_DELETES || d.file.fileFormat.toUpperCase() !== "PARQUET");
    if (odd) g.skipped = `${odd.file.filePath}: ${odd.file.content === FileContent.EQUALITY_DELETES ? "equality deletes" : `${odd.file.fileFormat} files`} are not compacted`;
    // Oldest first (data sequence number): the files most rows were deleted from, and a stable order.
    g.files.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
    const step: LiveFile[] = [];
    let bytes = 0n;
    for (const f of g.files) {
      if (step.length >= config.maxFilesToCompact) break;
      if (step.length >= 2 && bytes + f.file.fileSizeInBytes > BigInt(config.maxBytesPerStep)) break;
      step.push(f);
      bytes += f.file.fileSizeInBytes;
    }
    g.files = step;
    out.push(g);
  }
  return out.sort((a, b) => b.smallFiles - a.smallFiles);
}
