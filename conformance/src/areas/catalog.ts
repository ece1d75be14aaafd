import type { Ctx } from "../context.js";
import type { TestCase } from "../harness.js";
export function catalogCases(): Array<TestCase<Ctx>> { return []; }
