// stringifyJson's fast path (flat rows of plain scalars skip the replacer) writes exactly what the
// replacer path writes; anything else (bigint, JsonNumber, nesting, other prototypes) takes the
// replacer path.
import { describe, expect, it } from "vitest";
import { JsonNumber, stringifyJson } from "../../../src/util/json.js";

const replacer = (_k: string, v: unknown) => (typeof v === "bigint" ? (JSON as unknown as { rawJSON(t: string): unknown }).rawJSON(v.toString()) : v);

describe("stringifyJson", () => {
  it("writes the same text with and without its fast path", () => {
    const values: unknown[] = [
      { a: 1, b: "x\"\\\n\u0001é😀", c: null, d: true, e: -0, f: 1e300, g: Number.NaN, h: undefined, "1": 2, __proto__x: 3 },
      { big: 2n ** 70n, n: 1 }, { j: new JsonNumber("0.10000000000000000001") }, { nested: { a: [1, 2n ** 64n] } }, [1, 2],
      Object.assign(Object.create(null), { a: 1 }), {}, "s", 5, null,
    ];
    for (const v of values) expect(stringifyJson(v)).toBe(JSON.stringify(v, replacer));
    expect(stringifyJson({ a: 1, b: [2] }, 2)).toBe(JSON.stringify({ a: 1, b: [2] }, replacer, 2));
  });
});
