// Entry for bench/query/buffer-memory.mjs: the Worker's decode of buffered batches (fetchTableStates)
// over batches made by the bench workload, bundled like the Worker's code.
export { fetchTableStates } from "../../src/query/buffered-state.js";
export { batchFrame } from "../lib/workload.js";
