// Partition transforms and bucket hashing against the Iceberg spec's published test vectors
// (spec Appendix B, "32-bit Hash Requirements", and "Truncate Transform Details").
import { describe, expect, it } from "vitest";
import { murmur3Bytes, murmur3Decimal, murmur3Double, murmur3Long, murmur3String, uuidBytes, decimalBytes } from "../../../src/iceberg/murmur3.js";
import { applyTransform, civilFromDays, humanString, parseTransform, transformResultType } from "../../../src/iceberg/transforms.js";

const DAYS_2017_11_16 = 17486;
const MICROS_2017_11_16T22_31_08 = 1510871468000000n;

describe("murmur3_x86_32 (spec Appendix B vectors)", () => {
  it("hashes int and long 34 alike", () => {
    expect(murmur3Long(34)).toBe(2017239379);
    expect(murmur3Long(34n)).toBe(2017239379);
  });
  it("hashes decimal 14.20 by its minimal big-endian unscaled bytes", () => {
    expect([...decimalBytes(1420n)]).toEqual([0x05, 0x8c]);
    expect(murmur3Decimal(1420n)).toBe(-500754589);
  });
  it("hashes date, time and timestamps as longs", () => {
    expect(murmur3Long(DAYS_2017_11_16)).toBe(-653330422);
    expect(murmur3Long(81068000000n)).toBe(-662762989); // 22:31:08 in micros
    expect(murmur3Long(MICROS_2017_11_16T22_31_08)).toBe(-2047944441);
    expect(murmur3Long(MICROS_2017_11_16T22_31_08 + 1n)).toBe(-1207196810);
    // timestamptz 2017-11-16T14:31:08-08:00 is the same instant
    expect(murmur3Long(Date.parse("2017-11-16T14:31:08-08:00") * 1000)).toBe(-2047944441);
  });
  it("hashes string, uuid, binary, boolean and double", () => {
    expect(murmur3String("iceberg")).toBe(1210000089);
    expect(murmur3Bytes(uuidBytes("f79c3e09-677c-4bbd-a479-3f349cb785e7"))).toBe(1488055340);
    expect(murmur3Bytes(new Uint8Array([0, 1, 2, 3]))).toBe(-188683207);
    expect(murmur3Long(1)).toBe(1392991556);
    expect(murmur3Double(1.0)).toBe(-142385009);
  });
  it("hashes every tail length (1-3 trailing bytes) deterministically", () => {
    // Reference values from the mmh3 Python package (pyiceberg's bucket hash): mmh3.hash(s, 0).
    expect(murmur3String("a")).toBe(1009084850);
    expect(murmur3String("ab")).toBe(-1681926305);
    expect(murmur3String("abc")).toBe(-1277324294);
    expect(murmur3String("")).toBe(0);
  });
});

describe("minimal two's-complement bytes", () => {
  it("matches Java BigInteger.toByteArray", () => {
    expect([...decimalBytes(0n)]).toEqual([0]);
    expect([...decimalBytes(127n)]).toEqual([0x7f]);
    expect([...decimalBytes(128n)]).toEqual([0x00, 0x80]);
    expect([...decimalBytes(-1n)]).toEqual([0xff]);
    expect([...decimalBytes(-128n)]).toEqual([0x80]);
    expect([...decimalBytes(-129n)]).toEqual([0xff, 0x7f]);
  });
});

describe("bucket[N]", () => {
  it("is (hash & MAX_INT) % N", () => {
    expect(applyTransform(parseTransform("bucket[16]"), "int", 34)).toBe(3);
    expect(applyTransform(parseTransform("bucket[16]"), "long", 34n)).toBe(3);
    expect(applyTransform(parseTransform("bucket[100]"), "string", "iceberg")).toBe((1210000089 & 0x7fffffff) % 100);
    expect(applyTransform(parseTransform("bucket[7]"), "date", DAYS_2017_11_16)).toBe((-653330422 & 0x7fffffff) % 7);
    expect(applyTransform(parseTransform("bucket[4]"), "decimal(4,2)", 1420n)).toBe((-500754589 & 0x7fffffff) % 4);
    expect(applyTransform(parseTransform("bucket[4]"), "long", null)).toBeNull();
  });
  it("refuses float, double and boolean sources", () => {
    expect(() => transformResultType(parseTransform("bucket[4]"), "double")).toThrow(/cannot apply/);
  });
});

describe("truncate[W] (spec examples)", () => {
  it("floors ints and longs toward negative infinity", () => {
    const t = parseTransform("truncate[10]");
    expect(applyTransform(t, "int", 1)).toBe(0);
    expect(applyTransform(t, "int", -1)).toBe(-10);
    expect(applyTransform(t, "long", 1n)).toBe(0n);
    expect(applyTransform(t, "long", -1n)).toBe(-10n);
    expect(applyTransform(t, "long", 19n)).toBe(10n);
  });
  it("truncates decimals on the unscaled value", () => {
    expect(applyTransform(parseTransform("truncate[50]"), "decimal(9,2)", 1065n)).toBe(1050n);
  });
  it("truncates strings by code point and binary by byte", () => {
    expect(applyTransform(parseTransform("truncate[3]"), "string", "iceberg")).toBe("ice");
    expect(applyTransform(parseTransform("truncate[2]"), "string", "😀😁😂")).toBe("😀😁");
    expect(applyTransform(parseTransform("truncate[3]"), "binary", new Uint8Array([1, 2, 3, 4]))).toEqual(new Uint8Array([1, 2, 3]));
  });
});

describe("year, month, day, hour", () => {
  const ts = MICROS_2017_11_16T22_31_08;
  it("matches the spec's definitions for 2017-11-16T22:31:08", () => {
    expect(applyTransform(parseTransform("year"), "timestamptz", ts)).toBe(47);
    expect(applyTransform(parseTransform("month"), "timestamptz", ts)).toBe(47 * 12 + 10);
    expect(applyTransform(parseTransform("day"), "timestamptz", ts)).toBe(DAYS_2017_11_16);
    expect(applyTransform(parseTransform("hour"), "timestamp", ts)).toBe(DAYS_2017_11_16 * 24 + 22);
    expect(applyTransform(parseTransform("day"), "date", DAYS_2017_11_16)).toBe(DAYS_2017_11_16);
    expect(applyTransform(parseTransform("year"), "date", DAYS_2017_11_16)).toBe(47);
  });
  it("floors before the epoch", () => {
    expect(applyTransform(parseTransform("day"), "timestamp", -1n)).toBe(-1);
    expect(applyTransform(parseTransform("hour"), "timestamp", -1n)).toBe(-1);
    expect(applyTransform(parseTransform("year"), "date", -1)).toBe(-1);
    expect(applyTransform(parseTransform("month"), "date", -1)).toBe(-1);
  });
  it("gives Java's human strings for partition paths", () => {
    expect(humanString(parseTransform("day"), "timestamptz", DAYS_2017_11_16)).toBe("2017-11-16");
    expect(humanString(parseTransform("hour"), "timestamptz", DAYS_2017_11_16 * 24 + 22)).toBe("2017-11-16-22");
    expect(humanString(parseTransform("month"), "timestamptz", 47 * 12 + 10)).toBe("2017-11");
    expect(humanString(parseTransform("year"), "timestamptz", 47)).toBe("2017");
    expect(humanString(parseTransform("identity"), "timestamptz", ts)).toBe("2017-11-16T22:31:08Z");
    expect(humanString(parseTransform("identity"), "string", null)).toBe("null");
    expect(humanString(parseTransform("identity"), "decimal(5,2)", -5n)).toBe("-0.05");
  });
  it("converts days to civil dates across leap years", () => {
    expect(civilFromDays(0)).toEqual({ year: 1970, month: 1, day: 1 });
    expect(civilFromDays(-1)).toEqual({ year: 1969, month: 12, day: 31 });
    expect(civilFromDays(11016)).toEqual({ year: 2000, month: 2, day: 29 });
  });
  it("maps null to null and void to null", () => {
    expect(applyTransform(parseTransform("day"), "timestamptz", null)).toBeNull();
    expect(applyTransform(parseTransform("void"), "long", 5n)).toBeNull();
  });
});
