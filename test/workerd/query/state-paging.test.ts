// The object's part of a query (its consistent read state) runs in steps with the event loop free
// between them. These tests run the paged read inside the real object with a pause that does what
// production lets in between: a real flush committing the table (the read must restart, never mix
// the old pointer with a thinned buffer), and a new ack (not part of this read; no restart).
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { DoLake } from "../../../src/do/dolake.js";
import { depsOf } from "../../../src/catalog/deps.js";
import { fetchTableStates } from "../../../src/query/buffered-state.js";
import { readBatchPayloads, readQueryStatePaged, type RawQueryState, type StateSources } from "../../../src/query/query-state.js";
import { parseJson } from "../../../src/util/json.js";
import { AUTH, bufferedAck, closeAll, flushNow, openSocket } from "../helpers.js";

afterEach(() => closeAll());

const pad = "x".repeat(250);
const row = (id: number, v: number) => ({ id, v, pad });

async function send(s: Awaited<ReturnType<typeof openSocket>>, source: string, batch: number, events: unknown[]): Promise<void> {
  s.sendJson({ type: "cdc_batch", sourceDoId: source, sequenceNumber: batch, events });
  await bufferedAck(s, batch);
}

function sources(o: DoLake, state: DurableObjectState): StateSources {
  return { sql: state.storage.sql, buffer: o.buffer, catalog: depsOf(o.catalogContext()).store, cdcNamespace: o.config.namespace, detectTimestamps: o.config.detectTimestamps };
}

/** The Worker's half over a state already read: its batches fetched in pages from the object and decoded. */
async function decoded(src: StateSources, raw: RawQueryState) {
  const [t] = await fetchTableStates({ queryState: async () => raw, queryBatches: async (tables, ids) => readBatchPayloads(src, tables, ids) }, raw.tables);
  return t!;
}

const replacedCount = (raw: RawQueryState) => raw.tables[0]!.replaced.reduce((n, [, p]) => n + p.length, 0);

async function count(table: string): Promise<number> {
  const res = await SELF.fetch("http://lake/v1/query", { method: "POST", headers: AUTH, body: JSON.stringify({ sql: `SELECT COUNT(*) AS n FROM ${table}` }) });
  return Number((parseJson(await res.text()) as any).rows[0].n);
}

/** 1,000 rows flushed, then three buffered batches of ~2,000 events (~600 KB each: three pages). */
async function seed(table: string, source: string): Promise<Awaited<ReturnType<typeof openSocket>>> {
  const s = await openSocket();
  let seq = 0;
  const ev = (operation: string, id: number) => ({ sequence: ++seq, timestamp: seq, operation, table, rowId: String(id), ...(operation === "DELETE" ? {} : { after: row(id, seq) }) });
  await send(s, source, 1, Array.from({ length: 1000 }, (_, i) => ev("INSERT", i + 1)));
  expect((await flushNow()).body.ok).toBe(true);
  await send(s, source, 2, Array.from({ length: 2000 }, (_, i) => ev("UPDATE", (i % 1000) + 1)));
  await send(s, source, 3, Array.from({ length: 2000 }, (_, i) => ev("INSERT", 1001 + i)));
  await send(s, source, 4, Array.from({ length: 500 }, (_, i) => ev("DELETE", i + 1)));
  return s;
}

describe("the query's paged state read", () => {
  it("restarts when a flush commits the table between its steps, and answers the committed state", { timeout: 60_000 }, async () => {
    await seed("paged_a", "pg-a");
    expect(await count("paged_a")).toBe(2500);
    const stub = env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));
    const result = await runInDurableObject(stub, async (o: DoLake, state) => {
      let pauses = 0;
      const raw = await readQueryStatePaged(sources(o, state), [{ namespace: [], name: "paged_a" }], async () => {
        if (++pauses === 1) await o.flushes.flushNow(); // commits paged_a: its pointer moves, its batches leave
      });
      const current = depsOf(o.catalogContext()).store.getTable({ namespace: [o.config.namespace], name: "paged_a" })!.metadataLocation;
      return { attempts: raw.attempts, pauses, pointer: raw.tables[0]!.metadataLocation, current, batches: raw.batches.length, replaced: replacedCount(raw), buffered: (await decoded(sources(o, state), raw)).buffered.length };
    });
    expect(result.pauses).toBe(1); // the first step's pause flushed; the restart found nothing buffered to page
    expect(result.attempts).toBe(2);
    expect(result.pointer).toBe(result.current); // the restarted read saw the flushed pointer...
    expect(result).toMatchObject({ batches: 0, replaced: 0, buffered: 0 }); // ...and nothing buffered twice
    expect(await count("paged_a")).toBe(2500);
  });

  it("does not restart for acks that arrive between its steps, and leaves them out", { timeout: 60_000 }, async () => {
    const s = await seed("paged_b", "pg-b");
    const stub = env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));
    const late = send(s, "pg-b", 5, [{ sequence: 5501, timestamp: 1, operation: "INSERT", table: "paged_b", rowId: "late", after: row(0, 0) }]);
    const result = await runInDurableObject(stub, async (o: DoLake, state) => {
      let pauses = 0;
      const raw = await readQueryStatePaged(sources(o, state), [{ namespace: [], name: "paged_b" }], async () => {
        pauses++;
        await new Promise((r) => setTimeout(r, 5));
      });
      const rows = (await decoded(sources(o, state), raw)).buffered;
      return { attempts: raw.attempts, pauses, buffered: rows.length, late: rows.some((r) => r.rowId === "late"), replaced: replacedCount(raw) };
    });
    await late;
    expect(result.pauses).toBeGreaterThan(2);
    expect(result.attempts).toBe(1);
    expect(result.buffered === 4500 || (result.buffered === 4501 && result.late)).toBe(true); // the late batch only if acked before the first step
    expect(result.replaced).toBe(1000); // every flushed row is replaced by a buffered change
    expect(await count("paged_b")).toBe(2501);
  });

  it("answers null for a page once a table of the read was committed, so the Worker reads again", { timeout: 60_000 }, async () => {
    await seed("paged_c", "pg-c");
    const stub = env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));
    const pages = await runInDurableObject(stub, async (o: DoLake, state) => {
      const src = sources(o, state);
      const raw = await readQueryStatePaged(src, [{ namespace: [], name: "paged_c" }], async () => undefined);
      const ids = raw.batches.map((b) => b.id);
      const before = readBatchPayloads(src, raw.tables, ids);
      await o.flushes.flushNow();
      return { batches: ids.length, sizes: raw.batches.map((b) => b.sizeBytes), before: before?.map((p) => p.byteLength), after: readBatchPayloads(src, raw.tables, ids) };
    });
    expect(pages.batches).toBe(3);
    expect(pages.before).toEqual(pages.sizes); // each batch's bytes, whole
    expect(pages.after).toBeNull();
  });
});
