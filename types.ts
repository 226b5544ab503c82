/**
 * The contracts that backends and serializers implement.
 *
 * @module
 */

/**
 * A pure asynchronous byte store. TTL bookkeeping beyond expiry, LRU eviction
 * and statistics belong to {@linkcode TTLCache}; a backend only stores bytes.
 *
 * Bytes returned by `get` are treated as untrusted by the cache.
 *
 * @example A backend that stores nothing
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CacheBackend } from "@cachet/cachet";
 *
 * const nullBackend: CacheBackend = {
 *   get: () => Promise.resolve(undefined),
 *   set: () => Promise.resolve(),
 *   delete: () => Promise.resolve(),
 *   clear: () => Promise.resolve(),
 * };
 * assert((await nullBackend.get("k")) === undefined);
 * ```
 */
export interface CacheBackend {
  /**
   * Reads the bytes stored under `key`.
   *
   * @param key The key.
   * @returns The bytes, or `undefined` when the key is missing or expired.
   */
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * Stores `value` under `key` for `ttl` seconds. The backend may keep the
   * array it is given; callers must not mutate it afterwards.
   *
   * @param key The key.
   * @param value The bytes to store.
   * @param ttl Time to live in seconds, a finite number > 0 (fractions allowed).
   */
  set(key: string, value: Uint8Array, ttl: number): Promise<void>;
  /**
   * Deletes `key`; resolves normally when it is absent.
   *
   * @param key The key.
   */
  delete(key: string): Promise<void>;
  /** Removes every entry this backend manages (and nothing else). */
  clear(): Promise<void>;
  /**
   * Optional: reads several keys in one round trip. Without it, `TTLCache`
   * calls `get` for each key, concurrently.
   *
   * @param keys The keys.
   * @returns The bytes of each key, aligned with `keys` (`undefined` where missing or expired).
   */
  getMany?(keys: readonly string[]): Promise<(Uint8Array | undefined)[]>;
  /**
   * Optional: stores several entries in one round trip. Without it,
   * `TTLCache` calls `set` for each entry, concurrently.
   *
   * @param entries The entries, each with its own TTL in seconds.
   */
  setMany?(entries: readonly BackendEntry[]): Promise<void>;
  /**
   * Optional: deletes several keys in one round trip. Without it, `TTLCache`
   * calls `delete` for each key, concurrently.
   *
   * @param keys The keys; absent ones are ignored.
   */
  deleteMany?(keys: readonly string[]): Promise<void>;
  /**
   * Optional: a name for the key space this backend addresses (the Redis
   * backend: `redis:` and its prefix). Bus messages carry it, and a cache
   * ignores messages from caches whose backend names another key space, so
   * caches over different prefixes can share one channel without evicting
   * each other's copies.
   */
  readonly scope?: string;
}

/** One entry of {@linkcode CacheBackend.setMany}. */
export interface BackendEntry {
  /** The key. */
  readonly key: string;
  /** The bytes to store. */
  readonly value: Uint8Array;
  /** Time to live in seconds, a finite number > 0. */
  readonly ttl: number;
}

/**
 * Turns values into bytes and back. `loads` receives untrusted bytes: it must
 * never execute code, and it throws when the bytes cannot be decoded.
 *
 * `loads` may return a Promise (for validators that are asynchronous).
 *
 * @typeParam T The type of the values.
 *
 * @example A serializer for strings
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CacheSerializer } from "@cachet/cachet";
 *
 * const text: CacheSerializer<string> = {
 *   dumps: (value) => new TextEncoder().encode(value),
 *   loads: (bytes) => new TextDecoder().decode(bytes),
 * };
 * assert(text.loads(text.dumps("hi")) === "hi");
 * ```
 */
export interface CacheSerializer<T> {
  /**
   * Encodes a value.
   *
   * @param value The value.
   * @returns The encoded bytes.
   * @throws {TypeError} When the value cannot be represented.
   */
  dumps(value: T): Uint8Array;
  /**
   * Decodes bytes read from a backend.
   *
   * @param data The bytes, untrusted.
   * @returns The value (or a Promise of it).
   * @throws {CacheError} When the bytes are not a valid encoding.
   */
  loads(data: Uint8Array): T | Promise<T>;
}

/**
 * A snapshot of a cache's statistics.
 *
 * @example Reading statistics
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 *
 * const cache = new TTLCache();
 * await cache.get("missing");
 * const info = cache.cacheInfo();
 * assert(info.misses === 1 && info.hits === 0);
 * ```
 */
export interface CacheInfo {
  /** Number of reads that found a value. */
  readonly hits: number;
  /** Number of reads that found nothing (or undecodable bytes). */
  readonly misses: number;
  /** Maximum number of entries; 0 means unlimited. */
  readonly maxSize: number;
  /** Number of live entries this cache instance tracks. */
  readonly currSize: number;
  /** Number of live entries removed to make room. */
  readonly evictions: number;
  /** Number of stale values served (by grace, a soft timeout or stale-while-revalidate). */
  readonly staleHits: number;
  /** Number of failures swallowed (fail-open backend errors, undecodable bytes, failed background refreshes). */
  readonly errors: number;
  /** Number of the hits served by the in-process tier (`l1`), without a backend call. */
  readonly l1Hits: number;
}

/**
 * A source of time in milliseconds. It need not be wall-clock time, only
 * non-decreasing; inject one in tests to control expiry.
 *
 * @example A manual clock for tests
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Clock } from "@cachet/cachet";
 *
 * let now = 0;
 * const clock: Clock = { now: () => now };
 * now += 1_000;
 * assert(clock.now() === 1_000);
 * ```
 */
export interface Clock {
  /**
   * Reads the current time.
   *
   * @returns Milliseconds since an arbitrary fixed origin.
   */
  now(): number;
}
