/**
 * The sink a flush writes to. Until the Iceberg writer is wired in, flushing fails with a clear
 * error and every event stays in the durable buffer (nothing is dropped, nothing is claimed).
 */
import type { FlushSink } from "./flusher.js";

/** The flush sink for a DoLake object. */
export function createFlushSink(_lake: unknown): FlushSink {
  return {
    async prepare() {
      throw new Error("the Iceberg table writer is not wired in yet");
    },
  };
}
