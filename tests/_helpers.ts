import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { encode } from "../_envelope.ts";
import { TTLCache } from "../ttl_cache.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { JsonSerializer } from "../serializers/json.ts";
import type { CacheBackend, Clock } from "../types.ts";

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

/**
 * A TTLCache of JSON values on a manual clock, with a memory backend on the
 * same clock unless `backend` is given.
 */
export function jsonCache(options: { maxSize?: number; ttl?: number; backend?: CacheBackend } = {}): {
  cache: TTLCache<unknown>;
  clock: ManualClock;
  /** The backend given, or the memory backend made (on the cache's clock). */
  backend: MemoryCacheBackend;
} {
  const clock = manualClock();
  const backend = options.backend ?? new MemoryCacheBackend({ clock });
  const cache = new TTLCache<unknown>({ ...options, backend, clock, serializer: new JsonSerializer<unknown>() });
  return { cache, clock, backend: backend as MemoryCacheBackend };
}

/** The bytes TTLCache itself stores for a payload (an entry header, then the payload), fresh for a minute. */
export function entryOf(payload: Uint8Array): Uint8Array {
  return encode({ expiresAt: Date.now() + 60_000, freshUntil: Date.now() + 60_000, delta: 0, tags: [] }, payload);
}

/** A full garbage collection, on every runtime the tests run on. */
export function collectGarbage(): void {
  const bun = (globalThis as { Bun?: { gc(full: boolean): void } }).Bun;
  if (bun !== undefined) return bun.gc(true);
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}
