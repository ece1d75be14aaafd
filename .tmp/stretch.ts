import { bufferedBatches } from "../bench/flush/writer.js";
import { groupByTable } from "../src/flush/flusher.js";
import { writeCdcFlush } from "../src/iceberg/cdc-writer.js";
import type { Pacer } from "../src/util/pace.js";

const MiB = 2 ** 20;
const batches = bufferedBatches(100_000, 1000);
const map = new Map<string, any>();
const index = { lookup: (ids: string[]) => { const m = new Map(); for (const id of ids) { const l = map.get(id); if (l) m.set(id, l); } return m; } };
const files = new Map<string, Uint8Array>(); const store = { put: async (k: string, b: Uint8Array) => { files.set(k, b); }, get: async (k: string) => files.get(k) ?? null, list: async () => [], delete: async () => {} } as any;
let last = performance.now();
const gaps: Array<[number, string]> = [];
const mark = (what: string) => { const t = performance.now(); gaps.push([t - last, what]); last = t; };
const pace: Pacer = {
  spend: (n) => { const s = new Error().stack!.split("\n"); mark(s[2]!.includes("phase") ? s[3]!.trim() : s[2]!.trim() + " " + n); return undefined; },
  pause: () => { mark("pause"); return undefined; },
};
let mirror: any, changelog: any, snap = 1n << 60n;
for (let i = 0; i < batches.length; ) {
  let bytes = 0; let j = i;
  while (j < batches.length && (j === i || bytes + batches[j]!.sizeBytes <= 4 * MiB)) bytes += batches[j++]!.sizeBytes;
  last = performance.now();
  const step = batches.slice(i, j);
  for (let k = 0; k < step.length; k += 1) groupByTable(step.slice(k, k + 1)), mark("decode 1 batch");
  const changes = groupByTable(step).get("orders")!.map((c) => c.change);
  last = performance.now();
  const r = await writeCdcFlush({ mirror, changelog, changes, store, index, options: { location: "s3://b/w/d/orders", compression: "snappy" }, clock: () => BigInt(Date.now()), newSnapshotId: () => (snap += 1n), pace });
  mark("end");
  mirror = r.mirror!.metadata; changelog = r.changelog!.metadata;
  for (const [id, loc] of r.index.upserts) map.set(id, loc);
  i = j;
}
gaps.sort((a, b) => b[0] - a[0]);
for (const [ms, what] of gaps.slice(0, 25)) console.log(ms.toFixed(1), what);
