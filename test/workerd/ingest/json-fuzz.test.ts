/// <reference types="vite/client" />
// JSON-path fuzz: the golden JSON frames with values replaced by hostile ones (wrong types, numbers
// beyond 64 bits or a double, fractions, deep nesting, long strings), seeded. Every frame gets
// exactly one answer, a typed one that is not internal_error: a status probe after each frame must
// come back right after that one answer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mutateJsonFrame } from "../../support/json-mutate.js";
import { rng } from "../../support/rng.js";
import { DEFAULT_CONFIG } from "../../../src/config.js";
import { closeAll, configure, jsonBatch, openSocket, type TestSocket } from "../helpers.js";

const jsonVectors = import.meta.glob("../../../testdata/cdc/v1/client/*.json", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

// internal_error is not here: an input that crashes ingest fails the test.
const REASONS = new Set([
  "buffer_full", "rate_limited", "invalid_sequence", "invalid_format", "shutting_down", "payload_too_large",
  "event_too_large", "load_shedding", "connection_limit", "ip_limit", "schema_conflict", "unauthorized", "not_connected", "unsupported_version",
]);
const ANSWERS = new Set(["ack", "nack", "connected", "heartbeat_ack", "status"]);

beforeAll(() => configure({ messagesPerSecond: 1e6, burstCapacity: 1e6, sourceMessagesPerSecond: 1e6, sourceBurstCapacity: 1e6, connectionsPerSecond: 1e6, maxConnectionsPerSource: 1e6 }));
afterAll(async () => {
  closeAll();
  await configure({ ...DEFAULT_CONFIG });
});

describe("JSON frames with hostile values", () => {
  it("answers each of 2000 mutated JSON frames exactly once, never with internal_error", { timeout: 300_000 }, async () => {
    const rand = rng(20261129);
    // flush_request is left out: its answer comes after a flush, possibly after the probe's.
    const seeds = Object.entries(jsonVectors).filter(([k]) => !k.includes("flush-request")).map(([, v]) => v);
    let socket: TestSocket = await openSocket();
    const seen = new Map<string, number>();
    const FRAMES = 2000;
    for (let i = 0; i < FRAMES; i++) {
      const seed = seeds[Math.floor(rand() * seeds.length)]!;
      // Give every batch its own source so sequences start afresh and mutations are what gets judged.
      const text = mutateJsonFrame(seed.replace('"dosql-shard-1"', `"jf-${i}"`), rand);
      socket.sendText(text);
      socket.sendJson({ type: "status_request", correlationId: `probe-${i}` });
      const answers = [];
      for (;;) {
        const m = await socket.next(10_000).catch(() => {
          throw new Error(`no answer to frame ${i}: ${text.slice(0, 300)}`);
        });
        if (m.type === "ack" && m.status === "persisted") continue;
        if (m.type === "status" && m.correlationId === `probe-${i}`) break;
        answers.push(m);
        if (m.type === "nack" && m.reason === "unsupported_version") break; // the server closes the socket: no probe answer
      }
      expect(answers.length, `frame ${i} got ${answers.length} answers: ${text.slice(0, 300)}`).toBe(1);
      const answer = answers[0]!;
      expect(ANSWERS.has(answer.type)).toBe(true);
      if (answer.type === "nack") expect(REASONS.has(answer.reason as string), `frame ${i} -> ${answer.reason}: ${answer.errorMessage}; ${text.slice(0, 300)}`).toBe(true);
      const key = answer.type === "nack" ? `nack:${answer.reason}` : answer.type;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      // A fresh, unbound session for the next frame after one that bound or closed this one.
      if (answer.type === "connected" || answer.type === "ack" || (answer.type === "nack" && answer.reason === "unsupported_version")) {
        socket.ws.close(1000, "next frame");
        socket = await openSocket();
      }
    }
    expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(FRAMES);
    expect(seen.get("nack:invalid_format")).toBeGreaterThan(FRAMES / 3);
    const s = await openSocket();
    s.sendJson(jsonBatch("json-fuzz-after", 1, 1, 2, "after_json_fuzz"));
    expect(await s.next()).toMatchObject({ type: "ack", status: "buffered" });
  });
});
