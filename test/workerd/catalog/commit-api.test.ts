// The commit API the CDC writer uses, exercised inside the DoLake Durable Object.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  abandonPreparedCommit,
  applyPreparedCommit,
  CommitFailedError,
  ConcurrentCommitError,
  createTableIfMissing,
  ensureNamespace,
  loadTable,
  prepareCommit,
  type CatalogContext,
} from "../../../src/catalog/index.js";
import { api, uniqueName } from "./helpers.js";

function inCatalog<R>(fn: (ctx: CatalogContext) => Promise<R>): Promise<R> {
  const stub = env.DOLAKE.get(env.DOLAKE.idFromName(env.WAREHOUSE || "warehouse"));
  return runInDurableObject(stub, (_instance, state) => fn({ storage: state.storage, bucket: env.LAKEHOUSE_BUCKET, warehouse: env.WAREHOUSE || "warehouse", env }));
}

const SCHEMA = { type: "struct" as const, fields: [{ id: 1, name: "id", required: true, type: "long" }] };

describe("commit API for the CDC writer", () => {
  it("creates namespace and table on first sight, and finds them after", async () => {
    const ns = uniqueName();
    const ident = { namespace: [ns, "public"], name: "users" };
    const first = await inCatalog((ctx) => createTableIfMissing(ctx, ident, { schema: SCHEMA }));
    expect(first.created).toBe(true);
    expect(first.metadata.location).toBe(`s3://dolake-warehouse/warehouse/${ns}/public/users`);
    const second = await inCatalog((ctx) => createTableIfMissing(ctx, ident, { schema: SCHEMA }));
    expect(second.created).toBe(false);
    expect(second.metadataLocation).toBe(first.metadataLocation);
    expect((await api("GET", `/v1/namespaces/${ns}%1Fpublic/tables/users`)).status).toBe(200);
    expect(await inCatalog(async (ctx) => ensureNamespace(ctx, [ns, "public"]))).toBe(false);
  });

  it("swaps the pointer in the caller's transaction, and refuses a stale prepare", async () => {
    const ident = { namespace: [uniqueName()], name: "t" };
    await inCatalog(async (ctx) => {
      await createTableIfMissing(ctx, ident, { schema: SCHEMA });
      const a = await prepareCommit(ctx, ident, [], [{ action: "set-properties", updates: { writer: "a" } }]);
      const b = await prepareCommit(ctx, ident, [], [{ action: "set-properties", updates: { writer: "b" } }]);
      ctx.storage.transactionSync(() => {
        applyPreparedCommit(ctx, a);
        ctx.storage.sql.exec("SELECT 1"); // the CDC writer deletes its flushed events here
      });
      expect(() => ctx.storage.transactionSync(() => applyPreparedCommit(ctx, b))).toThrow(ConcurrentCommitError);
      await abandonPreparedCommit(ctx, b);
      expect(await ctx.bucket.head(b.metadataLocation.replace("s3://dolake-warehouse/", ""))).toBeNull();
      const now = await loadTable(ctx, ident);
      expect(now?.metadataLocation).toBe(a.metadataLocation);
      expect(now?.metadata.properties).toEqual({ writer: "a" });
    });
  });

  it("rolls the pointer back when the caller's transaction fails", async () => {
    const ident = { namespace: [uniqueName()], name: "t" };
    await inCatalog(async (ctx) => {
      const created = await createTableIfMissing(ctx, ident, { schema: SCHEMA });
      const p = await prepareCommit(ctx, ident, [], [{ action: "set-properties", updates: { x: "1" } }]);
      expect(() =>
        ctx.storage.transactionSync(() => {
          applyPreparedCommit(ctx, p);
          throw new Error("event delete failed");
        }),
      ).toThrow("event delete failed");
      expect((await loadTable(ctx, ident))?.metadataLocation).toBe(created.metadataLocation);
    });
  });

  it("checks requirements at prepare time with CommitFailedError", async () => {
    const ident = { namespace: [uniqueName()], name: "t" };
    await inCatalog(async (ctx) => {
      await createTableIfMissing(ctx, ident, { schema: SCHEMA });
      await expect(prepareCommit(ctx, ident, [{ type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": 5n }], [])).rejects.toBeInstanceOf(CommitFailedError);
    });
  });
});
