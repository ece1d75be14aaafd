// The primary-key index in the object's SQLite: partitions kept per file, 64-bit values exact, and
// an index from before the partition columns migrated in place (its rows still resolve).
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DoLake } from "../../../src/do/dolake.js";
import { SqlPrimaryKeyIndex } from "../../../src/flush/pk-index.js";

describe("primary-key index", () => {
  it("migrates an index without partition columns in place; old rows resolve without a partition, new ones with it", async () => {
    const stub = env.DOLAKE.get(env.DOLAKE.idFromName("legacy-pk-index"));
    await runInDurableObject(stub, (_obj: DoLake, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE IF EXISTS cdc_pk_index");
      sql.exec("DROP TABLE IF EXISTS cdc_pk_files");
      sql.exec("CREATE TABLE cdc_pk_files (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE)");
      sql.exec("CREATE TABLE cdc_pk_index (table_key TEXT NOT NULL, row_id TEXT NOT NULL, file_id INTEGER NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY (table_key, row_id)) WITHOUT ROWID");
      sql.exec("INSERT INTO cdc_pk_files (path) VALUES ('s3://b/t/data/old.parquet')");
      sql.exec("INSERT INTO cdc_pk_index VALUES ('default.t', 'r1', 1, 7)");

      const index = new SqlPrimaryKeyIndex(sql, "default.t");
      expect(index.lookup(["r1"]).get("r1")).toEqual({ filePath: "s3://b/t/data/old.parquet", pos: 7n });
      const big = 9007199254740993n;
      const tuple = [3, big, "x/y", true, null, new Uint8Array([0, 255]), 1.5];
      index.apply(new Map([["r2", { filePath: "s3://b/t/data/new.parquet", pos: 2n, partition: tuple, specId: 1 }]]), []);
      const found = index.lookup(["r1", "r2", "r3"]);
      expect(found.get("r1")).toEqual({ filePath: "s3://b/t/data/old.parquet", pos: 7n });
      expect(found.get("r2")).toEqual({ filePath: "s3://b/t/data/new.parquet", pos: 2n, partition: tuple, specId: 1 });
      expect(found.has("r3")).toBe(false);
    });
  });

  it("applies many upserts and deletes in multi-row statements (chunk edges, 64-bit positions, replace in place)", async () => {
    const stub = env.DOLAKE.get(env.DOLAKE.idFromName("bulk-pk-index"));
    await runInDurableObject(stub, (_obj: DoLake, state) => {
      const index = new SqlPrimaryKeyIndex(state.storage.sql, "default.bulk");
      const ids = Array.from({ length: 251 }, (_, i) => `row-${i}`);
      const files = ["s3://b/bulk/data/a.parquet", "s3://b/bulk/data/b.parquet"];
      index.apply(new Map(ids.map((id, i) => [id, { filePath: files[i % 2]!, pos: 2n ** 53n + BigInt(i) }])), []);
      let found = index.lookup(ids);
      expect(found.size).toBe(251);
      ids.forEach((id, i) => expect(found.get(id)).toEqual({ filePath: files[i % 2], pos: 2n ** 53n + BigInt(i) }));
      // 199 deletes (two DELETE statements), 26 replacements (two INSERT statements).
      index.apply(new Map(ids.slice(200, 226).map((id) => [id, { filePath: "s3://b/bulk/data/c.parquet", pos: 1n }])), ids.slice(1, 200));
      found = index.lookup(ids);
      expect([...found.keys()].sort()).toEqual([ids[0]!, ...ids.slice(200)].sort());
      expect(found.get("row-225")).toEqual({ filePath: "s3://b/bulk/data/c.parquet", pos: 1n });
      expect(found.get("row-226")).toEqual({ filePath: files[0], pos: 2n ** 53n + 226n });
    });
  });
});
