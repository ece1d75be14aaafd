/**
 * A Subscribe request -> the subscription's state: its filter and the cursor it starts after
 * (now, earliest, a timestamp, or a cursor), checked against the log's bounds. Used by both
 * transports (WebSocket frames and SSE query parameters).
 */
import type { Operation } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import { type Subscribe, StartFrom, SubscribeErrorCode } from "../../gen/dolake/subscribe/v1/subscribe_pb.js";
import { CHANGELOG_SUFFIX } from "../iceberg/changelog.js";
import type { Encoding } from "../protocol/frames.js";
import { lastPositionAckedBefore } from "./changelog-reader.js";
import { changelogsOf, type LogFilter, type LogSources } from "./log-window.js";

/** Defaults and limits of a subscription. */
export const SUBSCRIBE_LIMITS = { defaultBatchEvents: 500, maxBatchEvents: 10_000, defaultCredits: 16, maxCredits: 1_000, maxStateBytes: 2_000 };

/** A subscription's state (kept in a WebSocket's attachment: at most 2 KB as JSON). */
export interface Subscription {
  tables: string[] | null;
  operations: number[] | null;
  columns: string[] | null;
  notBefore: string;
  maxBatchEvents: number;
  /** Last position delivered or passed over. */
  cursor: string;
  /** Batches the subscriber lets the server send; "stream" for transports with their own backpressure (SSE). */
  credits: number | "stream";
  upToDate: boolean;
  encoding: Encoding;
}

/** A typed subscription error: sent, then the connection closes. */
export class SubscribeFailure extends Error {
  constructor(
    readonly code: SubscribeErrorCode,
    message: string,
    readonly earliest = "",
  ) {
    super(message);
  }
}

/** An invalid_request failure. */
export const invalidRequest = (m: string) => new SubscribeFailure(SubscribeErrorCode.INVALID_REQUEST, m);

/**
 * The subscription a Subscribe asks for, and the log's bounds it was checked against. A start
 * from a timestamp reads the changelogs' file statistics (R2) to place its cursor.
 */
export async function startSubscription(src: LogSources, s: Subscribe, encoding: Encoding, stream = false): Promise<{ sub: Subscription; head: bigint; earliest: bigint }> {
  const bounds = src.buffer.logBounds();
  const head = bounds.next - 1n;
  const earliest = bounds.retainedFrom - 1n;
  if (s.maxBatchEvents > SUBSCRIBE_LIMITS.maxBatchEvents) throw invalidRequest(`maxBatchEvents ${s.maxBatchEvents} is above ${SUBSCRIBE_LIMITS.maxBatchEvents}`);
  for (const t of s.tables) if (!t || t.endsWith(CHANGELOG_SUFFIX)) throw invalidRequest(`invalid table name ${JSON.stringify(t)}: name the source table (its changelog is read for history)`);
  for (const op of s.operations) if (op < 1 || op > 3) throw invalidRequest(`unknown operation ${op}`);
  let cursor: bigint;
  let notBefore = 0n;
  const from = s.from === StartFrom.UNSPECIFIED ? (s.cursor ? StartFrom.CURSOR : StartFrom.NOW) : s.from;
  if (from === StartFrom.NOW) cursor = head;
  else if (from === StartFrom.EARLIEST) cursor = earliest;
  else if (from === StartFrom.TIMESTAMP) {
    notBefore = s.timestamp;
    cursor = earliest; // moved forward by timestampCursor before the subscription is used
  } else {
    if (!/^\d{1,19}$/.test(s.cursor)) throw invalidRequest(`cursor ${JSON.stringify(s.cursor.slice(0, 40))} is not a cursor of this warehouse`);
    cursor = BigInt(s.cursor);
    if (cursor > head) throw invalidRequest(`cursor ${cursor} is ahead of this warehouse's log (head ${head}): it comes from another warehouse or deployment`);
    if (cursor < earliest) throw new SubscribeFailure(SubscribeErrorCode.CURSOR_EXPIRED, `cursor ${cursor} is older than the retained history (earliest ${earliest})`, earliest.toString());
  }
  const sub: Subscription = {
    tables: s.tables.length ? [...new Set(s.tables)] : null,
    operations: s.operations.length ? [...new Set(s.operations)] : null,
    columns: s.columns.length ? [...new Set(s.columns)] : null,
    notBefore: notBefore.toString(),
    maxBatchEvents: s.maxBatchEvents || SUBSCRIBE_LIMITS.defaultBatchEvents,
    cursor: cursor.toString(),
    credits: stream ? "stream" : Math.min(SUBSCRIBE_LIMITS.maxCredits, s.credits || SUBSCRIBE_LIMITS.defaultCredits),
    upToDate: false,
    encoding,
  };
  if (JSON.stringify(sub).length > SUBSCRIBE_LIMITS.maxStateBytes) throw invalidRequest("the subscription names too many tables or columns (its state must fit 2 KB)");
  if (from === StartFrom.TIMESTAMP) sub.cursor = (await timestampCursor(src, sub, earliest)).toString();
  return { sub, head, earliest };
}

/** The log filter of a subscription. */
export function filterOf(sub: Subscription): LogFilter {
  return {
    tables: sub.tables ? new Set(sub.tables) : null,
    operations: sub.operations ? new Set(sub.operations as Operation[]) : null,
    columns: sub.columns ? new Set(sub.columns) : null,
    notBefore: BigInt(sub.notBefore),
  };
}

/**
 * Where a subscription started from a timestamp begins: after the highest log position whose
 * changelog file was wholly acked before `notBefore` (the files' `acked_at` statistics; they live
 * as long as the files, whatever the snapshot retention), else at `earliest`. Changes between it
 * and the timestamp are left out by the filter, so starting early costs reading, never
 * correctness.
 */
async function timestampCursor(src: LogSources, sub: Subscription, earliest: bigint): Promise<bigint> {
  const ms = BigInt(sub.notBefore);
  let best = earliest;
  for (const c of changelogsOf(src, sub.tables)) {
    const p = await lastPositionAckedBefore({ deps: src.deps, ...c }, ms);
    if (p !== undefined && p > best) best = p;
  }
  return best;
}
