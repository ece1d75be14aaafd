/**
 * Commit requirements (REST spec `TableRequirement`), checked against the metadata a commit
 * starts from. Messages are the Java client's (org.apache.iceberg.UpdateRequirement) so users
 * see the same text whichever catalog they talk to.
 */
import { BadRequestError, CommitFailedError } from "./errors.js";
import type { TableMetadata, TableRequirement } from "./types.js";

function changed(what: string, expected: number | bigint, actual: number | bigint): CommitFailedError {
  return new CommitFailedError(`Requirement failed: ${what} changed: expected id ${expected} != ${actual}`);
}

/**
 * Throws CommitFailedError (409) at the first requirement `base` does not meet; `base` is
 * undefined when the table does not exist yet (only assert-create may then pass).
 * An unknown requirement type is a BadRequestError (400), never ignored.
 */
export function checkRequirements(base: TableMetadata | undefined, requirements: readonly TableRequirement[]): void {
  for (const requirement of requirements) checkRequirement(base, requirement);
}

/** Checks one requirement; see checkRequirements. */
export function checkRequirement(base: TableMetadata | undefined, r: TableRequirement): void {
  if (r.type === "assert-create") {
    if (base) throw new CommitFailedError("Requirement failed: table already exists");
    return;
  }
  if (!KNOWN.has(r.type)) throw new BadRequestError(`Unknown requirement type: ${String((r as { type: unknown }).type)}`);
  if (!base) throw new CommitFailedError("Requirement failed: table does not exist");
  switch (r.type) {
    case "assert-table-uuid":
      if (r.uuid.toLowerCase() !== base["table-uuid"].toLowerCase()) {
        throw new CommitFailedError(`Requirement failed: UUID does not match: expected ${base["table-uuid"]} != ${r.uuid}`);
      }
      return;
    case "assert-ref-snapshot-id": {
      const ref = base.refs[r.ref];
      const expected = r["snapshot-id"];
      if (ref !== undefined) {
        if (expected === null || expected === undefined) {
          throw new CommitFailedError(`Requirement failed: ${ref.type} ${r.ref} was created concurrently`);
        }
        if (BigInt(expected) !== ref["snapshot-id"]) {
          throw new CommitFailedError(`Requirement failed: ${ref.type} ${r.ref} has changed: expected id ${expected} != ${ref["snapshot-id"]}`);
        }
      } else if (expected !== null && expected !== undefined) {
        throw new CommitFailedError(`Requirement failed: branch or tag ${r.ref} is missing, expected ${expected}`);
      }
      return;
    }
    case "assert-last-assigned-field-id":
      if (base["last-column-id"] !== r["last-assigned-field-id"]) throw changed("last assigned field id", r["last-assigned-field-id"], base["last-column-id"]);
      return;
    case "assert-current-schema-id":
      if (base["current-schema-id"] !== r["current-schema-id"]) throw changed("current schema", r["current-schema-id"], base["current-schema-id"]);
      return;
    case "assert-last-assigned-partition-id":
      if (base["last-partition-id"] !== r["last-assigned-partition-id"]) {
        throw changed("last assigned partition id", r["last-assigned-partition-id"], base["last-partition-id"]);
      }
      return;
    case "assert-default-spec-id":
      if (base["default-spec-id"] !== r["default-spec-id"]) throw changed("default partition spec", r["default-spec-id"], base["default-spec-id"]);
      return;
    case "assert-default-sort-order-id":
      if (base["default-sort-order-id"] !== r["default-sort-order-id"]) {
        throw changed("default sort order", r["default-sort-order-id"], base["default-sort-order-id"]);
      }
      return;
  }
}

const KNOWN = new Set<string>([
  "assert-create",
  "assert-table-uuid",
  "assert-ref-snapshot-id",
  "assert-last-assigned-field-id",
  "assert-current-schema-id",
  "assert-last-assigned-partition-id",
  "assert-default-spec-id",
  "assert-default-sort-order-id",
]);
