// The catalog is the one commit point: a REST client's commit that lands while a CDC flush is
// writing its files makes the flush's pointer swap fail; the flush writes again on top of the new
// snapshot and both changes are in the table. No lost update.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { DoLake } from "../../../src/do/dolake.js";
import { parseJson, stringifyJson } from "../../../src/util/json.js";
import { AUTH, bufferedAck, closeAll, jsonBatch, openSocket } from "../helpers.js";

const lake = () => env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));
afterEach(closeAll);

type Gate = { open: () => void; waiting: number; opened: Promise<void> };
const g = globalThis as unknown as { r2Gate?: Gate };

function newGate(): Gate {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened, waiting: 0 };
}

describe("shared commit point", () => {
  it("a CDC flush and a concurrent REST commit to the same table both land", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("shared-1", 1, 1, 2, "shared_t"));
    await s.next();
    expect((await (await SELF.fetch("http://lake/flush", { method: "POST", headers: AUTH })).json()) as any).toMatchObject({ ok: true });
    // Snapshot ids exceed 2^53: read and write them with the BigInt-safe codec, as any client must.
    const before = parseJson(await (await SELF.fetch("http://lake/v1/namespaces/default/tables/shared_t", { headers: AUTH })).text()) as any;
    const uuid = before.metadata["table-uuid"];
    const base = before.metadata.snapshots.find((x: any) => x["snapshot-id"] === before.metadata["current-snapshot-id"]);

    // Hold the next flush's data-file writes until the REST commit has landed.
    g.r2Gate = newGate();
    await runInDurableObject(lake(), (obj: DoLake) => {
      const e = (obj as unknown as { env: Record<string, unknown> }).env;
      const real = e.LAKEHOUSE_BUCKET as R2Bucket;
      e.LAKEHOUSE_BUCKET = new Proxy(real, {
        get(target, prop) {
          if (prop === "put") {
            return async (...args: Parameters<R2Bucket["put"]>) => {
              const gate = g.r2Gate;
              // Only the flush's data files wait: the REST commit writes its metadata.json freely.
              if (gate && String(args[0]).includes("/data/")) {
                gate.waiting++;
                await gate.opened;
              }
              return target.put(...args);
            };
          }
          const v = Reflect.get(target, prop);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
    });
    s.sendJson(jsonBatch("shared-1", 2, 3, 5, "shared_t"));
    await bufferedAck(s, 2); // not the persisted ack of the first flush
    const flushing = SELF.fetch("http://lake/flush", { method: "POST", headers: AUTH });
    while (g.r2Gate.waiting === 0) await new Promise((r) => setTimeout(r, 5));

    const commit = await SELF.fetch("http://lake/v1/namespaces/default/tables/shared_t", {
      method: "POST",
      headers: { ...AUTH, "Content-Type": "application/json" },
      // An external writer moves main: a new snapshot (a no-data "replace" over the same manifests).
      body: stringifyJson({
        requirements: [{ type: "assert-table-uuid", uuid }, { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": base["snapshot-id"] }],
        updates: [
          { action: "set-properties", updates: { "owner.external": "yes" } },
          {
            action: "add-snapshot",
            snapshot: {
              "snapshot-id": 424242n,
              "parent-snapshot-id": base["snapshot-id"],
              "sequence-number": BigInt(before.metadata["last-sequence-number"]) + 1n,
              "timestamp-ms": Date.now(),
              "manifest-list": base["manifest-list"],
              summary: { ...base.summary, operation: "replace" },
              "schema-id": before.metadata["current-schema-id"],
            },
          },
          { action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": 424242 },
        ],
      }),
    });
    expect(commit.status).toBe(200);
    g.r2Gate.open();
    const flushed = (await (await flushing).json()) as any;
    delete g.r2Gate;
    expect(flushed).toMatchObject({ ok: true, eventsFlushed: 3 });

    const after = parseJson(await (await SELF.fetch("http://lake/v1/namespaces/default/tables/shared_t", { headers: AUTH })).text()) as any;
    expect(after.metadata.properties["owner.external"]).toBe("yes");
    expect(after.metadata.snapshots.length).toBe(3);
    const snap = after.metadata.snapshots.find((x: any) => x["snapshot-id"] === after.metadata["current-snapshot-id"]);
    expect(snap["parent-snapshot-id"]).toBe(424242); // written on top of the external snapshot
    expect(snap.summary["total-records"]).toBe("5");
    const failures = await runInDurableObject(lake(), (obj: DoLake) => obj.flushes.breaker.consecutiveFailures());
    expect(failures).toBe(0);
  });
});
