/// <reference types="vite/client" />
// Fuzz: thousands of random and mutated frames (binary and JSON, seeded). Every frame gets a typed
// answer (ack, nack with a known reason, or the answer its message type calls for), and the server
// keeps serving: a valid batch after the storm is acked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rng } from "../../support/rng.js";
import { DEFAULT_CONFIG } from "../../../src/config.js";
import { closeAll, configure, jsonBatch, openSocket, type TestSocket } from "../helpers.js";

// Golden vectors are bundled at build time by Vite's glob import (workerd has no filesystem).
const jsonVectors = import.meta.glob("../../../testdata/cdc/v1/client/*.json", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

// internal_error is not a valid answer: an input that crashes ingest fails the test.
const REASONS = new Set([
  "buffer_full", "rate_limited", "invalid_sequence", "invalid_format", "shutting_down", "payload_too_large",
  "event_too_large", "load_shedding", "connection_limit", "ip_limit", "schema_conflict", "unauthorized", "not_connected", "unsupported_version",
]);
const ANSWERS = new Set(["ack", "nack", "connected", "heartbeat_ack", "status", "flush_result"]);


beforeAll(() => configure({ messagesPerSecond: 1e6, burstCapacity: 1e6, sourceMessagesPerSecond: 1e6, sourceBurstCapacity: 1e6, connectionsPerSecond: 1e6, maxConnectionsPerSource: 1e6 }));
afterAll(async () => {
  closeAll();
  await configure({ ...DEFAULT_CONFIG });
});

describe("fuzzed frames", () => {
  it("answers every one of 3000 random and mutated frames with a typed message and stays up", { timeout: 120_000 }, async () => {
    const rand = rng(20261121);
    const jsonSeeds = Object.values(jsonVectors);
    const binSeeds = jsonSeeds.map((t) => new TextEncoder().encode(t)); // mutated into "binary" garbage too
    let socket: TestSocket = await openSocket();
    const seen = new Map<string, number>();
    const FRAMES = 3000;
    for (let i = 0; i < FRAMES; i++) {
      const kind = rand();
      if (kind < 0.3) {
        const bytes = new Uint8Array(Math.floor(rand() * 64));
        for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
        socket.sendBytes(bytes);
      } else if (kind < 0.55) {
        const seed = binSeeds[Math.floor(rand() * binSeeds.length)]!;
        const bytes = seed.slice(0, Math.max(1, Math.floor(rand() * seed.length)));
        for (let k = 0; k < 3; k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
        socket.sendBytes(bytes);
      } else if (kind < 0.9) {
        const seed = jsonSeeds[Math.floor(rand() * jsonSeeds.length)]!;
        const chars = [...seed];
        for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) chars[Math.floor(rand() * chars.length)] = String.fromCharCode(32 + Math.floor(rand() * 95));
        socket.sendText(chars.join(""));
      } else {
        socket.sendText(JSON.stringify({ type: "cdc_batch", sourceDoId: `fz-${i}`, sequenceNumber: rand() < 0.5 ? -1 : "x", events: [{ sequence: rand() < 0.5 ? 0 : 1e30, table: rand() < 0.5 ? "" : "../etc", rowId: "" }] }));
      }
      let answer;
      do {
        answer = await socket.next(3000);
      } while (answer.type === "ack" && answer.status === "persisted");
      expect(ANSWERS.has(answer.type)).toBe(true);
      if (answer.type === "nack") expect(REASONS.has(answer.reason as string), `frame ${i} -> ${answer.reason}: ${answer.errorMessage}`).toBe(true);
      const key = answer.type === "nack" ? `nack:${answer.reason}` : answer.type;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (answer.type === "nack" && answer.reason === "unsupported_version") socket = await openSocket();
      if (answer.type === "connected") socket = await openSocket(); // start each frame on an unbound session
    }
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(FRAMES);
    expect(seen.get("nack:invalid_format")).toBeGreaterThan(FRAMES / 3);
    // Still serving.
    const s = await openSocket();
    s.sendJson(jsonBatch("fuzz-after", 1, 1, 2, "after_fuzz"));
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered" });
  });
});
