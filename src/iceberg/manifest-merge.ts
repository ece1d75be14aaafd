/**
 * Manifest merging at commit time, with Iceberg's semantics (Java's ManifestMergeManager, table
 * properties `commit.manifest-merge.enabled`, `commit.manifest.min-count-to-merge`,
 * `commit.manifest.target-size-bytes`): per content (data, deletes) and partition spec, manifests
 * are bin-packed from the end to the target size; a bin of one stays, the bin holding the
 * commit's first manifest stays while it has fewer than min-count manifests, every other bin is
 * rewritten as one manifest. A merged entry keeps its snapshot id and sequence numbers (spec
 * "Sequence Number Inheritance": they are written explicitly as EXISTING), entries ADDED by this
 * snapshot stay ADDED, and DELETED entries of earlier snapshots are dropped.
 */
import { bindSpec } from "./avro-schema.js";
import { EntryStatus, type ManifestEntry, type ManifestFile } from "./data-file.js";
import { readManifest, writeManifest } from "./manifest.js";
import { summarizeManifest } from "./manifest-list.js";
import type { PartitionSpec, Schema } from "./metadata/types.js";
import type { ObjectStore } from "./object-store.js";

/** How a table merges manifests. */
export interface MergePolicy {
  enabled: boolean;
  minCountToMerge: number;
  targetSizeBytes: number;
}

/** Iceberg's defaults (Java TableProperties), used for properties a table does not set. */
export const ICEBERG_MERGE_DEFAULTS: MergePolicy = { enabled: true, minCountToMerge: 100, targetSizeBytes: 8 << 20 };

/** The merge policy of a table from its properties. */
export function mergePolicy(properties: Record<string, string> | undefined): MergePolicy {
  const p = properties ?? {};
  const int = (key: string, fallback: number) => {
    const v = Number(p[key]);
    return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
  };
  return {
    enabled: (p["commit.manifest-merge.enabled"] ?? "true").toLowerCase() !== "false",
    minCountToMerge: int("commit.manifest.min-count-to-merge", ICEBERG_MERGE_DEFAULTS.minCountToMerge),
    targetSizeBytes: int("commit.manifest.target-size-bytes", ICEBERG_MERGE_DEFAULTS.targetSizeBytes),
  };
}

/** A manifest the commit created, not yet written. */
export interface NewManifest {
  file: ManifestFile;
  bytes: Uint8Array;
  entries: ManifestEntry[];
}

/** What merging needs about the snapshot being committed. */
export interface MergeContext {
  schema: Schema;
  specs: PartitionSpec[];
  snapshotId: bigint;
  sequenceNumber: bigint;
  store: ObjectStore;
  keyFor: (location: string) => string;
  /** A fresh manifest location. */
  newPath: () => string;
  /** Locations written are appended here. */
  written: string[];
  policy: MergePolicy;
}

/** The snapshot's manifest list entries and the counts for its summary. */
export interface MergedManifests {
  manifests: ManifestFile[];
  created: number;
  kept: number;
  replaced: number;
}

type Item = { file: ManifestFile; fresh?: NewManifest };

/** Writes the commit's new manifests, merged with the parent's per the policy; see the module comment. */
export async function finishManifests(ctx: MergeContext, fresh: NewManifest[], parent: ManifestFile[]): Promise<MergedManifests> {
  const out: MergedManifests = { manifests: [], created: 0, kept: 0, replaced: 0 };
  for (const content of [0, 1] as const) {
    const items: Item[] = [...fresh.filter((m) => m.file.content === content).map((m) => ({ file: m.file, fresh: m })), ...parent.filter((m) => m.content === content).map((file) => ({ file }))];
    if (items.length === 0) continue;
    const first = items[0]!;
    const bySpec = new Map<number, Item[]>();
    for (const it of items) bySpec.set(it.file.partitionSpecId, [...(bySpec.get(it.file.partitionSpecId) ?? []), it]);
    for (const specId of [...bySpec.keys()].sort((a, b) => b - a)) {
      for (const bin of ctx.policy.enabled ? packEnd(bySpec.get(specId)!, ctx.policy.targetSizeBytes) : bySpec.get(specId)!.map((it) => [it])) {
        if (bin.length === 1 || (bin.includes(first) && bin.length < ctx.policy.minCountToMerge)) {
          for (const it of bin) out.manifests.push(await keep(ctx, it, out));
        } else {
          out.manifests.push(await merge(ctx, specId, content, bin));
          out.created++;
          out.replaced += bin.filter((it) => !it.fresh).length;
        }
      }
    }
  }
  return out;
}

async function keep(ctx: MergeContext, it: Item, out: MergedManifests): Promise<ManifestFile> {
  if (!it.fresh) {
    out.kept++;
    return it.file;
  }
  await ctx.store.put(ctx.keyFor(it.file.manifestPath), it.fresh.bytes);
  ctx.written.push(it.file.manifestPath);
  out.created++;
  return it.file;
}

/** Java's ListPacker.packEnd with lookback 1: bins filled from the end, order kept. */
function packEnd(items: Item[], target: number): Item[][] {
  const bins: Item[][] = [];
  let current: Item[] = [];
  let weight = 0;
  for (let i = items.length - 1; i >= 0; i--) {
    const w = Number(items[i]!.file.manifestLength);
    if (current.length > 0 && weight + w > target) {
      bins.push(current.reverse());
      current = [];
      weight = 0;
    }
    current.push(items[i]!);
    weight += w;
  }
  if (current.length) bins.push(current.reverse());
  return bins.reverse();
}

async function merge(ctx: MergeContext, specId: number, content: 0 | 1, bin: Item[]): Promise<ManifestFile> {
  const spec = ctx.specs.find((s) => s["spec-id"] === specId);
  if (!spec) throw new Error(`partition spec ${specId} of a manifest is not in the table metadata`);
  const entries: ManifestEntry[] = [];
  for (const it of bin) {
    let read = it.fresh?.entries;
    if (!read) {
      const bytes = await ctx.store.get(ctx.keyFor(it.file.manifestPath));
      if (!bytes) throw new Error(`manifest ${it.file.manifestPath} is missing`);
      read = readManifest(bytes, spec, ctx.schema);
    }
    for (const e of read) entries.push(...carry(e, it.file, ctx.snapshotId));
  }
  const bytes = writeManifest({ schema: ctx.schema, spec, content: content === 0 ? "data" : "deletes", entries });
  const path = ctx.newPath();
  await ctx.store.put(ctx.keyFor(path), bytes);
  ctx.written.push(path);
  const place = { manifestPath: path, manifestLength: BigInt(bytes.length), partitionSpecId: specId, content, snapshotId: ctx.snapshotId, sequenceNumber: ctx.sequenceNumber };
  return summarizeManifest(place, entries, bindSpec(spec, ctx.schema));
}

/** An entry as the merged manifest holds it (inherited values made explicit), or none. */
function carry(e: ManifestEntry, from: ManifestFile, snapshotId: bigint): ManifestEntry[] {
  const snap = e.snapshotId ?? from.addedSnapshotId;
  if (e.status === EntryStatus.DELETED) return snap === snapshotId ? [e] : [];
  if (e.status === EntryStatus.ADDED && snap === snapshotId) return [e];
  const seq = e.sequenceNumber ?? from.sequenceNumber;
  return [{ status: EntryStatus.EXISTING, snapshotId: snap, sequenceNumber: seq, fileSequenceNumber: e.fileSequenceNumber ?? from.sequenceNumber, dataFile: e.dataFile }];
}
