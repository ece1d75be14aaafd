// iceberg-js (npm, Supabase's REST catalog client) against a running DoLake: namespaces, tables,
// commitTable round trips (schema evolution, a snapshot, a refused stale commit), and a CDC table
// that an iceberg-js commit and the CDC writer both change.
// Needs DOLAKE_URL and DOLAKE_TOKEN: node scripts/with-server.mjs -- npx vitest run --config test/interop/iceberg-js/vitest.config.ts
import { IcebergError, IcebergRestCatalog, getCurrentSchema, type TableIdentifier, type TableSchema } from "iceberg-js";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";

const URL = process.env.DOLAKE_URL ?? "";
const TOKEN = process.env.DOLAKE_TOKEN ?? "";
const RUN = crypto.randomUUID().slice(0, 6);
const auth = { type: "bearer", token: TOKEN } as const;

const SCHEMA: TableSchema = {
  type: "struct",
  fields: [
    { id: 1, name: "id", type: "long", required: true },
    { id: 2, name: "name", type: "string", required: false },
    { id: 3, name: "at", type: "timestamptz", required: false },
  ],
};

/** The IcebergError a call fails with (fails the test when it succeeds). */
async function failure(p: Promise<unknown>): Promise<IcebergError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof IcebergError) return e;
    throw e;
  }
  throw new Error("expected the call to fail");
}

let eventSequence = 0;

/** Sends one JSON cdc_batch over /ws (the ws package), waits for its buffered ack, then POST /flush. */
async function cdc(source: string, sequenceNumber: number, events: Array<Record<string, unknown>>): Promise<void> {
  const ws = new WebSocket(`${URL.replace(/^http/, "ws")}/ws?token=${TOKEN}`);
  await new Promise<void>((resolve, reject) => {
    ws.on("error", reject);
    ws.on("open", () => ws.send(JSON.stringify({ type: "cdc_batch", sourceDoId: source, sequenceNumber, events: events.map((e) => ({ sequence: ++eventSequence, ...e })) })));
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as { type: string; status?: string };
      if (msg.type === "ack" && msg.status === "persisted") return;
      ws.close();
      if (msg.type === "ack" && msg.status === "buffered") resolve();
      else reject(new Error(`unexpected reply ${String(data)}`));
    });
  });
  const res = await fetch(`${URL}/flush`, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
}

describe.skipIf(!URL || !TOKEN)("iceberg-js against DoLake", () => {
  const catalog = new IcebergRestCatalog({ baseUrl: URL, auth });
  const ns = [`js_${RUN}`];
  // The catalog answers each namespace's location (npm start: bucket dolake-warehouse, warehouse "warehouse").
  const nsLocation = `s3://dolake-warehouse/warehouse/${ns[0]}`;

  it("reads /v1/config: storage settings and the advertised endpoints", async () => {
    const config = await catalog.loadConfig();
    expect(config.overrides).toMatchObject({ "s3.endpoint": URL, "s3.path-style-access": "true", "s3.region": "auto" });
    expect(config.endpoints).toContain("POST /v1/{prefix}/namespaces/{namespace}/tables/{table}");
  });

  it("creates, lists, updates and drops namespaces (nested, paginated, 404/409 as IcebergError)", async () => {
    expect(await catalog.namespaceExists({ namespace: ns })).toBe(false);
    expect(await catalog.createNamespace({ namespace: ns }, { properties: { owner: "js", tmp: "x" } })).toEqual({ namespace: ns, properties: { owner: "js", tmp: "x", location: nsLocation } });
    expect(await catalog.namespaceExists({ namespace: ns })).toBe(true);
    await catalog.createNamespaceIfNotExists({ namespace: ns });
    const dup = await failure(catalog.createNamespace({ namespace: ns }));
    expect([dup.status, dup.icebergType]).toEqual([409, "AlreadyExistsException"]);

    const change = await catalog.updateNamespaceProperties({ namespace: ns }, { updates: { team: "data" }, removals: ["tmp", "absent"] });
    expect(change).toEqual({ updated: ["team"], removed: ["tmp"], missing: ["absent"] });
    expect((await catalog.loadNamespaceMetadata({ namespace: ns })).properties).toEqual({ owner: "js", team: "data", location: nsLocation });

    for (const child of ["a", "b", "c"]) await catalog.createNamespace({ namespace: [...ns, child] });
    const first = await catalog.listNamespaces({ parent: { namespace: ns }, pageSize: 2 });
    expect(first.namespaces).toEqual([{ namespace: [...ns, "a"] }, { namespace: [...ns, "b"] }]);
    expect(first.nextPageToken).toBeTruthy();
    const second = await catalog.listNamespaces({ parent: { namespace: ns }, pageSize: 2, pageToken: first.nextPageToken! });
    expect(second).toEqual({ namespaces: [{ namespace: [...ns, "c"] }] });
    expect((await catalog.listNamespaces()).namespaces).toContainEqual({ namespace: ns });

    const notEmpty = await failure(catalog.dropNamespace({ namespace: ns }));
    expect([notEmpty.status, notEmpty.icebergType]).toEqual([409, "NamespaceNotEmptyException"]);
    for (const child of ["a", "b", "c"]) await catalog.dropNamespace({ namespace: [...ns, child] });
    const missing = await failure(catalog.loadNamespaceMetadata({ namespace: [...ns, "a"] }));
    expect(missing.isNotFound()).toBe(true);
    expect(missing.icebergType).toBe("NoSuchNamespaceException");
  });

  it("creates, loads (ETag), lists, renames and drops tables", async () => {
    const id: TableIdentifier = { namespace: ns, name: "events" };
    const metadata = await catalog.createTable({ namespace: ns }, {
      name: "events",
      schema: SCHEMA,
      "partition-spec": { fields: [{ "source-id": 3, name: "at_day", transform: "day" }] },
      "write-order": { "order-id": 1, fields: [{ "source-id": 1, transform: "identity", direction: "asc", "null-order": "nulls-first" }] },
      properties: { "created-by": "iceberg-js" },
    });
    expect(metadata["format-version"]).toBe(2);
    expect(metadata.location).toBe(`s3://dolake-warehouse/warehouse/${ns[0]}/events`);
    expect(metadata["partition-specs"]).toEqual([{ "spec-id": 0, fields: [{ "source-id": 3, "field-id": 1000, name: "at_day", transform: "day" }] }]);
    expect(metadata.properties).toMatchObject({ "created-by": "iceberg-js" });
    expect(await catalog.tableExists(id)).toBe(true);
    expect((await catalog.listTables({ namespace: ns })).identifiers).toEqual([id]);

    const result = await catalog.loadTableResult(id);
    expect(result?.["metadata-location"]).toMatch(/\/metadata\/00000-.*\.metadata\.json$/);
    expect(result?.config).toMatchObject({ "s3.endpoint": URL });
    expect(result?.etag).toBeTruthy();
    expect(await catalog.loadTable(id, { ifNoneMatch: result!.etag! })).toBeNull();

    const exists = await failure(catalog.createTable({ namespace: ns }, { name: "events", schema: SCHEMA }));
    expect(exists.icebergType).toBe("AlreadyExistsException");

    await catalog.createTable({ namespace: ns }, { name: "scratch", schema: SCHEMA });
    await catalog.renameTable({ source: { namespace: ns, name: "scratch" }, destination: { namespace: ns, name: "renamed" } });
    expect(await catalog.tableExists({ namespace: ns, name: "scratch" })).toBe(false);
    expect((await catalog.loadTable({ namespace: ns, name: "renamed" }))["table-uuid"]).toBeTruthy();
    await catalog.dropTable({ namespace: ns, name: "renamed" }, { purge: true });
    expect(await catalog.tableExists({ namespace: ns, name: "renamed" })).toBe(false);
  });

  it("round-trips commitTable: schema evolution, a snapshot, properties; a stale commit is 409", async () => {
    const id: TableIdentifier = { namespace: ns, name: "events" };
    const base = await catalog.loadTable(id);
    const current = getCurrentSchema(base)!;
    const evolved: TableSchema = { ...current, fields: [...current.fields, { id: 4, name: "score", type: "double", required: false }] };
    const committed = await catalog.commitTable(id, {
      requirements: [
        { type: "assert-table-uuid", uuid: base["table-uuid"] },
        { type: "assert-current-schema-id", "current-schema-id": base["current-schema-id"] },
        { type: "assert-last-assigned-field-id", "last-assigned-field-id": base["last-column-id"]! },
      ],
      updates: [
        { action: "add-schema", schema: evolved },
        { action: "set-current-schema", "schema-id": -1 },
        { action: "set-properties", updates: { "commit.by": "iceberg-js" } },
      ],
    });
    expect(committed["metadata-location"]).toMatch(/\/metadata\/00001-/);
    expect(committed.metadata["current-schema-id"]).toBe(1);
    expect(committed.metadata["last-column-id"]).toBe(4);
    expect(getCurrentSchema(committed.metadata)!.fields.map((f) => f.name)).toEqual(["id", "name", "at", "score"]);

    // A snapshot with a client-chosen id (safe integer: iceberg-js numbers are doubles).
    const snapshotId = 4_242_424_242;
    const appended = await catalog.commitTable(id, {
      requirements: [{ type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": null }],
      updates: [
        {
          action: "add-snapshot",
          snapshot: {
            "snapshot-id": snapshotId,
            "sequence-number": 1,
            "timestamp-ms": Date.now(),
            "manifest-list": `${base.location}/metadata/snap-${snapshotId}-1-js.avro`,
            summary: { operation: "append" },
            "schema-id": 1,
          },
        },
        { action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": snapshotId },
      ],
    });
    expect(appended.metadata["current-snapshot-id"]).toBe(snapshotId);
    expect(appended.metadata.refs).toEqual({ main: { "snapshot-id": snapshotId, type: "branch" } });

    const reloaded = await catalog.loadTable(id);
    expect(reloaded["current-schema-id"]).toBe(1);
    expect(reloaded.properties["commit.by"]).toBe("iceberg-js");
    expect(reloaded["metadata-log"]?.length).toBe(2);

    const stale = await failure(
      catalog.commitTable(id, {
        requirements: [{ type: "assert-current-schema-id", "current-schema-id": 0 }],
        updates: [{ action: "set-properties", updates: { lost: "yes" } }],
      }),
    );
    expect([stale.status, stale.icebergType]).toEqual([409, "CommitFailedException"]);
    expect(stale.message).toContain("current schema changed");
    expect((await catalog.loadTable(id)).properties.lost).toBeUndefined();
  });

  it("addresses the warehouse prefix like other clients (/v1/warehouse/...)", async () => {
    const prefixed = new IcebergRestCatalog({ baseUrl: URL, auth, warehouse: "warehouse" });
    expect((await prefixed.listTables({ namespace: ns })).identifiers).toEqual([{ namespace: ns, name: "events" }]);
    const wrong = new IcebergRestCatalog({ baseUrl: URL, auth, warehouse: "other" });
    expect((await failure(wrong.listNamespaces())).status).toBe(404);
  });

  it("shares a CDC table with the CDC writer: an iceberg-js commit between two flushes", async () => {
    const table = `js_cdc_${RUN}`;
    const source = `js-${RUN}`;
    await cdc(source, 1, [
      { operation: "INSERT", table, rowId: "1", after: { id: "1", qty: 1 } },
      { operation: "INSERT", table, rowId: "2", after: { id: "2", qty: 2 } },
    ]);
    const id: TableIdentifier = { namespace: ["default"], name: table };
    const first = await catalog.loadTable(id);
    expect(getCurrentSchema(first)!.fields.map((f) => f.name)).toEqual(["id", "qty"]);
    expect(first.snapshots).toHaveLength(1);
    // Snapshot ids of CDC tables are random 63-bit values; iceberg-js parses JSON into doubles, so
    // they are asserted here only through the table uuid (an exact assert-ref-snapshot-id needs
    // a bigint-safe client such as pyiceberg or Java).
    await catalog.commitTable(id, {
      requirements: [{ type: "assert-table-uuid", uuid: first["table-uuid"] }],
      updates: [{ action: "set-properties", updates: { "owner.team": "growth" } }],
    });
    await cdc(source, 2, [{ operation: "UPDATE", table, rowId: "1", after: { id: "1", qty: 10 } }]);
    const after = await catalog.loadTable(id);
    expect(after.properties["owner.team"]).toBe("growth");
    expect(after.snapshots).toHaveLength(2);
    expect(after["metadata-log"]?.length).toBe(2);
  });

  it("drops the tables and the namespace", async () => {
    await catalog.dropTable({ namespace: ns, name: "events" });
    const gone = await failure(catalog.loadTable({ namespace: ns, name: "events" }));
    expect([gone.status, gone.icebergType]).toEqual([404, "NoSuchTableException"]);
    await catalog.dropNamespace({ namespace: ns });
    expect(await catalog.namespaceExists({ namespace: ns })).toBe(false);
  });
});
