// src/parquet/snappy.ts against the compressor it replaces (hyparquet-writer's snappyjs port):
// the same bytes for every input, and hyparquet's decompressor (a reader we did not write)
// restores the input.
import { snappyUncompress } from "hyparquet/src/snappy.js";
import { snappyCompress as theirs } from "hyparquet-writer/src/snappy.js";
import { describe, expect, it } from "vitest";
import { snappyCompress } from "../../../src/parquet/snappy.js";
import { rng } from "../../support/rng.js";

function inputs(): Uint8Array[] {
  const r = rng(5);
  const out: Uint8Array[] = [new Uint8Array(0), new Uint8Array([7]), new Uint8Array(14).fill(1), new Uint8Array(15).fill(2)];
  const text = new TextEncoder().encode(Array.from({ length: 4000 }, (_, i) => `{"id":${i},"name":"Customer ${i % 97}","note":"order note ${i % 13}"}`).join(""));
  out.push(text, text.subarray(0, 70_000), text.subarray(3, 200_000));
  for (const size of [16, 60, 61, 300, 4096, 65_535, 65_536, 70_001, 300_000]) {
    for (const alphabet of [2, 16, 256]) {
      const b = new Uint8Array(size);
      for (let i = 0; i < size; i++) b[i] = r() < 0.3 && i > 8 ? b[i - 1 - Math.floor(r() * 8)]! : Math.floor(r() * alphabet);
      out.push(b);
    }
  }
  const runs = new Uint8Array(150_000); // long runs: copies of 64 and the 60 + rest split
  for (let i = 0; i < runs.length; i++) runs[i] = Math.floor(i / 1000) % 3;
  out.push(runs);
  return out;
}

describe("snappyCompress", () => {
  it("writes the same bytes as hyparquet-writer's snappy, which hyparquet decompresses to the input", () => {
    for (const input of inputs()) {
      const mine = snappyCompress(input);
      expect(Buffer.from(mine).equals(Buffer.from(theirs(input))), `size ${input.length}`).toBe(true);
      const back = new Uint8Array(input.length);
      snappyUncompress(mine, back);
      expect(Buffer.from(back).equals(Buffer.from(input))).toBe(true);
    }
  });
});
