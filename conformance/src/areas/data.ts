import type { Ctx } from "../context.js";
import type { TestCase } from "../harness.js";
export function dataCases(): Array<TestCase<Ctx>> { return []; }
