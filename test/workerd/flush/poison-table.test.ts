// Poison tables: a table name or table state that cannot flush must not stop the others.
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../src/config.js";
import { AUTH, closeAll, configure, openSocket } from "../helpers.js";

afterEach(async () => {
  closeAll();
  await configure({ ...DEFAULT_CONFIG });
});

async function flush(): Promise<{ status: number; body: any }> {
  const res = await SELF.fetch("http://lake/flush", { method: "POST", headers: AUTH });
  return { status: res.status, body: await res.json() };
}

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
