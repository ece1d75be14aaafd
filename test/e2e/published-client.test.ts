// The published client as another project sees it: a temp project outside the repository installs
// DoLake by path, imports `dolake/producer` from plain Node ESM (compiled dist/, no TypeScript
// loader), runs the README's producer snippet against a real `wrangler dev` and exits; a .ts consumer
// type-checks against the shipped .d.ts; esbuild (the one wrangler ships) bundles it for a Worker.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalServer } from "../support/server.js";

const root = join(import.meta.dirname, "../..");
const bin = (name: string) => join(root, "node_modules/.bin", name);
const TOKEN = "package-token";
let server: { url: string; stop(): Promise<void> } | undefined;
let project = "";

/** Runs a command to completion; returns its exit code and output. */
function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, ...env }, timeout: 170_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}${r.error ?? ""}` };
}

// The README's snippet, as a user would paste it, plus the WebSocket of `ws` where Node has none (< 22).
const SNIPPET = `import { createProducer } from "dolake/producer";
const WebSocket = globalThis.WebSocket ?? (await import("ws")).WebSocket;
const producer = createProducer({ url: process.env.DOLAKE_URL, token: process.env.DOLAKE_TOKEN, sourceId: "shard-1", WebSocket });
await producer.send([{ table: "users", rowId: "u2", operation: "INSERT", after: { id: "u2", name: "Bob" } }]);
await producer.close();
console.log("acked through", String(producer.lastAckSequence));
`;

// The README's subscribe loop from plain Node: history up to the producer's write, then \`break\`; the process must exit by itself.
const SUBSCRIBE_SNIPPET = `import { createLakeClient } from "dolake/client";
const WebSocket = globalThis.WebSocket ?? (await import("ws")).WebSocket;
const lake = createLakeClient({ url: process.env.DOLAKE_URL, token: process.env.DOLAKE_TOKEN, WebSocket });
for await (const batch of lake.subscribe({ tables: ["users"], from: "earliest" })) {
  const bob = batch.events.find((e) => e.after?.name === "Bob");
  if (bob) { console.log("saw Bob at position", String(bob.position), typeof bob.position); break; }
}
`;

const TS_CONSUMER = `import { createProducer, ProducerError, type ProducerEvent, type Producer } from "dolake/producer";
const events: ProducerEvent[] = [{ table: "users", rowId: "u1", operation: "INSERT", after: { id: "u1" } }];
const p: Producer = createProducer({ url: "http://127.0.0.1:8787", token: "t", sourceId: "s", timeoutMs: 1000 });
export async function go(): Promise<bigint> {
  try { await p.send(events); } catch (e) { if (e instanceof ProducerError) return -1n; }
  return p.lastAckSequence;
}
// @ts-expect-error: operation is a closed set
export const bad: ProducerEvent = { table: "t", rowId: "r", operation: "UPSERT" };
`;

beforeAll(async () => {
  server = await startLocalServer(TOKEN);
  // The current source, compiled as \`prepare\` does on npm install.
  const build = run(bin("tsc"), ["-p", "tsconfig.build.json"], root);
  expect(build.out).toBe("");
  project = mkdtempSync(join(tmpdir(), "dolake-consumer-"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  // By path, offline: the repository itself, and ws for Node versions without a global WebSocket.
  const install = run("npm", ["install", "--offline", "--no-audit", "--no-fund", root, join(root, "node_modules/ws"), join(root, "node_modules/@types/node")], project);
  expect(install.code, install.out).toBe(0);
}, 400_000);
afterAll(async () => {
  await server?.stop();
});

describe("dolake/producer as a published package", () => {
  it("exports compiled JavaScript with types, not a .ts source", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const entry = pkg.exports["./producer"];
    expect(entry).toMatchObject({ types: expect.stringMatching(/\.d\.ts$/), import: expect.stringMatching(/\.js$/) });
    expect(existsSync(join(root, entry.import))).toBe(true);
    expect(existsSync(join(root, entry.types))).toBe(true);
  });

  // Plain Node (no loader) on the Node that runs the tests (22) and on the machine's own node when
  // it differs (20 here): the snippet sends, is acked, closes and the process exits by itself.
  const nodes = [process.execPath, "/usr/bin/node"].filter((n, i, a) => existsSync(n) && a.indexOf(n) === i);
  for (const node of nodes) {
    it(`runs the README snippet from plain Node ESM and exits (${node})`, { timeout: 180_000 }, () => {
      writeFileSync(join(project, "send.mjs"), SNIPPET);
      const r = run(node, ["send.mjs"], project, { DOLAKE_URL: server!.url, DOLAKE_TOKEN: TOKEN });
      expect(r.out).toMatch(/acked through \d+/);
      expect(r.code).toBe(0);
    });
  }

  for (const node of nodes) {
    it(`streams changes with lake.subscribe() from plain Node ESM and exits after break (${node})`, { timeout: 180_000 }, () => {
      writeFileSync(join(project, "send.mjs"), SNIPPET);
      expect(run(node, ["send.mjs"], project, { DOLAKE_URL: server!.url, DOLAKE_TOKEN: TOKEN }).code).toBe(0);
      writeFileSync(join(project, "follow.mjs"), SUBSCRIBE_SNIPPET);
      const r = run(node, ["follow.mjs"], project, { DOLAKE_URL: server!.url, DOLAKE_TOKEN: TOKEN });
      expect(r.out).toMatch(/saw Bob at position \d+ bigint/);
      expect(r.code).toBe(0);
    });
  }

  it("type-checks a TypeScript consumer against the shipped .d.ts (NodeNext resolution)", { timeout: 180_000 }, () => {
    writeFileSync(join(project, "consumer.ts"), TS_CONSUMER);
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true, types: ["node"] }, files: ["consumer.ts"] }));
    const r = run(bin("tsc"), ["-p", "tsconfig.json"], project);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  });

  it("bundles for a Worker with esbuild (no Node built-ins)", { timeout: 180_000 }, () => {
    writeFileSync(join(project, "worker.mjs"), `import { createProducer } from "dolake/producer";\nexport default { async fetch() { createProducer({ url: "https://x.example", sourceId: "w" }); return new Response("ok"); } };\n`);
    const r = run(bin("esbuild"), ["worker.mjs", "--bundle", "--format=esm", "--platform=neutral", "--conditions=workerd,worker,browser", "--main-fields=module,main", "--outfile=out/worker.js"], project);
    expect(r.code, r.out).toBe(0);
    const out = readFileSync(join(project, "out/worker.js"), "utf8");
    expect(out).toContain("createProducer");
    expect(out).not.toMatch(/from "node:|require\("node:/);
  });
});
