/**
 * An in-process backend that keeps bytes in a `Map`: the default backend of
 * {@linkcode TTLCache}, for tests and single-process applications.
 *
 * @example Using the memory backend explicitly
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { MemoryCacheBackend } from "@cachet/cachet/memory";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ backend: new MemoryCacheBackend(), serializer: new JsonSerializer() });
 * await cache.set("answer", 42);
 * assert((await cache.get("answer")) === 42);
 * ```
 *
 * @module
 */
import { checkKey, checkMethods, checkOptions, checkTtl, describe, optionNames } from "../_validate.ts";
import { hitClock, monotonicClock } from "../_clock.ts";
import { SYNC_VIEW, type SyncView, unpack } from "../_sync_view.ts";
import { SweepSchedule } from "../_sweep.ts";
import type { BackendEntry, CacheBackend, Clock } from "../types.ts";

/** Options of {@linkcode MemoryCacheBackend}. */
export interface MemoryCacheBackendOptions {
  /**
   * The source of time used for expiry, in milliseconds. Reads take the
   * default clock coarsely (one reading serves up to 64 reads, until a timer
   * 1 ms later has run); an injected clock is read on every call.
   *
   * @default {performance.now()}
   */
  clock?: Clock;
}

const MEMORY_OPTIONS = optionNames<MemoryCacheBackendOptions>({ clock: true });

interface Entry {
  value: Uint8Array;
  expiresAt: number;
}

// Values of at most SMALL bytes are kept as one flat Latin-1 string instead of
// an Entry: 8 characters holding the bytes of the expiry (a float64), then one
// character per byte. V8 spends about 250 bytes on any Uint8Array with its
// ArrayBuffer, so a small entry takes a fifth of the memory; and arrays of at
// most 64 bytes are allocated on V8's heap, so handing out a fresh one is cheap.
const SMALL = 64;
// Where the value's bytes start in its string (SyncView.packedAt).
const PACKED_AT = 8;
const expiry = new Float64Array(1);
const expiryBytes = new Uint8Array(expiry.buffer);
const packing = new Uint8Array(PACKED_AT + SMALL);

function pack(value: Uint8Array, expiresAt: number): string {
  expiry[0] = expiresAt;
  packing.set(expiryBytes, 0);
  packing.set(value, PACKED_AT);
  // One call builds a flat string; appending characters would build a rope.
  return String.fromCharCode.apply(null, packing.subarray(0, PACKED_AT + value.length) as unknown as number[]);
}

function expiresAtOf(entry: string | Entry): number {
  if (typeof entry !== "string") return entry.expiresAt;
  for (let i = 0; i < 8; i++) expiryBytes[i] = entry.charCodeAt(i);
  return expiry[0];
}

/**
 * A byte store in a `Map`, with lazy expiry on read and an amortized sweep of
 * expired entries on write. It owns no timer, so it never keeps a process
 * alive.
 *
 * It keeps arrays of more than 64 bytes as they are given and returns them as
 * they are (no copy), so such an array must not be changed while it is
 * stored; smaller values are stored compactly and read back as a fresh array.
 * {@linkcode TTLCache} copies raw `Uint8Array` values at its boundary.
 *
 * @example Storing and reading bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCacheBackend } from "@cachet/cachet/memory";
 *
 * await using backend = new MemoryCacheBackend();
 * await backend.set("k", new Uint8Array([1, 2]), 60);
 * assert((await backend.get("k"))?.length === 2);
 * ```
 */
export class MemoryCacheBackend implements CacheBackend, AsyncDisposable {
  #entries = new Map<string, string | Entry>();
  #clock: Clock;
  // Reads only compare the time with an expiry: a coarse reading will do (see hitClock).
  #readClock: Clock;
  readonly #sweeps = new SweepSchedule();

  /**
   * Creates an empty memory backend.
   *
   * @param options Options, see {@linkcode MemoryCacheBackendOptions}.
   * @throws {TypeError} When an option is unknown, or `clock` has no `now()` method.
   */
  constructor(options: MemoryCacheBackendOptions = {}) {
    checkOptions("Cannot create MemoryCacheBackend", options, MEMORY_OPTIONS);
    const clock = options.clock ?? monotonicClock;
    checkMethods("Cannot create MemoryCacheBackend", "clock", clock, ["now"]);
    this.#clock = clock;
    this.#readClock = hitClock(clock);
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
      return Promise.resolve(this.#get(key, false));
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

  /**
   * Reads several keys.
   *
   * @param keys The keys.
   * @returns The bytes of each key, aligned with `keys`.
   * @throws {TypeError} When a key is not a string.
   */
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    try {
      return Promise.resolve(keys.map((key) => this.#get(key, false)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Stores several entries.
   *
   * @param entries The entries, each with its own TTL in seconds.
   * @throws {TypeError} When a field has the wrong type (nothing is stored then).
   * @throws {RangeError} When a `ttl` is not a finite number > 0 (nothing is stored then).
   */
  setMany(entries: readonly BackendEntry[]): Promise<void> {
    try {
      for (const { key, value, ttl } of entries) checkEntry(key, value, ttl);
      for (const { key, value, ttl } of entries) this.#set(key, value, ttl);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  /**
   * Deletes several keys; absent ones are ignored.
   *
   * @param keys The keys.
   * @throws {TypeError} When a key is not a string.
   */
  deleteMany(keys: readonly string[]): Promise<void> {
    try {
      for (const key of keys) checkKey("Cannot delete from MemoryCacheBackend", key);
      for (const key of keys) this.#entries.delete(key);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  /** Removes every entry. */
  clear(): Promise<void> {
    this.#entries.clear();
    this.#sweeps.reset();
    return Promise.resolve();
  }

  /** Clears the backend, so `await using` frees its memory at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.clear();
  }

  /**
   * The synchronous view TTLCache reads through (see _sync_view.ts); none when
   * get, set or delete was replaced, so a replacement is always honoured.
   *
   * @ignore
   */
  [SYNC_VIEW](): SyncView | undefined {
    const { get, set, delete: remove } = MemoryCacheBackend.prototype;
    if (this.get !== get || this.set !== set || this.delete !== remove) return undefined;
    return {
      get: (key, copy) => this.#read(key, copy),
      // TTLCache checked the key, the value and the ttl already.
      set: (key, value, ttl, now) => this.#store(key, value, ttl, now),
      clock: this.#clock,
      delete: (key) => this.#entries.delete(key),
      matches: (key, bytes, from, to) => this.#matches(key, bytes, from, to),
      packs: SMALL,
      getPacked: (key) => this.#readPacked(key),
      packedAt: PACKED_AT,
    };
  }

  #get(key: string, copy: boolean): Uint8Array | undefined {
    checkKey("Cannot get from MemoryCacheBackend", key);
    return this.#read(key, copy);
  }

  // The live entry of `key`, dropping it when it has expired.
  #live(key: string): string | Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (expiresAtOf(entry) <= this.#readClock.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #matches(key: string, bytes: Uint8Array, from: number, to: number): boolean {
    const entry = this.#live(key);
    if (entry === undefined) return false;
    const length = to - from;
    if (typeof entry !== "string") {
      const value = entry.value;
      if (value.length !== length) return false;
      for (let i = 0; i < length; i++) if (value[i] !== bytes[from + i]) return false;
      return true;
    }
    if (entry.length - 8 !== length) return false;
    for (let i = 0; i < length; i++) if (entry.charCodeAt(i + 8) !== bytes[from + i]) return false;
    return true;
  }

  // `copy`: return a copy of a large value too, so the result is always the caller's own.
  #read(key: string, copy: boolean): Uint8Array | undefined {
    const entry = this.#live(key);
    if (entry === undefined) return undefined;
    if (typeof entry === "string") return unpack(entry, PACKED_AT);
    return copy ? entry.value.slice() : entry.value;
  }

  #readPacked(key: string): Uint8Array | string | undefined {
    const entry = this.#live(key);
    return entry === undefined || typeof entry === "string" ? entry : entry.value;
  }

  #set(key: string, value: Uint8Array, ttl: number): void {
    checkEntry(key, value, ttl);
    this.#store(key, value, ttl);
  }

  #store(key: string, value: Uint8Array, ttl: number, now = this.#clock.now()): void {
    // Overwritten in place: a delete + set would leave a deleted entry in the
    // key's hash chain on every write, slowing hot keys down until V8 rehashes.
    const expiresAt = now + ttl * 1000;
    this.#entries.set(key, value.length <= SMALL ? pack(value, expiresAt) : { value, expiresAt });
    if (this.#sweeps.due(this.#entries.size)) this.#sweep(now);
  }

  #delete(key: string): void {
    checkKey("Cannot delete from MemoryCacheBackend", key);
    this.#entries.delete(key);
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (expiresAtOf(entry) <= now) this.#entries.delete(key);
    }
    this.#sweeps.swept(this.#entries.size);
  }
}

function checkEntry(key: string, value: Uint8Array, ttl: number): void {
  checkKey("Cannot set in MemoryCacheBackend", key);
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`Cannot set in MemoryCacheBackend: value must be a Uint8Array: received ${describe(value)}`);
  }
  checkTtl("Cannot set in MemoryCacheBackend", "ttl", ttl);
}
