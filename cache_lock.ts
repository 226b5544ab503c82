/**
 * A lock that `cached({ lock })` takes around the miss path of one key, so
 * that only one caller (in this process, or across processes with a
 * distributed lock) computes a missing value while the others wait.
 *
 * Implement it with anything: an in-process mutex, a Redis lock
 * (`RedisLock` in `@cachet/cachet/redis`), a database advisory lock.
 *
 * @example A single global in-process lock
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CacheLock } from "@cachet/cachet";
 *
 * let tail: Promise<unknown> = Promise.resolve();
 * const globalLock: CacheLock = {
 *   withLock<R>(_key: string, fn: () => Promise<R>): Promise<R> {
 *     const run = tail.then(fn, fn);
 *     tail = run.catch(() => {});
 *     return run;
 *   },
 * };
 * assert((await globalLock.withLock("k", () => Promise.resolve(1))) === 1);
 * ```
 */
export interface CacheLock {
  /**
   * Runs `fn` while holding the lock named `key`, and releases the lock when
   * `fn` settles (whether it resolves or rejects).
   *
   * @param key The lock's name; `cached` passes the cache key.
   * @param fn The critical section.
   * @returns What `fn` resolves to.
   * @throws {CacheTimeoutError} When another caller held the lock for longer than the wait limit.
   * @throws {CacheError} When the lock cannot be acquired for another reason (its store is unreachable: under
   * fail-open, `getOrSet()` then computes without it, still once per process); whatever `fn` throws.
   */
  withLock<R>(key: string, fn: () => Promise<R>): Promise<R>;
}
