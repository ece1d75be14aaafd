import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { rng } from "../../support/rng.js";
import { CdcEventSchema, ClientMessageSchema, Operation } from "../../../gen/dolake/cdc/v1/cdc_pb.js";
import { rowFromJson } from "../../../src/protocol/json-value.js";
import { binaryEventSizes, forEachColumn, SkimError, skimCdcBatchFrame } from "../../../src/protocol/skim.js";

describe("binaryEventSizes", () => {
  it("equals the encoded size of each event", () => {
    const events = [1, 2, 3].map((i) =>
      create(CdcEventSchema, { sequence: BigInt(i), operation: Operation.INSERT, table: "t", rowId: `r${i}`, after: rowFromJson({ id: i, pad: "x".repeat(i * 300) }) }),
    );
    const frame = toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value: { sourceDoId: "s", sequenceNumber: 7n, events } } }));
    expect(binaryEventSizes(frame)).toEqual(events.map((e) => toBinary(CdcEventSchema, e).byteLength));
  });
  it("is empty for other messages", () => {
    const frame = toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "heartbeat", value: { sourceDoId: "s" } } }));
    expect(binaryEventSizes(frame)).toEqual([]);
  });
});

describe("skimCdcBatchFrame (differential against fromBinary)", () => {
  const rows = [{ id: 1, s: "x", d: 1.5, b: true, n: null, big: 2n ** 62n, huge: 2n ** 80n, o: { a: [1, { b: "c" }] }, l: [null, 2.5] }, { id: "k", ts: "2024-01-02T03:04:05Z" }, {}];
  function frame(events: number, seed: number): Uint8Array {
    const r = rng(seed);
    const evs = Array.from({ length: events }, (_, i) =>
      create(CdcEventSchema, {
        sequence: BigInt(i + 1),
        timestamp: 1700000000000n,
        operation: (i % 3) + 1,
        table: `t${i % 2}`,
        rowId: `r${i}`,
        after: rowFromJson(rows[Math.floor(r() * rows.length)]!),
        before: r() < 0.3 ? rowFromJson(rows[0]!) : undefined,
        metadata: r() < 0.2 ? rowFromJson({ tx: 9 }) : undefined,
      }),
    );
    return toBinary(ClientMessageSchema, create(ClientMessageSchema, { message: { case: "cdcBatch", value: { sourceDoId: "src", correlationId: "c", sequenceNumber: 5n, firstEventSequence: 1n, lastEventSequence: BigInt(events), isRetry: true, retryCount: 2, events: evs } } }));
  }

  it("reads what fromBinary reads from valid frames", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const bytes = frame(1 + (seed % 7), seed);
      const skim = skimCdcBatchFrame(bytes)!;
      const full = fromBinary(ClientMessageSchema, bytes).message;
      if (full.case !== "cdcBatch") throw new Error("not a batch");
      expect({ seq: skim.sequenceNumber, src: skim.sourceDoId, corr: skim.correlationId, retry: skim.isRetry, count: skim.retryCount }).toEqual({
        seq: full.value.sequenceNumber, src: full.value.sourceDoId, corr: full.value.correlationId, retry: full.value.isRetry, count: full.value.retryCount,
      });
      expect(skim.events.map((e) => [e.sequence, e.operation, e.table, e.rowId, !!e.after, !!e.before, e.size])).toEqual(
        full.value.events.map((e) => [e.sequence, e.operation, e.table, e.rowId, !!e.after, !!e.before, toBinary(CdcEventSchema, e).byteLength]),
      );
      skim.events.forEach((e, i) => {
        const kinds: Record<string, string | undefined> = {};
        forEachColumn(e.after!.bytes, 0, (c, v) => (kinds[c] = v.case));
        expect(kinds).toEqual(Object.fromEntries(Object.entries(full.value.events[i]!.after!.fields).map(([c, v]) => [c, v.kind.case])));
      });
    }
  });

  // Both directions: what skim accepts, fromBinary decodes to the same events; what skim refuses,
  // fromBinary refuses too, or it is bytes no protobuf encoder writes for the message they decode to
  // (a field with the wrong wire type, an illegal tag inside a field fromBinary keeps as unknown):
  // skim is deliberately stricter there, so a conforming producer never sees a nack fromBinary would
  // not give. A generous explicit timeout: the verdict must not depend on the machine's load.
  it("never accepts a frame that fromBinary cannot decode, and refuses only what fromBinary refuses or no encoder writes (20,000 mutated frames)", { timeout: 120_000 }, () => {
    const r = rng(7);
    let accepted = 0;
    let refused = 0;
    let stricter = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = frame(1 + (i % 4), i).slice();
      const mutations = 1 + Math.floor(r() * 4);
      let m = bytes;
      for (let k = 0; k < mutations; k++) {
        const what = r();
        if (what < 0.5) m[Math.floor(r() * m.length)] = Math.floor(r() * 256);
        else if (what < 0.75) m = m.slice(0, Math.floor(r() * m.length));
        else {
          const at = Math.floor(r() * m.length);
          m = new Uint8Array([...m.slice(0, at), Math.floor(r() * 256), ...m.slice(at)]);
        }
      }
      let skim;
      try {
        skim = skimCdcBatchFrame(m);
      } catch (e) {
        expect(e).toBeInstanceOf(SkimError);
        refused++;
        let decoded;
        try {
          decoded = fromBinary(ClientMessageSchema, m);
        } catch {
          continue; // refused by both
        }
        stricter++;
        const canonical = toBinary(ClientMessageSchema, decoded);
        expect(canonical.length === m.length && canonical.every((b, j) => b === m[j]), `skim refused bytes an encoder writes: ${(e as Error).message}`).toBe(false);
        continue;
      }
      if (!skim) continue;
      accepted++;
      // Accepted by the skim reader: the flush's full decode must succeed, rows included, and agree.
      const full = fromBinary(ClientMessageSchema, m).message;
      expect(full.case).toBe("cdcBatch");
      if (full.case !== "cdcBatch") continue;
      expect(full.value.events.length).toBe(skim.events.length);
      full.value.events.forEach((e, j) => {
        expect([e.sequence, e.table, e.rowId, e.operation, !!e.after]).toEqual([skim.events[j]!.sequence, skim.events[j]!.table, skim.events[j]!.rowId, skim.events[j]!.operation, !!skim.events[j]!.after]);
        if (e.after) {
          const kinds: Record<string, string | undefined> = {};
          for (const [c, v] of skim.events[j]!.after!.columns) kinds[c] = v.case;
          expect(kinds).toEqual(Object.fromEntries(Object.entries(e.after.fields).map(([c, v]) => [c, v.kind.case])));
        }
      });
    }
    expect(accepted).toBeGreaterThan(500); // enough accepted mutations to mean something (860 with this seed)
    expect(refused).toBeGreaterThan(1000);
    expect(stricter).toBeGreaterThan(100); // the stricter cases were exercised (408 with this seed)
  });
});
