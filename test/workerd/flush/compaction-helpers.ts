// Shared by the compaction tests: a CDC workload with an oracle, and readers of a table's live
// files and rows (through /v1/query, which plans from the manifests and delete files).
import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import { readManifest } from "../../../src/iceberg/manifest.js";
import { readManifestList } from "../../../src/iceberg/manifest-list.js";
import { tableMetadataFromJson } from "../../../src/iceberg/metadata/json.js";
import type { TableMetadata } from "../../../src/iceberg/metadata/types.js";
import { parseJson } from "../../../src/util/json.js";
import { AUTH, type TestSocket } from "../helpers.js";

/** The test warehouse's object. */
export const lake = () => env.DOLAKE.get(env.DOLAKE.idFromName("warehouse"));
/** The R2 key of a table file. */
export const key = (location: string) => location.replace(/^s3:\/\/[^/]+\//, "");

/** A table file's bytes. */
export async function bytes(location: string): Promise<Uint8Array> {
  const o = await env.LAKEHOUSE_BUCKET.get(key(location));
  if (!o) throw new Error(`missing ${location}`);
  return new Uint8Array(await o.arrayBuffer());
}

/** The table's metadata (REST load). */
export async function load(name: string): Promise<TableMetadata> {
  const res = await SELF.fetch(`http://lake/v1/namespaces/default/tables/${name}`, { headers: AUTH });
  // BigInt-safe: snapshot ids exceed 2^53.
  return tableMetadataFromJson((parseJson(await res.text()) as { metadata: unknown }).metadata);
}

/** Live data and delete file paths of the current snapshot, from its manifests. */
export async function liveFiles(name: string): Promise<{ data: string[]; deletes: string[]; operation: string }> {
  const m = await load(name);
  const snap = m.snapshots.find((s) => s["snapshot-id"] === m["current-snapshot-id"])!;
  const schema = m.schemas.find((s) => s["schema-id"] === m["current-schema-id"])!;
  const out = { data: [] as string[], deletes: [] as string[], operation: snap.summary.operation };
  for (const mf of readManifestList(await bytes(snap["manifest-list"]))) {
    const spec = m["partition-specs"].find((s) => s["spec-id"] === mf.partitionSpecId)!;
    for (const e of readManifest(await bytes(mf.manifestPath), spec, schema)) if (e.status !== 2) (e.dataFile.content === 0 ? out.data : out.deletes).push(e.dataFile.filePath);
  }
  return out;
}

/** The table's rows by id, read through /v1/query. */
export async function rows(table: string): Promise<Array<{ id: number; name: string }>> {
  const res = await SELF.fetch("http://lake/v1/query", { method: "POST", headers: { ...AUTH, "Content-Type": "application/json" }, body: JSON.stringify({ sql: `SELECT id, name FROM ${table} ORDER BY id` }) });
  const body = parseJson(await res.text()) as unknown as { rows: Array<{ id: number | bigint; name: string }> };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.rows.map((r) => ({ id: Number(r.id), name: r.name }));
}

/** A CDC workload with an oracle: each batch is acked, then flushed (one data + delete file per flush). */
export class Workload {
  private seq = 0;
  private batch = 0;
  readonly live = new Map<number, string>();
  /** Row ids of every event sent, in order. */
  readonly sent: string[] = [];
  constructor(
    private s: TestSocket,
    private readonly source: string,
    readonly table: string,
  ) {}

  /** Goes on over another socket (after an eviction closed the first). */
  reconnect(s: TestSocket): void {
    this.s = s;
  }

  /** Sends one batch, waits for its buffered ack, then flushes (unless `flush` is false). */
  async send(changes: Array<[op: "INSERT" | "UPDATE" | "DELETE", id: number]>, flush = true): Promise<void> {
    const n = ++this.batch;
    const events = changes.map(([operation, id]) => {
      const name = `${this.table}-${id}-v${n}`;
      this.sent.push(`r${id}`);
      if (operation === "DELETE") this.live.delete(id);
      else this.live.set(id, name);
      return { sequence: ++this.seq, operation, table: this.table, rowId: `r${id}`, after: operation === "DELETE" ? undefined : { id, name } };
    });
    this.s.sendJson({ type: "cdc_batch", sourceDoId: this.source, sequenceNumber: n, events });
    for (;;) {
      const m = await this.s.next();
      if (m.type === "ack" && m.status === "buffered" && Number(m.sequenceNumber) === n) break;
      if (m.type === "nack") throw new Error(JSON.stringify(m));
    }
    if (flush) {
      const res = await SELF.fetch("http://lake/flush", { method: "POST", headers: AUTH });
      await res.arrayBuffer(); // an unread body holds a reference to the object (evictDurableObject waits for it)
      expect(res.status).toBe(200);
    }
  }

  /** The rows the table must hold. */
  expected(): Array<{ id: number; name: string }> {
    return [...this.live].sort((a, b) => a[0] - b[0]).map(([id, name]) => ({ id, name }));
  }

  /** Six flushes: 120 inserts (more rows than one remap statement moves), then updates and deletes spread over the earlier files. */
  async seed(): Promise<void> {
    await this.send(Array.from({ length: 120 }, (_, i) => ["INSERT", i + 1] as ["INSERT", number]));
    for (let f = 0; f < 5; f++) await this.send([["UPDATE", 1 + f], ["UPDATE", 100 + f], ["DELETE", 120 - f], ["INSERT", 130 + f]]);
  }
}

