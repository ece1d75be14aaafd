// Poison tables: a table name or table state that cannot flush must not stop the others.
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../src/config.js";
import { AUTH, closeAll, configure, openSocket, flushNow as flush } from "../helpers.js";

afterEach(async () => {
  closeAll();
  await configure({ ...DEFAULT_CONFIG });
});

const insert = (sequence: number, table: string, rowId: string) => ({ sequence, timestamp: sequence, operation: "INSERT", table, rowId, after: { id: rowId } });

describe("the changelog suffix is reserved", () => {
  it("refuses an event for X__changelog before the ack; X and the other tables flush", async () => {
    const s = await openSocket();
    s.sendJson({ type: "cdc_batch", sourceDoId: "poison-1", sequenceNumber: 1, events: [insert(1, "orders", "o1"), insert(2, "orders__changelog", "x")] });
    const nack = await s.next();
    expect(nack).toMatchObject({ type: "nack", reason: "invalid_format", shouldRetry: false });
    expect(nack.errorMessage).toContain("__changelog");
    s.sendJson({ type: "cdc_batch", sourceDoId: "poison-1", sequenceNumber: 2, events: [insert(1, "orders", "o1"), insert(2, "items", "i1")] });
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered" });
    const r = await flush();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, eventsFlushed: 2 });
    expect(r.body.tables).toEqual(expect.arrayContaining(["default.orders", "default.orders__changelog", "default.items"]));
  });
});

async function table(name: string): Promise<Record<string, string> | undefined> {
  const res = await SELF.fetch(`http://lake/v1/namespaces/default/tables/${name}`, { headers: AUTH });
  if (res.status !== 200) return undefined;
  const body: any = await res.json();
  return body.metadata.snapshots.find((s: any) => s["snapshot-id"] === body.metadata["current-snapshot-id"])?.summary;
}

const getJson = async (path: string): Promise<any> => (await SELF.fetch(`http://lake${path}`, { headers: AUTH })).json();

describe("one failing table does not block the others", () => {
  it("acks events for a table that cannot flush; the other tables flush, exactly once, and the failing one catches up when repaired", { timeout: 60_000 }, async () => {
    // X__changelog made by a REST client with a schema the changelog writer cannot fill: every
    // flush of X fails ("required but row 0 has no value") once X's events are acked.
    await SELF.fetch("http://lake/v1/namespaces", { method: "POST", headers: AUTH, body: JSON.stringify({ namespace: ["default"] }) });
    const created = await SELF.fetch("http://lake/v1/namespaces/default/tables", {
      method: "POST",
      headers: AUTH,
      body: JSON.stringify({ name: "evil__changelog", schema: { type: "struct", "schema-id": 0, fields: [{ id: 1, name: "note", type: "string", required: true }] } }),
    });
    expect(created.status).toBe(200);

    const s = await openSocket();
    s.sendJson({ type: "cdc_batch", sourceDoId: "iso-1", sequenceNumber: 1, events: [insert(1, "good", "g1"), insert(2, "evil", "e1"), insert(3, "good2", "h1")] });
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered" });
    const first = await flush();
    expect(first.body.ok).toBe(false);
    expect(first.body.errorMessage).toContain("evil");
    expect(first.body.tables).toEqual(["default.good", "default.good2", "default.good2__changelog", "default.good__changelog"]);
    expect(first.body.eventsFlushed).toBe(2);

    const status = await getJson("/status");
    expect(status.failingTables).toEqual([expect.objectContaining({ table: "evil", attempts: 1, error: expect.stringContaining("required") })]);
    expect(status.failingTables[0].since).toBeGreaterThan(0);
    expect(status.buffer.batchCount).toBe(1); // batch 1 stays for evil
    const metrics = await (await SELF.fetch("http://lake/metrics", { headers: AUTH })).text();
    expect(metrics).toContain('dolake_table_flush_failed_attempts{table="evil"} 1');
    expect(metrics).toContain("dolake_failing_tables 1");

    // Later events of the healthy tables keep flushing while evil backs off.
    s.sendJson({ type: "cdc_batch", sourceDoId: "iso-1", sequenceNumber: 2, events: [{ ...insert(4, "good", "g1"), operation: "UPDATE", after: { id: "g1", v: "2" } }] });
    let ack;
    do ack = await s.next();
    while (ack.status === "persisted");
    expect(ack).toMatchObject({ type: "ack", status: "buffered" });
    const second = await flush();
    expect(second.body.tables).toContain("default.good");
    expect(await table("good")).toMatchObject({ "total-records": "2", "total-position-deletes": "1" });
    expect(await table("good2")).toMatchObject({ "total-records": "1" });
    // Nothing of source iso-1 counts as persisted while its batch 1 waits for evil.
    expect((await getJson("/status")).sources.find((x: any) => x.sourceDoId === "iso-1").lastPersistedSequence).toBe(0);

    // Repair: drop the colliding table. An explicit flush retries evil at once (alarms wait for its
    // backoff); good's events of batch 1 are not applied again.
    expect((await SELF.fetch("http://lake/v1/namespaces/default/tables/evil__changelog", { method: "DELETE", headers: AUTH })).status).toBe(204);
    const repaired = await flush();
    expect(repaired.body).toMatchObject({ ok: true, eventsFlushed: 1 });
    expect((await getJson("/status")).failingTables).toEqual([]);
    expect(await table("evil")).toMatchObject({ "total-records": "1" });
    expect(await table("evil__changelog")).toMatchObject({ "total-records": "1" });
    expect(await table("good")).toMatchObject({ "total-records": "2", "total-position-deletes": "1" });
    const after = await getJson("/status");
    expect(after.buffer.batchCount).toBe(0);
    expect(after.sources.find((x: any) => x.sourceDoId === "iso-1").lastPersistedSequence).toBe(4);
  });
});
