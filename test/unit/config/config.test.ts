import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG, resolveConfig } from "../../../src/config.js";

describe("resolveConfig", () => {
  it("returns the documented defaults", () => {
    expect(resolveConfig(undefined)).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG).toMatchObject({ flushThresholdEvents: 10_000, flushThresholdBytes: 33554432, flushThresholdMs: 60_000, maxBufferSize: 134217728, maxPayloadSize: 4194304, maxEventSize: 1048576, backpressureThreshold: 0.8, parquetCompression: "snappy" });
  });
  it("applies overrides from JSON", () => {
    expect(resolveConfig('{"flushThresholdEvents": 5}').flushThresholdEvents).toBe(5);
    const p = { t: [{ column: "ts", transform: "day" }, { column: "id", transform: "bucket[16]" }, { column: "s", transform: "truncate[4]" }] };
    expect(resolveConfig(JSON.stringify({ partitionBy: p })).partitionBy).toEqual(p);
  });
  it.each([
    ['{"nope": 1}', /unknown key "nope"/],
    ['{"maxEventSize": "1MB"}', /expected a number/],
    ['{"maxEventSize": -1}', /must be >= 0/],
    ['{"parquetCompression": "zstd"}', /not one of none, snappy, gzip/],
    ['{"partitionBy": {"t": [{"column": "ts", "transform": "bucket4"}]}}', /"bucket4" is not an Iceberg transform/],
    ['{"partitionBy": {"t": {"column": "ts"}}}', /expected an array/],
    ['{"partitionBy": {"t": [{"transform": "day"}]}}', /needs a column/],
    ["[1]", /must be a JSON object/],
    ["{", /not JSON/],
  ])("refuses %s", (text, pattern) => {
    expect(() => resolveConfig(text)).toThrow(ConfigError);
    expect(() => resolveConfig(text)).toThrow(pattern);
  });
});
