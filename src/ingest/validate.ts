/**
 * Validation of a cdc_batch before anything of it is applied. Every problem is a Refusal that
 * names the event and field, so a producer can fix it.
 */
import { toBinary } from "@bufbuild/protobuf";
import { type CdcEvent, CdcEventSchema, NackReason, Operation } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { Row } from "../../gen/dolake/cdc/v1/value_pb.js";
import type { SkimRow } from "../protocol/skim.js";
import type { DoLakeConfig } from "../config.js";
import { Refusal } from "./refusal.js";
import { CHANGELOG_SUFFIX } from "../iceberg/changelog.js";

/** An event as ingest sees it: decoded (JSON frames) or skimmed (binary frames, rows as bytes). */
export interface IngestEvent {
  sequence: bigint;
  operation: number;
  table: string;
  rowId: string;
  before?: Row | SkimRow;
  after?: Row | SkimRow;
  /** Encoded size, when the frame tells it. */
  size?: number;
}

/** A batch as ingest sees it. */
export interface IngestBatch {
  sourceDoId: string;
  sourceShardName: string;
  sequenceNumber: bigint;
  correlationId: string;
  firstEventSequence: bigint;
  lastEventSequence: bigint;
  events: readonly IngestEvent[];
}

/** Table names: what Iceberg, S3 keys and SQL all accept without quoting surprises. */
export const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,127}$/;

// CHANGELOG_SUFFIX (src/iceberg/changelog.ts) is reserved: no source table may end with it.

/**
 * Checks a batch's shape, sizes and internal sequence order. `frameBytes` is the frame's size;
 * `eventSizes`, when known (binary frames), the encoded size of each event.
 */
export function validateBatch(batch: IngestBatch, frameBytes: number, config: DoLakeConfig, eventSizes?: readonly number[]): void {
  const events = batch.events;
  if (events.length === 0) throw new Refusal(NackReason.INVALID_FORMAT, "cdc_batch has no events");
  if (events.length > config.maxBatchEvents) {
    throw new Refusal(NackReason.PAYLOAD_TOO_LARGE, `cdc_batch has ${events.length} events; at most ${config.maxBatchEvents} per batch`, {
      maxSize: config.maxBatchEvents,
    });
  }
  let prev: bigint | undefined;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const at = `events[${i}]`;
    if (e.sequence <= 0n) throw new Refusal(NackReason.INVALID_FORMAT, `${at}.sequence must be > 0`);
    if (prev !== undefined && e.sequence !== prev + 1n) {
      throw new Refusal(
        NackReason.INVALID_SEQUENCE,
        `${at}.sequence is ${e.sequence} after ${prev}: sequences in a batch must be consecutive`,
        { expectedSequence: prev + 1n },
      );
    }
    prev = e.sequence;
    if (!e.table) throw new Refusal(NackReason.INVALID_FORMAT, `${at}.table is missing`);
    if (!TABLE_NAME.test(e.table)) throw new Refusal(NackReason.INVALID_FORMAT, `${at}.table ${JSON.stringify(e.table)} is not a valid table name`);
    // X__changelog is where X's changes go: a source table of that name would collide with it.
    if (e.table.endsWith(CHANGELOG_SUFFIX)) {
      throw new Refusal(NackReason.INVALID_FORMAT, `${at}.table ${JSON.stringify(e.table)}: the suffix ${CHANGELOG_SUFFIX} is reserved for changelog tables`);
    }
    if (!e.rowId) throw new Refusal(NackReason.INVALID_FORMAT, `${at}.rowId is missing`);
    switch (e.operation) {
      case Operation.INSERT:
      case Operation.UPDATE:
        if (!e.after) throw new Refusal(NackReason.INVALID_FORMAT, `${at}: ${Operation[e.operation]} needs an "after" row image`);
        break;
      case Operation.DELETE:
        break;
      default:
        throw new Refusal(NackReason.INVALID_FORMAT, `${at}.operation must be INSERT, UPDATE or DELETE`);
    }
  }
  const first = events[0]!.sequence;
  const last = events[events.length - 1]!.sequence;
  if (batch.firstEventSequence !== 0n && batch.firstEventSequence !== first) {
    throw new Refusal(NackReason.INVALID_FORMAT, `firstEventSequence ${batch.firstEventSequence} != events[0].sequence ${first}`);
  }
  if (batch.lastEventSequence !== 0n && batch.lastEventSequence !== last) {
    throw new Refusal(NackReason.INVALID_FORMAT, `lastEventSequence ${batch.lastEventSequence} != last event's sequence ${last}`);
  }
  // A frame no larger than the event limit cannot hold a larger event: measure only when it could.
  if (frameBytes > config.maxEventSize) {
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const size = e.size ?? eventSizes?.[i] ?? toBinary(CdcEventSchema, e as CdcEvent).byteLength;
      if (size > config.maxEventSize) {
        throw new Refusal(NackReason.EVENT_TOO_LARGE, `events[${i}] is ${size} bytes; maxEventSize is ${config.maxEventSize}`, {
          maxSize: config.maxEventSize,
        });
      }
    }
  }
}
