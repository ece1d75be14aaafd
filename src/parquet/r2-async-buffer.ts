/**
 * Parquet files on R2 for readers: an AsyncBuffer (hyparquet's file interface) over ranged reads of
 * one object, and `openR2Parquet`, which reads a small file whole in one GET and a larger one by its
 * footer and then only the column chunks a reader asks for, so memory and bytes read follow what a
 * query or a subscription reads, not the file's size.
 */
import { parquetMetadataAsync, type AsyncBuffer, type FileMetaData, type MetadataOptions } from "hyparquet";

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

/**
 * Files up to this size are read whole in one GET (footer and column chunks together): below it a
 * second round trip costs more than the bytes it saves. Larger files: the footer's last 64 KiB,
 * then ranged reads of the column chunks asked for.
 */
export const WHOLE_FILE_BYTES = 256 * 1024;
const FOOTER_FETCH_BYTES = 64 * 1024;

/** A Parquet file opened for reading: its bytes (whole or by ranges) and its footer. */
export interface OpenedParquet {
  buffer: AsyncBuffer;
  meta: FileMetaData;
}

/** Opens `key` (`byteLength` bytes, from the manifest); `missing` makes the error for an absent object. */
export async function openR2Parquet(
  bucket: R2Bucket,
  key: string,
  byteLength: number,
  options: { onRead?: (bytes: number) => void; parsers?: MetadataOptions["parsers"]; missing?: (key: string) => Error } = {},
): Promise<OpenedParquet> {
  let buffer: AsyncBuffer;
  if (byteLength <= WHOLE_FILE_BYTES) {
    const obj = await bucket.get(key);
    if (!obj) throw options.missing?.(key) ?? new Error(`object missing: ${key}`);
    const bytes = await obj.arrayBuffer();
    options.onRead?.(bytes.byteLength);
    buffer = { byteLength: bytes.byteLength, slice: (start, end) => bytes.slice(start, end) };
  } else {
    buffer = r2AsyncBuffer(bucket, key, byteLength, options.onRead);
  }
  return { buffer, meta: await parquetMetadataAsync(buffer, { parsers: options.parsers, initialFetchSize: FOOTER_FETCH_BYTES }) };
}
