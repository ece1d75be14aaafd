import type { One } from "../a/one.js";

export const three: One | undefined = undefined;
