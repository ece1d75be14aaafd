// Issue 13 item 8: the frame size limit counts UTF-8 bytes; the old count gave characters outside
// the BMP (emoji) half their size. The oracle is TextEncoder.
import { describe, expect, it } from "vitest";
import { utf8Length } from "../../../src/util/utf8.js";
import { rng } from "../../support/rng.js";

const bytes = (s: string) => new TextEncoder().encode(s).byteLength;

describe("utf8Length", () => {
  it("counts every UTF-8 width, emoji at 4 bytes", () => {
    for (const s of ["", "a", "é", "€", "😀", "👍🏽", "a😀b", "😀".repeat(1000), "\u{10FFFF}", "日本語"]) {
      expect(utf8Length(s), JSON.stringify(s)).toBe(bytes(s));
    }
    expect(utf8Length("😀")).toBe(4);
  });

  it("counts lone surrogates as the encoder writes them (U+FFFD, 3 bytes)", () => {
    for (const s of ["\ud83d", "\ude00", "a\ud83db", "\ude00\ud83d", "\ud83d\ud83d\ude00"]) expect(utf8Length(s), JSON.stringify(s)).toBe(bytes(s));
  });

  it("equals TextEncoder on 5,000 random strings mixing every range", () => {
    const r = rng(13);
    const ranges = [[0, 0x7f], [0x80, 0x7ff], [0x800, 0xffff], [0xd800, 0xdfff], [0x10000, 0x10ffff]] as const;
    for (let n = 0; n < 5000; n++) {
      let s = "";
      for (let k = Math.floor(r() * 20); k > 0; k--) {
        const [lo, hi] = ranges[Math.floor(r() * ranges.length)]!;
        const cp = lo + Math.floor(r() * (hi - lo + 1));
        s += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
      }
      expect(utf8Length(s)).toBe(bytes(s));
    }
  });
});
