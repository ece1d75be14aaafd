/**
 * Reads what ingest needs from a binary frame without decoding it: the byte size of each event of
 * a cdc_batch, straight from the length prefixes (re-encoding every event to measure it cost more
 * than the rest of the ingest path for large frames; bench/ingest/RESULTS.md).
 */
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

const CLIENT_CDC_BATCH = 2; // ClientMessage.cdc_batch
const BATCH_EVENTS = 5; // CdcBatch.events

/** Sizes in bytes of the events of the cdc_batch in a ClientMessage frame (empty when there is none). */
export function binaryEventSizes(frame: Uint8Array): number[] {
  const sizes: number[] = [];
  const outer = new BinaryReader(frame);
  while (outer.pos < outer.len) {
    const [field, wireType] = outer.tag();
    if (field === CLIENT_CDC_BATCH && wireType === WireType.LengthDelimited) {
      const batch = new BinaryReader(outer.bytes());
      while (batch.pos < batch.len) {
        const [f, w] = batch.tag();
        if (f === BATCH_EVENTS && w === WireType.LengthDelimited) {
          const len = batch.uint32();
          sizes.push(len);
          batch.pos += len;
        } else batch.skip(w, f);
      }
    } else outer.skip(wireType, field);
  }
  return sizes;
}
