/** Monotonic milliseconds since `start` (a `process.hrtime.bigint()` value). */
export const msSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
