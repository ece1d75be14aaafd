// One DoLake object per warehouse: the Worker routes by the Iceberg REST prefix or the warehouse
// query parameter; each warehouse has its own buffer, catalog and R2 prefix.
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { AUTH, closeAll, jsonBatch } from "../helpers.js";
import { decodeServerFrame, serverMessageToJson } from "../../../src/protocol/frames.js";

afterEach(closeAll);

async function sendTo(warehouse: string, batch: unknown): Promise<any> {
  const res = await SELF.fetch(`http://lake/ws?warehouse=${warehouse}`, { headers: { Upgrade: "websocket", ...AUTH } });
  const ws = res.webSocket!;
  const answer = new Promise<any>((resolve) => ws.addEventListener("message", (ev) => resolve(serverMessageToJson(decodeServerFrame(ev.data as string)))));
  ws.accept();
  ws.send(JSON.stringify(batch));
  const a = await answer;
  ws.close();
  return a;
}

describe("warehouses", () => {
  it("routes CDC, flushes and the catalog to the named warehouse's own object", async () => {
    expect(await sendTo("east", jsonBatch("wh-src", 1, 1, 2, "orders"))).toMatchObject({ type: "ack", status: "buffered" });
    expect(await sendTo("west", jsonBatch("wh-src", 1, 1, 3, "orders"))).toMatchObject({ type: "ack", status: "buffered" });
    for (const w of ["east", "west"]) {
      const r = await SELF.fetch(`http://lake/flush?warehouse=${w}`, { method: "POST", headers: AUTH });
      expect(await r.json()).toMatchObject({ ok: true });
    }
    const config = (await (await SELF.fetch("http://lake/v1/config?warehouse=east", { headers: AUTH })).json()) as any;
    expect(config.overrides.prefix).toBe("east");
    const east = (await (await SELF.fetch("http://lake/v1/east/namespaces/default/tables/orders", { headers: AUTH })).json()) as any;
    const west = (await (await SELF.fetch("http://lake/v1/west/namespaces/default/tables/orders", { headers: AUTH })).json()) as any;
    expect(east.metadata.location).toBe("s3://dolake-warehouse/east/default/orders");
    expect(west.metadata.location).toBe("s3://dolake-warehouse/west/default/orders");
    const total = (m: any) => m.snapshots.find((s: any) => s["snapshot-id"] === m["current-snapshot-id"]).summary["total-records"];
    expect([total(east.metadata), total(west.metadata)]).toEqual(["2", "3"]);
    // The default warehouse does not see them.
    const dflt = await SELF.fetch("http://lake/v1/namespaces/default/tables/orders_none", { headers: AUTH });
    expect(dflt.status).toBe(404);
  });

  it("refuses an invalid or unknown warehouse before touching any object", async () => {
    const bad = await SELF.fetch("http://lake/status?warehouse=..%2Fetc", { headers: AUTH });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: "BadRequestException" } });
    const unknown = await SELF.fetch("http://lake/status?warehouse=north", { headers: AUTH });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { type: "NoSuchWarehouseException", message: expect.stringContaining("warehouse, east, west") } });
  });
});
