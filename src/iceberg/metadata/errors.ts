/**
 * Errors of the Iceberg table model: domain errors, with no HTTP in them. The REST catalog maps
 * each to a status and an Iceberg error type through its one table (src/catalog/errors.ts); the
 * CDC writer, which never speaks HTTP, retries a CommitFailedError.
 */

/** A commit requirement does not hold, or the pointer moved: reload, reapply, retry (Iceberg's CommitFailedException). */
export class CommitFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommitFailedError";
  }
}

/** The input is invalid (unknown update, bad id, malformed metadata): retrying will not help (Iceberg's BadRequest / ValidationException). */
export class BadRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadRequestError";
  }
}

/** Throws a BadRequestError unless `condition` holds (Java's Preconditions.checkArgument). */
export function checkArgument(condition: unknown, message: string): asserts condition {
  if (!condition) throw new BadRequestError(message);
}
