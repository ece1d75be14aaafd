// CDC state follows the catalog's table lifecycle: a mirror dropped or renamed through the REST
// catalog, then written again by CDC, flushes into a fresh table (no position deletes aimed at the
// old table's files, no "not live in the table" for partitioned mirrors).
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../src/config.js";
import { AUTH, closeAll, configure, openSocket, type TestSocket, flushNow as flush } from "../helpers.js";

afterEach(async () => {
  closeAll();
  await configure({ ...DEFAULT_CONFIG });
});

async function table(name: string): Promise<{ status: number; location?: string; summary?: Record<string, string> }> {
  const res = await SELF.fetch(`http://lake/v1/namespaces/default/tables/${name}`, { headers: AUTH });
  if (res.status !== 200) return { status: res.status };
  const body: any = await res.json();
  const snap = body.metadata.snapshots.find((s: any) => s["snapshot-id"] === body.metadata["current-snapshot-id"]);
  return { status: 200, location: body["metadata-location"], summary: snap?.summary };
}

/** A CDC source that sends one event per batch, with consecutive sequences. */
async function source(id: string): Promise<(op: string, table: string, rowId: string, after?: Record<string, unknown>) => Promise<void>> {
  const s: TestSocket = await openSocket();
  let seq = 0;
  return async (operation, t, rowId, after) => {
    seq++;
    s.sendJson({ type: "cdc_batch", sourceDoId: id, sequenceNumber: seq, events: [{ sequence: seq, timestamp: seq, operation, table: t, rowId, after }] });
    let answer;
    do answer = await s.next();
    while (answer.type === "ack" && answer.status === "persisted"); // from the previous flush
    expect(answer).toMatchObject({ type: "ack", status: "buffered" });
  };
}

const rest = (method: string, path: string, body?: unknown) =>
  SELF.fetch(`http://lake/v1/${path}`, { method, headers: { ...AUTH, "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });

describe("CDC mirrors through the table lifecycle", () => {
  it("a dropped (purged) partitioned mirror is re-created fresh by the next CDC flush", async () => {
    await configure({ partitionBy: { lc_part: [{ column: "country", transform: "identity" }] } });
    const send = await source("lc-1");
    await send("INSERT", "lc_part", "a", { id: "a", country: "fr" });
    await send("INSERT", "lc_part", "b", { id: "b", country: "de" });
    expect((await flush()).status).toBe(200);
    expect((await rest("DELETE", "namespaces/default/tables/lc_part?purgeRequested=true")).status).toBe(204);
    await send("UPDATE", "lc_part", "a", { id: "a", country: "it" });
    const r = await flush();
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const t = await table("lc_part");
    expect(t.summary).toMatchObject({ "total-records": "1" });
    expect(t.summary?.["total-position-deletes"] ?? "0").toBe("0");
  });

  it("a dropped unpartitioned mirror gets no position deletes aimed at the old table's files", async () => {
    const send = await source("lc-2");
    await send("INSERT", "lc_plain", "u1", { id: "u1", v: 1 });
    await send("INSERT", "lc_plain", "u2", { id: "u2", v: 2 });
    expect((await flush()).status).toBe(200);
    expect((await rest("DELETE", "namespaces/default/tables/lc_plain")).status).toBe(204);
    await send("UPDATE", "lc_plain", "u1", { id: "u1", v: 3 });
    expect((await flush()).status).toBe(200);
    const t = await table("lc_plain");
    expect(t.summary).toMatchObject({ "total-records": "1" });
    expect(t.summary?.["total-position-deletes"] ?? "0").toBe("0");
  });

  it("a renamed mirror keeps its index (CDC for the new name deletes in its files); the old name starts fresh", async () => {
    const send = await source("lc-3");
    await send("INSERT", "lc_ren", "r1", { id: "r1", v: 1 });
    expect((await flush()).status).toBe(200);
    const moved = await rest("POST", "tables/rename", { source: { namespace: ["default"], name: "lc_ren" }, destination: { namespace: ["default"], name: "lc_ren_old" } });
    expect(moved.status).toBe(204);
    const before = await table("lc_ren_old");
    await send("UPDATE", "lc_ren", "r1", { id: "r1", v: 2 });
    expect((await flush()).status).toBe(200);
    const fresh = await table("lc_ren");
    expect(fresh.summary).toMatchObject({ "total-records": "1" });
    expect(fresh.summary?.["total-position-deletes"] ?? "0").toBe("0");
    expect((await table("lc_ren_old")).location).toBe(before.location);
    // The index moved with the table: an UPDATE under the new name deletes the row in its files.
    await send("UPDATE", "lc_ren_old", "r1", { id: "r1", v: 9 });
    expect((await flush()).status).toBe(200);
    const renamed = await table("lc_ren_old");
    expect(renamed.summary).toMatchObject({ "total-position-deletes": "1", "total-records": "2" });
  });
});
