// Mirror tables made by another writer with typed columns (date, timestamptz) before any CDC event:
// the schema guard learns the table's schema from the REST create, so ISO text into those columns is
// acked and flushes, and text that cannot be a date is refused before the ack (nothing acked may be
// unflushable). Before, the guard only learned schemas at DoLake's own flush commits: both kinds of
// event were acked and every flush of the table failed.
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { AUTH, closeAll, flushNow, openSocket } from "../helpers.js";

afterEach(() => closeAll());

const schema = {
  type: "struct", "schema-id": 0,
  fields: [
    { id: 1, name: "id", type: "long", required: false },
    { id: 2, name: "day", type: "date", required: false },
    { id: 3, name: "at", type: "timestamptz", required: false },
  ],
};

async function createTable(name: string, body: Record<string, unknown> = {}): Promise<void> {
  await SELF.fetch("http://lake/v1/namespaces", { method: "POST", headers: AUTH, body: JSON.stringify({ namespace: ["default"] }) });
  const created = await SELF.fetch("http://lake/v1/namespaces/default/tables", { method: "POST", headers: AUTH, body: JSON.stringify({ name, schema, ...body }) });
  expect(created.status).toBe(200);
}

async function query(sql: string): Promise<any> {
  const res = await SELF.fetch("http://lake/v1/query", { method: "POST", headers: AUTH, body: JSON.stringify({ sql }) });
  expect(res.status).toBe(200);
  return res.json();
}

describe("CDC into a table another writer created with typed columns", () => {
  it("acks ISO text for date and timestamptz columns and flushes it as those types", async () => {
    await createTable("typed_a", { "partition-spec": { "spec-id": 0, fields: [{ "source-id": 3, "field-id": 1000, transform: "day", name: "at_day" }] } });
    const s = await openSocket();
    s.sendJson({
      type: "cdc_batch", sourceDoId: "typed-1", sequenceNumber: 1,
      events: [
        { sequence: 1, timestamp: 1, operation: "INSERT", table: "typed_a", rowId: "1", after: { id: 1, day: "2025-01-14", at: "2025-01-14T10:11:12.345678Z" } },
        { sequence: 2, timestamp: 2, operation: "INSERT", table: "typed_a", rowId: "2", after: { id: 2, day: null, at: "2025-01-15T00:00:00+02:00" } },
      ],
    });
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered" });
    const flushed = await flushNow();
    expect(flushed.body).toMatchObject({ ok: true, eventsFlushed: 2 });
    const res = await query("SELECT id, day, at, extract(hour FROM at) AS h FROM typed_a ORDER BY id");
    expect(res.columns.map((c: any) => c.type)).toEqual(["BIGINT", "DATE", "TIMESTAMP WITH TIME ZONE", "BIGINT"]);
    expect(res.rows).toEqual([
      { id: 1, day: "2025-01-14", at: "2025-01-14T10:11:12.345678Z", h: 10 },
      { id: 2, day: null, at: "2025-01-14T22:00:00Z", h: 22 },
    ]);
  });

  it("refuses text that is not a date before the ack, and the connection goes on", async () => {
    await createTable("typed_b");
    const s = await openSocket();
    s.sendJson({ type: "cdc_batch", sourceDoId: "typed-2", sequenceNumber: 1, events: [{ sequence: 1, timestamp: 1, operation: "INSERT", table: "typed_b", rowId: "1", after: { id: 1, day: "next tuesday" } }] });
    const nack = await s.next();
    expect(nack).toMatchObject({ type: "nack", reason: "schema_conflict", shouldRetry: false });
    expect(nack.errorMessage).toContain("day");
    s.sendJson({ type: "cdc_batch", sourceDoId: "typed-2", sequenceNumber: 2, events: [{ sequence: 2, timestamp: 2, operation: "INSERT", table: "typed_b", rowId: "1", after: { id: 1, day: "2025-02-01" } }] });
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered" });
    expect((await flushNow()).body).toMatchObject({ ok: true, eventsFlushed: 1 });
  });
});
