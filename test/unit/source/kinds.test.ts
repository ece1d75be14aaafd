// Declared SQLite types to wire kinds (affinity rules) and row images to wire Rows: exact 64-bit
// integers, REAL values that look integral stay doubles.
import { describe, expect, it } from "vitest";
import { rowFromImage } from "../../../src/source/pump.js";
import { ident, kindOf, triggerSql } from "../../../src/source/triggers.js";

describe("kindOf", () => {
  it("follows SQLite's affinity rules, with BOOL/BOOLEAN as booleans", () => {
    const cases: Array<[string, string]> = [
      ["INTEGER", "int"], ["BIGINT", "int"], ["int8", "int"], ["POINT", "int"], // "INT" anywhere is integer affinity
      ["TEXT", "text"], ["VARCHAR(20)", "text"], ["CLOB", "text"],
      ["BLOB", "blob"], ["", "blob"],
      ["REAL", "double"], ["DOUBLE PRECISION", "double"], ["FLOAT", "double"],
      ["NUMERIC", "numeric"], ["DECIMAL(10,2)", "numeric"], ["DATETIME", "numeric"],
      ["BOOLEAN", "bool"], ["bool", "bool"],
    ];
    for (const [declared, kind] of cases) expect([declared, kindOf(declared)]).toEqual([declared, kind]);
  });
});

describe("rowFromImage", () => {
  it("keeps integers beyond 2^53 exact and REAL 2.0 a double", () => {
    const kinds = new Map([["id", "int" as const], ["price", "double" as const], ["n", "numeric" as const]]);
    const row = rowFromImage('{"id":9223372036854775807,"price":2.0,"n":3}', kinds);
    expect(row.fields.id!.kind).toEqual({ case: "intValue", value: 9223372036854775807n });
    expect(row.fields.price!.kind).toEqual({ case: "doubleValue", value: 2 });
    expect(row.fields.n!.kind).toEqual({ case: "intValue", value: 3n });
  });
});

describe("triggerSql", () => {
  it("quotes identifiers, so odd table and column names cannot break out of the trigger", () => {
    expect(ident('a"b')).toBe('"a""b"');
    const sql = triggerSql({ name: "we'ird", columns: [{ name: 'c"1', kind: "text", pk: 1 }] }, 10).map((t) => t.sql).join("\n");
    expect(sql).toContain(`ON "we'ird"`);
    expect(sql).toContain(`'we''ird'`);
    expect(sql).toContain('NEW."c""1"');
  });
});
