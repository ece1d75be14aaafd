/**
 * The one table mapping each nack reason to its retry rule (see NackReason in cdc.proto) and to
 * the HTTP status an equivalent HTTP refusal uses.
 */
import { NackReason } from "../../gen/dolake/cdc/v1/cdc_pb.js";

/** Retry rule of a reason: whether the same batch can succeed later, and how long to wait. */
export interface RetryRule {
  shouldRetry: boolean;
  /** Delay hint in units of the configured baseRetryDelayMs (0 = none). */
  delayFactor: number;
  /** HTTP status for the same refusal over HTTP. */
  httpStatus: number;
}

/** Retry rules by reason. */
export const NACK_RULES: Record<NackReason, RetryRule> = {
  [NackReason.UNSPECIFIED]: { shouldRetry: false, delayFactor: 0, httpStatus: 400 },
  [NackReason.BUFFER_FULL]: { shouldRetry: true, delayFactor: 10, httpStatus: 503 },
  [NackReason.RATE_LIMITED]: { shouldRetry: true, delayFactor: 1, httpStatus: 429 },
  [NackReason.INVALID_SEQUENCE]: { shouldRetry: false, delayFactor: 0, httpStatus: 409 },
  [NackReason.INVALID_FORMAT]: { shouldRetry: false, delayFactor: 0, httpStatus: 400 },
  [NackReason.INTERNAL_ERROR]: { shouldRetry: true, delayFactor: 10, httpStatus: 500 },
  [NackReason.SHUTTING_DOWN]: { shouldRetry: true, delayFactor: 10, httpStatus: 503 },
  [NackReason.PAYLOAD_TOO_LARGE]: { shouldRetry: false, delayFactor: 0, httpStatus: 413 },
  [NackReason.EVENT_TOO_LARGE]: { shouldRetry: false, delayFactor: 0, httpStatus: 413 },
  [NackReason.LOAD_SHEDDING]: { shouldRetry: true, delayFactor: 20, httpStatus: 503 },
  [NackReason.CONNECTION_LIMIT]: { shouldRetry: true, delayFactor: 50, httpStatus: 429 },
  [NackReason.IP_LIMIT]: { shouldRetry: true, delayFactor: 50, httpStatus: 429 },
  [NackReason.SCHEMA_CONFLICT]: { shouldRetry: false, delayFactor: 0, httpStatus: 409 },
  [NackReason.UNAUTHORIZED]: { shouldRetry: false, delayFactor: 0, httpStatus: 401 },
  // Resending the same frame on the same socket fails the same way: the producer must connect first.
  [NackReason.NOT_CONNECTED]: { shouldRetry: false, delayFactor: 0, httpStatus: 409 },
  [NackReason.UNSUPPORTED_VERSION]: { shouldRetry: false, delayFactor: 0, httpStatus: 400 },
};
