/**
 * The DoLake Worker and object with their bucket replaced by remoteBucket (host.ts in another
 * `wrangler dev`): what a bench serves to measure the object without the local R2 simulator on its
 * thread (bench/lib/remote-r2/split.mjs). Bench only.
 */
import worker, { DoLake as Lake, type WorkerEnv } from "../../../src/worker.js";
import type { R2Host } from "./host.js";
import { remoteBucket } from "./bucket.js";

type BenchEnv = WorkerEnv & { R2_HOST: Service<R2Host> };

const withRemote = <E extends { R2_HOST: Service<R2Host> }>(env: E): E => ({ ...env, LAKEHOUSE_BUCKET: remoteBucket(env.R2_HOST) });

/** The object, over the remote bucket. */
export class DoLake extends Lake {
  constructor(ctx: DurableObjectState, env: BenchEnv) {
    super(ctx, withRemote(env));
  }
}

export default {
  fetch: (request: Request, env: BenchEnv) => worker.fetch(request, withRemote(env)),
} satisfies ExportedHandler<BenchEnv>;
