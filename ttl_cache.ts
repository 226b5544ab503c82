import { CacheError } from "./errors.ts";
import { getDefaultBackend } from "./default_backend.ts";
import { MemoryCacheBackend } from "./backends/memory.ts";
import { memoryAccess } from "./_memory_access.ts";
import { LruList } from "./_lru_list.ts";
import { monotonicClock } from "./_clock.ts";
import {
  checkBackend,
  checkCount,
  checkFunction,
  checkKey,
  checkMaxTtl,
  checkMethods,
  checkOptions,
  checkTtl,
  describe,
  optionNames,
  typeName,
} from "./_validate.ts";
import type { CacheBackend, CacheInfo, CacheSerializer, Clock } from "./types.ts";

/** What {@linkcode TTLCacheOptions.onError} is told about a failed read. */
export interface CacheErrorContext {
  /** The key whose stored bytes could not be decoded. */
  readonly key: string;
  /** The step that failed. */
  readonly operation: "loads";
}

/**
 * Options of {@linkcode TTLCache}.
 *
 * @typeParam T The type of the cached values.
 */
export interface TTLCacheOptions<T> {
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
   * The longest time to live, in seconds, that `ttl` and `set()` accept: a
   * larger one is a `RangeError`, which catches a TTL given in milliseconds
   * (`ttl: 60000`, meant as one minute). At most
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
   * The source of time, in milliseconds, for the LRU bookkeeping. Give the
   * same clock to a `MemoryCacheBackend` to control expiry in tests.
   *
   * @default {performance.now()}
   */
  clock?: Clock;
  /**
   * Called when bytes read from the backend cannot be decoded; the read is
   * then a miss and the entry is deleted. Exceptions it throws are ignored.
   *
   * @default {undefined}
   */
  onError?: (error: unknown, context: CacheErrorContext) => void;
}

const TTL_CACHE_OPTIONS = optionNames<TTLCacheOptions<unknown>>({
  maxSize: true,
  ttl: true,
  maxTtl: true,
  backend: true,
  serializer: true,
  clock: true,
  onError: true,
});

const CREATE = "Cannot create TTLCache";
const NO_VICTIMS: readonly string[] = [];
const { get: memoryGet, set: memorySet, delete: memoryDelete } = MemoryCacheBackend.prototype;

// Internal to cachet (not re-exported by mod.ts): `cached()` re-checks a key
// under its lock with this, so a cold call counts exactly one miss. It reads
// like get() but counts no hit or miss.
export let getUncounted: <T, F>(cache: TTLCache<T>, key: string, fallback: F) => Promise<T | F>;
// Internal to cachet as well: `cached()` reads a hit with this, like get() but
// handing the value back directly when it is at hand (a settled read of the
// memory backend with a synchronous serializer), so a hit costs no extra
// promise. A Promise result means the read is still pending: stored values are
// never Promises (a serializer's Promise is awaited before it is handed out).
export let getNow: <T, F>(cache: TTLCache<T>, key: string, fallback: F) => T | F | Promise<T | F>;

/**
 * A cache with a time to live per entry, an optional LRU bound, statistics,
 * and a pluggable backend and serializer.
 *
 * The bound (`maxSize`) and the LRU order are kept by this instance, not by
 * the backend: entries that another process or cache writes to a shared
 * backend are served but not counted or evicted here.
 *
 * @typeParam T The type of the cached values: `Uint8Array` without a
 * serializer, else what the serializer reads and writes.
 *
 * @example Caching JSON values with a bound
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ maxSize: 2, ttl: 30, serializer: new JsonSerializer() });
 * await cache.set("a", 1);
 * await cache.set("b", 2);
 * await cache.get("a"); // "a" is now the most recently used
 * await cache.set("c", 3); // evicts "b"
 * assert((await cache.get("b")) === undefined);
 * assert(cache.cacheInfo().evictions === 1);
 * ```
 */
export class TTLCache<T = Uint8Array> {
  readonly #backend: CacheBackend;
  readonly #serializer: CacheSerializer<T> | undefined;
  readonly #maxSize: number;
  readonly #ttl: number;
  readonly #maxTtl: number;
  readonly #clock: Clock;
  readonly #onError: TTLCacheOptions<T>["onError"];
  // Key -> expiry (ms), in LRU order: oldest first.
  readonly #tracked = new LruList();
  // The backend when it is a MemoryCacheBackend, read and written synchronously.
  readonly #local: MemoryCacheBackend | undefined;
  // A lower bound of the earliest expiry in #tracked: no sweep is needed before it.
  #nextExpiry = Infinity;
  #sweepAt = 1024;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  /**
   * Creates a cache.
   *
   * @param options Options, see {@linkcode TTLCacheOptions}.
   * @throws {TypeError} When an option is unknown or has the wrong type, or `backend` is a `Map` (or another
   * built-in collection) or lacks a `CacheBackend` method.
   * @throws {RangeError} When `maxSize` is not a non-negative integer, `maxTtl` not a finite number > 0 and at most
   * `Number.MAX_SAFE_INTEGER / 1000`, or `ttl` not a finite number > 0 and at most `maxTtl`.
   */
  constructor(options: TTLCacheOptions<T> = {}) {
    checkOptions(CREATE, options, TTL_CACHE_OPTIONS);
    const { maxSize = 0, ttl, maxTtl = 43200, backend, serializer, clock = monotonicClock, onError } = options;
    this.#maxSize = checkCount(CREATE, "maxSize", maxSize);
    this.#maxTtl = checkMaxTtl(CREATE, maxTtl);
    this.#ttl = checkTtl(CREATE, "ttl", ttl === undefined ? Math.min(60, this.#maxTtl) : ttl, this.#maxTtl);
    if (backend !== undefined) checkBackend(CREATE, "backend", backend);
    if (serializer !== undefined) checkMethods(CREATE, "serializer", serializer, ["dumps", "loads"]);
    checkMethods(CREATE, "clock", clock, ["now"]);
    checkFunction(CREATE, "onError", onError);
    this.#backend = backend ?? getDefaultBackend() ?? new MemoryCacheBackend({ clock });
    this.#local = this.#backend instanceof MemoryCacheBackend ? this.#backend : undefined;
    this.#serializer = serializer;
    this.#clock = clock;
    this.#onError = onError;
  }

  /** The longest time to live, in seconds, this cache accepts (its `maxTtl` option). */
  get maxTtl(): number {
    return this.#maxTtl;
  }

  /** The backend this cache stores into. */
  get backend(): CacheBackend {
    return this.#backend;
  }

  /**
   * Reads a value. A hit promotes the key in LRU order. Bytes that the
   * serializer cannot decode count as a miss: the entry is deleted and
   * `onError` is told; `get` does not throw for them.
   *
   * @param key The key.
   * @returns The value, or `undefined` when missing or expired.
   * @throws {TypeError} When `key` is not a string.
   * @throws {CacheError} When the backend fails.
   */
  get(key: string): Promise<T | undefined>;
  /**
   * Reads a value, or `fallback` when it is missing or expired.
   *
   * @param key The key.
   * @param fallback What to return on a miss.
   * @returns The value, or `fallback`.
   * @throws {TypeError} When `key` is not a string.
   * @throws {CacheError} When the backend fails.
   */
  get<F>(key: string, fallback: F): Promise<T | F>;
  get<F>(key: string, fallback?: F): Promise<T | F | undefined> {
    return this.#get(key, fallback, true);
  }

  // `counted`: false for cached()'s re-check under a lock, which must not count
  // a second hit or miss for one call.
  #get<F>(key: string, fallback: F, counted: boolean): Promise<T | F> {
    let value: T | F | Promise<T | F>;
    try {
      value = this.#getNow(key, fallback, counted);
    } catch (error) {
      return Promise.reject(error);
    }
    return value instanceof Promise ? value : Promise.resolve(value);
  }

  // Throws what get() rejects with; returns the value when the read settled synchronously.
  #getNow<F>(key: string, fallback: F, counted: boolean): T | F | Promise<T | F> {
    checkKey("Cannot get from TTLCache", key);
    const local = this.#local;
    // The hot path: the default backend is read synchronously, with no promise
    // round trip through it (unless a subclass or the caller replaced its get).
    if (local?.get === memoryGet) {
      // Without a serializer the bytes are handed out, so ask for the caller's own copy.
      const raw = this.#serializer === undefined;
      return this.#read(key, memoryAccess.get(local, key, raw), fallback, raw, counted);
    }
    return this.#backendGet(key, fallback, counted);
  }

  // Chained rather than async: one promise fewer per read of a remote backend.
  #backendGet<F>(key: string, fallback: F, counted: boolean): Promise<T | F> {
    let pending: Promise<Uint8Array | undefined>;
    try {
      pending = this.#backend.get(key);
    } catch (cause) {
      return Promise.reject(backendError("get", key, cause));
    }
    if (typeof (pending as { then?: unknown } | null)?.then !== "function") return Promise.reject(notThenable(pending));
    return Promise.resolve(pending).then(
      (bytes) => this.#read(key, bytes, fallback, false, counted),
      (cause) => Promise.reject(backendError("get", key, cause)),
    );
  }

  // `owned`: the bytes are already a copy no one else holds.
  #read<F>(
    key: string,
    bytes: Uint8Array | undefined,
    fallback: F,
    owned: boolean,
    counted: boolean,
  ): T | F | Promise<T | F> {
    if (bytes === undefined) {
      if (counted) this.#misses++;
      this.#tracked.delete(key);
      return fallback;
    }
    let value: T;
    if (this.#serializer === undefined) {
      if (!(bytes instanceof Uint8Array)) {
        return this.#undecodable(
          key,
          new TypeError(`backend returned ${typeName(bytes)}, not a Uint8Array`),
          fallback,
          counted,
        );
      }
      value = (owned ? bytes : bytes.slice()) as T;
    } else {
      let loaded: T | Promise<T>;
      try {
        loaded = this.#serializer.loads(bytes);
      } catch (error) {
        return this.#undecodable(key, error, fallback, counted);
      }
      if (loaded instanceof Promise) {
        return loaded.then(
          (value) => this.#hit(key, value, counted),
          (error) => this.#undecodable(key, error, fallback, counted),
        );
      }
      value = loaded;
    }
    return this.#hit(key, value, counted);
  }

  #hit(key: string, value: T, counted: boolean): T {
    if (counted) this.#hits++;
    this.#tracked.touch(key);
    return value;
  }

  /**
   * Stores a value. When the cache is full, expired entries are dropped and
   * then the least recently used entries are evicted. Overwriting a key
   * promotes it and never evicts. A failed `set` changes nothing.
   *
   * @param key The key.
   * @param value The value: a `Uint8Array` without a serializer, else anything the serializer encodes.
   * @param ttl Seconds to live for this entry, a finite number > 0; defaults to the cache's `ttl`.
   * @throws {TypeError} When `key` is not a string, or `value` cannot be encoded.
   * @throws {RangeError} When `ttl` is not a finite number > 0, or is above the cache's `maxTtl`.
   * @throws {CacheError} When the backend fails.
   */
  set(key: string, value: T, ttl?: number): Promise<void> {
    let seconds: number;
    let bytes: Uint8Array;
    try {
      checkKey("Cannot set in TTLCache", key);
      seconds = ttl === undefined ? this.#ttl : checkTtl("Cannot set in TTLCache", "ttl", ttl, this.#maxTtl);
      bytes = this.#encode(value);
    } catch (error) {
      return Promise.reject(error);
    }
    const local = this.#local;
    if (local?.set !== memorySet || local.delete !== memoryDelete) return this.#backendSet(key, bytes, seconds);
    try {
      memoryAccess.set(local, key, bytes, seconds);
    } catch (cause) {
      return Promise.reject(backendError("set", key, cause));
    }
    const victims = this.#admit(key, seconds);
    try {
      for (const victim of victims) memoryAccess.delete(local, victim);
    } catch (cause) {
      return Promise.reject(backendError("delete", victims.join(", "), cause));
    }
    return Promise.resolve();
  }

  #backendSet(key: string, bytes: Uint8Array, seconds: number): Promise<void> {
    let pending: Promise<void>;
    try {
      pending = Promise.resolve(this.#backend.set(key, bytes, seconds));
    } catch (cause) {
      return Promise.reject(backendError("set", key, cause));
    }
    return pending.then(
      () => {
        const victims = this.#admit(key, seconds);
        return victims.length === 0 ? undefined : this.#deleteVictims(victims);
      },
      (cause) => Promise.reject(backendError("set", key, cause)),
    );
  }

  async #deleteVictims(victims: readonly string[]): Promise<void> {
    try {
      await Promise.all(victims.map((victim) => this.#backend.delete(victim)));
    } catch (cause) {
      throw backendError("delete", victims.join(", "), cause);
    }
  }

  // Tracks a key just written and returns the keys evicted to make room. It
  // runs after the write, synchronously, so concurrent sets can never leave
  // more than maxSize entries tracked.
  #admit(key: string, seconds: number): readonly string[] {
    const now = this.#clock.now();
    const expiresAt = now + seconds * 1000;
    // An overwrite is updated in place: it promotes the key and never evicts.
    if (this.#tracked.get(key) !== undefined || this.#maxSize === 0 || this.#tracked.size < this.#maxSize) {
      this.#track(key, expiresAt);
      if (this.#maxSize === 0 && this.#tracked.size >= this.#sweepAt) {
        this.#sweep(now);
        this.#sweepAt = Math.max(1024, this.#tracked.size * 2);
      }
      return NO_VICTIMS;
    }
    this.#sweep(now);
    const victims: string[] = [];
    while (this.#tracked.size >= this.#maxSize) {
      const oldest = this.#tracked.oldest()!;
      this.#tracked.delete(oldest);
      victims.push(oldest);
    }
    this.#evictions += victims.length;
    this.#track(key, expiresAt);
    return victims;
  }

  /**
   * Deletes a key; a no-op when it is absent.
   *
   * @param key The key.
   * @throws {TypeError} When `key` is not a string.
   * @throws {CacheError} When the backend fails.
   */
  async delete(key: string): Promise<void> {
    checkKey("Cannot delete from TTLCache", key);
    try {
      await this.#backend.delete(key);
    } catch (cause) {
      throw backendError("delete", key, cause);
    }
    this.#tracked.delete(key);
  }

  /**
   * Removes every entry of the backend. Statistics are kept.
   *
   * @throws {CacheError} When the backend fails.
   */
  async clear(): Promise<void> {
    try {
      await this.#backend.clear();
    } catch (cause) {
      throw backendError("clear", undefined, cause);
    }
    this.#tracked.clear();
    this.#nextExpiry = Infinity;
  }

  /**
   * Returns a snapshot of the statistics.
   *
   * @returns A frozen {@linkcode CacheInfo}; `currSize` counts live entries only.
   */
  cacheInfo(): CacheInfo {
    this.#sweep(this.#clock.now());
    return Object.freeze({
      hits: this.#hits,
      misses: this.#misses,
      maxSize: this.#maxSize,
      currSize: this.#tracked.size,
      evictions: this.#evictions,
    });
  }

  static {
    getUncounted = (cache, key, fallback) => cache.#get(key, fallback, false);
    getNow = (cache, key, fallback) => cache.#getNow(key, fallback, true);
  }

  #encode(value: T): Uint8Array {
    if (this.#serializer !== undefined) return this.#serializer.dumps(value);
    if (value instanceof Uint8Array) return value.slice();
    throw new TypeError(
      `Cannot store ${typeName(value)} without a serializer: pass a serializer to TTLCache or store a Uint8Array`,
    );
  }

  async #undecodable<F>(key: string, error: unknown, fallback: F, counted: boolean): Promise<F> {
    if (counted) this.#misses++;
    this.#tracked.delete(key);
    try {
      this.#onError?.(error, { key, operation: "loads" });
    } catch {
      // A failing hook must not turn a miss into an error.
    }
    try {
      await this.#backend.delete(key);
    } catch {
      // The entry stays undecodable and is deleted on the next read.
    }
    return fallback;
  }

  #track(key: string, expiresAt: number): void {
    this.#tracked.set(key, expiresAt);
    if (expiresAt < this.#nextExpiry) this.#nextExpiry = expiresAt;
  }

  // Drops expired keys from the bookkeeping; the backend expires them itself.
  #sweep(now: number): void {
    if (now < this.#nextExpiry) return;
    this.#nextExpiry = this.#tracked.deleteExpired(now);
  }
}

// A get that answers synchronously is not a CacheBackend (a Map-like object):
// wrapping its value would hide that it ignores ttl.
function notThenable(value: unknown): TypeError {
  return new TypeError(
    `Cannot get from TTLCache: backend.get must return a Promise (of a Uint8Array or undefined): received ` +
      `${describe(value)}; pass a CacheBackend such as new MemoryCacheBackend() of "@cachet/cachet/memory"`,
  );
}

function backendError(operation: string, key: string | undefined, cause: unknown): CacheError {
  if (cause instanceof CacheError) return cause;
  const target = key === undefined ? "" : ` key ${JSON.stringify(key)}`;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CacheError(`Cannot ${operation}${target} in the cache backend: ${reason}`, { cause });
}
