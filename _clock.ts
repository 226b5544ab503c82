import { unrefTimer } from "./_unref.ts";
import type { Clock } from "./types.ts";

/** Monotonic milliseconds, so wall-clock jumps never expire or revive entries. */
export const monotonicClock: Clock = { now: () => performance.now() };

/**
 * Wall-clock milliseconds (`Date.now()`): the times in a stored entry's header
 * are read by every process sharing the backend, so they need a shared origin.
 */
export const wallClock: Clock = { now: () => Date.now() };

// Reading the time costs ~40–70 ns on Node 24 (Date.now() and performance.now()
// both call into the runtime): half an l1 hit, most of a peek. A hit
// only compares the time with an expiry, so it may reuse a reading: for at
// most READS reads, and only until a timer 1 ms later runs (so a reading never
// outlives the event-loop turn it was taken in by more than a millisecond,
// however sparse the reads; a synchronous stretch without timers advances it
// every READS reads). lru-cache's ttlResolution makes the same trade.
const READS = 64;

class CoarseClock implements Clock {
  readonly #read: () => number;
  #at = 0;
  #left = 0;
  #armed = false;
  readonly #expire = (): void => {
    this.#armed = false;
    this.#left = 0;
  };

  constructor(read: () => number) {
    this.#read = read;
  }

  now(): number {
    if (this.#left !== 0) {
      this.#left--;
      return this.#at;
    }
    this.#at = this.#read();
    this.#left = READS - 1;
    if (!this.#armed) {
      this.#armed = true;
      unrefTimer(setTimeout(this.#expire, 1));
    }
    return this.#at;
  }
}

const coarseWall = new CoarseClock(() => Date.now());
const coarseMonotonic = new CoarseClock(() => performance.now());

/**
 * The clock a hit compares expiries with: a built-in clock read coarsely (see
 * READS), any other clock (an injected one: tests, simulations) as it is.
 */
export function hitClock(clock: Clock): Clock {
  if (clock === wallClock) return coarseWall;
  if (clock === monotonicClock) return coarseMonotonic;
  return clock;
}
