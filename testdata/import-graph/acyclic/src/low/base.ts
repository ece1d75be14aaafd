export type Base = number;
export const base: Base = 1;
