// The Worker's half of a query's read state (src/query/buffered-state.ts) against a scripted object:
// the hand-over comes in pages under the RPC value limit, a stale page restarts the read, and a
// buffer too large to decode is a clear 503, never an out-of-memory Worker.
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ClientMessageSchema, Operation } from "../../../gen/dolake/cdc/v1/cdc_pb.js";
import { HttpError } from "../../../src/http/errors.js";
import { fetchTableStates, MAX_BUFFERED_QUERY_BYTES, type QueryStateSource } from "../../../src/query/buffered-state.js";
import type { BatchRef, RawQueryState } from "../../../src/query/query-state.js";

const enc = new TextEncoder();
const jsonBatch = (rowId: string) => enc.encode(JSON.stringify({ type: "cdc_batch", sourceDoId: "s", sequenceNumber: 1, events: [{ sequence: 1, operation: "INSERT", table: "t", rowId, after: { id: rowId } }] }));
const binaryBatch = (rowId: string) =>
  toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value: { sourceDoId: "s", sequenceNumber: 2n, events: [{ sequence: 2n, operation: Operation.DELETE, table: "t", rowId }] } } }));

function state(batches: BatchRef[], pointer = "p1"): RawQueryState {
  return { cdcNamespace: "default", batches, tables: [{ namespace: ["default"], name: "t", metadataLocation: pointer, metadataJson: null, replaced: [["f.parquet", [3]]], detectTimestamps: false }] };
}

describe("fetchTableStates", () => {
  it("fetches the batches in pages of at most 2 MiB and decodes JSON and binary frames", async () => {
    const payloads = new Map<number, Uint8Array>([[1, jsonBatch("a")], [2, binaryBatch("a")], [3, jsonBatch("b")]]);
    const refs: BatchRef[] = [
      { id: 1, format: "json", sizeBytes: 1.5 * 2 ** 20, receivedAt: 10, committed: [] },
      { id: 2, format: "binary", sizeBytes: 1.5 * 2 ** 20, receivedAt: 11, committed: [] },
      { id: 3, format: "json", sizeBytes: 1000, receivedAt: 12, committed: ["t"] }, // t already committed from batch 3
    ];
    const pages: number[][] = [];
    const source: QueryStateSource = {
      queryState: async () => state(refs),
      queryBatches: async (_t, ids) => (pages.push(ids), ids.map((id) => payloads.get(id)!)),
    };
    const [t] = await fetchTableStates(source, [{ namespace: [], name: "t" }]);
    expect(pages).toEqual([[1], [2, 3]]);
    expect(t!.buffered.map((c) => [c.operation, c.rowId, c.ackedAt])).toEqual([["INSERT", "a", 10], ["DELETE", "a", 11]]);
    expect(t!.replaced).toEqual([["f.parquet", [3]]]);
  });

  it("reads again when a page finds a table committed since, and gives up with a 503 after three tries", async () => {
    let reads = 0;
    const flaky: QueryStateSource = {
      queryState: async () => state([{ id: 1, format: "json", sizeBytes: 10, receivedAt: 1, committed: [] }], `p${++reads}`),
      queryBatches: async (tables, ids) => (tables[0]!.metadataLocation === "p2" ? ids.map(() => jsonBatch("x")) : null),
    };
    const [t] = await fetchTableStates(flaky, [{ namespace: [], name: "t" }]);
    expect(reads).toBe(2);
    expect(t!.metadataLocation).toBe("p2");
    expect(t!.buffered).toHaveLength(1);

    const never: QueryStateSource = { queryState: flaky.queryState, queryBatches: async () => null };
    const err = await fetchTableStates(never, [{ namespace: [], name: "t" }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(503);
  });

  it("refuses with a 503 naming the size when the buffered changes exceed what a query decodes", async () => {
    const big: BatchRef[] = Array.from({ length: 4 }, (_, i) => ({ id: i, format: "binary", sizeBytes: MAX_BUFFERED_QUERY_BYTES / 3, receivedAt: 1, committed: [] }));
    let fetched = false;
    const source: QueryStateSource = { queryState: async () => state(big), queryBatches: async () => ((fetched = true), []) };
    const err = (await fetchTableStates(source, [{ namespace: [], name: "t" }]).catch((e: unknown) => e)) as HttpError;
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/16\.0 MiB of acked changes not yet flushed.*asOf/);
    expect(fetched).toBe(false);
  });
});
