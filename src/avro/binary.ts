/**
 * Avro binary encoding primitives (Avro specification, "Binary Encoding"): zig-zag varints for
 * int and long (long through BigInt so 64-bit values are exact), little-endian IEEE floats,
 * length-prefixed bytes and strings.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** A growable byte buffer that Avro values are appended to. */
export class AvroBuffer {
  private bytes: Uint8Array;
  private view: DataView;
  /** Bytes written so far. */
  length = 0;

  constructor(initialSize = 1024) {
    this.bytes = new Uint8Array(initialSize);
    this.view = new DataView(this.bytes.buffer);
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  /** The bytes written so far (a view, valid until the next write). */
  peek(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  /** A copy of the bytes written so far. */
  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  /** Forgets the content, keeping the allocation. */
  reset(): void {
    this.length = 0;
  }

  /** Appends raw bytes (no length prefix). */
  writeRaw(b: Uint8Array): void {
    this.ensure(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }

  /** Writes a boolean as one byte. */
  writeBoolean(v: boolean): void {
    this.ensure(1);
    this.bytes[this.length++] = v ? 1 : 0;
  }

  /** Writes a 32-bit int as a zig-zag varint. */
  writeInt(v: number): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`avro int out of range: ${v}`);
    let n = ((v << 1) ^ (v >> 31)) >>> 0;
    this.ensure(5);
    while (n > 0x7f) {
      this.bytes[this.length++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.bytes[this.length++] = n;
  }

  /** Writes a 64-bit long as a zig-zag varint (exact for bigint; numbers must be safe integers). */
  writeLong(v: bigint | number): void {
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) throw new RangeError(`avro long must be a safe integer or bigint: ${v}`);
      if (v >= -0x40000000 && v < 0x40000000) return this.writeInt(v);
      v = BigInt(v);
    }
    if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`avro long out of range: ${v}`);
    let n = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    this.ensure(10);
    while (n > 0x7fn) {
      this.bytes[this.length++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.bytes[this.length++] = Number(n);
  }

  /** Writes a float (4 bytes little-endian). */
  writeFloat(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }

  /** Writes a double (8 bytes little-endian). */
  writeDouble(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }

  /** Writes length-prefixed bytes. */
  writeBytes(b: Uint8Array): void {
    this.writeLong(b.length);
    this.writeRaw(b);
  }

  /** Writes a length-prefixed UTF-8 string. */
  writeString(s: string): void {
    this.writeBytes(encoder.encode(s));
  }
}

/** A cursor over Avro-encoded bytes. */
export class AvroCursor {
  private readonly view: DataView;
  /** Current read position. */
  pos = 0;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** True when every byte has been read. */
  atEnd(): boolean {
    return this.pos >= this.bytes.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new RangeError("avro: unexpected end of data");
  }

  /** Reads n raw bytes. */
  readRaw(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a boolean. */
  readBoolean(): boolean {
    this.need(1);
    return this.bytes[this.pos++] !== 0;
  }

  /** Reads a zig-zag varint int. */
  readInt(): number {
    const v = this.readLong();
    if (v < -0x80000000n || v > 0x7fffffffn) throw new RangeError(`avro int out of range: ${v}`);
    return Number(v);
  }

  /** Reads a zig-zag varint long, exactly. */
  readLong(): bigint {
    let n = 0n;
    let shift = 0n;
    for (;;) {
      this.need(1);
      const b = this.bytes[this.pos++]!;
      n |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new RangeError("avro: varint too long");
    }
    return (n >> 1n) ^ -(n & 1n);
  }

  /** Reads a long that must fit a JS number (lengths, counts). */
  readSmallLong(): number {
    const v = this.readLong();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new RangeError(`avro: ${v} too large`);
    return Number(v);
  }

  /** Reads a float. */
  readFloat(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Reads a double. */
  readDouble(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads length-prefixed bytes (a copy). */
  readBytes(): Uint8Array {
    const n = this.readSmallLong();
    if (n < 0) throw new RangeError("avro: negative length");
    return this.readRaw(n).slice();
  }

  /** Reads a length-prefixed UTF-8 string. */
  readString(): string {
    const n = this.readSmallLong();
    if (n < 0) throw new RangeError("avro: negative length");
    return decoder.decode(this.readRaw(n));
  }
}
