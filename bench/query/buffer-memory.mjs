// Heap a query's buffered state takes in the Worker: N buffered events (bench rows, binary batches
// of 1,000, ~283 bytes each) decoded by fetchTableStates, the code /v1/query runs, with a scripted
// object. Reports the live heap after GC per event and per wire byte, which is what
// MAX_BUFFERED_QUERY_BYTES (src/query/buffered-state.ts) is sized from.
//   node --expose-gc bench/query/buffer-memory.mjs [--events 20000,80000]
import { loadTs, machine } from "../lib/build.mjs";

const counts = (process.argv[process.argv.indexOf("--events") + 1] && process.argv.includes("--events") ? process.argv[process.argv.indexOf("--events") + 1] : "20000,80000").split(",").map(Number);
if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc");
const m = await loadTs(new URL("./buffer-memory.ts", import.meta.url));
console.log(`# buffered-state memory ${new Date().toISOString()}\n# ${await machine()}`);
for (const n of counts) {
  const payloads = [];
  for (let b = 0; b < n / 1000; b++) payloads.push(m.batchFrame("binary", "mem", b + 1, b * 1000 + 1, 1000));
  const wire = payloads.reduce((s, p) => s + p.byteLength, 0);
  const refs = payloads.map((p, i) => ({ id: i, format: "binary", sizeBytes: 1, receivedAt: 1, committed: [] })); // sizes kept under the cap: this measures, it does not refuse
  const source = {
    queryState: async () => ({ cdcNamespace: "default", batches: refs, tables: [{ namespace: ["default"], name: "orders", metadataLocation: null, metadataJson: null, replaced: [], detectTimestamps: false }] }),
    queryBatches: async (_t, ids) => ids.map((id) => payloads[id]),
  };
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const state = await m.fetchTableStates(source, [{ namespace: [], name: "orders" }]);
  globalThis.gc();
  const heap = process.memoryUsage().heapUsed - before;
  const rows = state[0].buffered.length;
  console.log(JSON.stringify({ events: n, rows, wireMiB: +(wire / 2 ** 20).toFixed(2), decodedHeapMiB: +(heap / 2 ** 20).toFixed(1), heapBytesPerEvent: Math.round(heap / n), heapPerWireByte: +(heap / wire).toFixed(1) }));
}
