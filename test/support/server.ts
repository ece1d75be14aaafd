/** e2e helper: a fresh `wrangler dev` (scripts/with-server.mjs) whose start-up is retried. */
// @ts-expect-error: plain ESM script without types
import { startServer } from "../../scripts/with-server.mjs";

/** A running local DoLake. */
export interface LocalServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts wrangler dev with `token`. A start-up that dies (a port taken by another process between
 * picking and binding it, wrangler's bundler crashing on a loaded machine) is retried, so a test's
 * verdict is about DoLake, not about the machine.
 */
export async function startLocalServer(token: string, attempts = 3): Promise<LocalServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServer({ token });
    } catch (e) {
      if (attempt >= attempts) throw e;
      console.warn(`wrangler dev did not start (attempt ${attempt} of ${attempts}): ${e}`);
    }
  }
}
