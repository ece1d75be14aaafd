import { two } from "../b/two.js";

export type One = { two: typeof two };
