/**
 * The options of {@linkcode TTLCache} and of its read-through methods, and
 * what a `getOrSet()` factory receives.
 *
 * @module
 */
import type { CacheLock } from "./cache_lock.ts";
import type { InvalidationBus } from "./bus.ts";
import type { CacheBackend, CacheSerializer, Clock } from "./types.ts";

/** What {@linkcode TTLCacheOptions.onError} is told about a failed read. */
export interface CacheErrorContext {
  /** The key whose stored bytes could not be decoded. */
  readonly key: string;
  /** The step that failed. */
  readonly operation: "loads";
}

/**
 * The read-through behaviour shared by {@linkcode TTLCacheOptions} (the
 * cache's defaults), {@linkcode GetOrSetOptions} and `cached()` options.
 * Lifetimes are in seconds, waits in milliseconds.
 */
export interface ReadThroughOptions {
  /**
   * Seconds an entry stays usable as a stale value after its `ttl`: it is kept
   * for `ttl + grace`, and served (counted as a stale hit) when a refresh
   * fails, outruns `timeout` or `hardTimeout`, or the backend fails. Plain
   * `get()` never returns a stale value. 0 turns it off.
   *
   * @default {0}
   */
  grace?: number;
  /**
   * When the backend fails in `getOrSet()`/`cached()`: `true` computes the value
   * anyway (a failed read is a miss, a failed write still returns the value),
   * counts the failure in `cacheInfo().errors` and dispatches an `error`
   * event; `false` rejects with the `CacheError`. Plain `get`/`set` always
   * reject.
   *
   * @default {true}
   */
  failOpen?: boolean;
  /**
   * Soft timeout, in ms: when a stale value exists and the computation takes
   * longer, the stale value is returned and the computation goes on in the
   * background to refresh the entry. Without a stale value the caller waits.
   *
   * @default {undefined}
   */
  timeout?: number;
  /**
   * Hard timeout, in ms: a computation that takes longer is abandoned (its
   * `signal` aborts) and the caller gets the stale value, if any, or a
   * `CacheTimeoutError`. Must be >= `timeout`.
   *
   * @default {undefined}
   */
  hardTimeout?: number;
  /**
   * Serve a stale value at once and refresh it in the background (one
   * refresh per key at a time). Needs `grace`.
   *
   * @default {false}
   */
  staleWhileRevalidate?: boolean;
  /**
   * Probabilistic early refresh (XFetch): a hit refreshes the entry in the
   * background before it goes stale with a probability that grows as expiry
   * nears, scaled by how long the value took to compute and by this factor.
   * 1 is the usual choice; 0 turns it off.
   *
   * @default {0}
   */
  earlyRefresh?: number;
}

/**
 * Options of {@linkcode TTLCache}.
 *
 * @typeParam T The type of the cached values.
 */
export interface TTLCacheOptions<T> extends ReadThroughOptions {
  /**
   * Maximum number of entries this instance tracks; when full, the least
   * recently used entry is evicted. 0 means unlimited.
   *
   * @default {0}
   */
  maxSize?: number;
  /**
   * Default time to live of entries, in seconds (fractions allowed), at most
   * `maxTtl`.
   *
   * @default {60, or maxTtl when it is lower}
   */
  ttl?: number;
  /**
   * The longest time to live (and grace), in seconds, that `ttl`, `set()` and
   * `getOrSet()` accept: a larger one is a `RangeError`, which catches a TTL
   * given in milliseconds (`ttl: 60000`, meant as one minute). At most
   * `Number.MAX_SAFE_INTEGER / 1000`, so that no backend ever rounds or caps a
   * TTL it accepted.
   *
   * @default {43200 (12 hours)}
   */
  maxTtl?: number;
  /**
   * Where bytes are stored.
   *
   * @default {the backend registered with setDefaultBackend(), else a new MemoryCacheBackend}
   */
  backend?: CacheBackend;
  /**
   * Turns values into bytes and back. Without one, only `Uint8Array` values
   * can be stored.
   *
   * @default {undefined}
   */
  serializer?: CacheSerializer<T>;
  /**
   * The source of time in milliseconds since the Unix epoch. Entries record
   * when they go stale in this time, so every process sharing a backend must
   * agree on it: inject one only in tests (and give the same clock to a
   * `MemoryCacheBackend`). Hits read the default clock coarsely (one reading
   * serves up to 64 hits, until a timer 1 ms later has run); an injected
   * clock is read on every call.
   *
   * @default {Date.now()}
   */
  clock?: Clock;
  /**
   * The random source of early refresh, returning numbers in [0, 1).
   *
   * @default {Math.random}
   */
  random?: () => number;
  /**
   * Called when bytes read from the backend cannot be decoded; the read is
   * then a miss and the entry is deleted. Exceptions it throws are ignored.
   * (The `error` event reports the same failures.)
   *
   * @default {undefined}
   */
  onError?: (error: unknown, context: CacheErrorContext) => void;
  /**
   * Milliseconds during which read-through (`getOrSet`, `cached()`) skips the
   * backend after a backend call failed slowly (50 ms or more: a frozen or
   * timing-out server), failing open at once, so that an outage costs one
   * backend `timeout` per process, not one per call. A call refused at once
   * opens nothing. Plain `get`, `set` and `delete` always call the backend. 0
   * turns the breaker off.
   *
   * @default {1000}
   */
  circuitBreaker?: number;
  /**
   * The largest value, in encoded bytes, the cache stores. `set()` of a larger
   * one rejects with a `RangeError` and changes nothing; read-through returns
   * it without storing it (an `error` event, `operation: "set"`). A guard
   * against values that would stall a backend or blow a memory budget.
   *
   * @default {undefined (no limit)}
   */
  maxValueBytes?: number;
  /**
   * An in-process tier of decoded values in front of the backend: a hit there
   * costs no backend call and no decoding. Give it a `bus` when several
   * processes share the backend, or their tiers only learn of each other's
   * writes when their entries expire (`l1.ttl`).
   *
   * @default {undefined (no in-process tier)}
   */
  l1?: L1Options;
  /**
   * Carries invalidations between the in-process tiers of caches sharing the
   * backend (other processes, workers, tabs, or other caches in this
   * process): `RedisBus` from `@cachet/cachet/redis`, or
   * {@linkcode BroadcastChannelBus}. Needs `l1`.
   *
   * @default {undefined}
   */
  bus?: InvalidationBus;
}

/** Options of the in-process tier, see {@linkcode TTLCacheOptions.l1}. */
export interface L1Options {
  /** The most decoded values kept (least recently used first out): a positive integer. */
  maxSize: number;
  /**
   * Seconds an in-process copy stays fresh at most; it never outlives the
   * backend entry's own TTL (and grace) either.
   *
   * @default {the entry's own ttl}
   */
  ttl?: number;
  /**
   * Hand out a `structuredClone` of the in-process value on each hit. Without
   * it, a hit returns the stored value itself: never mutate it.
   *
   * @default {false}
   */
  clone?: boolean;
  /**
   * Seconds an in-process copy made while the bus is down stays fresh at
   * most, since invalidations from other processes cannot arrive then. When
   * the bus is back, the whole in-process tier is dropped.
   *
   * @default {1}
   */
  busDownTtl?: number;
}

/** Options of {@linkcode TTLCache.set} and the entries of {@linkcode TTLCache.setMany}. */
export interface SetOptions {
  /**
   * Seconds to live.
   *
   * @default {the cache's ttl}
   */
  ttl?: number;
  /**
   * Seconds the entry stays usable as a stale value after `ttl`, see {@linkcode ReadThroughOptions.grace}.
   *
   * @default {the cache's grace}
   */
  grace?: number;
  /**
   * Tags: {@linkcode TTLCache.deleteTags} makes every entry carrying one of them a miss.
   *
   * @default {[]}
   */
  tags?: readonly string[];
}

/** One entry of {@linkcode TTLCache.setMany}. */
export interface SetManyEntry<T> extends SetOptions {
  /** The key. */
  readonly key: string;
  /** The value. */
  readonly value: T;
}

/** Options of {@linkcode TTLCache.getOrSet}. */
export interface GetOrSetOptions extends ReadThroughOptions, SetOptions {
  /**
   * Single flight on a miss: `true` runs the factory once per key at a time in
   * this process, and every caller waiting on it gets its outcome (value or
   * error); a {@linkcode CacheLock} (such as `RedisLock`) named by the key is
   * also taken around the re-check, the computation and the store, so the
   * factory runs once across processes; `false` lets every caller compute.
   *
   * @default {true}
   */
  lock?: boolean | CacheLock;
  /**
   * Stops waiting when it aborts: the call rejects with the signal's reason.
   * The computation's own `signal` aborts only when every caller waiting on it
   * has aborted; a computation that finishes is stored all the same.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/**
 * What a `getOrSet()` factory (and a function under `cached()`) receives.
 *
 * @typeParam T The type of the cached values.
 */
export interface FactoryContext<T> {
  /** The key being computed (inside its namespace). */
  readonly key: string;
  /** Aborts when every caller waiting on this computation has aborted, or `hardTimeout` passed. */
  readonly signal: AbortSignal;
  /** The stale value this computation will replace, when there is one. */
  readonly stale: T | undefined;
  /**
   * Sets this entry's TTL from the result (for example from a token's expiry).
   *
   * @param seconds A finite number > 0, at most the cache's `maxTtl`.
   * @throws {TypeError} When `seconds` is not a number.
   * @throws {RangeError} When it is out of range: the call then rejects and nothing is stored.
   */
  setTtl(seconds: number): void;
  /**
   * Sets this entry's grace.
   *
   * @param seconds A finite number >= 0, at most the cache's `maxTtl`.
   * @throws {TypeError} When `seconds` is not a number.
   * @throws {RangeError} When it is out of range.
   */
  setGrace(seconds: number): void;
  /** Returns the result to the callers without storing it. */
  skip(): void;
}

/** A `getOrSet()` factory. */
export type Factory<T> = (context: FactoryContext<T>) => T | PromiseLike<T>;
