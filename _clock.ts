import type { Clock } from "./types.ts";

/** Monotonic milliseconds, so wall-clock jumps never expire or revive entries. */
export const monotonicClock: Clock = { now: () => performance.now() };

/**
 * Wall-clock milliseconds (`Date.now()`): the times in a stored entry's header
 * are read by every process sharing the backend, so they need a shared origin.
 */
export const wallClock: Clock = { now: () => Date.now() };
