/**
 * An AsyncBuffer (hyparquet's file interface) over ranged reads of one R2 object: a reader fetches
 * the footer and then only the column chunks it needs, so memory and bytes read follow what a
 * query or a subscription reads, not the file's size.
 */
import type { AsyncBuffer } from "hyparquet";

/** Ranged reads of `key` (of `byteLength` bytes); `onRead` learns each range's size. */
export function r2AsyncBuffer(bucket: R2Bucket, key: string, byteLength: number, onRead?: (bytes: number) => void): AsyncBuffer {
  return {
    byteLength,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = end ?? byteLength;
      const obj = await bucket.get(key, { range: { offset: start, length: stop - start } });
      if (!obj) throw new Error(`object vanished while being read: ${key}`);
      const bytes = await obj.arrayBuffer();
      onRead?.(bytes.byteLength);
      return bytes;
    },
  };
}
