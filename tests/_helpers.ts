import type { Clock } from "../types.ts";

export interface ManualClock extends Clock {
  advance(ms: number): void;
}

/** A clock that only moves when told, so expiry tests never sleep. */
export function manualClock(start = 1_000_000): ManualClock {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

export const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
