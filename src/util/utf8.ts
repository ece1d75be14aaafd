/**
 * UTF-8 byte length of a JS string without encoding it, equal to
 * `new TextEncoder().encode(s).byteLength` (lone surrogates count as U+FFFD, 3 bytes, as the
 * encoder replaces them).
 */

/** Bytes `s` takes in UTF-8. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair is one code point outside the BMP: 4 bytes.
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
