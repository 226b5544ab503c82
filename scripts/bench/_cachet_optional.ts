// Loads the parts of cachet that other branches are still writing (cached(),
// the Redis backend) without a static import, so this branch type-checks
// before they are merged; run.ts skips the suites that need them until then.
import type { TTLCache } from "../../mod.ts";
import type { CacheBackend } from "../../types.ts";

/** The subset of `cached()` the suites use. */
export type CachedFn = <A extends unknown[], R>(
  fn: (...args: A) => R | Promise<R>,
) => (...args: A) => Promise<R>;

/** `cached(cache, options)` from decorator.ts. */
export async function loadCached(): Promise<
  (cache: TTLCache<unknown>, options?: { lock?: boolean; name?: string }) => CachedFn
> {
  const path = "../../decorator.ts";
  return ((await import(path)) as { cached: never }).cached;
}

/** A Redis backend that can also be closed. */
export type ClosableBackend = CacheBackend & { close(): Promise<void> };

/** `new RedisCacheBackend(options)` from backends/redis.ts. */
export async function loadRedisBackend(): Promise<new (options: { url: string; prefix: string }) => ClosableBackend> {
  const path = "../../backends/redis.ts";
  return ((await import(path)) as { RedisCacheBackend: never }).RedisCacheBackend;
}
