import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../src/config.js";
import type { DoLake } from "../../../src/do/dolake.js";
import { AUTH, closeAll, configure, getJson, jsonBatch, openSocket, flushNow as flush } from "../helpers.js";

const lake = () => env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));

afterEach(async () => {
  closeAll();
  await configure({ ...DEFAULT_CONFIG });
});

async function loadTable(name: string): Promise<any> {
  const res = await SELF.fetch(`http://lake/v1/namespaces/default/tables/${name}`, { headers: AUTH });
  return { status: res.status, body: await res.json() };
}

/** Replaces the object's R2 binding with a wrapper whose writes fail (test-only; production has no such hook). */
async function breakR2(broken: boolean): Promise<void> {
  await runInDurableObject(lake(), (obj: DoLake) => {
    const e = (obj as unknown as { env: Record<string, unknown> }).env;
    const real = (e.__realBucket ??= e.LAKEHOUSE_BUCKET) as R2Bucket;
    e.LAKEHOUSE_BUCKET = broken
      ? new Proxy(real, {
          get(target, prop) {
            if (prop === "put" || prop === "createMultipartUpload") return async () => { throw new Error("injected R2 failure"); };
            const v = Reflect.get(target, prop);
            return typeof v === "function" ? v.bind(target) : v;
          },
        })
      : real;
  });
}

describe("flush to Iceberg", () => {
  it("writes a mirror table and its changelog, empties the buffer, and tells the producer what is persisted", async () => {
    const s = await openSocket();
    s.sendJson({ type: "connect", sourceDoId: "fl-1", protocolVersion: 1 });
    await s.next();
    s.sendJson({
      type: "cdc_batch",
      sourceDoId: "fl-1",
      sequenceNumber: 1,
      events: [
        { sequence: 1, timestamp: 1, operation: "INSERT", table: "people", rowId: "a", after: { id: "a", age: 30 } },
        { sequence: 2, timestamp: 2, operation: "INSERT", table: "people", rowId: "b", after: { id: "b", age: 40 } },
        { sequence: 3, timestamp: 3, operation: "UPDATE", table: "people", rowId: "a", after: { id: "a", age: 31 } },
        { sequence: 4, timestamp: 4, operation: "INSERT", table: "pets", rowId: "p", after: { id: "p", kind: "cat" } },
      ],
    });
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered" });
    const r = await flush();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, eventsFlushed: 4 });
    expect(r.body.tables).toEqual(expect.arrayContaining(["default.people", "default.people__changelog", "default.pets"]));
    const persisted = await s.next();
    expect(persisted).toMatchObject({ type: "ack", status: "persisted", sequenceNumber: 1, details: { lastAckSequence: 4 } });
    expect((persisted.details as any).persistedPath).toMatch(/^s3:\/\/dolake-warehouse\/warehouse\/default\/pets\/metadata\/.*\.metadata\.json$/);

    const people = await loadTable("people");
    expect(people.status).toBe(200);
    const m = people.body.metadata;
    expect(m["format-version"]).toBe(2);
    const snap = m.snapshots.find((x: any) => x["snapshot-id"] === m["current-snapshot-id"]);
    expect(snap.summary["total-records"]).toBe("2");
    const changelog = await loadTable("people__changelog");
    const cs = changelog.body.metadata.snapshots.at(-1);
    expect(cs.summary["total-records"]).toBe("3");
    // Files really are in R2 where the metadata says.
    const key = String(m["metadata-log"].length >= 0 && people.body["metadata-location"]).replace("s3://dolake-warehouse/", "");
    expect(await env.LAKEHOUSE_BUCKET.head(key)).not.toBeNull();

    const src = await runInDurableObject(lake(), (obj: DoLake) => obj.buffer.source("fl-1"));
    expect(src?.lastPersistedSequence).toBe(4n);
    s.sendJson({ type: "connect", sourceDoId: "fl-1", protocolVersion: 1 });
    expect(await s.next()).toMatchObject({ type: "connected", lastAckSequence: 4, lastPersistedSequence: 4 });
  });

  it("mirrors UPDATE and DELETE as position deletes across flushes", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("fl-2", 1, 1, 3, "orders"));
    await s.next();
    expect((await flush()).body.ok).toBe(true);
    s.sendJson({
      type: "cdc_batch",
      sourceDoId: "fl-2",
      sequenceNumber: 2,
      events: [
        { sequence: 4, operation: "UPDATE", table: "orders", rowId: "r1", after: { id: 1, name: "changed" } },
        { sequence: 5, operation: "DELETE", table: "orders", rowId: "r2" },
      ],
    });
    await s.next();
    expect((await flush()).body.ok).toBe(true);
    const m = (await loadTable("orders")).body.metadata;
    const snap = m.snapshots.find((x: any) => x["snapshot-id"] === m["current-snapshot-id"]);
    expect(snap.summary["total-position-deletes"]).toBe("2");
    expect(Number(snap.summary["total-records"]) - Number(snap.summary["total-position-deletes"])).toBe(2);
    expect(m.snapshots.length).toBe(2);
  });

  it("flushes from the age alarm", async () => {
    // The alarm is due in flushThresholdMs (60 s); runDurableObjectAlarm fires it now, deterministically.
    const s = await openSocket();
    s.sendJson(jsonBatch("fl-3", 1, 1, 2, "aged"));
    await s.next();
    expect(await runDurableObjectAlarm(lake())).toBe(true);
    const stats = await runInDurableObject(lake(), (obj: DoLake) => obj.buffer.stats());
    expect(stats.eventCount).toBe(0);
    expect((await loadTable("aged")).status).toBe(200);
  });

  it("answers flush_request with flush_result", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("fl-4", 1, 1, 1, "requested"));
    await s.next();
    s.sendJson({ type: "flush_request", sourceDoId: "fl-4", reason: "manual", correlationId: "f1" });
    const msgs = [await s.next(), await s.next()];
    expect(msgs).toContainEqual(expect.objectContaining({ type: "flush_result", correlationId: "f1", ok: true, eventsFlushed: 1 }));
  });

  it("keeps events buffered while R2 fails, opens the breaker, acks as fallback, and recovers", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("fl-r2", 1, 1, 2, "fragile"));
    await s.next();
    await breakR2(true);
    for (let i = 0; i < 3; i++) {
      const r = await flush();
      expect(r.status).toBe(503);
      expect(r.body.errorMessage).toMatch(/injected R2 failure/);
    }
    const status = await getJson("/status");
    expect(status).toMatchObject({ circuitBreakerState: "open", state: "recovering" });
    expect(status.buffer.eventCount).toBeGreaterThanOrEqual(2);
    s.sendJson(jsonBatch("fl-r2", 2, 3, 3, "fragile"));
    expect(await s.next()).toMatchObject({ type: "ack", status: "fallback", details: { circuitBreakerState: "open" } });
    expect((await loadTable("fragile")).status).toBe(404);
    await breakR2(false);
    await runInDurableObject(lake(), (obj: DoLake) => obj.flushes.breaker.success());
    const ok = await flush();
    expect(ok.body).toMatchObject({ ok: true });
    const m = (await loadTable("fragile")).body.metadata;
    expect(m.snapshots.at(-1).summary["total-records"]).toBe("3");
  });
});

describe("schema guard", () => {
  it("refuses a value that cannot fit its column with schema_conflict, before the ack, and keeps flushing", async () => {
    const s = await openSocket();
    s.sendJson({ type: "cdc_batch", sourceDoId: "sg-1", sequenceNumber: 1, events: [{ sequence: 1, operation: "INSERT", table: "prices", rowId: "a", after: { id: "a", qty: 1, note: null } }] });
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered" });
    s.sendJson({ type: "cdc_batch", sourceDoId: "sg-1", sequenceNumber: 2, events: [{ sequence: 2, operation: "INSERT", table: "prices", rowId: "b", after: { id: "b", qty: 1.5 } }] });
    expect(await s.next()).toMatchObject({
      type: "nack",
      reason: "schema_conflict",
      shouldRetry: false,
      errorMessage: expect.stringContaining('column "qty" is long and cannot take a double value'),
    });
    // Nothing of the refused batch was applied; the same sequence is still expected.
    s.sendJson({ type: "cdc_batch", sourceDoId: "sg-1", sequenceNumber: 3, events: [{ sequence: 2, operation: "INSERT", table: "prices", rowId: "b", after: { id: "b", qty: 2, extra: "new column" } }] });
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered", details: { lastAckSequence: 2 } });
    expect((await flush()).body.ok).toBe(true);
    const m = (await loadTable("prices")).body.metadata;
    const schema = m.schemas.find((x: any) => x["schema-id"] === m["current-schema-id"]);
    expect(schema.fields.map((f: any) => [f.name, f.type])).toEqual([["id", "string"], ["qty", "long"], ["extra", "string"]]);
  });
});

describe("partitioned mirror tables", () => {
  it("creates a table with the configured partition spec and writes partition values into paths and manifests", async () => {
    await configure({ partitionBy: { clicks: [{ column: "user", transform: "bucket[4]" }, { column: "country", transform: "identity" }] } });
    const s = await openSocket();
    const events = ["pt", "de", "pt", "us"].map((country, i) => ({
      sequence: i + 1, operation: "INSERT", table: "clicks", rowId: `c${i}`, after: { id: i, user: `u${i % 3}`, country },
    }));
    s.sendJson({ type: "cdc_batch", sourceDoId: "part-1", sequenceNumber: 1, events });
    expect(await s.next()).toMatchObject({ status: "buffered" });
    expect((await flush()).body.ok).toBe(true);
    const m = (await loadTable("clicks")).body.metadata;
    const spec = m["partition-specs"].find((x: any) => x["spec-id"] === m["default-spec-id"]);
    expect(spec.fields.map((f: any) => [f.name, f.transform])).toEqual([["user_bucket", "bucket[4]"], ["country", "identity"]]);
    const keys = (await env.LAKEHOUSE_BUCKET.list({ prefix: "warehouse/default/clicks/data/" })).objects.map((o) => o.key);
    expect(keys.some((k) => /user_bucket=\d\/country=pt\//.test(k))).toBe(true);
    expect(keys.some((k) => /country=us\//.test(k))).toBe(true);
    expect(current(m).summary["changed-partition-count"]).toBe(String(new Set(keys.filter((k) => k.endsWith(".parquet")).map((k) => k.split("/").slice(-3, -1).join("/"))).size));
  });
});

function current(m: any) {
  return m.snapshots.find((x: any) => x["snapshot-id"] === m["current-snapshot-id"]);
}
