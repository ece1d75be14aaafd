/**
 * The benches' workload: a realistic CDC row (10 columns of mixed types, about 250 bytes as
 * JSON) and cdc_batch frames of it, binary or JSON, built with the server's own codecs.
 */
import { create } from "@bufbuild/protobuf";
import { ClientMessageSchema, Operation } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { encodeClientMessage, decodeServerFrame } from "../../src/protocol/frames.js";
import { rowFromJson } from "../../src/protocol/json-value.js";

export { decodeServerFrame };

const STATUSES = ["new", "paid", "shipped", "delivered", "refunded"];
const CITIES = ["Lisbon", "Osaka", "Toronto", "Nairobi", "Lyon", "Austin", "Pune", "Bergen"];

/** Row `i` of table `orders`: int, bigint-ish int, strings, doubles, bool, an ISO date, a nullable column. */
export function makeRow(i: number): Record<string, unknown> {
  return {
    id: i,
    customer_id: 1_000_000_000 + ((i * 7919) % 5_000_000),
    email: `user${(i * 31) % 100_000}@example.com`,
    name: `Customer ${i % 9973} ${CITIES[i % CITIES.length]}`,
    status: STATUSES[i % STATUSES.length],
    amount: Math.round(((i * 37) % 100_000) * 1.01) / 100 + 0.01,
    quantity: (i % 17) + 1,
    active: i % 3 !== 0,
    created_at: new Date(1_704_067_200_000 + i * 1000).toISOString(),
    note: i % 5 === 0 ? null : `order note ${i % 1000} lorem ipsum dolor`,
  };
}

/** A batch of `n` INSERT events of `orders` from `source`, events numbered from `firstSeq` (> 0). */
export function batchMessage(source: string, batchNumber: number, firstSeq: number, n: number, rowBase = firstSeq) {
  const events = [];
  for (let k = 0; k < n; k++) {
    const seq = firstSeq + k;
    const row = makeRow(rowBase + k);
    events.push({
      sequence: BigInt(seq),
      timestamp: BigInt(1_704_067_200_000 + seq),
      operation: Operation.INSERT,
      table: "orders",
      rowId: String(row.id),
      after: rowFromJson(row),
    });
  }
  return create(ClientMessageSchema, {
    message: {
      case: "cdcBatch",
      value: {
        timestamp: BigInt(Date.now()),
        sourceDoId: source,
        sequenceNumber: BigInt(batchNumber),
        firstEventSequence: BigInt(firstSeq),
        lastEventSequence: BigInt(firstSeq + n - 1),
        events,
      },
    },
  });
}

/** The frame of a batch in the given encoding (Uint8Array for binary, string for JSON). */
export function batchFrame(encoding: "binary" | "json", source: string, batchNumber: number, firstSeq: number, n: number, rowBase = firstSeq): string | Uint8Array {
  return encodeClientMessage(batchMessage(source, batchNumber, firstSeq, n, rowBase), encoding);
}

/** A connect frame. */
export function connectFrame(encoding: "binary" | "json", source: string): string | Uint8Array {
  return encodeClientMessage(create(ClientMessageSchema, { message: { case: "connect", value: { sourceDoId: source, protocolVersion: 1, timestamp: BigInt(Date.now()) } } }), encoding);
}

/** What the benches read from a server frame: kind, batch number, ack status or nack text. */
export function readServerFrame(data: string | Uint8Array): { kind: string; sequenceNumber: number; status?: number; error?: string } {
  const m = decodeServerFrame(data).message;
  switch (m.case) {
    case "ack":
      return { kind: "ack", sequenceNumber: Number(m.value.sequenceNumber), status: m.value.status };
    case "nack":
      return { kind: "nack", sequenceNumber: Number(m.value.sequenceNumber), error: `${m.value.reason}: ${m.value.errorMessage}` };
    default:
      return { kind: String(m.case), sequenceNumber: 0 };
  }
}
