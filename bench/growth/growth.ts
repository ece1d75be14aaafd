// The growth workload of issue 9 with the real CDC writer in Node: one table, 100 changes per flush
// over 1,000 keys, one commit per flush into a local folder (file:// table), with DoLake's
// maintenance defaults or with merging and expiry turned off. Run by bench/growth/run.mjs.
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { writeCdcFlush, type CdcChange, type RowLocation } from "../../src/iceberg/cdc-writer.js";
import { stringifyTableMetadata } from "../../src/iceberg/metadata/json.js";
import type { TableMetadata } from "../../src/iceberg/metadata/types.js";
import type { ObjectStore, ObjectUpload } from "../../src/iceberg/object-store.js";
import { readManifestList } from "../../src/iceberg/manifest-list.js";
import { compactionCandidates, DEFAULT_COMPACTION_CONFIG, readTableFiles } from "../../src/iceberg/compaction-plan.js";
import { compactPartition, remapPosition } from "../../src/iceberg/compaction.js";

setFlagsFromString("--expose-gc");
/** A full collection (V8's gc, exposed for this bench). */
const collectGarbage = runInNewContext("gc") as () => void;

/**
 * A local folder as R2: ranged reads, and multipart uploads whose parts go to disk as they come
 * (as R2 keeps them), so compaction takes its streaming path here as it does in the object.
 */
class FolderStore implements ObjectStore {
  private uploads = 0;
  async put(key: string, bytes: Uint8Array): Promise<void> {
    mkdirSync(dirname(key), { recursive: true });
    writeFileSync(key, bytes);
  }
  async get(key: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(readFileSync(key));
    } catch {
      return null;
    }
  }
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    const fd = openSync(key, "r");
    try {
      const out = new Uint8Array(length);
      const n = readSync(fd, out, 0, length, offset);
      return out.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  }
  async startUpload(key: string): Promise<ObjectUpload> {
    const partsDir = `${key}.upload-${++this.uploads}`;
    mkdirSync(partsDir, { recursive: true });
    const numbers = new Set<number>();
    return {
      uploadId: partsDir,
      uploadPart: async (partNumber, bytes) => {
        writeFileSync(join(partsDir, String(partNumber)), bytes);
        numbers.add(partNumber);
        return { partNumber, etag: String(partNumber) };
      },
      complete: async () => {
        mkdirSync(dirname(key), { recursive: true });
        writeFileSync(key, new Uint8Array(0));
        for (const n of [...numbers].sort((a, b) => a - b)) appendFileSync(key, readFileSync(join(partsDir, String(n))));
        rmSync(partsDir, { recursive: true, force: true });
      },
      abort: async () => rmSync(partsDir, { recursive: true, force: true }),
    };
  }
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One checkpoint row. */
export interface Row {
  flushes: number;
  flushMsMedian: number;
  /** Median CPU time of the same flushes (ms, user + system: steadier than wall time on a loaded machine). */
  flushCpuMsMedian: number;
  /** The changelog's data files and manifests in its current snapshot (a log: its data only grows). */
  changelogFiles: number;
  changelogManifests: number;
  /** The changelog's snapshots and metadata.json size (bytes). */
  changelogSnapshots: number;
  changelogMetadataBytes: number;
  metadataBytes: number;
  manifests: number;
  dataFiles: number;
  deleteFiles: number;
  snapshots: number;
  liveRows: number;
  metadataPath: string;
  expiredFilesDeleted: number;
  /** sha256 of the live rows' "id:name" lines, sorted (what the readers must return). */
  fingerprint: string;
  /** Compaction steps so far, and the most live heap (after a full collection) a step since the last checkpoint held at a yield above its baseline, MB. */
  compactions: number;
  compactionHeapMb: number;
}

/** sha256 hex of sorted lines. */
export async function fingerprint(lines: string[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode([...lines].sort().join("\n")));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Runs `flushes` flushes; calls `checkpoint` every `every` flushes. */
export async function run(dir: string, flushes: number, every: number, maintenance: boolean, checkpoint: (r: Row) => Promise<void>, stepBytes = DEFAULT_COMPACTION_CONFIG.maxBytesPerStep): Promise<void> {
  const compaction = { ...DEFAULT_COMPACTION_CONFIG, maxBytesPerStep: stepBytes };
  rmSync(dir, { recursive: true, force: true });
  const store = new FolderStore();
  const rnd = prng(9);
  const index = new Map<string, RowLocation>();
  const live = new Map<number, string>();
  let compactions = 0;
  let compactionHeapMb = 0;
  let mirror: TableMetadata | undefined;
  let changelog: TableMetadata | undefined;
  let snap = 1n << 60n;
  let clock = 1_800_000_000_000n;
  let seq = 0n;
  let deletedTotal = 0;
  const properties: Record<string, string> = maintenance ? {} : { "commit.manifest-merge.enabled": "false", "history.expire.max-snapshot-age-ms": String(10n ** 15n) };
  let times: number[] = [];
  let cpuTimes: number[] = [];
  for (let f = 1; f <= flushes; f++) {
    const changes: CdcChange[] = [];
    for (let i = 0; i < 100; i++) {
      const k = Math.floor(rnd() * 1000);
      const base = { rowId: String(k), sequence: ++seq, timestamp: clock, source: "bench", before: null, metadata: null };
      const after = { id: k, name: `n${k}-${f}`, amount: Math.floor(rnd() * 1e6) / 100, note: `flush ${f}` };
      if (!live.has(k)) { changes.push({ ...base, operation: "INSERT", after }); live.set(k, after.name); }
      else if (rnd() < 0.8) { changes.push({ ...base, operation: "UPDATE", after }); live.set(k, after.name); }
      else { changes.push({ ...base, operation: "DELETE", after: null }); live.delete(k); }
    }
    clock += 60_000n; // one flush a minute
    const now = clock;
    const t = performance.now();
    const cpu = process.cpuUsage();
    const r = await writeCdcFlush({
      mirror, changelog, changes, store,
      index: { lookup: (ids) => new Map(ids.flatMap((id) => (index.has(id) ? [[id, index.get(id)!] as const] : []))) },
      options: { location: `file://${join(dir, "orders")}`, properties, changelogProperties: properties },
      clock: () => now, newSnapshotId: () => (snap += 7n),
    });
    for (const id of r.index.deletes) index.delete(id);
    for (const [id, loc] of r.index.upserts) index.set(id, loc);
    mirror = r.mirror!.metadata;
    changelog = r.changelog!.metadata;
    for (const loc of [...r.mirror!.expiredFiles, ...r.changelog!.expiredFiles]) {
      rmSync(loc.replace("file://", ""), { force: true });
      deletedTotal++;
    }
    times.push(performance.now() - t);
    const used = process.cpuUsage(cpu);
    cpuTimes.push((used.user + used.system) / 1000);
    // Compaction every hour of the table's clock (compactionIntervalMs), steps until none is due.
    if (maintenance && f % 60 === 0) {
      for (const [which, key] of [["mirror", "orders"], ["changelog", "orders__changelog"]] as const) {
        for (let step = 0; step < 50; step++) {
          const m = which === "mirror" ? mirror : changelog;
          const files = await readTableFiles(m, store, (l) => l.replace("file://", ""));
          const candidate = files && compactionCandidates(files, compaction).find((c) => !c.skipped);
          if (!files || !candidate) break;
          // What the step holds: the heap after a full collection, above the baseline, at every
          // point where the step yields (between row groups and R2 calls), and at its end.
          collectGarbage();
          const heap = process.memoryUsage().heapUsed;
          let peak = heap;
          const live = () => {
            collectGarbage();
            peak = Math.max(peak, process.memoryUsage().heapUsed);
          };
          const sampler = setInterval(live, 1);
          const written: string[] = [];
          const r = await compactPartition({ metadata: m, files, candidate, store, keyFor: (l) => l.replace("file://", ""), now, snapshotId: (snap += 7n), parquet: {}, targetFileSizeBytes: DEFAULT_COMPACTION_CONFIG.targetFileSizeBytes, written });
          clearInterval(sampler);
          compactionHeapMb = Math.max(compactionHeapMb, (peak - heap) / 1e6);
          compactions++;
          if (which === "mirror") {
            for (const [id, loc] of index) {
              const to = remapPosition(r.remap, loc.filePath, Number(loc.pos));
              if (to === null) throw new Error(`index entry ${id} points at a deleted row`);
              if (to) index.set(id, { ...loc, filePath: to.filePath, pos: BigInt(to.pos) });
            }
            mirror = r.commit.metadata;
          } else changelog = r.commit.metadata;
          await store.put(join(dir, key, "metadata", `${String(f).padStart(6, "0")}-c${step}.metadata.json`), new TextEncoder().encode(stringifyTableMetadata(r.commit.metadata)));
          for (const loc of r.commit.expiredFiles) {
            rmSync(loc.replace("file://", ""), { force: true });
            deletedTotal++;
          }
        }
      }
    }
    if (f % every === 0) {
      const metadataPath = join(dir, "orders", "metadata", `${String(f).padStart(6, "0")}.metadata.json`);
      await store.put(metadataPath, new TextEncoder().encode(stringifyTableMetadata(mirror)));
      const head = mirror.snapshots.find((s) => s["snapshot-id"] === mirror!["current-snapshot-id"])!;
      const list = readManifestList((await store.get(head["manifest-list"].replace("file://", "")))!);
      const sorted = [...times].sort((a, b) => a - b);
      const logHead = changelog!.snapshots.find((x) => x["snapshot-id"] === changelog!["current-snapshot-id"])!;
      const logList = readManifestList((await store.get(logHead["manifest-list"].replace("file://", "")))!);
      await checkpoint({
        flushes: f,
        flushMsMedian: sorted[Math.floor(sorted.length / 2)]!,
        flushCpuMsMedian: [...cpuTimes].sort((a, b) => a - b)[Math.floor(cpuTimes.length / 2)]!,
        changelogFiles: Number(logHead.summary["total-data-files"]),
        changelogManifests: logList.length,
        changelogSnapshots: changelog!.snapshots.length,
        changelogMetadataBytes: new TextEncoder().encode(stringifyTableMetadata(changelog!)).byteLength,
        metadataBytes: statSync(metadataPath).size,
        manifests: list.length,
        dataFiles: Number(head.summary["total-data-files"]),
        deleteFiles: Number(head.summary["total-delete-files"]),
        snapshots: mirror.snapshots.length,
        liveRows: live.size,
        metadataPath,
        expiredFilesDeleted: deletedTotal,
        fingerprint: await fingerprint([...live].map(([k, name]) => `${k}:${name}`)),
        compactions,
        compactionHeapMb,
      });
      times = [];
      cpuTimes = [];
      compactionHeapMb = 0;
    }
  }
}
