// Compaction jobs as resumable slices (issue 9): a job reads a bounded amount of input per slice and
// saves where it stands in SQLite; flushes run between slices (their deletes of the job's input rows
// are remapped onto the new files at the commit), an eviction between slices goes on from the last
// saved slice (same job, same upload, slices counted on), and a job whose input file was removed
// meanwhile is aborted (its upload aborted, its files and staged map dropped).
import { env, evictDurableObject, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { applyPreparedCommit, loadTable, prepareCommit } from "../../../src/catalog/commit.js";
import { depsOf } from "../../../src/catalog/deps.js";
import { keyOf } from "../../../src/catalog/metadata-files.js";
import type { DoLake } from "../../../src/do/dolake.js";
import { compactSlice, jobContext, type SliceReport } from "../../../src/flush/compactor.js";
import { jobOf, runSlice } from "../../../src/flush/compaction-job.js";
import { FOLD_CHUNK } from "../../../src/flush/pk-remap.js";
import type { ObjectStore } from "../../../src/iceberg/object-store.js";
import { loadJob, migrateJobs, pendingPlace, saveJob, savePending, type JobState } from "../../../src/flush/compaction-job-store.js";
import { R2ObjectStore } from "../../../src/flush/r2-store.js";
import { commitRewrite } from "../../../src/iceberg/compaction.js";
import { readTableFiles } from "../../../src/iceberg/compaction-plan.js";
import { decodeState } from "../../../src/util/state-codec.js";
import { AUTH, closeAll, configure, openSocket } from "../helpers.js";
import { key, lake, liveFiles, rows, Workload } from "./compaction-helpers.js";

afterEach(closeAll);

const ident = (name: string) => ({ namespace: ["default"], name });

/** One slice of the table's job, inside the object (as the alarm runs it, under the flush lock). */
function slice(table: string): Promise<SliceReport | undefined> {
  return runInDurableObject(lake(), (obj: DoLake) => obj.flushes.exclusive(() => compactSlice(obj, obj.maintenance.metrics, ident(table))));
}

/** The table's job in progress as saved in SQLite, and the uploads the tracker knows. */
function saved(table: string): Promise<{ job: JobState | undefined; uploads: number; staged: number }> {
  return runInDurableObject(lake(), (obj: DoLake) => {
    const sql = obj.storage.sql;
    const row = sql.exec<{ state: string }>("SELECT state FROM dolake_compaction_jobs WHERE table_key = ?", `default.${table}`).toArray()[0];
    return {
      job: row ? decodeState<JobState>(row.state) : undefined,
      uploads: sql.exec<{ n: number }>("SELECT count(*) AS n FROM dolake_compaction_uploads").one().n,
      staged: sql.exec<{ n: number }>("SELECT count(*) AS n FROM cdc_pk_compactions WHERE table_key = ? AND committed = 0", `default.${table}`).one().n,
    };
  });
}

/** Index entries of the table by file path. */
function indexByFile(table: string): Promise<Array<{ path: string; n: number }>> {
  return runInDurableObject(lake(), (_o: DoLake, state) =>
    state.storage.sql.exec<{ path: string; n: number }>("SELECT f.path AS path, count(*) AS n FROM cdc_pk_index i JOIN cdc_pk_files f ON f.id = i.file_id WHERE i.table_key = ? GROUP BY f.path ORDER BY f.path", `default.${table}`).toArray(),
  );
}

describe("compaction jobs in slices", () => {
  it("spans slices with flushes of updates and deletes to its input rows between them, and an eviction: nothing lost or resurrected, the index on the new file", async () => {
    const w = new Workload(await openSocket(), "job-1", "job_orders");
    await w.seed();
    // One input row group per slice: the six seed files take six slices.
    await configure({ compaction: { maxBytesPerSlice: 1 } });
    try {
      const first = await slice("job_orders");
      expect(first).toMatchObject({ slices: 1 });
      expect(first!.step).toBeUndefined();
      const started = (await saved("job_orders")).job!;
      expect(started.cursor).toEqual({ file: 1, row: 0 });

      // A flush between slices: updates and deletes of rows in files the job read and in files it has not read yet.
      await w.send([["UPDATE", 7], ["DELETE", 8], ["UPDATE", 119], ["DELETE", 40], ["INSERT", 200]]);
      expect((await slice("job_orders"))!.slices).toBe(2);
      await w.send([["DELETE", 7], ["UPDATE", 9], ["UPDATE", 131], ["DELETE", 132]]);

      // An eviction between slices: the new instance goes on with the same job from its third slice.
      closeAll();
      await evictDurableObject(lake());
      w.reconnect(await openSocket());
      const third = await slice("job_orders");
      expect(third!.slices).toBe(3);
      const after = (await saved("job_orders")).job!;
      expect(after.jobId).toBe(started.jobId);
      expect(after.cursor.file).toBe(3);

      let r = third!;
      for (let i = 0; i < 10 && !r.step; i++) r = (await slice("job_orders"))!;
      expect(r.step).toMatchObject({ slices: 6, rewrittenFiles: 6, addedFiles: 1 });
      // The flushes' deletes of rewritten rows landed on the new file: UPDATE 7, DELETE 8, DELETE 40;
      // UPDATE 9, UPDATE 131, DELETE 132 (119 was deleted by the seed, and the second flush's DELETE 7 names the first flush's file).
      expect(r.step!.deletesRemapped).toBe(6);
      expect(await saved("job_orders")).toMatchObject({ job: undefined, uploads: 0, staged: 0 });
      expect(await rows("job_orders")).toEqual(w.expected());

      // Every index entry of a row the job rewrote names its new file (the flushes' rows name their own files).
      const compacted = (await liveFiles("job_orders")).data.filter((p) => p.includes(started.jobId));
      expect(compacted).toHaveLength(1);
      const byFile = await indexByFile("job_orders");
      // Rows whose last version is in a flush's file: 119 and 200 (first flush; 7 was deleted by the second), 9 and 131.
      expect(byFile.filter((f) => !f.path.includes(started.jobId)).reduce((n, f) => n + f.n, 0)).toBe(4);
      expect(byFile.find((f) => f.path === compacted[0])?.n).toBe(w.live.size - 4);
      // Updates and deletes after the commit hit the new positions.
      await w.send([["UPDATE", 1], ["DELETE", 2], ["UPDATE", 9], ["DELETE", 200], ["UPDATE", 60]]);
      expect(await rows("job_orders")).toEqual(w.expected());
    } finally {
      await configure({ compaction: { maxBytesPerSlice: 2 * 1024 * 1024 } });
    }
  });

  it("aborts a job whose input file another commit removed between slices: upload, files and staged map dropped", async () => {
    const w = new Workload(await openSocket(), "job-2", "job_gone");
    await w.seed();
    await configure({ compaction: { maxBytesPerSlice: 1 } });
    try {
      expect((await slice("job_gone"))!.slices).toBe(1);
      expect((await slice("job_gone"))!.slices).toBe(2);
      const job = (await saved("job_gone")).job!;
      expect(job.remapId).toBeDefined();
      // Another engine removes one of the job's input files (as a rewrite of its own or a whole-file delete would).
      await runInDurableObject(lake(), async (obj: DoLake) => {
        const deps = depsOf(obj.catalogContext());
        const keyFor = (l: string) => keyOf(deps, l);
        const store = new R2ObjectStore(deps.bucket);
        const m = (await loadTable(deps, ident("job_gone")))!.metadata;
        const files = (await readTableFiles(m, store, keyFor))!;
        const gone = files.data.find((f) => f.file.filePath === job.inputs[4]!.path)!;
        const c = await commitRewrite({ store, keyFor, now: BigInt(Date.now()), snapshotId: 77_000_001n, written: [] }, m, files, { added: [], removedData: [gone.file], retired: [], remappedDeletes: [] });
        const p = await prepareCommit(deps, ident("job_gone"), c.requirements, c.updates);
        obj.storage.transactionSync(() => applyPreparedCommit(deps, p));
      });
      let r = (await slice("job_gone"))!;
      for (let i = 0; i < 10 && !r.step && r.aborted === undefined; i++) r = (await slice("job_gone"))!;
      expect(r.step).toBeUndefined();
      expect(r.aborted).toMatch(/removed meanwhile/);
      expect(await saved("job_gone")).toMatchObject({ job: undefined, uploads: 0, staged: 0 });
      const left = await env.LAKEHOUSE_BUCKET.list({ prefix: key(job.dir) });
      expect(left.objects.filter((o) => o.key.includes(job.jobId))).toEqual([]);
    } finally {
      await configure({ compaction: { maxBytesPerSlice: 2 * 1024 * 1024 } });
    }
  });

  it("continues a job's multipart upload after an eviction (parts sent before it are in the file) and aborts the upload a crashed slice left", async () => {
    const table = "job_big";
    const s = await openSocket();
    const live = new Map<number, string>();
    let seq = 0;
    let batch = 0;
    const payload = (n: number) => {
      const b = new Uint8Array(1500);
      crypto.getRandomValues(b);
      return `${n}:${btoa(String.fromCharCode(...b))}`; // ~2 KB that compresses little
    };
    const send = async (ids: number[]) => {
      const n = ++batch;
      const events = ids.map((id) => {
        const name = payload(id);
        live.set(id, name);
        return { sequence: ++seq, operation: "INSERT", table, rowId: `r${id}`, after: { id, name } };
      });
      s.sendJson({ type: "cdc_batch", sourceDoId: "job-3", sequenceNumber: n, events });
      for (;;) {
        const m = await s.next();
        if (m.type === "ack" && m.status === "buffered" && Number(m.sequenceNumber) === n) break;
        if (m.type === "nack") throw new Error(JSON.stringify(m));
      }
    };
    // Eight input files of ~0.8 MB: the output crosses one 5 MiB part in the seventh slice.
    for (let f = 0; f < 8; f++) {
      for (let half = 0; half < 2; half++) await send(Array.from({ length: 200 }, (_, i) => f * 400 + half * 200 + i + 1));
      const res = await SELF.fetch("http://lake/flush", { method: "POST", headers: AUTH });
      expect(res.status, await res.text()).toBe(200);
    }
    await configure({ compaction: { maxBytesPerSlice: 1 } });
    try {
      for (let i = 1; i <= 6; i++) expect((await slice(table))!.slices).toBe(i);
      expect((await saved(table)).job!.output.open!.object.uploadId).toBeUndefined();

      // A crash in the seventh slice after it started the upload and sent part 1, before it saved.
      const crashed = await runInDurableObject(lake(), async (obj: DoLake) => {
        const jc = jobContext(obj, ident(table));
        let sent = 0;
        const store: ObjectStore = {
          ...jc.store,
          startUpload: async (k) => {
            const up = await jc.store.startUpload!(k);
            return { ...up, uploadId: up.uploadId, uploadPart: async (n, b) => { const p = await up.uploadPart(n, b); sent++; return p; } };
          },
        };
        const job = jobOf(jc)!;
        const m = (await loadTable(jc.deps, ident(table)))!.metadata;
        // The object dies where the slice would save (part 1 is sent by then: the seventh slice's output crosses 5 MiB).
        const transactionSync = <T>(): T => { throw new Error("crash"); };
        const err = await runSlice({ ...jc, store, transactionSync }, job, m).then(() => "no crash", (e: Error) => e.message);
        return { err, sent, tracked: obj.storage.sql.exec<{ upload_id: string }>("SELECT upload_id FROM dolake_compaction_uploads").toArray().map((r) => r.upload_id) };
      });
      expect(crashed.err).toBe("crash");
      expect(crashed.sent).toBe(1);
      expect(crashed.tracked).toHaveLength(1);
      expect((await saved(table)).job!.slices).toBe(6); // nothing of the crashed slice was saved
      closeAll();
      await evictDurableObject(lake());

      // The new instance aborts the crashed slice's upload (an incomplete upload is no object remove-orphan-files could see) and redoes the slice.
      expect((await slice(table))!.slices).toBe(7);
      const seventh = await saved(table);
      const upload = seventh.job!.output.open!.object;
      expect(upload.uploadId).toBeDefined();
      expect(upload.uploadId).not.toBe(crashed.tracked[0]);
      expect(upload.parts.map((p) => p.partNumber)).toEqual([1]);
      expect(seventh.uploads).toBe(1);
      const orphan = env.LAKEHOUSE_BUCKET.resumeMultipartUpload(upload.key, crashed.tracked[0]!);
      await expect(orphan.complete([])).rejects.toThrow();

      // An eviction with part 1 sent: the last slice goes on with the same upload and completes it.
      await evictDurableObject(lake());
      const last = (await slice(table))!;
      expect(last.step).toMatchObject({ slices: 8, rewrittenFiles: 8, addedFiles: 1, rowsKept: 3200 });
      expect(await saved(table)).toMatchObject({ job: undefined, uploads: 0, staged: 0 });
      const files = await liveFiles(table);
      expect(files.data).toHaveLength(1);
      const head = await env.LAKEHOUSE_BUCKET.head(key(files.data[0]!));
      expect(head!.size).toBeGreaterThan(5 * 1024 * 1024);
      expect(head!.key).toBe(upload.key);
      const got = await rows(table);
      expect(got).toEqual([...live].sort((a, b) => a[0] - b[0]).map(([id, name]) => ({ id, name })));
    } finally {
      await configure({ compaction: { maxBytesPerSlice: 2 * 1024 * 1024 } });
    }
  });

  it("folds a big job's map in portions, each a slice of its own, with flushes of updates and deletes between them", async () => {
    const w = new Workload(await openSocket(), "job-4", "job_fold");
    await w.send(Array.from({ length: 700 }, (_, i) => ["INSERT", i + 1] as ["INSERT", number]));
    for (let f = 0; f < 4; f++) await w.send([["UPDATE", 10 + f], ["DELETE", 600 + f], ["INSERT", 800 + f]]);
    const fold = (table: string) =>
      runInDurableObject(lake(), (obj: DoLake) => obj.flushes.exclusive(() => compactSlice(obj, obj.maintenance.metrics, ident(table), { foldPerSlice: 1 })));
    const first = (await fold("job_fold"))!;
    // One fold chunk right after the commit; the rest is read through the map.
    expect(first.step).toMatchObject({ rewrittenFiles: 5, addedFiles: 1, indexEntriesMoved: FOLD_CHUNK });
    const compacted = (await liveFiles("job_fold")).data[0]!;
    await w.send([["UPDATE", 650], ["DELETE", 300], ["UPDATE", 5], ["INSERT", 900]]);
    expect(await fold("job_fold")).toMatchObject({ slices: 0, folded: FOLD_CHUNK });
    await w.send([["DELETE", 651], ["UPDATE", 100], ["UPDATE", 699]]);
    let r = (await fold("job_fold"))!;
    for (let i = 0; i < 100 && r?.folded !== undefined; i++) r = (await fold("job_fold"))!;
    expect(r).toBeUndefined(); // folded, and nothing left to compact
    const left = await runInDurableObject(lake(), (obj: DoLake) =>
      obj.storage.sql.exec<{ n: number }>("SELECT (SELECT count(*) FROM cdc_pk_compactions WHERE table_key = 'default.job_fold') + (SELECT count(*) FROM cdc_pk_files WHERE retired_by IS NOT NULL) AS n").one().n,
    );
    expect(left).toBe(0);
    const byFile = await indexByFile("job_fold");
    // Rows the two flushes after the commit wrote (650, 5, 900; 100, 699) live in their files; every other row in the compacted one.
    expect(byFile.find((f) => f.path === compacted)?.n).toBe(w.live.size - 5);
    expect(await rows("job_fold")).toEqual(w.expected());
    await w.send([["UPDATE", 1], ["DELETE", 2], ["UPDATE", 650], ["DELETE", 700]]);
    expect(await rows("job_fold")).toEqual(w.expected());
  });
});

describe("a job's pending bytes", () => {
  it("are written row by row before the state that counts them: bytes past the saved count (a slice that did not save) are not read back", async () => {
    const out = await runInDurableObject(lake(), async (_o: DoLake, state) => {
      const sql = state.storage.sql;
      migrateJobs(sql);
      const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
      const job = (pending: Uint8Array, parts: Array<{ partNumber: number; etag: string }> = []): JobState =>
        ({
          jobId: "j", baseSnapshotId: 1n, baseSeq: 1n, schemaId: 0, tableUuid: "u", specId: 0, partition: [], dir: "d", inputs: [], deletes: [], retired: [],
          cursor: { file: 0, row: 0 }, slices: 1, stats: { rewrittenFiles: 0, rewrittenBytes: 0, addedFiles: 0, addedBytes: 0, retiredDeleteFiles: 0, rowsKept: 0, rowsDropped: 0 }, startedAt: 0,
          output: { ordinal: 0, fileNo: 1, open: { path: "p", first: 0, rows: 0, writer: { offset: 0, rows: 0, rowGroups: [], stats: [] }, object: { key: "k", uploadId: "up", parts, byteLength: pending.length, pending } } },
        }) as unknown as JobState;
      // Slice 1 saved 1.5 MiB of the first part.
      const first = job(bytes(1_500_000, 1));
      await savePending(sql, "t", first, undefined, async () => undefined);
      saveJob(sql, "t", first, []);
      // Slice 2 writes its bytes (3 MiB in all) and dies before its state is saved.
      const second = job(Uint8Array.from([...first.output.open!.object.pending, ...bytes(1_500_000, 2)]));
      let pauses = 0;
      await savePending(sql, "t", second, pendingPlace(first), async () => void pauses++);
      const afterCrash = loadJob(sql, "t")!.output.open!.object.pending;
      // Slice 2 redone with other bytes (its input changed), and saved; then a slice that sent part 1 and kept 100 bytes.
      const redone = job(Uint8Array.from([...first.output.open!.object.pending, ...bytes(2_000_000, 3)]));
      await savePending(sql, "t", redone, pendingPlace(first), async () => undefined);
      saveJob(sql, "t", redone, []);
      const afterRedo = loadJob(sql, "t")!.output.open!.object.pending;
      const third = job(bytes(100, 4), [{ partNumber: 1, etag: "e" }]);
      await savePending(sql, "t", third, pendingPlace(redone), async () => undefined);
      const beforeThirdSaved = loadJob(sql, "t")!.output.open!.object.pending.length;
      saveJob(sql, "t", third, []);
      return {
        pauses,
        afterCrash: Buffer.from(afterCrash).equals(Buffer.from(first.output.open!.object.pending)),
        afterRedo: Buffer.from(afterRedo).equals(Buffer.from(redone.output.open!.object.pending)),
        beforeThirdSaved,
        third: Buffer.from(loadJob(sql, "t")!.output.open!.object.pending).equals(Buffer.from(bytes(100, 4))),
        rows: sql.exec<{ n: number }>("SELECT count(*) AS n FROM dolake_compaction_job_pending WHERE table_key = 't'").one().n,
      };
    });
    // 1.5 MiB added in rows of at most 1 MiB: two rows, a pause after each.
    expect(out).toEqual({ pauses: 2, afterCrash: true, afterRedo: true, beforeThirdSaved: 3_500_000, third: true, rows: 1 });
  });
});
