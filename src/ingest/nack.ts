/** Builds Nack messages from Refusals through the one retry table (src/protocol/nack-reasons.ts). */
import { NackReason, type ServerMessage } from "../../gen/dolake/cdc/v1/cdc_pb.js";
import type { DoLakeConfig } from "../config.js";
import { NACK_RULES } from "../protocol/nack-reasons.js";
import { server } from "../protocol/server-message.js";
import type { Refusal } from "./refusal.js";

/** The published spelling of each reason (metrics labels, logs). */
export const NACK_REASONS_JSON: Record<NackReason, string> = Object.fromEntries(
  Object.entries(NackReason)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [v, k.toLowerCase()]),
) as Record<NackReason, string>;

/** The Nack for a refusal, with shouldRetry and retryDelayMs from the retry table. */
export function nackMessage(e: Refusal, config: DoLakeConfig, now: number, sequenceNumber: bigint, correlationId: string): ServerMessage {
  const rule = NACK_RULES[e.reason];
  const delay = e.extra.retryDelayMs ?? Math.min(config.maxRetryDelayMs, rule.delayFactor * config.baseRetryDelayMs);
  return server("nack", {
    timestamp: BigInt(now),
    correlationId,
    sequenceNumber,
    reason: e.reason,
    errorMessage: e.message,
    shouldRetry: rule.shouldRetry,
    retryDelayMs: rule.shouldRetry ? Math.ceil(delay) : 0, // uint32 on the wire
    maxSize: Math.floor(e.extra.maxSize ?? 0),
    expectedSequence: e.extra.expectedSequence ?? 0n,
  });
}
