import { top } from "../high/top.js";

export const base = top + 1;
