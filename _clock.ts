import type { Clock } from "./types.ts";

/** Monotonic milliseconds, so wall-clock jumps never expire or revive entries. */
export const monotonicClock: Clock = { now: () => performance.now() };
