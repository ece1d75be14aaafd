// Compaction of CDC mirror tables through the real object (issue 9): a replace snapshot that drops
// deleted rows and retires their delete files, the primary-key index following the rewrite (updates
// and deletes after compaction hit the new file: nothing resurrects or doubles), a flush landing
// between a step's rewrite and its commit (its deletes remapped onto the new file), and the alarm-driven pass that
// resumes from SQLite. Rows are read back through /v1/query, which plans from the manifests and
// delete files (a manifest-level check); pyiceberg/DuckDB read compacted tables in bench/growth and
// test/python/compaction (npm run test:interop).
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { DoLake } from "../../../src/do/dolake.js";
import { MaintenanceScheduler } from "../../../src/do/maintenance.js";
import { compactStep } from "../../../src/flush/compactor.js";
import { FOREGROUND_ACTIVE_MS } from "../../../src/util/pace.js";
import { AUTH, closeAll, configure, openSocket } from "../helpers.js";
import { lake, liveFiles, rows, Workload } from "./compaction-helpers.js";

afterEach(closeAll);

describe("compaction", () => {
  it("rewrites a mirror's small files as a replace snapshot; later updates and deletes hit the new file (no resurrection, no duplicate)", async () => {
    const w = new Workload(await openSocket(), "cmp-1", "cmp_orders");
    await w.seed();
    const before = await liveFiles("cmp_orders");
    expect(before.data).toHaveLength(6);
    expect(before.deletes).toHaveLength(5);

    const res = await SELF.fetch("http://lake/v1/compaction/run", { method: "POST", headers: AUTH, body: JSON.stringify({ namespace: "default", table: "cmp_orders" }) });
    const run = (await res.json()) as { steps: Array<Record<string, number>>; remaining: unknown[] };
    expect(res.status, JSON.stringify(run)).toBe(200);
    expect(run.steps).toHaveLength(1);
    expect(run.steps[0]).toMatchObject({ rewrittenFiles: 6, addedFiles: 1, retiredDeleteFiles: 5, rowsKept: w.live.size, rowsDropped: 15, indexEntriesMoved: w.live.size });
    expect(run.remaining).toEqual([]);
    const after = await liveFiles("cmp_orders");
    expect(after).toMatchObject({ operation: "replace", deletes: [] });
    expect(after.data).toHaveLength(1);
    expect(await rows("cmp_orders")).toEqual(w.expected());

    // Every surviving row's index entry now names the compacted file.
    const located = await runInDurableObject(lake(), (_o: DoLake, state) =>
      state.storage.sql.exec<{ path: string; n: number }>("SELECT f.path AS path, count(*) AS n FROM cdc_pk_index i JOIN cdc_pk_files f ON f.id = i.file_id WHERE i.table_key = 'default.cmp_orders' GROUP BY f.path").toArray(),
    );
    expect(located).toEqual([{ path: after.data[0], n: w.live.size }]);

    // Without the remap these would delete positions of removed files: old versions would stay live.
    await w.send([["UPDATE", 1], ["UPDATE", 62], ["DELETE", 3], ["DELETE", 131], ["INSERT", 3], ["UPDATE", 99]]);
    await w.send([["UPDATE", 3], ["DELETE", 100], ["UPDATE", 110]]);
    expect(await rows("cmp_orders")).toEqual(w.expected());
    const later = await liveFiles("cmp_orders");
    expect(later.data).toContain(after.data[0]);

    // A second compaction folds the compacted file and the new ones together, again exactly.
    const again = await SELF.fetch("http://lake/v1/compaction/run", { method: "POST", headers: AUTH, body: JSON.stringify({ table: "cmp_orders" }) });
    expect(again.status).toBe(200);
    await configure({ compaction: { minFilesToCompact: 2 } });
    const third = (await (await SELF.fetch("http://lake/v1/compaction/run", { method: "POST", headers: AUTH, body: JSON.stringify({ table: "cmp_orders" }) })).json()) as { steps: unknown[] };
    expect(third.steps).toHaveLength(1);
    expect((await liveFiles("cmp_orders")).data).toHaveLength(1);
    await w.send([["UPDATE", 2], ["DELETE", 62], ["UPDATE", 115]]);
    expect(await rows("cmp_orders")).toEqual(w.expected());
    await configure({ compaction: { minFilesToCompact: 5 } });
  });

  it("a flush deleting from the rewritten files between a step's rewrite and its commit: the step commits on top, its deletes remapped onto the new file", async () => {
    const w = new Workload(await openSocket(), "cmp-2", "cmp_race");
    await w.seed();
    // Acked, not flushed: the flush the hook runs writes deletes against the files being rewritten.
    await w.send([["UPDATE", 100], ["DELETE", 111], ["UPDATE", 2]], false);
    const outcome = await runInDurableObject(lake(), async (obj: DoLake) => {
      let raced = false;
      const conflicts = obj.maintenance.metrics.conflicts;
      const step = await compactStep(obj, obj.maintenance.metrics, { namespace: ["default"], name: "cmp_race" }, {
        beforeCommit: async () => {
          if (raced) return;
          raced = true;
          await obj.flushes.run();
        },
      });
      return { step, conflicts: obj.maintenance.metrics.conflicts - conflicts, buffered: obj.buffer.stats().eventCount };
    });
    expect(outcome.buffered).toBe(0);
    expect(outcome.conflicts).toBe(1);
    // Not redone (the flush's file stays for a later step): the flush's three deletes (UPDATE 100,
    // DELETE 111, UPDATE 2) now name the compacted file, and its delete file is retired.
    expect(outcome.step).toMatchObject({ rewrittenFiles: 6, retiredDeleteFiles: 6, deletesRemapped: 3 });
    expect(await rows("cmp_race")).toEqual(w.expected());
    await w.send([["UPDATE", 100], ["DELETE", 2], ["UPDATE", 90]]);
    expect(await rows("cmp_race")).toEqual(w.expected());
  });

  it("runs by itself from the alarm in steps, and a pass left in SQLite (eviction, crash) is resumed by a new scheduler", async () => {
    const a = new Workload(await openSocket(), "cmp-3", "cmp_auto_a");
    await a.seed();
    const b = new Workload(await openSocket(), "cmp-4", "cmp_auto_b");
    await b.seed();
    const metrics = async () => (await (await SELF.fetch("http://lake/v1/compaction/metrics", { headers: AUTH })).json()) as { steps: number; runs: number; lastRunAt?: number };
    const start = await metrics();
    // A one-second interval: the object's own alarm (workerd runs it) starts a pass and steps through it.
    await configure({ compaction: { compactionIntervalMs: 1000 } });
    let m = start;
    for (let i = 0; i < 400 && !(m.steps > start.steps && (m.lastRunAt ?? 0) > 0 && (await liveFiles("cmp_auto_b")).data.length === 1); i++) {
      await new Promise((r) => setTimeout(r, 100));
      m = await metrics();
    }
    await configure({ compaction: { compactionIntervalMs: 3_600_000 } });
    expect(m.steps).toBeGreaterThan(start.steps);
    for (const w of [a, b]) {
      expect((await liveFiles(w.table)).data).toHaveLength(1);
      expect(await rows(w.table)).toEqual(w.expected());
    }

    // A pass interrupted by an eviction: its tables left are in SQLite; a new scheduler goes on with them.
    const c = new Workload(await openSocket(), "cmp-5", "cmp_auto_c");
    await c.seed();
    const resumed = await runInDurableObject(lake(), async (obj: DoLake) => {
      obj.storage.sql.exec("UPDATE dolake_maintenance SET pending = ?, next_due_at = ?", JSON.stringify(["cmp_auto_c"]), Date.now());
      const fresh = new MaintenanceScheduler(obj);
      const first = await fresh.step();
      const second = await fresh.step();
      return { first, second, pending: obj.storage.sql.exec<{ pending: string | null }>("SELECT pending FROM dolake_maintenance").one().pending };
    });
    expect(resumed.first.steps.map((s) => s.table)).toEqual(["default.cmp_auto_c"]);
    expect(resumed.first.tablesLeft).toBe(1);
    expect(resumed.second.tablesLeft).toBe(0);
    expect(resumed.pending).toBeNull();
    expect((await liveFiles("cmp_auto_c")).data).toHaveLength(1);
    expect(await rows("cmp_auto_c")).toEqual(c.expected());
    await c.send([["UPDATE", 5], ["DELETE", 6]]);
    expect(await rows("cmp_auto_c")).toEqual(c.expected());

    const status = (await (await SELF.fetch("http://lake/status", { headers: AUTH })).json()) as { compaction: { autoCompact: boolean; nextRunAt: number } };
    expect(status.compaction.autoCompact).toBe(true);
    expect(status.compaction.nextRunAt).toBeGreaterThan(Date.now());
    expect(await (await SELF.fetch("http://lake/metrics", { headers: AUTH })).text()).toMatch(/dolake_compaction_files_rewritten_total [1-9]/);
    const candidates = (await (await SELF.fetch("http://lake/v1/compaction/candidates", { headers: AUTH })).json()) as { tables: Array<{ table: string; dataFiles: number }> };
    expect(candidates.tables.find((t) => t.table === "default.cmp_auto_a")?.dataFiles).toBe(1);
  });

  it("a subscriber replays a compacted changelog: every event once, in log order", async () => {
    const w = new Workload(await openSocket(), "cmp-6", "cmp_sub");
    await w.seed();
    const res = await SELF.fetch("http://lake/v1/compaction/run", { method: "POST", headers: AUTH, body: JSON.stringify({ table: "cmp_sub__changelog" }) });
    const run = (await res.json()) as { steps: Array<{ rewrittenFiles: number }> };
    expect(run.steps.map((s) => s.rewrittenFiles)).toEqual([6]);
    expect((await liveFiles("cmp_sub__changelog")).operation).toBe("replace");
    const sse = await SELF.fetch("http://lake/v1/subscribe?tables=cmp_sub&from=earliest", { headers: { ...AUTH, Accept: "text/event-stream" } });
    expect(sse.status).toBe(200);
    const reader = sse.body!.getReader();
    const decoder = new TextDecoder();
    const got: string[] = [];
    let text = "";
    let upToDate = false;
    while (!upToDate) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = text.indexOf("\n\n")) >= 0) {
        const fields = Object.fromEntries(text.slice(0, cut).split("\n").filter((l) => l && !l.startsWith(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]));
        text = text.slice(cut + 2);
        if (fields.event === "change_batch") got.push(...(JSON.parse(fields.data!) as { events: Array<{ rowId: string }> }).events.map((e) => e.rowId));
        if (fields.event === "up_to_date") upToDate = true;
      }
    }
    await reader.cancel();
    expect(got).toEqual(w.sent);
  });

  it("a step aborts the multipart uploads a crashed step left (an incomplete upload is no object remove-orphan-files could see)", async () => {
    const outcome = await runInDurableObject(lake(), async (obj: DoLake, state) => {
      const key = "warehouse/default/cmp_crashed/data/left-by-a-crash.parquet";
      const up = await env.LAKEHOUSE_BUCKET.createMultipartUpload(key);
      const part = await up.uploadPart(1, new Uint8Array(5 * 1024 * 1024));
      state.storage.sql.exec("CREATE TABLE IF NOT EXISTS dolake_compaction_uploads (key TEXT NOT NULL, upload_id TEXT NOT NULL, PRIMARY KEY (key, upload_id)) WITHOUT ROWID");
      state.storage.sql.exec("INSERT INTO dolake_compaction_uploads VALUES (?, ?)", key, up.uploadId);
      // Any step starts by aborting them (here one of a table with nothing to compact).
      await compactStep(obj, obj.maintenance.metrics, { namespace: ["default"], name: "cmp_orders" });
      const left = state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM dolake_compaction_uploads").one().n;
      const completed = await env.LAKEHOUSE_BUCKET.resumeMultipartUpload(key, up.uploadId).complete([part]).then(() => "completed", () => "gone");
      return { left, completed, object: (await env.LAKEHOUSE_BUCKET.head(key)) !== null };
    });
    expect(outcome).toEqual({ left: 0, completed: "gone", object: false });
  });

  it("refuses a bad compaction config and an unknown table", async () => {
    const bad = await SELF.fetch("http://lake/config", { method: "PATCH", headers: AUTH, body: JSON.stringify({ compaction: { minFilesToCompact: 0 } }) });
    expect(bad.status).toBe(400);
    const unknown = await SELF.fetch("http://lake/config", { method: "PATCH", headers: AUTH, body: JSON.stringify({ compaction: { nope: 1 } }) });
    expect(unknown.status).toBe(400);
    const missing = await SELF.fetch("http://lake/v1/compaction/run", { method: "POST", headers: AUTH, body: JSON.stringify({ table: "no_such_table" }) });
    expect(missing.status).toBe(404);
    const metrics = (await (await SELF.fetch("http://lake/v1/compaction/metrics", { headers: AUTH })).json()) as Record<string, unknown>;
    expect(metrics).toHaveProperty("filesRewritten");
  });

  it("rests between its stretches of work while producers are sending, and runs without rests when nobody is (the Throttle)", async () => {
    type Counts = { rests: number; restedMs: number };
    const counts = async () => (await (await SELF.fetch("http://lake/v1/compaction/metrics", { headers: AUTH })).json()) as Counts;
    // Nobody sending: the last batch is more than FOREGROUND_ACTIVE_MS old, and the step is run
    // in the object directly (not through a request, which counts as foreground work).
    const quiet = new Workload(await openSocket(), "cmp-quiet", "cmp_quiet");
    await quiet.seed();
    await new Promise((r) => setTimeout(r, FOREGROUND_ACTIVE_MS + 200));
    const before = await runInDurableObject(lake(), async (obj: DoLake) => {
      const b = { rests: obj.maintenance.metrics.rests, restedMs: obj.maintenance.metrics.restedMs };
      const step = await compactStep(obj, obj.maintenance.metrics, { namespace: ["default"], name: "cmp_quiet" });
      expect(step).toMatchObject({ rewrittenFiles: 6 });
      expect({ rests: obj.maintenance.metrics.rests, restedMs: obj.maintenance.metrics.restedMs }).toEqual(b);
      return b;
    });
    // A producer sending: the same work rests (each rest as long as the stretch before it).
    const busy = new Workload(await openSocket(), "cmp-busy", "cmp_busy");
    await busy.seed();
    await busy.send([["UPDATE", 1]], false);
    const res = await SELF.fetch("http://lake/v1/compaction/run", { method: "POST", headers: AUTH, body: JSON.stringify({ table: "cmp_busy" }) });
    expect(res.status).toBe(200);
    const after = await counts();
    expect(after.rests).toBeGreaterThan(before.rests);
    expect(after.restedMs).toBeGreaterThan(before.restedMs);
    expect(await rows("cmp_busy")).toEqual(busy.expected());
    expect(await rows("cmp_quiet")).toEqual(quiet.expected());
  });

  it("does not rest while a flush waits for the lock it holds (resting would hold the flush)", async () => {
    const out = await runInDurableObject(lake(), async (obj: DoLake) => {
      const busy = () => {
        const until = Date.now() + 15; // workerd's local clock moves during synchronous code
        while (Date.now() < until);
      };
      const rests = () => obj.maintenance.metrics.rests;
      const r0 = rests();
      obj.maintenance.throttle.foreground();
      let release!: () => void;
      const held = obj.flushes.exclusive(() => new Promise<void>((r) => (release = r)));
      await new Promise((r) => setTimeout(r, 0)); // the held work has started: it no longer waits
      const flush = obj.flushes.run(); // queued behind the held lock
      const waiting = obj.flushes.waiting;
      obj.maintenance.throttle.begin();
      busy();
      await obj.maintenance.throttle.pause();
      const whileWaiting = rests() - r0;
      release();
      await held;
      await flush;
      const after = obj.flushes.waiting;
      obj.maintenance.throttle.foreground();
      obj.maintenance.throttle.begin();
      busy();
      await obj.maintenance.throttle.pause();
      return { waiting, whileWaiting, after, rested: rests() - r0 };
    });
    expect(out).toEqual({ waiting: 1, whileWaiting: 0, after: 0, rested: 1 });
  });
});
