/**
 * Decompressors for reading Parquet files other engines wrote (hyparquet reads SNAPPY and
 * UNCOMPRESSED by itself): ZSTD is Trino's default and Iceberg's default since 1.4, GZIP is common.
 * Pure JS (fzstd, fflate), so they run in workerd without WASM compilation at run time.
 */
import { gunzipSync } from "fflate";
import { decompress as zstd } from "fzstd";

/** hyparquet's `compressors` option: codec name -> (input, uncompressed length) -> bytes. */
export const PARQUET_DECOMPRESSORS = {
  GZIP: (input: Uint8Array) => gunzipSync(input),
  ZSTD: (input: Uint8Array, outputLength: number) => zstd(input, new Uint8Array(outputLength)),
};
