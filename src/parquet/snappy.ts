/**
 * Snappy compression (raw format, as Parquet's SNAPPY codec stores pages): the algorithm of
 * snappyjs (MIT, Copyright (c) 2016 Zhipeng Jia, https://github.com/zhipeng-jia/snappyjs) as
 * hyparquet-writer ships it, byte for byte the same output, writing into one preallocated array
 * instead of a growable writer called per byte (the writer's calls were half of snappy's time in
 * the flush profile, bench/flush/RESULTS.md). test/unit/parquet/snappy.test.ts holds it to
 * hyparquet-writer's output and to hyparquet's decompressor.
 */

const MAX_HASH_TABLE_BITS = 14;
const MAX_OFFSET = 0xffff;
const INPUT_MARGIN = 15;
const hashTables: Array<Uint32Array | undefined> = new Array(MAX_HASH_TABLE_BITS + 1);

function hashFunc(key: number, shift: number): number {
  return Math.imul(key, 0x1e35a7bd) >>> shift;
}

function load32(a: Uint8Array, pos: number): number {
  return a[pos]! + (a[pos + 1]! << 8) + (a[pos + 2]! << 16) + (a[pos + 3]! << 24);
}

function equals32(a: Uint8Array, p1: number, p2: number): boolean {
  return a[p1] === a[p2] && a[p1 + 1] === a[p2 + 1] && a[p1 + 2] === a[p2 + 2] && a[p1 + 3] === a[p2 + 3];
}

/** Output cursor over a buffer sized for the worst case (snappy's MaxCompressedLength). */
class Out {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  literal(input: Uint8Array, ip: number, len: number): void {
    const b = this.buf;
    if (len <= 60) b[this.pos++] = (len - 1) << 2;
    else {
      const value = len - 1;
      const bytes = value < 0x100 ? 1 : value < 0x10000 ? 2 : value < 0x1000000 ? 3 : 4;
      b[this.pos++] = (59 + bytes) << 2;
      for (let i = 0; i < bytes; i++) b[this.pos++] = (value >>> (i * 8)) & 0xff;
    }
    if (len < 32) {
      for (let i = 0; i < len; i++) b[this.pos + i] = input[ip + i]!;
    } else b.set(input.subarray(ip, ip + len), this.pos);
    this.pos += len;
  }

  copyLessThan64(offset: number, len: number): void {
    const b = this.buf;
    if (len < 12 && offset < 2048) {
      b[this.pos++] = (1 + ((len - 4) << 2) + ((offset >>> 8) << 5)) & 0xff;
      b[this.pos++] = offset & 0xff;
    } else {
      b[this.pos++] = (2 + ((len - 1) << 2)) & 0xff;
      b[this.pos++] = offset & 0xff;
      b[this.pos++] = (offset >>> 8) & 0xff;
    }
  }

  copy(offset: number, len: number): void {
    while (len >= 68) {
      this.copyLessThan64(offset, 64);
      len -= 64;
    }
    if (len > 64) {
      this.copyLessThan64(offset, 60);
      len -= 60;
    }
    this.copyLessThan64(offset, len);
  }
}

/** Snappy-compresses `input` (uncompressed length varint, then the compressed stream). */
export function snappyCompress(input: Uint8Array): Uint8Array {
  const n = input.length;
  const out = new Out(new Uint8Array(32 + n + Math.floor(n / 6) + 5));
  for (let v = n; ; ) {
    if (v < 0x80) {
      out.buf[out.pos++] = v;
      break;
    }
    out.buf[out.pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  compressInput(out, input);
  return out.buf.subarray(0, out.pos);
}

function compressInput(out: Out, input: Uint8Array): void {
  const inputSize = input.length;
  let hashTableBits = 1;
  while (1 << hashTableBits <= inputSize && hashTableBits <= MAX_HASH_TABLE_BITS) hashTableBits++;
  hashTableBits--;
  const shift = 32 - hashTableBits;
  const hashTable = (hashTables[hashTableBits] ??= new Uint32Array(1 << hashTableBits));
  hashTable.fill(0);

  let ip = 0;
  let nextEmit = 0;
  if (inputSize >= INPUT_MARGIN) {
    const ipLimit = inputSize - INPUT_MARGIN;
    ip++;
    let nextHash = hashFunc(load32(input, ip), shift);
    let flag = true;
    while (flag) {
      let skip = 32;
      let nextIp = ip;
      let candidate = 0;
      do {
        ip = nextIp;
        const hash = nextHash;
        const step = skip >>> 5;
        skip++;
        nextIp = ip + step;
        if (ip > ipLimit) {
          flag = false;
          break;
        }
        nextHash = hashFunc(load32(input, nextIp), shift);
        candidate = hashTable[hash]!;
        hashTable[hash] = ip;
      } while (ip - candidate > MAX_OFFSET || !equals32(input, ip, candidate));
      if (!flag) break;

      out.literal(input, nextEmit, ip - nextEmit);
      do {
        const base = ip;
        let matched = 4;
        while (ip + matched < inputSize && input[ip + matched] === input[candidate + matched]) matched++;
        ip += matched;
        out.copy(base - candidate, matched);
        nextEmit = ip;
        if (ip >= ipLimit) {
          flag = false;
          break;
        }
        hashTable[hashFunc(load32(input, ip - 1), shift)] = ip - 1;
        const cur = hashFunc(load32(input, ip), shift);
        candidate = hashTable[cur]!;
        hashTable[cur] = ip;
      } while (ip - candidate <= MAX_OFFSET && equals32(input, ip, candidate));
      if (!flag) break;
      ip++;
      nextHash = hashFunc(load32(input, ip), shift);
    }
  }
  if (nextEmit < inputSize) out.literal(input, nextEmit, inputSize - nextEmit);
}
