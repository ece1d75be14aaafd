// A bench producer over the real /ws: sends pre-encoded cdc_batch frames keeping a window of
// unacked batches, and records each batch's ack latency (send -> ack at the producer).
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

/** Config overrides for a throughput bench (all other keys keep src/config.ts defaults). */
export const RAISED = {
  messagesPerSecond: 1_000_000,
  burstCapacity: 1_000_000,
  sourceMessagesPerSecond: 1_000_000,
  sourceBurstCapacity: 1_000_000,
  maxBufferSize: 8 * 2 ** 30,
  flushThresholdEvents: 1_000_000_000,
  flushThresholdBytes: 8 * 2 ** 30,
  flushThresholdMs: 3_600_000,
};

/** PATCH /config with `overrides`. */
export async function patchConfig(url, token, overrides) {
  const res = await fetch(`${url}/config`, { method: "PATCH", headers: { Authorization: `Bearer ${token}` }, body: JSON.stringify(overrides) });
  if (!res.ok) throw new Error(`PATCH /config: ${res.status} ${await res.text()}`);
}

/**
 * One producer: connects as `source`, sends `frames` (batch numbers 1..n) keeping `window`
 * unacked, resolves with per-batch ack latencies (ms). Any nack or a non-buffered ack rejects.
 * `wl` is bench/lib/workload.ts (bundled): connectFrame, readServerFrame.
 */
export function produce({ url, token, encoding, source, frames, window, deadline, wl }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(token)}`);
    ws.binaryType = "nodebuffer";
    const sentAt = new Array(frames.length);
    const latencies = [];
    let next = 0;
    let acked = 0;
    let connected = false;
    const timer = setInterval(() => {
      if (performance.now() > deadline) fail(new Error(`${source}: timed out with ${acked}/${frames.length} batches acked`));
    }, 250);
    const fail = (e) => {
      clearInterval(timer);
      ws.terminate();
      reject(e);
    };
    const pump = () => {
      while (connected && next < frames.length && next - acked < window) {
        sentAt[next] = performance.now();
        ws.send(frames[next++]);
      }
    };
    ws.on("open", () => ws.send(wl.connectFrame(encoding, source)));
    ws.on("error", fail);
    ws.on("close", (code, reason) => {
      if (acked < frames.length) fail(new Error(`${source}: socket closed (${code} ${reason}) with ${acked}/${frames.length} batches acked`));
    });
    ws.on("message", (data, isBinary) => {
      const r = wl.readServerFrame(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString());
      if (r.kind === "connected") {
        connected = true;
        return pump();
      }
      if (r.kind === "nack") return fail(new Error(`${source}: nack for batch ${r.sequenceNumber}: ${r.error}`));
      if (r.kind !== "ack") return;
      if (r.status !== 2) return fail(new Error(`${source}: ack status ${r.status} for batch ${r.sequenceNumber}, expected BUFFERED (2)`));
      latencies.push(performance.now() - sentAt[r.sequenceNumber - 1]);
      acked++;
      if (acked === frames.length) {
        clearInterval(timer);
        ws.close();
        resolve(latencies);
      } else pump();
    });
  });
}

