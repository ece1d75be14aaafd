import { describe, expect, it } from "vitest";
import { catalogErrorOf } from "../../../src/catalog/errors.js";
import { applyUpdates, checkRequirements } from "../../../src/iceberg/metadata/apply.js";
import { BadRequestError, CommitFailedError } from "../../../src/iceberg/metadata/errors.js";
import type { TableMetadata, TableRequirement } from "../../../src/iceberg/metadata/types.js";
import { freshTable, snapshot } from "./fixtures.js";

const withMain = () =>
  applyUpdates(freshTable(), [{ action: "add-snapshot", snapshot: snapshot(2n, 1n) }, { action: "set-snapshot-ref", "ref-name": "main", type: "branch", "snapshot-id": 2n }], 5n);

function failure(reqs: TableRequirement[], base: TableMetadata | undefined = withMain()): string {
  try {
    checkRequirements(base, reqs);
  } catch (e) {
    expect(e).toBeInstanceOf(CommitFailedError);
    // A domain error: the catalog's one table answers it 409 CommitFailedException.
    expect(catalogErrorOf(e)?.status).toBe(409);
    expect(catalogErrorOf(e)?.type).toBe("CommitFailedException");
    return (e as Error).message;
  }
  throw new Error("expected a CommitFailedError");
}

describe("checkRequirements", () => {
  it("passes when every requirement holds", () => {
    const m = withMain();
    expect(() =>
      checkRequirements(m, [
        { type: "assert-table-uuid", uuid: m["table-uuid"].toUpperCase() },
        { type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": 2n },
        { type: "assert-ref-snapshot-id", ref: "dev", "snapshot-id": null },
        { type: "assert-last-assigned-field-id", "last-assigned-field-id": 3 },
        { type: "assert-current-schema-id", "current-schema-id": 0 },
        { type: "assert-last-assigned-partition-id", "last-assigned-partition-id": 1000 },
        { type: "assert-default-spec-id", "default-spec-id": 0 },
        { type: "assert-default-sort-order-id", "default-sort-order-id": 0 },
      ]),
    ).not.toThrow();
    expect(() => checkRequirements(undefined, [{ type: "assert-create" }])).not.toThrow();
  });

  it("uses the Java client's wording for each failure", () => {
    expect(failure([{ type: "assert-create" }])).toBe("Requirement failed: table already exists");
    expect(failure([{ type: "assert-table-uuid", uuid: "other" }])).toBe("Requirement failed: UUID does not match: expected 9c12d441-03fe-4693-9a96-a0705ddf69c1 != other");
    expect(failure([{ type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": 1n }])).toBe("Requirement failed: branch main has changed: expected id 1 != 2");
    expect(failure([{ type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": null }])).toBe("Requirement failed: branch main was created concurrently");
    expect(failure([{ type: "assert-ref-snapshot-id", ref: "dev", "snapshot-id": 7n }])).toBe("Requirement failed: branch or tag dev is missing, expected 7");
    expect(failure([{ type: "assert-last-assigned-field-id", "last-assigned-field-id": 2 }])).toBe("Requirement failed: last assigned field id changed: expected id 2 != 3");
    expect(failure([{ type: "assert-current-schema-id", "current-schema-id": 1 }])).toBe("Requirement failed: current schema changed: expected id 1 != 0");
    expect(failure([{ type: "assert-last-assigned-partition-id", "last-assigned-partition-id": 999 }])).toBe(
      "Requirement failed: last assigned partition id changed: expected id 999 != 1000",
    );
    expect(failure([{ type: "assert-default-spec-id", "default-spec-id": 1 }])).toBe("Requirement failed: default partition spec changed: expected id 1 != 0");
    expect(failure([{ type: "assert-default-sort-order-id", "default-sort-order-id": 1 }])).toBe("Requirement failed: default sort order changed: expected id 1 != 0");
  });

  it("names tags as tags", () => {
    const m = applyUpdates(withMain(), [{ action: "set-snapshot-ref", "ref-name": "v1", type: "tag", "snapshot-id": 2n }], 6n);
    expect(failure([{ type: "assert-ref-snapshot-id", ref: "v1", "snapshot-id": 3n }], m)).toBe("Requirement failed: tag v1 has changed: expected id 3 != 2");
  });

  it("fails every non-create requirement on a missing table", () => {
    expect(failure([{ type: "assert-current-schema-id", "current-schema-id": 0 }], null as unknown as undefined)).toBe("Requirement failed: table does not exist");
  });

  it("refuses an unknown requirement type with a 400", () => {
    expect(() => checkRequirements(withMain(), [{ type: "assert-nothing" } as unknown as TableRequirement])).toThrow(BadRequestError);
  });
});
