// The primary-key index reads through a compaction's position map between the pointer swap and the
// end of the fold (src/flush/pk-remap.ts): the swap moves no entry, so every lookup in that window
// (a flush's UPDATE/DELETE, an external engine's position delete) must translate entries that still
// name a rewritten file. A crash right after the swap, a fold interrupted half-way and an eviction
// mid-fold must lose nothing; the next step finishes the fold. Without the translation the CDC
// updates below would write their deletes against removed files (old versions stay live: duplicates).
import { evictDurableObject, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { DoLake } from "../../../src/do/dolake.js";
import { compactStep } from "../../../src/flush/compactor.js";
import { SqlPrimaryKeyIndex } from "../../../src/flush/pk-index.js";
import { foldRemaps } from "../../../src/flush/pk-remap.js";
import { R2ObjectStore } from "../../../src/flush/r2-store.js";
import { writePositionDeletes } from "../../../src/iceberg/position-deletes.js";
import { commitSnapshot } from "../../../src/iceberg/table-commit.js";
import { stringifyJson } from "../../../src/util/json.js";
import { env } from "cloudflare:test";
import { AUTH, closeAll, openSocket } from "../helpers.js";
import { key, lake, liveFiles, load, rows, Workload } from "./compaction-helpers.js";

afterEach(closeAll);

/** Index entries of the table by state: naming a live file, or a file a compaction retired (unfolded). */
function entryStates(obj: DoLake, table: string): { live: number; retired: number; maps: number } {
  const sql = obj.storage.sql;
  const r = sql
    .exec<{ live: number; retired: number }>(
      "SELECT sum(f.retired_by IS NULL) AS live, sum(f.retired_by IS NOT NULL) AS retired FROM cdc_pk_index i JOIN cdc_pk_files f ON f.id = i.file_id WHERE i.table_key = ?",
      `default.${table}`,
    )
    .one();
  const maps = sql.exec<{ n: number }>("SELECT count(*) AS n FROM cdc_pk_compactions WHERE table_key = ?", `default.${table}`).one().n;
  return { live: Number(r.live ?? 0), retired: Number(r.retired ?? 0), maps: Number(maps) };
}

/** Where the index says each row id is now (through the map while it is unfolded). */
async function located(table: string, ids: string[]): Promise<Map<string, { filePath: string; pos: bigint }>> {
  return runInDurableObject(lake(), (obj: DoLake) => new SqlPrimaryKeyIndex(obj.storage.sql, `default.${table}`).lookup(ids));
}

const ident = (name: string) => ({ namespace: ["default"], name });

describe("compaction's position map", () => {
  it("is read through after a crash at the swap, a fold stopped half-way and an eviction mid-fold; the next step folds the rest", async () => {
    const w = new Workload(await openSocket(), "remap-1", "remap_a");
    await w.seed();
    // A crash right after the swap: the step's pointer and map are committed, no entry has moved.
    const crashed = await runInDurableObject(lake(), async (obj: DoLake) => {
      const err = await compactStep(obj, obj.maintenance.metrics, ident("remap_a"), { afterCommit: async () => { throw new Error("crash after the swap"); } }).catch((e: Error) => e.message);
      return { err, states: entryStates(obj, "remap_a") };
    });
    expect(crashed.err).toBe("crash after the swap");
    expect(crashed.states).toEqual({ live: 0, retired: w.live.size, maps: 1 });
    const [compacted] = (await liveFiles("remap_a")).data;
    expect((await liveFiles("remap_a")).data).toHaveLength(1);
    const where = await located("remap_a", [...w.live.keys()].map((id) => `r${id}`));
    expect(where.size).toBe(w.live.size);
    for (const loc of where.values()) expect(loc.filePath).toBe(compacted);
    expect(new Set([...where.values()].map((l) => l.pos)).size).toBe(w.live.size);
    expect(await rows("remap_a")).toEqual(w.expected());

    // CDC updates and deletes of rows whose entries still name the rewritten files.
    await w.send([["UPDATE", 1], ["UPDATE", 62], ["DELETE", 3], ["DELETE", 131], ["UPDATE", 99]]);
    expect(await rows("remap_a")).toEqual(w.expected());

    // A fold stopped after its first chunk (an exception where it yields): part of the entries moved.
    const half = await runInDurableObject(lake(), async (obj: DoLake) => {
      let pauses = 0;
      const storage = { sql: obj.storage.sql, transactionSync: <T>(fn: () => T) => obj.storage.transactionSync(fn) };
      const err = await foldRemaps(storage, "default.remap_a", async () => { if (++pauses === 2) throw new Error("evicted mid-fold"); }).catch((e: Error) => e.message);
      return { err, states: entryStates(obj, "remap_a") };
    });
    expect(half.err).toBe("evicted mid-fold");
    expect(half.states.retired).toBeGreaterThan(0);
    expect(half.states.live).toBeGreaterThan(0);
    expect(half.states.maps).toBe(1);
    await w.send([["UPDATE", 2], ["DELETE", 100], ["UPDATE", 110], ["INSERT", 3], ["UPDATE", 40]]);
    expect(await rows("remap_a")).toEqual(w.expected());

    // A real eviction: the half-folded map lives in SQLite and is read through by the new instance.
    closeAll();
    await evictDurableObject(lake());
    w.reconnect(await openSocket());
    await w.send([["UPDATE", 5], ["DELETE", 6], ["UPDATE", 70], ["UPDATE", 3]]);
    expect(await rows("remap_a")).toEqual(w.expected());

    // The next step (nothing is due) folds what is left and drops the map.
    const run = await SELF.fetch("http://lake/v1/compaction/run", { method: "POST", headers: AUTH, body: JSON.stringify({ table: "remap_a" }) });
    expect(run.status, await run.text()).toBe(200);
    const done = await runInDurableObject(lake(), (obj: DoLake) => ({
      states: entryStates(obj, "remap_a"),
      leftovers: obj.storage.sql.exec<{ n: number }>("SELECT (SELECT count(*) FROM cdc_pk_remap) + (SELECT count(*) FROM cdc_pk_outputs) + (SELECT count(*) FROM cdc_pk_files WHERE retired_by IS NOT NULL) AS n").one().n,
    }));
    expect(done.states).toMatchObject({ retired: 0, maps: 0, live: w.live.size });
    expect(done.leftovers).toBe(0);
    await w.send([["UPDATE", 7], ["DELETE", 8], ["UPDATE", 62]]);
    expect(await rows("remap_a")).toEqual(w.expected());
  });

  it("an external position delete on the compacted file before the fold forgets the entry that still names the old file", async () => {
    const w = new Workload(await openSocket(), "remap-2", "remap_b");
    await w.seed();
    const target = "r50";
    const outcome = await runInDurableObject(lake(), async (obj: DoLake) => {
      const index = new SqlPrimaryKeyIndex(obj.storage.sql, "default.remap_b");
      let during: { before?: { filePath: string; pos: bigint }; status?: number; body?: string; after?: boolean; retired?: number } = {};
      await compactStep(obj, obj.maintenance.metrics, ident("remap_b"), {
        afterCommit: async () => {
          const before = index.lookup([target]).get(target)!;
          const base = await load("remap_b");
          const path = `${base.location}/data/external-delete-${crypto.randomUUID()}.parquet`;
          const del = writePositionDeletes(path, [], [{ filePath: before.filePath, pos: before.pos }]);
          await env.LAKEHOUSE_BUCKET.put(key(path), del.bytes);
          const c = await commitSnapshot({
            base, createUpdates: [], dataFiles: [], deleteFiles: [del.dataFile], store: new R2ObjectStore(env.LAKEHOUSE_BUCKET), keyFor: key,
            now: BigInt(Date.now()), snapshotId: 7_100_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e6)), uuid: () => crypto.randomUUID(), written: [],
          });
          const res = await SELF.fetch("http://lake/v1/namespaces/default/tables/remap_b", { method: "POST", headers: { ...AUTH, "Content-Type": "application/json" }, body: stringifyJson({ requirements: c.requirements, updates: c.updates }) });
          during = { before, status: res.status, body: await res.text(), after: index.lookup([target]).has(target), retired: entryStates(obj, "remap_b").retired };
        },
      });
      return { during, after: index.lookup([target]).has(target) };
    });
    expect(outcome.during.status, outcome.during.body).toBe(200);
    expect(outcome.during.before?.filePath).toBe((await liveFiles("remap_b")).data[0]);
    // The entry named the old file (the map was unfolded) and is gone all the same.
    expect(outcome.during.retired).toBe(w.live.size - 1);
    expect(outcome.during.after).toBe(false);
    expect(outcome.after).toBe(false);
    w.live.delete(50);
    expect(await rows("remap_b")).toEqual(w.expected());
  });

  it("remaps position deletes another engine commits between a step's read and its commit onto the new file (no redo, no lost delete)", async () => {
    const w = new Workload(await openSocket(), "remap-3", "remap_c");
    await w.seed();
    const victims = ["r10", "r77", "r101"];
    const outcome = await runInDurableObject(lake(), async (obj: DoLake) => {
      const index = new SqlPrimaryKeyIndex(obj.storage.sql, "default.remap_c");
      let status = 0;
      const conflicts = obj.maintenance.metrics.conflicts;
      const step = await compactStep(obj, obj.maintenance.metrics, ident("remap_c"), {
        // The step has read every file and written its output; the external DELETE lands on the old files.
        beforeCommit: async () => {
          const at = [...index.lookup(victims).values()];
          const base = await load("remap_c");
          const path = `${base.location}/data/spark-delete-${crypto.randomUUID()}.parquet`;
          const del = writePositionDeletes(path, [], at);
          await env.LAKEHOUSE_BUCKET.put(key(path), del.bytes);
          const c = await commitSnapshot({
            base, createUpdates: [], dataFiles: [], deleteFiles: [del.dataFile], store: new R2ObjectStore(env.LAKEHOUSE_BUCKET), keyFor: key,
            now: BigInt(Date.now()), snapshotId: 7_200_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e6)), uuid: () => crypto.randomUUID(), written: [],
          });
          const res = await SELF.fetch("http://lake/v1/namespaces/default/tables/remap_c", { method: "POST", headers: { ...AUTH, "Content-Type": "application/json" }, body: stringifyJson({ requirements: c.requirements, updates: c.updates }) });
          status = res.status;
          await res.arrayBuffer();
        },
      });
      return { step, status, conflicts: obj.maintenance.metrics.conflicts - conflicts, left: index.lookup(victims).size };
    });
    expect(outcome.status).toBe(200);
    expect(outcome.conflicts).toBe(1);
    // One pass: the six seeded files rewritten once, the three external deletes carried onto the new file.
    expect(outcome.step).toMatchObject({ rewrittenFiles: 6, addedFiles: 1, deletesRemapped: 3, retiredDeleteFiles: 6 });
    expect(outcome.left).toBe(0);
    for (const v of victims) w.live.delete(Number(v.slice(1)));
    const files = await liveFiles("remap_c");
    expect(files).toMatchObject({ operation: "replace" });
    expect(files.data).toHaveLength(1);
    expect(files.deletes).toHaveLength(1);
    expect(await rows("remap_c")).toEqual(w.expected());
    // CDC goes on over the remapped table: the index still follows every row.
    await w.send([["UPDATE", 11], ["DELETE", 12], ["INSERT", 10], ["UPDATE", 100]]);
    expect(await rows("remap_c")).toEqual(w.expected());
  });
});
