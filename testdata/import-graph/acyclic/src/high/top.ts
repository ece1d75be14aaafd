import { base } from "../low/base.js";
import type { Base } from "../low/base.js";
export { base as again } from "../low/base.js";

export const top: Base = base;
