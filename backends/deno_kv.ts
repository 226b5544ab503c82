/**
 * A Deno KV backend: the storage a Deno program has on Deno Deploy, or in
 * memory or a local file offline. Deno only (with `--unstable-kv`, or
 * `"unstable": ["kv"]` in deno.json, on Deno 2.9); published on JSR, not npm.
 *
 * @example Caching in Deno KV
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 * import { DenoKvCacheBackend } from "@cachet/cachet/deno-kv";
 *
 * await using backend = new DenoKvCacheBackend({ path: ":memory:", prefix: "app" });
 * const cache = new TTLCache({ backend, serializer: new JsonSerializer() });
 * await cache.set("user:1", { name: "Ada" }, 30);
 * assert.deepEqual(await cache.get("user:1"), { name: "Ada" });
 * ```
 *
 * @module
 */
import { CacheError } from "../errors.ts";
import { checkFinite, checkKey, checkMethods, checkOptions, checkString, describe, optionNames } from "../_validate.ts";
import type { BackendEntry, CacheBackend } from "../types.ts";

/** A part of a Deno KV key. */
export type DenoKvKeyPart = Uint8Array | string | number | bigint | boolean | symbol;

/** A Deno KV key. */
export type DenoKvKey = readonly DenoKvKeyPart[];

/**
 * The part of a `Deno.Kv` the backend uses (spelt out here so that the module
 * type-checks without Deno's unstable types); a `Deno.Kv` is one.
 */
export interface DenoKv {
  /**
   * Reads a key.
   *
   * @param key The key.
   * @returns The entry; its `value` is `null` when the key is missing.
   */
  get(key: DenoKvKey): Promise<{ value: unknown }>;
  /**
   * Reads at most 10 keys.
   *
   * @param keys The keys.
   * @returns The entries, aligned with `keys`.
   */
  getMany(keys: readonly DenoKvKey[]): Promise<readonly { value: unknown }[]>;
  /**
   * Writes a key.
   *
   * @param key The key.
   * @param value The value.
   * @param options `expireIn`: milliseconds after which the key may be deleted, at the earliest.
   * @returns The commit result.
   */
  set(key: DenoKvKey, value: unknown, options?: { expireIn?: number }): Promise<unknown>;
  /**
   * Deletes a key.
   *
   * @param key The key.
   */
  delete(key: DenoKvKey): Promise<void>;
  /**
   * Starts an atomic operation.
   *
   * @returns The operation.
   */
  atomic(): DenoKvAtomicOperation;
  /**
   * Lists keys under a prefix.
   *
   * @param selector `prefix`: the key parts every listed key starts with.
   * @param options `batchSize`: entries per underlying read.
   * @returns The entries.
   */
  list(selector: { prefix: DenoKvKey }, options?: { batchSize?: number }): AsyncIterable<{ key: DenoKvKey }>;
  /** Closes the database. */
  close(): void;
}

/** The part of a `Deno.AtomicOperation` the backend uses. */
export interface DenoKvAtomicOperation {
  /**
   * Adds a write.
   *
   * @param key The key.
   * @param value The value.
   * @param options `expireIn`: milliseconds after which the key may be deleted, at the earliest.
   * @returns The operation.
   */
  set(key: DenoKvKey, value: unknown, options?: { expireIn?: number }): DenoKvAtomicOperation;
  /**
   * Adds a delete.
   *
   * @param key The key.
   * @returns The operation.
   */
  delete(key: DenoKvKey): DenoKvAtomicOperation;
  /**
   * Commits every write and delete at once.
   *
   * @returns Whether it was committed (`ok`).
   */
  commit(): Promise<{ ok: boolean }>;
}

/** Options of {@linkcode DenoKvCacheBackend}. */
export interface DenoKvCacheBackendOptions {
  /**
   * The database `Deno.openKv(path)` opens: a file, `":memory:"`, or a URL;
   * absent, Deno's default database (the project's database on Deno Deploy).
   * Cannot be combined with `kv`.
   *
   * @default {undefined}
   */
  path?: string;
  /**
   * An open `Deno.Kv` to use instead of opening one. It is borrowed:
   * `close()` leaves it open.
   *
   * @default {undefined}
   */
  kv?: DenoKv;
  /**
   * The first part of every key: an entry `key` is stored as
   * `[prefix, key]`, so caches with different prefixes never see each other's
   * keys, and `clear()` lists and deletes exactly `[prefix, …]`. Keep your
   * own data out of keys whose first part is the prefix.
   *
   * @default {"cachet"}
   */
  prefix?: string;
}

const KV_OPTIONS = optionNames<DenoKvCacheBackendOptions>({ path: true, kv: true, prefix: true });

const CREATE = "Cannot create DenoKvCacheBackend";
const DEFAULT_PREFIX = "cachet";
// Deno KV's limits (denokv_proto limits.rs).
const MAX_VALUE_BYTES = 65_536;
const MAX_KEY_BYTES = 2_048;
const MAX_READ_RANGES = 10;
const MAX_MUTATIONS = 1_000;
const MAX_MUTATION_BYTES = 819_200;
const MAX_TOTAL_KEY_BYTES = 81_920;
// Each stored value is the expiry (a float64) followed by the bytes.
const HEADER = 8;
const MAX_BYTES = MAX_VALUE_BYTES - HEADER;
const MAX_TTL_SECONDS = Number.MAX_SAFE_INTEGER / 1000;
// Deno KV refuses an expireIn that ends past about 8.2e15 ms since 1970; a longer TTL (some 250,000 years) is kept
// without one: the expiry stored with the value still applies on read.
const MAX_EXPIRE_IN_MS = 8e15;
const encoder = new TextEncoder();

type OpenKv = (path?: string) => Promise<DenoKv>;

interface Write {
  key: DenoKvKey;
  value: Uint8Array;
  ms: number;
  size: number;
}

/**
 * Stores bytes in Deno KV under `[prefix, key]`, each value preceded by its
 * expiry in wall-clock milliseconds. `expireIn` only sets the earliest time
 * Deno KV may delete a key, so the expiry is checked on every read and an
 * expired value is never returned. Values are limited to 65,528 bytes
 * (Deno KV's 64 KiB less the expiry) and keys to 2 KiB encoded, prefix
 * included: larger ones are refused with a `RangeError`, nothing written.
 *
 * `getMany` reads 10 keys per Deno KV call (its limit), concurrently;
 * `setMany` and `deleteMany` commit atomic operations of at most 1,000
 * mutations and 800 KiB each: a batch beyond that is several commits.
 * `clear()` lists `[prefix]` and deletes what it finds in such commits.
 *
 * It owns no timer, and an open backend does not keep the process alive;
 * `close()` (or `await using`) closes a database it opened.
 *
 * @example Borrowing an open database
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoKvCacheBackend } from "@cachet/cachet/deno-kv";
 *
 * const kv = await Deno.openKv(":memory:");
 * const backend = new DenoKvCacheBackend({ kv, prefix: "docs" });
 * await backend.set("k", new Uint8Array([1, 2, 3]), 60);
 * assert.deepEqual(await backend.get("k"), new Uint8Array([1, 2, 3]));
 * await backend.close(); // the borrowed database stays open
 * kv.close();
 * ```
 */
export class DenoKvCacheBackend implements CacheBackend, AsyncDisposable {
  #prefix: string;
  #prefixBytes: number;
  #owned: boolean;
  #closed = false;
  #kv: DenoKv | undefined;
  #opening: Promise<DenoKv>;

  /**
   * Creates a backend; a database it opens is opened on first use.
   *
   * @param options Options, see {@linkcode DenoKvCacheBackendOptions}.
   * @throws {TypeError} When an option has the wrong type or an unknown name, `path` is combined with `kv`, or
   * `prefix` is longer than a Deno KV key allows.
   * @throws {CacheError} When `kv` is not given and `Deno.openKv` is missing (not Deno, or no `--unstable-kv`).
   */
  constructor(options: DenoKvCacheBackendOptions = {}) {
    checkOptions(CREATE, options, KV_OPTIONS);
    const { path, kv, prefix = DEFAULT_PREFIX } = options;
    checkString(CREATE, "path", path);
    checkString(CREATE, "prefix", prefix);
    this.#prefix = prefix;
    this.#prefixBytes = partSize(prefix);
    if (this.#prefixBytes + 2 > MAX_KEY_BYTES) {
      throw new TypeError(
        `${CREATE}: prefix must leave room for keys within Deno KV's ${MAX_KEY_BYTES}-byte key limit: received ` +
          `${describe(prefix)} (${this.#prefixBytes} bytes encoded)`,
      );
    }
    if (kv !== undefined) {
      if (path !== undefined) {
        throw new TypeError(`${CREATE}: path cannot be combined with kv: open the database you pass instead`);
      }
      checkMethods(CREATE, "kv (a Deno.Kv)", kv, ["get", "getMany", "set", "delete", "atomic", "list", "close"]);
      this.#kv = kv;
      this.#owned = false;
      this.#opening = Promise.resolve(kv);
      return;
    }
    const openKv = (globalThis as { Deno?: { openKv?: OpenKv } }).Deno?.openKv;
    if (typeof openKv !== "function") {
      throw new CacheError(
        `${CREATE}: Deno.openKv is missing: Deno KV needs Deno with --unstable-kv (or "unstable": ["kv"] in ` +
          `deno.json), or Deno Deploy`,
      );
    }
    this.#owned = true;
    this.#opening = openKv(path).then(
      (opened) => {
        if (this.#closed) {
          opened.close();
          throw new CacheError("Cannot open DenoKvCacheBackend: the backend is closed");
        }
        return this.#kv = opened;
      },
      (error) => {
        throw new CacheError(
          `cannot open Deno KV ${path === undefined ? "(the default database)" : JSON.stringify(path)}: ${
            messageOf(error)
          }`,
          {
            cause: error,
          },
        );
      },
    );
    // A failure is reported by the calls that wait for it; an unused backend must not crash the process.
    this.#opening.catch(() => {});
  }

  /** The first part of every key. */
  get prefix(): string {
    return this.#prefix;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Opens the database now rather than on first use, to fail early.
   *
   * @throws {CacheError} When the database cannot be opened, or the backend is closed.
   */
  async connect(): Promise<void> {
    await this.#ready("Cannot connect DenoKvCacheBackend");
  }

  /**
   * Reads the bytes under `key`.
   *
   * @param key The key.
   * @returns The bytes, or `undefined` when missing, expired, or too long a key to have been stored.
   * @throws {TypeError} When `key` is not a well-formed string.
   * @throws {CacheError} When Deno KV fails or the backend is closed.
   */
  async get(key: string): Promise<Uint8Array | undefined> {
    const context = "Cannot get from DenoKvCacheBackend";
    checkKey(context, key);
    const kv = await this.#ready(context);
    if (this.#keySize(key) > MAX_KEY_BYTES) return undefined;
    try {
      return decode((await kv.get([this.#prefix, key])).value, Date.now());
    } catch (error) {
      throw wrap(context, error);
    }
  }

  /**
   * Stores `value` under `key` for ceil(ttl × 1000) milliseconds (after
   * rounding away float noise below a microsecond), also as `expireIn`.
   *
   * @param key The key, at most 2 KiB encoded with the prefix.
   * @param value The bytes, at most 65,528.
   * @param ttl Seconds to live, a finite number > 0, at most 9007199254740.991.
   * @throws {TypeError} When an argument has the wrong type.
   * @throws {RangeError} When `ttl` is out of range, or `key` or `value` exceeds Deno KV's limits.
   * @throws {CacheError} When Deno KV fails or the backend is closed.
   */
  async set(key: string, value: Uint8Array, ttl: number): Promise<void> {
    const context = "Cannot set in DenoKvCacheBackend";
    const write = this.#write(context, key, value, ttl);
    const kv = await this.#ready(context);
    try {
      await kv.set(write.key, encode(write.value, Date.now() + write.ms), expireIn(write.ms));
    } catch (error) {
      throw wrap(context, error);
    }
  }

  /**
   * Deletes `key`; a no-op when absent.
   *
   * @param key The key.
   * @throws {TypeError} When `key` is not a well-formed string.
   * @throws {CacheError} When Deno KV fails or the backend is closed.
   */
  async delete(key: string): Promise<void> {
    const context = "Cannot delete from DenoKvCacheBackend";
    checkKey(context, key);
    const kv = await this.#ready(context);
    if (this.#keySize(key) > MAX_KEY_BYTES) return;
    try {
      await kv.delete([this.#prefix, key]);
    } catch (error) {
      throw wrap(context, error);
    }
  }

  /**
   * Reads several keys, 10 per Deno KV `getMany` call, the calls concurrent.
   *
   * @param keys The keys.
   * @returns The bytes of each key, aligned with `keys`.
   * @throws {TypeError} When `keys` is not an array of well-formed strings.
   * @throws {CacheError} When Deno KV fails or the backend is closed.
   */
  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    const context = "Cannot get from DenoKvCacheBackend";
    checkKeys(context, keys);
    const kv = await this.#ready(context);
    const results: (Uint8Array | undefined)[] = new Array(keys.length).fill(undefined);
    // Keys too long to have been stored are misses, never sent (Deno KV would reject the whole call).
    const readable = keys.flatMap((key, i) => this.#keySize(key) > MAX_KEY_BYTES ? [] : [i]);
    const chunks: number[][] = [];
    for (let i = 0; i < readable.length; i += MAX_READ_RANGES) chunks.push(readable.slice(i, i + MAX_READ_RANGES));
    try {
      await Promise.all(chunks.map(async (chunk) => {
        const entries = await kv.getMany(chunk.map((i) => [this.#prefix, keys[i]]));
        const now = Date.now();
        chunk.forEach((index, j) => results[index] = decode(entries[j]?.value, now));
      }));
    } catch (error) {
      throw wrap(context, error);
    }
    return results;
  }

  /**
   * Stores several entries in atomic commits of at most 1,000 entries and
   * 800 KiB each (a larger batch is several commits, each all or nothing).
   *
   * @param entries The entries, each with its own TTL in seconds.
   * @throws {TypeError} When a field has the wrong type (nothing is stored then).
   * @throws {RangeError} When a `ttl`, key or value is out of range (nothing is stored then).
   * @throws {CacheError} When Deno KV fails or the backend is closed.
   */
  async setMany(entries: readonly BackendEntry[]): Promise<void> {
    const context = "Cannot set in DenoKvCacheBackend";
    if (!Array.isArray(entries)) {
      throw new TypeError(`${context}: entries must be an array: received ${describe(entries)}`);
    }
    const writes = entries.map((entry) => this.#write(context, entry?.key, entry?.value, entry?.ttl));
    const kv = await this.#ready(context);
    try {
      for (const batch of batches(writes)) {
        const atomic = kv.atomic();
        const now = Date.now();
        for (const write of batch) atomic.set(write.key, encode(write.value, now + write.ms), expireIn(write.ms));
        await commit(atomic);
      }
    } catch (error) {
      throw wrap(context, error);
    }
  }

  /**
   * Deletes several keys in atomic commits of at most 1,000 keys each; absent ones are ignored.
   *
   * @param keys The keys.
   * @throws {TypeError} When `keys` is not an array of well-formed strings.
   * @throws {CacheError} When Deno KV fails or the backend is closed.
   */
  async deleteMany(keys: readonly string[]): Promise<void> {
    const context = "Cannot delete from DenoKvCacheBackend";
    checkKeys(context, keys);
    const kv = await this.#ready(context);
    const deletes = keys.flatMap((key) => {
      const size = this.#keySize(key);
      return size > MAX_KEY_BYTES ? [] : [{ key: [this.#prefix, key], size }];
    });
    try {
      await deleteAll(kv, deletes);
    } catch (error) {
      throw wrap(context, error);
    }
  }

  /**
   * Deletes every key `[prefix, …]`, and no other: lists them and deletes
   * them in atomic commits of at most 1,000 keys.
   *
   * @throws {CacheError} When Deno KV fails or the backend is closed.
   */
  async clear(): Promise<void> {
    const context = "Cannot clear DenoKvCacheBackend";
    const kv = await this.#ready(context);
    try {
      let found: { key: DenoKvKey; size: number }[] = [];
      for await (const { key } of kv.list({ prefix: [this.#prefix] }, { batchSize: 500 })) {
        // A key not of this backend's shape counts as the largest possible.
        const size = key.length === 2 && typeof key[1] === "string" ? this.#keySize(key[1]) : MAX_KEY_BYTES;
        found.push({ key, size });
        if (found.length === MAX_MUTATIONS) {
          await deleteAll(kv, found);
          found = [];
        }
      }
      await deleteAll(kv, found);
    } catch (error) {
      throw wrap(context, error);
    }
  }

  /**
   * Closes the database this backend opened (a borrowed `kv` stays open).
   * Later calls are no-ops; using the backend afterwards throws a `CacheError`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#owned) return;
    const kv = this.#kv ?? await this.#opening.catch(() => undefined);
    kv?.close();
  }

  /** Closes the backend, so `await using` releases the database at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #ready(context: string): Promise<DenoKv> {
    if (this.#closed) throw closedError(context);
    let kv: DenoKv;
    try {
      kv = this.#kv ?? await this.#opening;
    } catch (error) {
      if (error instanceof CacheError) throw new CacheError(`${context}: ${error.message}`, { cause: error });
      throw error;
    }
    if (this.#closed) throw closedError(context);
    return kv;
  }

  // The encoded size of the key [prefix, key] (Deno KV's tuple encoding).
  #keySize(key: string): number {
    return this.#prefixBytes + partSize(key);
  }

  #write(context: string, key: unknown, value: unknown, ttl: unknown): Write {
    checkKey(context, key);
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(`${context}: value must be a Uint8Array: received ${describe(value)}`);
    }
    if (value.length > MAX_BYTES) {
      throw new RangeError(
        `${context}: value must be at most ${MAX_BYTES} bytes (Deno KV stores at most 64 KiB per value, ` +
          `${HEADER} of them for the expiry): received ${value.length} bytes`,
      );
    }
    const size = this.#keySize(key as string);
    if (size > MAX_KEY_BYTES) {
      throw new RangeError(
        `${context}: key must be at most ${MAX_KEY_BYTES} bytes encoded with the prefix (Deno KV's key limit): ` +
          `received ${describe(key)} (${size} bytes)`,
      );
    }
    const seconds = checkFinite(context, "ttl", ttl, "seconds");
    if (seconds > MAX_TTL_SECONDS) {
      throw new RangeError(`${context}: ttl must be at most ${MAX_TTL_SECONDS} seconds: received ${describe(ttl)}`);
    }
    // Whole microseconds first, so 2.007 s is 2007 ms, not 2008.
    const ms = Math.max(1, Math.ceil(Math.round(seconds * 1e6) / 1e3));
    return { key: [this.#prefix, key as string], value, ms, size };
  }
}

/** The encoded size of a string key part: a type byte, UTF-8 with each NUL escaped to two bytes, a terminator. */
function partSize(part: string): number {
  let nuls = 0;
  for (let i = part.indexOf("\0"); i !== -1; i = part.indexOf("\0", i + 1)) nuls++;
  return 2 + encoder.encode(part).length + nuls;
}

function checkKeys(context: string, keys: unknown): void {
  if (!Array.isArray(keys)) throw new TypeError(`${context}: keys must be an array: received ${describe(keys)}`);
  keys.forEach((key, i) => checkKey(context, key, `keys[${i}]`));
}

/** Splits writes into groups each within one atomic commit's limits. */
function* batches(writes: readonly Write[]): Generator<Write[]> {
  let batch: Write[] = [];
  let bytes = 0;
  let keyBytes = 0;
  for (const write of writes) {
    // Deno KV counts a key twice towards the mutation size (measured: 792 writes of a 9-byte key and 1,016 bytes
    // fit, 793 do not); the margin keeps a batch within the limit should the accounting grow a little.
    const size = 2 * write.size + HEADER + write.value.length + 16;
    if (
      batch.length === MAX_MUTATIONS || bytes + size > MAX_MUTATION_BYTES || keyBytes + write.size > MAX_TOTAL_KEY_BYTES
    ) {
      yield batch;
      [batch, bytes, keyBytes] = [[], 0, 0];
    }
    batch.push(write);
    bytes += size;
    keyBytes += write.size;
  }
  if (batch.length > 0) yield batch;
}

async function deleteAll(kv: DenoKv, deletes: readonly { key: DenoKvKey; size: number }[]): Promise<void> {
  let atomic = kv.atomic();
  let count = 0;
  let keyBytes = 0;
  for (const { key, size } of deletes) {
    if (count === MAX_MUTATIONS || keyBytes + size > MAX_TOTAL_KEY_BYTES) {
      await commit(atomic);
      [atomic, count, keyBytes] = [kv.atomic(), 0, 0];
    }
    atomic.delete(key);
    count++;
    keyBytes += size;
  }
  if (count > 0) await commit(atomic);
}

async function commit(atomic: DenoKvAtomicOperation): Promise<void> {
  // With no checks, a commit can only fail by throwing; `ok: false` would mean a lost write.
  const result = await atomic.commit();
  if (!result.ok) throw new Error("the atomic commit was not applied");
}

function expireIn(ms: number): { expireIn?: number } {
  return ms <= MAX_EXPIRE_IN_MS ? { expireIn: ms } : {};
}

function encode(value: Uint8Array, expiresAt: number): Uint8Array {
  const stored = new Uint8Array(HEADER + value.length);
  new DataView(stored.buffer).setFloat64(0, expiresAt, true);
  stored.set(value, HEADER);
  return stored;
}

// The value is untrusted: anything but our own layout is a miss.
function decode(stored: unknown, now: number): Uint8Array | undefined {
  if (!(stored instanceof Uint8Array) || stored.length < HEADER) return undefined;
  const expiresAt = new DataView(stored.buffer, stored.byteOffset, HEADER).getFloat64(0, true);
  if (!(expiresAt > now)) return undefined;
  return stored.slice(HEADER);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function wrap(context: string, error: unknown): CacheError {
  if (error instanceof CacheError) return error;
  const closed = error instanceof Error && error.name === "BadResource";
  return new CacheError(`${context}: ${closed ? "the Deno KV database is closed" : messageOf(error)}`, {
    cause: error,
  });
}

function closedError(context: string): CacheError {
  return new CacheError(`${context}: the backend is closed`);
}
