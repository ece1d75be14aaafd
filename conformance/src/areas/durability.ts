import type { Ctx } from "../context.js";
import type { TestCase } from "../harness.js";
export function durabilityCases(): Array<TestCase<Ctx>> { return []; }
