// Commits other engines make to CDC mirror tables through the REST catalog (src/flush/external-writes.ts):
// position deletes are accepted and the primary-key index forgets the deleted rows in the same
// transaction (a later CDC UPDATE of such a row writes no second delete of the same position), while
// appends and rollbacks, which would leave the index pointing at the wrong rows, are refused with 403.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { DoLake } from "../../../src/do/dolake.js";
import { R2ObjectStore } from "../../../src/flush/r2-store.js";
import { SqlPrimaryKeyIndex } from "../../../src/flush/pk-index.js";
import { tableMetadataFromJson } from "../../../src/iceberg/metadata/json.js";
import type { TableMetadata } from "../../../src/iceberg/metadata/types.js";
import { writePositionDeletes } from "../../../src/iceberg/position-deletes.js";
import { commitSnapshot } from "../../../src/iceberg/table-commit.js";
import { writeParquet } from "../../../src/parquet/writer.js";
import { parseJson, stringifyJson } from "../../../src/util/json.js";
import { AUTH, bufferedAck, closeAll, jsonBatch, openSocket } from "../helpers.js";

const lake = () => env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));
afterEach(closeAll);

const keyFor = (location: string) => location.replace(/^s3:\/\/[^/]+\//, "");

async function flush(): Promise<void> {
  const res = await SELF.fetch("http://lake/flush", { method: "POST", headers: AUTH });
  expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
}

async function load(table: string): Promise<TableMetadata> {
  const res = await SELF.fetch(`http://lake/v1/namespaces/default/tables/${table}`, { headers: AUTH });
  return tableMetadataFromJson((parseJson(await res.text()) as { metadata: unknown }).metadata);
}

function summary(m: TableMetadata): Record<string, string> {
  return m.snapshots.find((s) => s["snapshot-id"] === m["current-snapshot-id"])!.summary as Record<string, string>;
}

/** What another engine does: files on R2, then one REST commit of a new snapshot. */
async function externalCommit(table: string, m: TableMetadata, files: { data?: Parameters<typeof commitSnapshot>[0]["dataFiles"]; deletes?: Parameters<typeof commitSnapshot>[0]["deleteFiles"] }): Promise<Response> {
  const c = await commitSnapshot({
    base: m, createUpdates: [], dataFiles: files.data ?? [], deleteFiles: files.deletes ?? [],
    store: new R2ObjectStore(env.LAKEHOUSE_BUCKET), keyFor, now: BigInt(Date.now()), snapshotId: 7_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e6)),
    uuid: () => crypto.randomUUID(), written: [],
  });
  return SELF.fetch(`http://lake/v1/namespaces/default/tables/${table}`, {
    method: "POST", headers: { ...AUTH, "Content-Type": "application/json" },
    body: stringifyJson({ requirements: c.requirements, updates: c.updates }),
  });
}

async function located(table: string, rowIds: string[]) {
  return runInDurableObject(lake(), (obj: DoLake) => [...new SqlPrimaryKeyIndex(obj.storage.sql, `default.${table}`).lookup(rowIds)].map(([id, l]) => ({ id, filePath: l.filePath, pos: l.pos })));
}

describe("external writers and CDC mirror tables", () => {
  it("an external position delete is learned: the CDC UPDATE of that row writes no second delete of the same position", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("ext-1", 1, 1, 3, "ext_a"));
    await s.next();
    await flush();
    const [r2] = await located("ext_a", ["r2"]);
    expect(r2).toBeDefined();
    const base = await load("ext_a");
    const path = `${base.location}/data/external-deletes.parquet`;
    const del = writePositionDeletes(path, [], [{ filePath: r2!.filePath, pos: r2!.pos }]);
    await env.LAKEHOUSE_BUCKET.put(keyFor(path), del.bytes);
    const res = await externalCommit("ext_a", base, { deletes: [del.dataFile] });
    expect(res.status).toBe(200);
    expect(await located("ext_a", ["r1", "r2", "r3"])).toEqual([expect.objectContaining({ id: "r1" }), expect.objectContaining({ id: "r3" })]);

    // The source still has r2 and updates it: the new version is written, the old position is not deleted twice.
    s.sendJson({ type: "cdc_batch", sourceDoId: "ext-1", sequenceNumber: 2, events: [{ sequence: 4, operation: "UPDATE", table: "ext_a", rowId: "r2", after: { id: 2, name: "again" } }] });
    await bufferedAck(s, 2);
    await flush();
    const sum = summary(await load("ext_a"));
    expect(sum["total-position-deletes"]).toBe("1");
    expect(Number(sum["total-records"]) - Number(sum["total-position-deletes"])).toBe(3); // r1, r3 and r2's new version
  });

  it("appends to a mirror are refused with 403 and leave the table and its index as they were", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("ext-2", 1, 1, 2, "ext_b"));
    await s.next();
    await flush();
    const base = await load("ext_b");
    const schema = base.schemas.find((x) => x["schema-id"] === base["current-schema-id"])!;
    const path = `${base.location}/data/external-append.parquet`;
    const pq = writeParquet(schema.fields, [{ id: 9n, name: "outsider" } as never]);
    await env.LAKEHOUSE_BUCKET.put(keyFor(path), pq.bytes);
    const { bytes, recordCount, splitOffsets, ...metrics } = pq;
    const res = await externalCommit("ext_b", base, { data: [{ content: 0, filePath: path, fileFormat: "PARQUET", partition: [], recordCount, fileSizeInBytes: BigInt(bytes.length), splitOffsets, sortOrderId: 0, ...metrics }] });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("ForbiddenException");
    expect(body.error.message).toMatch(/appends data files/);
    const after = await load("ext_b");
    expect(after["current-snapshot-id"]).toBe(base["current-snapshot-id"]);
    expect((await located("ext_b", ["r1", "r2"])).length).toBe(2);
  });

  it("moving a mirror's main branch back (rollback) is refused; metadata-only commits are accepted", async () => {
    const s = await openSocket();
    s.sendJson(jsonBatch("ext-3", 1, 1, 2, "ext_c"));
    await s.next();
    await flush();
    s.sendJson(jsonBatch("ext-3", 2, 3, 4, "ext_c"));
    await bufferedAck(s, 2);
    await flush();
    const m = await load("ext_c");
    const parent = m.snapshots.find((x) => x["snapshot-id"] === m["current-snapshot-id"])!["parent-snapshot-id"]!;
    const post = (updates: unknown[]) => SELF.fetch("http://lake/v1/namespaces/default/tables/ext_c", {
      method: "POST", headers: { ...AUTH, "Content-Type": "application/json" },
      body: stringifyJson({ requirements: [], updates }),
    });
    const rollback = await post([{ action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": parent }]);
    expect(rollback.status).toBe(403);
    expect(((await rollback.json()) as { error: { message: string } }).error.message).toMatch(/rollback/);
    expect((await post([{ action: "set-properties", updates: { "owner": "analytics" } }])).status).toBe(200);
    expect((await load("ext_c")).properties.owner).toBe("analytics");
  });
});
