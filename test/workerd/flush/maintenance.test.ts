// Expiry and metadata trimming through the real flush: the table's retention properties (set by a
// REST commit, as any Iceberg user would) make flushes expire snapshots and delete, in R2, exactly
// the files only those snapshots reached, plus the metadata files dropped from the metadata-log.
import { env, SELF } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { readManifest } from "../../../src/iceberg/manifest.js";
import { readManifestList } from "../../../src/iceberg/manifest-list.js";
import { parseTableMetadata } from "../../../src/iceberg/metadata/json.js";
import type { TableMetadata } from "../../../src/iceberg/metadata/types.js";
import { AUTH, bufferedAck, closeAll, openSocket } from "../helpers.js";

afterEach(closeAll);

const key = (location: string) => location.replace(/^s3:\/\/[^/]+\//, "");

async function bytes(location: string): Promise<Uint8Array | null> {
  const o = await env.LAKEHOUSE_BUCKET.get(key(location));
  return o ? new Uint8Array(await o.arrayBuffer()) : null;
}

async function listKeys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.LAKEHOUSE_BUCKET.list({ prefix, cursor });
    out.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

async function load(name: string): Promise<{ location: string; metadata: TableMetadata }> {
  const res = await SELF.fetch(`http://lake/v1/namespaces/default/tables/${name}`, { headers: AUTH });
  const text = await res.text();
  const body = JSON.parse(text) as { "metadata-location": string };
  return { location: body["metadata-location"], metadata: parseTableMetadata(JSON.stringify((JSON.parse(text) as { metadata: unknown }).metadata)) };
}

describe("maintenance on flush", () => {
  it("expires snapshots per the table's properties and deletes in R2 only what no kept snapshot reaches", async () => {
    const s = await openSocket();
    let seq = 0;
    const batch = async (n: number, events: object[]) => {
      s.sendJson({ type: "cdc_batch", sourceDoId: "mx-1", sequenceNumber: n, events });
      // Its buffered ack, not the previous flush's persisted ack (which can arrive after that
      // flush's HTTP answer): else POST /flush may run before this batch is in the buffer.
      await bufferedAck(s, n);
      const res = await SELF.fetch("http://lake/flush", { method: "POST", headers: AUTH });
      expect(res.status).toBe(200);
    };
    await batch(1, [1, 2, 3].map((i) => ({ sequence: ++seq, operation: "INSERT", table: "expiring", rowId: `r${i}`, after: { id: i, v: 0 } })));
    const props = {
      "history.expire.max-snapshot-age-ms": "1",
      "history.expire.min-snapshots-to-keep": "2",
      "write.metadata.previous-versions-max": "3",
      "commit.manifest.min-count-to-merge": "3",
    };
    const set = await SELF.fetch("http://lake/v1/namespaces/default/tables/expiring", { method: "POST", headers: AUTH, body: JSON.stringify({ requirements: [], updates: [{ action: "set-properties", updates: props }] }) });
    expect(set.status).toBe(200);
    for (let f = 2; f <= 16; f++) {
      await batch(f, [
        { sequence: ++seq, operation: "UPDATE", table: "expiring", rowId: "r1", after: { id: 1, v: f } },
        { sequence: ++seq, operation: "INSERT", table: "expiring", rowId: `r${f + 10}`, after: { id: f + 10, v: f } },
      ]);
    }
    const { location, metadata } = await load("expiring");
    expect(metadata.properties["write.metadata.delete-after-commit.enabled"]).toBe("true"); // DoLake's default
    expect(metadata.snapshots.length).toBeLessThan(16);
    // Everything the kept snapshots reference is still in R2.
    const referenced = new Set<string>([key(location), ...metadata["metadata-log"].map((e) => key(e["metadata-file"]))]);
    for (const snap of metadata.snapshots) {
      referenced.add(key(snap["manifest-list"]));
      for (const mf of readManifestList((await bytes(snap["manifest-list"]))!)) {
        referenced.add(key(mf.manifestPath));
        const spec = metadata["partition-specs"].find((p) => p["spec-id"] === mf.partitionSpecId)!;
        for (const e of readManifest((await bytes(mf.manifestPath))!, spec, metadata.schemas.at(-1)!)) referenced.add(key(e.dataFile.filePath));
      }
    }
    const present = new Set(await listKeys(key(metadata.location) + "/"));
    for (const k of referenced) expect(present.has(k), k).toBe(true);
    // Manifest lists of expired snapshots and metadata files beyond previous-versions-max are gone.
    const lists = [...present].filter((k) => k.includes("/metadata/snap-"));
    expect(lists.length).toBe(metadata.snapshots.length);
    const metadataFiles = [...present].filter((k) => k.endsWith(".metadata.json"));
    expect(metadataFiles.length).toBeLessThanOrEqual(4);
    // The running totals still add up to the source's 18 rows.
    const head = metadata.snapshots.find((x) => x["snapshot-id"] === metadata["current-snapshot-id"])!;
    expect(BigInt(head.summary["total-records"]!) - BigInt(head.summary["total-position-deletes"]!)).toBe(18n);
  });

  it("a REST commit on a table with write.metadata.delete-after-commit.enabled deletes the metadata files it drops from the log", async () => {
    const api = (path: string, body?: object) => SELF.fetch(`http://lake/v1/namespaces/default${path}`, { method: body ? "POST" : "GET", headers: AUTH, body: body && JSON.stringify(body) });
    const created = await api("/tables", {
      name: "trimmed",
      schema: { type: "struct", "schema-id": 0, fields: [{ id: 1, name: "id", required: false, type: "long" }] },
      properties: { "write.metadata.delete-after-commit.enabled": "true", "write.metadata.previous-versions-max": "1" },
    });
    expect(created.status).toBe(200);
    const locations = [((await created.json()) as { "metadata-location": string })["metadata-location"]];
    for (let i = 0; i < 3; i++) {
      const res = await api("/tables/trimmed", { requirements: [], updates: [{ action: "set-properties", updates: { n: String(i) } }] });
      expect(res.status).toBe(200);
      locations.push(((await res.json()) as { "metadata-location": string })["metadata-location"]);
    }
    const present = await Promise.all(locations.map(async (l) => (await env.LAKEHOUSE_BUCKET.head(key(l))) !== null));
    expect(present).toEqual([false, false, true, true]); // the current file and one previous version
  });
});
