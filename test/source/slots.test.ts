// Replication slots move forward only. The slot's position is bound as decimal text (64-bit exact):
// SQLite's max() ranks any TEXT above any INTEGER, so max(acked, ?) once took a late, smaller
// position (a persisted ack for an older batch) and moved the slot back behind rows already trimmed;
// the pump then stopped on a false "outbox gap". Positions are compared as integers now.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Orders } from "../../examples/orders/src/orders.js";
import { Outbox, OUTBOX_TABLE } from "../../src/source/outbox.js";
import { orders } from "./helpers.js";

describe("replication slots", () => {
  it("never move back, even for an older position reported late; nothing behind them is sent again", async () => {
    await runInDurableObject(orders("slots"), async (_o: Orders, state) => {
      const outbox = new Outbox(state.storage.sql);
      for (let i = 0; i < 12; i++) {
        state.storage.sql.exec(`INSERT INTO ${OUTBOX_TABLE} (ts, tbl, op, row_id, after) VALUES (0, 't', 'INSERT', ?, '{}')`, String(i));
      }
      outbox.createSlot("dolake", 0n);
      outbox.updateSlot("dolake", 10n, 4n);
      outbox.updateSlot("dolake", 9n, 3n); // a late, older report
      expect(outbox.slot("dolake")).toMatchObject({ acked: 10n, persisted: 4n });
      outbox.updateSlot("dolake", 11n, 11n);
      expect(outbox.slot("dolake")).toMatchObject({ acked: 11n, persisted: 11n });
    });
  });
});
