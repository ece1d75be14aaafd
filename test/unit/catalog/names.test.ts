import { describe, expect, it } from "vitest";
import { claimsWarehouse, defaultTableLocation, locationSegment, requestedTableLocation, validateName } from "../../../src/catalog/names.js";

const W = { bucketName: "b", warehouse: "wh" };

describe("catalog names and locations", () => {
  it("allows '/' and '\\' in names but never '.', '..' or control characters", () => {
    expect(validateName("tab/le", "table name")).toBe("tab/le");
    expect(validateName("a\\b", "table name")).toBe("a\\b");
    for (const bad of [".", "..", "a\u001fb", ""]) expect(() => validateName(bad, "table name")).toThrow(/Invalid table name/);
  });

  it("percent-encodes path-significant characters in default locations, injectively", () => {
    expect(locationSegment("plain name_1.x")).toBe("plain name_1.x");
    expect(locationSegment("a/b\\c?d#e%f")).toBe("a%2Fb%5Cc%3Fd%23e%25f");
    expect(defaultTableLocation(W, { namespace: ["new/db"], name: "t" })).toBe("s3://b/wh/new%2Fdb/t");
    expect(defaultTableLocation(W, { namespace: ["new", "db"], name: "t" })).toBe("s3://b/wh/new/db/t");
    expect(defaultTableLocation(W, { namespace: ["n"], name: "a%2Fb" })).not.toBe(defaultTableLocation(W, { namespace: ["n"], name: "a/b" }));
  });

  it("uses requested locations inside the warehouse, validates them, and replaces any other", () => {
    const managed = () => "s3://b/wh/ns/t";
    expect(requestedTableLocation(W, "s3://b/wh/custom/", managed)).toBe("s3://b/wh/custom");
    expect(requestedTableLocation(W, "s3a://b/wh/custom", managed)).toBe("s3a://b/wh/custom");
    for (const outside of ["file:/tmp/ns/t", "s3://other/wh/t", "s3://b/elsewhere", "s3://b/wh2/t", "/abs/path"]) {
      expect(claimsWarehouse(W, outside)).toBe(false);
      expect(requestedTableLocation(W, outside, managed)).toBe("s3://b/wh/ns/t");
    }
    for (const invalid of ["s3://b/wh", "s3://b/wh/../x", "s3://b/wh/a//b", "s3://b/wh/a\\b"]) {
      expect(() => requestedTableLocation(W, invalid, managed)).toThrow(/Invalid location/);
    }
    expect(() => requestedTableLocation(W, 42, managed)).toThrow(/Invalid location/);
  });
});
