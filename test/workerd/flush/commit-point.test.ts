// Crash tests around the flush commit point. The flush writes files to R2, then ONE SQLite
// transaction swaps the table pointers, applies the primary-key index and removes the flushed
// batches. A failure anywhere must leave either the old tables plus the events, or the new tables
// without them — never both, never neither.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { depsOf } from "../../../src/catalog/deps.js";
import type { DoLake } from "../../../src/do/dolake.js";
import { MIN_ORPHAN_AGE_MS } from "../../../src/do/operations.js";
import { removeOrphanFiles } from "../../../src/flush/orphans.js";
import { AUTH, bufferedAck, closeAll, jsonBatch, openSocket, flushNow as flush } from "../helpers.js";

const lake = () => env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));

afterEach(closeAll);

async function table(name: string) {
  const res = await SELF.fetch(`http://lake/v1/namespaces/default/tables/${name}`, { headers: AUTH });
  return { status: res.status, body: (await res.json()) as any };
}

function current(m: any) {
  return m.snapshots.find((s: any) => s["snapshot-id"] === m["current-snapshot-id"]);
}

async function bufferedEvents(): Promise<number> {
  return runInDurableObject(lake(), (obj: DoLake) => obj.buffer.stats().eventCount);
}

async function listKeys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.LAKEHOUSE_BUCKET.list({ prefix, cursor });
    out.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

describe("flush commit point", () => {
  it("a failure inside the commit transaction rolls back the pointer swap: old table, events kept, then exactly once", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("cp-1", 1, 1, 3, "cp_one"));
    await s.next();
    expect((await flush()).body.ok).toBe(true);
    const before = await table("cp_one");
    const snapBefore = before.body.metadata["current-snapshot-id"];

    s.sendJson({ type: "cdc_batch", sourceDoId: "cp-1", sequenceNumber: 2, events: [
      { sequence: 4, operation: "UPDATE", table: "cp_one", rowId: "r1", after: { id: 1, name: "x" } },
      { sequence: 5, operation: "INSERT", table: "cp_one", rowId: "r9", after: { id: 9, name: "y" } },
    ] });
    await bufferedAck(s, 2); // not the persisted ack of the first flush
    const queued = await bufferedEvents();
    // Fail after the pointers were swapped, inside the same transaction (as a crash would).
    await runInDurableObject(lake(), (obj: DoLake) => {
      const real = obj.buffer.markTableDone.bind(obj.buffer);
      obj.buffer.markTableDone = () => {
        obj.buffer.markTableDone = real;
        throw new Error("simulated crash inside the commit transaction");
      };
    });
    const failed = await flush();
    expect(failed.status).toBe(503);
    expect(failed.body.errorMessage).toMatch(/simulated crash/);
    expect((await table("cp_one")).body.metadata["current-snapshot-id"]).toBe(snapBefore);
    expect(await bufferedEvents()).toBe(queued);

    expect((await flush()).body.ok).toBe(true);
    const after = (await table("cp_one")).body.metadata;
    expect(after.snapshots.length).toBe(2);
    const snap = current(after);
    expect(Number(snap.summary["total-records"]) - Number(snap.summary["total-position-deletes"])).toBe(4);
    const log = current((await table("cp_one__changelog")).body.metadata);
    expect(log.summary["total-records"]).toBe("5");
    expect(await bufferedEvents()).toBe(queued - 2);
  });

  it("a crash between the R2 writes and the pointer swap leaves only unreferenced files; the retry commits once", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("cp-2", 1, 1, 4, "cp_two"));
    await s.next();
    const queued = await bufferedEvents();
    // Die before the transaction, and before any cleanup could run.
    await runInDurableObject(lake(), (obj: DoLake) => {
      const storage = obj.storage;
      const realTx = storage.transactionSync.bind(storage);
      const e = (obj as unknown as { env: Record<string, unknown> }).env;
      const bucket = e.LAKEHOUSE_BUCKET as R2Bucket;
      // A dead process cleans nothing up: deletes are swallowed until the crash has happened.
      e.LAKEHOUSE_BUCKET = new Proxy(bucket, {
        get(target, prop) {
          if (prop === "delete") return async () => undefined;
          const v = Reflect.get(target, prop);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
      (storage as { transactionSync: unknown }).transactionSync = <T>(fn: () => T): T => {
        // Only the table commit transaction (the one that marks its batches done) "crashes".
        if (!fn.toString().includes("markTableDone")) return realTx(fn);
        (storage as { transactionSync: unknown }).transactionSync = realTx;
        setTimeout(() => (e.LAKEHOUSE_BUCKET = bucket), 0);
        void fn;
        throw new Error("simulated crash before the pointer swap");
      };
    });
    const failed = await flush();
    expect(failed.status).toBe(503);
    expect((await table("cp_two")).status).toBe(404);
    expect(await bufferedEvents()).toBe(queued);
    const orphans = await listKeys("warehouse/default/cp_two/");
    expect(orphans.some((k) => k.endsWith(".parquet"))).toBe(true);
    expect(orphans.some((k) => k.endsWith(".metadata.json"))).toBe(true);

    expect((await flush()).body.ok).toBe(true);
    const m = (await table("cp_two")).body.metadata;
    expect(m.snapshots.length).toBe(1);
    expect(current(m).summary["total-records"]).toBe("4");
    expect(current((await table("cp_two__changelog")).body.metadata).summary["total-records"]).toBe("4");
    // The failed attempt's files are found and removed; the committed table still reads.
    const dry = await SELF.fetch("http://lake/maintenance/remove-orphan-files?olderThanMs=0&dryRun=true", { method: "POST", headers: AUTH });
    const report = (await dry.json()) as { orphans: string[] };
    expect([...report.orphans].sort()).toEqual(expect.arrayContaining(orphans));
    const fresh = await SELF.fetch("http://lake/maintenance/remove-orphan-files", { method: "POST", headers: AUTH });
    expect(((await fresh.json()) as { orphans: string[] }).orphans).toEqual([]); // 1-day age guard
    // Deleting needs an age guard of at least an hour: a younger file may be a commit in flight.
    const refused = await SELF.fetch("http://lake/maintenance/remove-orphan-files?olderThanMs=0", { method: "POST", headers: AUTH });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as any).error.message).toMatch(/at least 3600000/);
    expect(await listKeys("warehouse/default/cp_two/")).toEqual(expect.arrayContaining(orphans));
    // Two hours later the same files are old enough (the clock is the function's argument).
    const removed = await runInDurableObject(lake(), (obj: DoLake) =>
      obj.flushes.exclusive(() => removeOrphanFiles(depsOf(obj.catalogContext()), MIN_ORPHAN_AGE_MS, false, Date.now() + 2 * MIN_ORPHAN_AGE_MS)));
    expect([...removed.orphans].sort()).toEqual(expect.arrayContaining(orphans));
    const left = await listKeys("warehouse/default/cp_two/");
    for (const k of orphans) expect(left).not.toContain(k);
    expect(left.length).toBeGreaterThan(0);
    expect(current((await table("cp_two")).body.metadata).summary["total-records"]).toBe("4");
    const loaded = await table("cp_two");
    const metaKey = String(loaded.body["metadata-location"]).replace("s3://dolake-warehouse/", "");
    expect(left).toContain(metaKey);
  });

  it("orphan removal waits for a flush in flight: files written but not yet committed are never taken for orphans", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("cp-3", 1, 1, 3, "cp_three"));
    await s.next();
    // Hold the flush after its first Parquet file is on R2, before the pointer swap.
    const gate = await runInDurableObject(lake(), (obj: DoLake) => {
      const e = (obj as unknown as { env: Record<string, unknown> }).env;
      const bucket = e.LAKEHOUSE_BUCKET as R2Bucket;
      // A flag, not a promise: a promise resolved from the test's context is I/O of another context.
      const g = { written: [] as string[], open: false };
      e.LAKEHOUSE_BUCKET = new Proxy(bucket, {
        get(target, prop) {
          if (prop === "put") {
            return async (key: string, ...rest: unknown[]) => {
              const out = await (target.put as (...a: unknown[]) => Promise<unknown>)(key, ...rest);
              if (key.endsWith(".parquet") && g.written.push(key) === 1) {
                while (!g.open) await new Promise((r) => setTimeout(r, 5));
                e.LAKEHOUSE_BUCKET = bucket;
              }
              return out;
            };
          }
          const v = Reflect.get(target, prop);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
      (globalThis as { __orphanGate?: typeof g }).__orphanGate = g;
      return true;
    });
    expect(gate).toBe(true);
    const flushing = flush();
    const g = (globalThis as { __orphanGate?: { written: string[]; open: boolean } }).__orphanGate!;
    while (g.written.length === 0) await new Promise((r) => setTimeout(r, 10));
    const reporting = SELF.fetch("http://lake/maintenance/remove-orphan-files?olderThanMs=0&dryRun=true", { method: "POST", headers: AUTH })
      .then(async (r) => ({ at: Date.now(), body: (await r.json()) as { orphans: string[] } }));
    await new Promise((r) => setTimeout(r, 50));
    const releasedAt = Date.now();
    g.open = true;
    const [flushed, report] = await Promise.all([flushing, reporting]);
    expect(flushed.body.ok).toBe(true);
    expect(report.at).toBeGreaterThanOrEqual(releasedAt);
    // The held file is committed and referenced: not an orphan.
    expect(report.body.orphans).not.toContain(g.written[0]);
    expect(report.body.orphans.filter((k) => k.includes("/cp_three"))).toEqual([]);
  });
});
