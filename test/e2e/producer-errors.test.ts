// The producer client against a real `wrangler dev`: a wrong token and a closed port make send()
// reject with a clear error (never hang), and close() ends the socket so a script can exit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain ESM script without types
import { freePort } from "../../scripts/with-server.mjs";
import { createProducer, ProducerError } from "../../src/client/producer.js";
import { startLocalServer } from "../support/server.js";

const TOKEN = "e2e-token";
let server: { url: string; stop(): Promise<void> } | undefined;

beforeAll(async () => {
  server = await startLocalServer(TOKEN);
}, 400_000);
afterAll(async () => {
  await server?.stop();
});

const event = { table: "users", rowId: "u1", operation: "INSERT" as const, after: { id: "u1", name: "Ada" } };

/** The rejection of a promise (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<ProducerError> {
  const r = await p.then(() => undefined, (e: unknown) => e);
  expect(r).toBeInstanceOf(ProducerError);
  return r as ProducerError;
}

describe("producer failures are reported", () => {
  it("a wrong token rejects send() with unauthorized, long before the timeout", { timeout: 150_000 }, async () => {
    // timeoutMs far beyond the test's own timeout: only the 401 path can end this send.
    const producer = createProducer({ url: server!.url, token: "wrong-token", sourceId: "bad-token", timeoutMs: 600_000 });
    const err = await rejection(producer.send([event]));
    expect(err.reason).toBe("unauthorized");
    expect(err.message).toContain("refused the token (HTTP 401)");
    expect(err.message).not.toContain("wrong-token");
    // Later calls fail the same way at once; close() does not wait for anything.
    expect((await rejection(producer.send([event]))).reason).toBe("unauthorized");
    await producer.close();
  });

  it("a closed port rejects send() with a timeout that says the server cannot be reached", { timeout: 150_000 }, async () => {
    const port = await freePort();
    const producer = createProducer({ url: `http://127.0.0.1:${port}`, token: TOKEN, sourceId: "no-server", timeoutMs: 3000 });
    const err = await rejection(producer.send([event]));
    expect(err.reason).toBe("timeout");
    expect(err.message).toMatch(/not acknowledged within 3000 ms: cannot reach http:\/\/127\.0\.0\.1:\d+\/ws\?token=\*\*\*/);
    await producer.close().catch(() => undefined);
  });
});
