/**
 * Errors raised while reading, checking and updating table metadata. They are HttpErrors so the
 * REST catalog answers them as they are (409 CommitFailedException, 400 BadRequestException),
 * and plain Errors for callers that never speak HTTP (the CDC writer retries a CommitFailedError).
 */
import { HttpError } from "../../http/errors.js";

/** A commit requirement does not hold, or the pointer moved: reload, reapply, retry. */
export class CommitFailedError extends HttpError {
  constructor(message: string) {
    super(409, "CommitFailedException", message);
    this.name = "CommitFailedError";
  }
}

/** The request itself is invalid (unknown update, bad id, malformed metadata): retrying will not help. */
export class BadRequestError extends HttpError {
  constructor(message: string) {
    super(400, "BadRequestException", message);
    this.name = "BadRequestError";
  }
}

/** Throws a BadRequestError unless `condition` holds (Java's Preconditions.checkArgument). */
export function checkArgument(condition: unknown, message: string): asserts condition {
  if (!condition) throw new BadRequestError(message);
}
