// Interop step 1 (run by scripts/interop.mjs, not by the unit suite): a seeded random CDC workload
// of INSERT/UPDATE/DELETE over several tables and repeated flushes, written by the real CDC writer
// into $INTEROP_OUT as file:// Iceberg tables, plus an oracle (expected state after every flush,
// expected changelog) that test_interop.py checks with pyiceberg, DuckDB and fastavro/avro.
// Every INTEROP_COMPACT_EVERY flushes (but not in the last two, so the final state still has delete
// files), the mirror and changelog are compacted (src/iceberg/compaction.ts) and the index follows,
// so later UPDATEs/DELETEs land on compacted rows and time travel crosses replace snapshots.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { expect, it } from "vitest";
import { compactionCandidates, DEFAULT_COMPACTION_CONFIG, readTableFiles } from "../../src/iceberg/compaction-plan.js";
import { compactPartition, remapPosition } from "../../src/iceberg/compaction.js";
import { writeCdcFlush, type CdcChange, type CdcWriterOptions, type RowLocation } from "../../src/iceberg/cdc-writer.js";
import { stringifyTableMetadata } from "../../src/iceberg/metadata/json.js";
import type { TableMetadata } from "../../src/iceberg/metadata/types.js";
import type { ObjectStore } from "../../src/iceberg/object-store.js";
import { stringifyJson, type JsonObject } from "../../src/util/json.js";

const OUT = process.env.INTEROP_OUT ?? "";
const SEED = Number(process.env.INTEROP_SEED ?? "20261121");
const FLUSHES = Number(process.env.INTEROP_FLUSHES ?? "6");
const CHANGES_PER_FLUSH = Number(process.env.INTEROP_CHANGES ?? "300");
const COMPACT_EVERY = Number(process.env.INTEROP_COMPACT_EVERY ?? "2");
const COMPACTION = { ...DEFAULT_COMPACTION_CONFIG, minFilesToCompact: 2 };

/** A folder as the object store: keys are absolute paths (file:// locations). */
class FolderStore implements ObjectStore {
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
}

/** mulberry32: a small seeded PRNG so the workload is reproducible. */
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

interface TableSpec {
  name: string;
  options: Partial<CdcWriterOptions>;
  /** Builds a row image for id in flush f. */
  image: (id: number, f: number, rnd: () => number) => JsonObject;
}

const BIG = 9007199254740993n; // 2^53 + 1: a JS number would round it
const WORDS = ["lake", "iceberg", "parquet", "snapshot", "manifest", "ack", "flush", "durable", "object", "café", "naïve", "日本", "ü"];
const iso = (ms: number) => new Date(ms).toISOString().replace("Z", "000Z"); // micros precision text

const TABLES: TableSpec[] = [
  {
    name: "orders",
    options: {},
    image: (id, f, rnd) => ({
      id,
      customer: `cust-${Math.floor(rnd() * 50)}`,
      amount: Math.floor(rnd() * 100000) / 100 + 0.005,
      big: BIG + BigInt(id) * 1000000007n,
      paid: rnd() < 0.5,
      lines: [{ sku: `s${id}`, qty: 1 + Math.floor(rnd() * 3) }],
      ...(f >= 3 ? { note: rnd() < 0.3 ? null : `note ${f}` } : {}),
    }),
  },
  {
    name: "events",
    options: { detectTimestamps: true, partitionBy: [{ column: "at", transform: "day" }], compression: "gzip" },
    image: (id, f, rnd) => ({
      id,
      kind: ["click", "view", "buy"][Math.floor(rnd() * 3)]!,
      at: iso(Date.UTC(2024, 0, 1 + Math.floor(rnd() * 5), Math.floor(rnd() * 24)) + Math.floor(rnd() * 1000)),
      score: rnd() * 10 + 0.25,
      meta: { f, r: Math.floor(rnd() * 9) },
    }),
  },
  {
    name: "users",
    // merges manifests every few flushes, so readers see merged (EXISTING) entries
    options: { partitionBy: [{ column: "id", transform: "bucket[4]" }], rowGroupRows: 64, targetFileSizeBytes: 8 * 1024, properties: { "commit.manifest.min-count-to-merge": "3" } },
    image: (id, f, rnd) => ({ id, email: `u${id}@example.com`, visits: Math.floor(rnd() * 1000) + f, vip: rnd() < 0.1 }),
  },
  {
    name: "docs",
    // ~6 KB of text per row (some null): a flush's string column chunks exceed the writer's 1 MiB
    // page size, so readers get chunks of several data pages (src/parquet/column-chunk.ts).
    options: {},
    image: (id, f, rnd) => ({ id, title: `doc ${id} v${f}`, body: rnd() < 0.1 ? null : Array.from({ length: 800 + Math.floor(rnd() * 200) }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(" ") }),
  },
];

it("produces tables and the oracle", async () => {
  expect(OUT).not.toBe("");
  const store = new FolderStore();
  const rnd = prng(SEED);
  const manifest: Record<string, unknown> = { seed: SEED, tables: {} };
  let snap = 1n << 60n; // every snapshot id exceeds 2^53
  let clock = 1_750_000_000_000n;
  let sequence = 1_000_000_000_000n;

  for (const t of TABLES) {
    const location = `file://${join(OUT, "warehouse", "ns", t.name)}`;
    const index = new Map<string, RowLocation>();
    const state = new Map<string, JsonObject>(); // the oracle: the source table's rows
    const live: number[] = [];
    let nextId = 1;
    let mirror: TableMetadata | undefined;
    let changelog: TableMetadata | undefined;
    let version = 0;
    const flushes: unknown[] = [];
    const allChanges: unknown[] = [];
    for (let f = 0; f < FLUSHES; f++) {
      const changes: CdcChange[] = [];
      for (let i = 0; i < CHANGES_PER_FLUSH; i++) {
        const r = rnd();
        let c: CdcChange;
        sequence++;
        const base = { sequence, timestamp: clock + BigInt(i), source: `do-${t.name}`, metadata: { txn: f * 1000 + i } };
        if (r < 0.5 || live.length === 0) {
          const id = nextId++;
          const after = t.image(id, f, rnd);
          c = { ...base, operation: "INSERT", rowId: String(id), before: null, after };
          state.set(String(id), after);
          live.push(id);
        } else if (r < 0.8) {
          const id = rnd() < 0.05 ? nextId++ : live[Math.floor(rnd() * live.length)]!; // some UPDATEs of never-seen rows
          const after = t.image(id, f, rnd);
          c = { ...base, operation: "UPDATE", rowId: String(id), before: state.get(String(id)) ?? null, after };
          if (!state.has(String(id))) live.push(id);
          state.set(String(id), after);
        } else {
          const unknown = rnd() < 0.05;
          const pick = Math.floor(rnd() * live.length);
          const id = unknown ? 10_000_000 + i : live[pick]!;
          c = { ...base, operation: "DELETE", rowId: String(id), before: state.get(String(id)) ?? null, after: null };
          if (!unknown) {
            live.splice(pick, 1);
            state.delete(String(id));
          }
        }
        changes.push(c);
        allChanges.push({ operation: c.operation, sequence: c.sequence, row_id: c.rowId, source: c.source, source_timestamp_ms: c.timestamp, after: c.after, before: c.before, metadata: c.metadata });
      }
      clock += 60_000n;
      const now = clock;
      const r = await writeCdcFlush({
        mirror, changelog, changes, store,
        index: { lookup: (ids) => new Map(ids.flatMap((id) => (index.has(id) ? [[id, index.get(id)!] as const] : []))) },
        options: { location, ...t.options },
        clock: () => now,
        newSnapshotId: () => (snap += 7919n),
      });
      for (const id of r.index.deletes) index.delete(id);
      for (const [id, loc] of r.index.upserts) index.set(id, loc);
      version++;
      const files: Record<string, string> = {};
      for (const [kind, commit] of [["mirror", r.mirror], ["changelog", r.changelog]] as const) {
        if (!commit) continue;
        if (kind === "mirror") mirror = commit.metadata;
        else changelog = commit.metadata;
        const path = `${commit.metadata.location.replace("file://", "")}/metadata/${String(version).padStart(5, "0")}-${crypto.randomUUID()}.metadata.json`;
        await store.put(path, new TextEncoder().encode(stringifyTableMetadata(commit.metadata, 2)));
        files[kind] = path;
      }
      let compactions = 0;
      if (COMPACT_EVERY > 0 && (f + 1) % COMPACT_EVERY === 0 && f < FLUSHES - 2) {
        for (const kind of ["mirror", "changelog"] as const) {
          for (let step = 0; step < 20; step++) {
            const m = kind === "mirror" ? mirror : changelog;
            const keyFor = (l: string) => l.replace("file://", "");
            const tableFiles = m && (await readTableFiles(m, store, keyFor));
            const candidate = tableFiles && compactionCandidates(tableFiles, COMPACTION).find((c) => !c.skipped);
            if (!m || !tableFiles || !candidate) break;
            const c = await compactPartition({ metadata: m, files: tableFiles, candidate, store, keyFor, now, snapshotId: (snap += 7919n), parquet: { compression: t.options.compression, rowGroupRows: t.options.rowGroupRows }, targetFileSizeBytes: t.options.targetFileSizeBytes ?? COMPACTION.targetFileSizeBytes, written: [] });
            if (kind === "mirror") {
              for (const [id, loc] of index) {
                const to = remapPosition(c.remap, loc.filePath, Number(loc.pos));
                if (to === null) throw new Error(`index entry ${id} points at a deleted row`);
                if (to) index.set(id, { ...loc, filePath: to.filePath, pos: BigInt(to.pos) });
              }
              mirror = c.commit.metadata;
            } else changelog = c.commit.metadata;
            compactions++;
            const path = `${c.commit.metadata.location.replace("file://", "")}/metadata/${String(version).padStart(5, "0")}-c${step}-${crypto.randomUUID()}.metadata.json`;
            await store.put(path, new TextEncoder().encode(stringifyTableMetadata(c.commit.metadata, 2)));
          }
        }
        expect(compactions).toBeGreaterThan(0);
      }
      flushes.push({ compactions, metadata: files, mirror_snapshot_id: r.mirror?.snapshot["snapshot-id"] ?? null, changelog_snapshot_id: r.changelog!.snapshot["snapshot-id"], state: Object.fromEntries(state), commit_ms: now });
    }
    (manifest.tables as Record<string, unknown>)[t.name] = { location, options: t.options, flushes, changes: allChanges };
  }
  writeFileSync(join(OUT, "oracle.json"), stringifyJson(manifest));
}, 120_000);
