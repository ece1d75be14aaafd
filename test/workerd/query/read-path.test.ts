// The query's read path: row groups ruled out by their Parquet statistics are not read (ranged R2
// reads fetch only what is read), and columns are found by Iceberg field id, so a column renamed
// through the catalog still reads its data files.
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../src/config.js";
import { parseJson } from "../../../src/util/json.js";
import { AUTH, bufferedAck, closeAll, configure, flushNow, openSocket } from "../helpers.js";

afterEach(async () => {
  closeAll();
  await configure({ parquetRowGroupSize: DEFAULT_CONFIG.parquetRowGroupSize, partitionBy: {} });
});

async function query(sql: string): Promise<{ status: number; body: any }> {
  const res = await SELF.fetch("http://lake/v1/query", { method: "POST", headers: { ...AUTH, "Content-Type": "application/json" }, body: JSON.stringify({ sql }) });
  return { status: res.status, body: parseJson(await res.text()) };
}

async function seed(table: string, rows: number, label = (i: number) => `row ${i}`): Promise<void> {
  const s = await openSocket();
  const perBatch = 2000;
  for (let b = 0; b * perBatch < rows; b++) {
    const events = Array.from({ length: Math.min(perBatch, rows - b * perBatch) }, (_, k) => {
      const i = b * perBatch + k;
      return { sequence: i + 1, operation: "INSERT", table, rowId: String(i + 1), after: { id: i + 1, label: label(i + 1) } };
    });
    s.sendJson({ type: "cdc_batch", sourceDoId: `rp-${table}`, sequenceNumber: b + 1, events });
    await bufferedAck(s, b + 1);
  }
  expect((await flushNow()).body.ok).toBe(true);
}

describe("query read path", () => {
  it("reads only the row groups whose statistics can match", async () => {
    await configure({ parquetRowGroupSize: 100 });
    await seed("rg_pruned", 1000);
    const count = await query("SELECT COUNT(*) AS n FROM rg_pruned");
    expect(count.body.rows).toEqual([{ n: 1000 }]);
    const all = await query("SELECT id, label FROM rg_pruned");
    expect(all.body.rows).toHaveLength(1000);
    expect(all.body.stats.rowGroupsScanned).toBe(10);
    const one = await query("SELECT id, label FROM rg_pruned WHERE id = 512");
    expect(one.status).toBe(200);
    expect(one.body.rows).toEqual([{ id: 512, label: "row 512" }]);
    expect(one.body.stats.rowGroupsScanned).toBe(1);
    const range = await query("SELECT COUNT(*) AS n FROM rg_pruned WHERE id > 850");
    expect(range.body.rows).toEqual([{ n: 150 }]);
    expect(range.body.stats.rowGroupsScanned).toBe(2);
    // A WHERE over a derived table names the subquery's columns, not the table's: nothing is pruned by it.
    const derived = await query("SELECT COUNT(*) AS n FROM (SELECT id * 1000 AS id FROM rg_pruned) s WHERE id > 500000");
    expect(derived.body.rows).toEqual([{ n: 500 }]);
  });

  it("reads a large file's footer and only the column chunks of row groups that can match", async () => {
    // A file above the whole-file threshold (256 KiB): poorly compressible labels, row groups of 1,000.
    await configure({ parquetRowGroupSize: 1000 });
    let x = 7;
    const noise = () => Array.from({ length: 12 }, () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) >>> 0).toString(36)).join("");
    await seed("rg_big", 8000, (i) => `row ${i} ${noise()}`);
    const all = await query("SELECT id, label FROM rg_big");
    expect(all.body.rows).toHaveLength(8000);
    expect(all.body.stats.rowGroupsScanned).toBe(8);
    expect(all.body.stats.bytesRead).toBeGreaterThan(256 * 1024);
    const one = await query("SELECT id, label FROM rg_big WHERE id = 4321");
    expect(one.body.rows).toEqual([{ id: 4321, label: expect.stringMatching(/^row 4321 /) }]);
    expect(one.body.stats.rowGroupsScanned).toBe(1);
    // The footer read plus one row group's chunks: well under half of what the full scan read.
    expect(one.body.stats.bytesRead).toBeLessThan(all.body.stats.bytesRead / 2);
  });

  it("finds a renamed column's data by field id", async () => {
    await seed("renamed", 3);
    const load = await SELF.fetch("http://lake/v1/namespaces/default/tables/renamed", { headers: AUTH });
    const m = ((await load.json()) as { metadata: any }).metadata;
    const current = m.schemas.find((s: any) => s["schema-id"] === m["current-schema-id"]);
    const renamed = { ...current, "schema-id": current["schema-id"] + 1, fields: current.fields.map((f: any) => (f.name === "label" ? { ...f, name: "title" } : f)) };
    const commit = await SELF.fetch("http://lake/v1/namespaces/default/tables/renamed", {
      method: "POST",
      headers: { ...AUTH, "Content-Type": "application/json" },
      body: JSON.stringify({
        requirements: [{ type: "assert-current-schema-id", "current-schema-id": current["schema-id"] }],
        updates: [{ action: "add-schema", schema: renamed }, { action: "set-current-schema", "schema-id": -1 }],
      }),
    });
    expect(commit.status, await commit.clone().text()).toBe(200);
    const r = await query("SELECT id, title FROM renamed ORDER BY id");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.rows).toEqual([{ id: 1, title: "row 1" }, { id: 2, title: "row 2" }, { id: 3, title: "row 3" }]);
    expect((await query("SELECT label FROM renamed")).status).toBe(400);
  });

  it("counts a column added later as NULL in older files and buffered rows without it", async () => {
    await configure({ partitionBy: { late_col: [{ column: "id", transform: "bucket[4]" }] } });
    const s = await openSocket();
    const ev = (seq: number, id: number, extra: object = {}) => ({ sequence: seq, operation: "INSERT", table: "late_col", rowId: String(id), after: { id, ...extra } });
    s.sendJson({ type: "cdc_batch", sourceDoId: "rp-late", sequenceNumber: 1, events: [ev(1, 1), ev(2, 2)] });
    await bufferedAck(s, 1);
    expect((await flushNow()).body.ok).toBe(true);
    s.sendJson({ type: "cdc_batch", sourceDoId: "rp-late", sequenceNumber: 2, events: [ev(3, 3, { coupon: "A" }), ev(4, 4)] });
    await bufferedAck(s, 2);
    expect((await flushNow()).body.ok).toBe(true);
    s.sendJson({ type: "cdc_batch", sourceDoId: "rp-late", sequenceNumber: 3, events: [ev(5, 5), ev(6, 6, { coupon: "B" })] });
    await bufferedAck(s, 3);
    const r = await query("SELECT COUNT(coupon) AS c, COUNT(*) AS n FROM late_col");
    expect(r.body.rows).toEqual([{ c: 2, n: 6 }]);
    // Unaliased, both are "count" (as in PostgreSQL): the answer object keeps both, the second as count_2.
    const twice = await query("SELECT COUNT(coupon), COUNT(*) FROM late_col");
    expect(twice.body.columns.map((c: any) => c.name)).toEqual(["count", "count_2"]);
    expect(twice.body.rows).toEqual([{ count: 2, count_2: 6 }]);
    const rows = await query("SELECT id, coupon FROM late_col ORDER BY id");
    expect(rows.body.rows.map((x: any) => x.coupon)).toEqual([null, null, "A", null, null, "B"]);
  });

  it("aggregates a table larger than the value budget as it reads it, and refuses to hold it all (413)", async () => {
    const s = await openSocket();
    const rows = 110_000; // x 10 columns: 1.1M values, above the 1M a query may hold
    for (let b = 0; b < rows / 5000; b++) {
      const events = Array.from({ length: 5000 }, (_, k) => {
        const id = b * 5000 + k + 1;
        return { sequence: id, operation: "INSERT", table: "wide", rowId: String(id), after: { id, c1: id % 7, c2: `v${id % 13}`, c3: id * 0.5, c4: id % 2 === 0, c5: "x", c6: id % 3, c7: "y", c8: id % 5, c9: "z" } };
      });
      s.sendJson({ type: "cdc_batch", sourceDoId: "rp-wide", sequenceNumber: b + 1, events });
      await bufferedAck(s, b + 1);
    }
    expect((await flushNow()).body.ok).toBe(true);
    const count = await query("SELECT COUNT(*) AS n, SUM(c3) AS s FROM wide");
    expect(count.status, JSON.stringify(count.body)).toBe(200);
    expect(count.body.rows).toEqual([{ n: rows, s: (rows * (rows + 1)) / 4 }]);
    const groups = await query("SELECT c1, COUNT(*) AS n FROM wide WHERE c4 GROUP BY c1 ORDER BY c1");
    expect(groups.body.rows.reduce((a: number, r: any) => a + r.n, 0)).toBe(rows / 2);
    const all = await query("SELECT * FROM wide");
    expect(all.status).toBe(413);
    expect(all.body.error.type).toBe("QueryTooLargeException");
  });
});
