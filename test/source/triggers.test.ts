// The capture side: triggers write every committed change (and no rolled-back one) into the outbox,
// in commit order, with exact 64-bit values and declared column types.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Orders } from "../../examples/orders/src/orders.js";
import { toCdcEvent } from "../../src/source/pump.js";
import { orders } from "./helpers.js";

describe("triggers", () => {
  it("captures insert, update, delete with before/after images, key as rowId, consecutive sequences", async () => {
    await runInDurableObject(orders("t1"), (o: Orders, state) => {
      const sql = state.storage.sql;
      sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (1, 'ann', 500, 1)");
      sql.exec("UPDATE orders SET status = 'paid' WHERE id = 1");
      sql.exec("DELETE FROM orders WHERE id = 1");
      const events = o.cdc.slots.subscribeFromSlot("dolake");
      expect(events.map((e) => [e.sequence, e.operation, e.table, e.rowId])).toEqual([
        [1n, "INSERT", "orders", "1"],
        [2n, "UPDATE", "orders", "1"],
        [3n, "DELETE", "orders", "1"],
      ]);
      expect(JSON.parse(events[0]!.after!)).toEqual({ id: 1, customer: "ann", amount_cents: 500, status: "new", updated_at: 1 });
      expect(events[0]!.before).toBeNull();
      expect(JSON.parse(events[1]!.before!).status).toBe("new");
      expect(JSON.parse(events[1]!.after!).status).toBe("paid");
      expect(JSON.parse(events[2]!.before!).status).toBe("paid");
      expect(events[2]!.after).toBeNull();
    });
  });

  it("captures nothing of a rolled-back transaction, and sequences stay consecutive after it", async () => {
    await runInDurableObject(orders("t2"), (o: Orders, state) => {
      const sql = state.storage.sql;
      sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (1, 'ann', 500, 1)");
      expect(() =>
        state.storage.transactionSync(() => {
          sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (2, 'bob', 700, 1)");
          sql.exec("UPDATE orders SET amount_cents = 1 WHERE id = 1");
          sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (1, 'dup', 1, 1)"); // constraint
        }),
      ).toThrow(/constraint/);
      sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (3, 'cid', 900, 1)");
      const events = o.cdc.slots.subscribeFromSlot("dolake");
      expect(events.map((e) => [e.sequence, e.operation, e.rowId])).toEqual([
        [1n, "INSERT", "1"],
        [2n, "INSERT", "3"],
      ]);
      expect(sql.exec("SELECT count(*) AS n FROM orders").one().n).toBe(2);
    });
  });

  it("ALTER TABLE through migrate regenerates the triggers in the same transaction; a raw ALTER makes writes refuse, not lose columns", async () => {
    await runInDurableObject(orders("t3"), (o: Orders, state) => {
      const sql = state.storage.sql;
      sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (1, 'ann', 500, 1)");
      o.cdc.migrate(() => sql.exec("ALTER TABLE orders ADD COLUMN coupon TEXT"));
      sql.exec("UPDATE orders SET coupon = 'X1' WHERE id = 1");
      // A raw ALTER (outside migrate): the next write is refused with a clear error instead of being captured without the column.
      sql.exec("ALTER TABLE orders ADD COLUMN region TEXT");
      expect(() => sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at, region) VALUES (2, 'bob', 1, 1, 'eu')")).toThrow(/dolake_cdc: schema changed/);
      expect(sql.exec("SELECT count(*) AS n FROM orders").one().n).toBe(1);
      o.cdc.refresh();
      sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at, region) VALUES (2, 'bob', 1, 1, 'eu')");
      const events = o.cdc.slots.subscribeFromSlot("dolake");
      expect(events.map((e) => [e.sequence, e.operation])).toEqual([
        [1n, "INSERT"],
        [2n, "UPDATE"],
        [3n, "INSERT"],
      ]);
      expect(JSON.parse(events[1]!.after!).coupon).toBe("X1");
      expect(JSON.parse(events[2]!.after!)).toMatchObject({ coupon: null, region: "eu" });
    });
  });

  it("a key change is a DELETE of the old key and an INSERT of the new one", async () => {
    await runInDurableObject(orders("t5"), (o: Orders, state) => {
      const sql = state.storage.sql;
      sql.exec("INSERT INTO orders (id, customer, amount_cents, updated_at) VALUES (1, 'ann', 500, 1)");
      sql.exec("UPDATE orders SET id = 7 WHERE id = 1");
      expect(o.cdc.slots.subscribeFromSlot("dolake").map((e) => [e.operation, e.rowId])).toEqual([
        ["INSERT", "1"],
        ["DELETE", "1"],
        ["INSERT", "7"],
      ]);
    });
  });

  it("captures every table with tables '*' (and tables created later through migrate), 64-bit values exactly", async () => {
    await runInDurableObject(orders("t4"), async (_o: Orders, state) => {
      const sql = state.storage.sql;
      sql.exec("CREATE TABLE kinds (k INTEGER PRIMARY KEY, big INTEGER, price REAL, ok BOOLEAN, raw BLOB, note TEXT)");
      const { enableCdc, dolakeUrl } = await import("../../src/source/index.js");
      const cdc = enableCdc(state, { tables: "*", destination: dolakeUrl("http://127.0.0.1:1", "x"), slot: "all" });
      expect(cdc.captured.map((t) => t.name).sort()).toEqual(["kinds", "orders"]);
      sql.exec("INSERT INTO kinds VALUES ('9223372036854775807', '-9223372036854775808', 2, 1, x'00ff', '12')");
      const [e] = cdc.slots.subscribeFromSlot("all");
      expect(e!.rowId).toBe("9223372036854775807");
      expect(e!.after).toBe('{"k":9223372036854775807,"big":-9223372036854775808,"price":2.0,"ok":true,"raw":"00FF","note":"12"}');
      const wire = toCdcEvent(e!, new Map(cdc.captured.find((t) => t.name === "kinds")!.columns.map((c) => [c.name, c.kind])));
      const f = wire.after!.fields;
      expect(f.k!.kind).toEqual({ case: "intValue", value: 9223372036854775807n });
      expect(f.big!.kind).toEqual({ case: "intValue", value: -9223372036854775808n });
      expect(f.price!.kind).toEqual({ case: "doubleValue", value: 2 });
      expect(f.ok!.kind).toEqual({ case: "boolValue", value: true });
      expect(f.raw!.kind).toEqual({ case: "stringValue", value: "00FF" });
      expect(f.note!.kind).toEqual({ case: "stringValue", value: "12" });
      // A table created later through migrate is captured from its first row.
      cdc.migrate(() => sql.exec("CREATE TABLE later (id TEXT PRIMARY KEY, n INTEGER)"));
      sql.exec("INSERT INTO later VALUES ('a', 1)");
      expect(cdc.slots.subscribeFromSlot("all").map((x) => [x.sequence, x.table, x.rowId, x.after])).toEqual([
        [1n, "kinds", "9223372036854775807", e!.after],
        [2n, "later", "a", '{"id":"a","n":1}'],
      ]);
    });
  });
});
