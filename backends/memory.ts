/**
 * An in-process backend that keeps bytes in a `Map`: the default backend of
 * {@linkcode TTLCache}, for tests and single-process applications.
 *
 * @example Using the memory backend explicitly
 * ```ts
 * import { TTLCache } from "@cachet/cachet";
 * import { MemoryCacheBackend } from "@cachet/cachet/memory";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ backend: new MemoryCacheBackend(), serializer: new JsonSerializer() });
 * await cache.set("answer", 42);
 * console.assert((await cache.get("answer")) === 42);
 * ```
 *
 * @module
 */
import { checkKey, checkMethods, checkOptions, checkTtl, describe } from "../_validate.ts";
import { monotonicClock } from "../_clock.ts";
import { memoryAccess } from "../_memory_access.ts";
import type { CacheBackend, Clock } from "../types.ts";

/** Options of {@linkcode MemoryCacheBackend}. */
export interface MemoryCacheBackendOptions {
  /**
   * The source of time used for expiry, in milliseconds.
   *
   * @default {performance.now()}
   */
  clock?: Clock;
}

interface Entry {
  value: Uint8Array;
  expiresAt: number;
}

// Sweeping only when the map has doubled since the last sweep keeps the cost
// amortized O(1) per write while bounding memory to about twice the live data.
const MIN_SWEEP_SIZE = 1024;

/**
 * A byte store in a `Map`, with lazy expiry on read and an amortized sweep of
 * expired entries on write. It owns no timer, so it never keeps a process
 * alive.
 *
 * It keeps the arrays it is given and returns them as they are (no copy);
 * {@linkcode TTLCache} copies raw `Uint8Array` values at its boundary.
 *
 * @example Storing and reading bytes
 * ```ts
 * import { MemoryCacheBackend } from "@cachet/cachet/memory";
 *
 * await using backend = new MemoryCacheBackend();
 * await backend.set("k", new Uint8Array([1, 2]), 60);
 * console.assert((await backend.get("k"))?.length === 2);
 * ```
 */
export class MemoryCacheBackend implements CacheBackend, AsyncDisposable {
  #entries = new Map<string, Entry>();
  #clock: Clock;
  #sweepAt = MIN_SWEEP_SIZE;

  /**
   * Creates an empty memory backend.
   *
   * @param options Options, see {@linkcode MemoryCacheBackendOptions}.
   * @throws {TypeError} When `clock` has no `now()` method.
   */
  constructor(options: MemoryCacheBackendOptions = {}) {
    checkOptions("Cannot create MemoryCacheBackend", options);
    const clock = options.clock ?? monotonicClock;
    checkMethods("Cannot create MemoryCacheBackend", "clock", clock, ["now"]);
    this.#clock = clock;
  }

  /** The number of entries held, including expired ones not yet swept. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Reads the bytes under `key`.
   *
   * @param key The key.
   * @returns The bytes, or `undefined` when missing or expired.
   * @throws {TypeError} When `key` is not a string.
   */
  get(key: string): Promise<Uint8Array | undefined> {
    try {
      return Promise.resolve(this.#get(key));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Stores `value` under `key` for `ttl` seconds.
   *
   * @param key The key.
   * @param value The bytes; kept as they are.
   * @param ttl Seconds to live, a finite number > 0.
   * @throws {TypeError} When an argument has the wrong type.
   * @throws {RangeError} When `ttl` is not a finite number > 0.
   */
  set(key: string, value: Uint8Array, ttl: number): Promise<void> {
    try {
      this.#set(key, value, ttl);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  /**
   * Deletes `key`; a no-op when absent.
   *
   * @param key The key.
   * @throws {TypeError} When `key` is not a string.
   */
  delete(key: string): Promise<void> {
    try {
      this.#delete(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  /** Removes every entry. */
  clear(): Promise<void> {
    this.#entries.clear();
    this.#sweepAt = MIN_SWEEP_SIZE;
    return Promise.resolve();
  }

  /** Clears the backend, so `await using` frees its memory at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.clear();
  }

  // The synchronous bodies of get, set and delete; TTLCache calls them
  // directly through memoryAccess (see _memory_access.ts).
  static {
    memoryAccess.get = (backend, key) => backend.#get(key);
    memoryAccess.set = (backend, key, value, ttl) => backend.#set(key, value, ttl);
    memoryAccess.delete = (backend, key) => backend.#delete(key);
  }

  #get(key: string): Uint8Array | undefined {
    checkKey("Cannot get from MemoryCacheBackend", key);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#clock.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  #set(key: string, value: Uint8Array, ttl: number): void {
    checkKey("Cannot set in MemoryCacheBackend", key);
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(`Cannot set in MemoryCacheBackend: value must be a Uint8Array: received ${describe(value)}`);
    }
    checkTtl("Cannot set in MemoryCacheBackend", "ttl", ttl);
    const now = this.#clock.now();
    // Re-inserting moves the key to the end, keeping the map in write order.
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: now + ttl * 1000 });
    if (this.#entries.size >= this.#sweepAt) this.#sweep(now);
  }

  #delete(key: string): void {
    checkKey("Cannot delete from MemoryCacheBackend", key);
    this.#entries.delete(key);
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
    this.#sweepAt = Math.max(MIN_SWEEP_SIZE, this.#entries.size * 2);
  }
}
