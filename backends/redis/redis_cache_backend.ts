// RedisCacheBackend: cache entries in Redis (exported by ./mod.ts).
import { Buffer } from "node:buffer";
import type { Cluster, Redis } from "ioredis";
import { CacheError } from "../../errors.ts";
import { checkBoolean, checkKey, checkOptions, checkString, checkTtl, describe } from "../../_validate.ts";
import type { BackendEntry, CacheBackend } from "../../types.ts";
import { PrefixedKeys } from "../../_prefixed_keys.ts";
import { SHARED_READS, type SharedReads } from "../../_shared_reads.ts";
import { Sender } from "./_sender.ts";
import { deleteMany as batchDelete, getMany as batchGet, setMany as batchSet } from "./_batch.ts";
import {
  checkClient,
  IOREDIS_OPTIONS,
  type IORedisClient,
  LOCK_KEY_SPACE,
  type RedisClient,
  setCallTracker,
  wrapError,
} from "./_client.ts";
import { checkEnvPrefix, checkTimeout, Connection, type RedisOptions } from "./_connection.ts";

/**
 * Options of {@linkcode RedisCacheBackend}. Any other property must be an
 * ioredis option (`tls`, `username`, `connectionName`, `retryStrategy`, …;
 * an unknown name is a `TypeError`, and so is `keyPrefix`: use `prefix`); it
 * is passed to the client the backend creates, and overrides the defaults
 * listed here and
 * the backend's own: `lazyConnect: true`, `enableAutoPipelining: true` (but
 * a lone `get` or `set` is written at once, not a turn of the event loop
 * later), `maxRetriesPerRequest: 0`, a reconnect delay of at most 250 ms, and
 * the command timeout of `timeout` (an ioredis `commandTimeout` given here
 * replaces it).
 */
export interface RedisCacheBackendOptions extends RedisOptions {
  /**
   * A `redis://` or `rediss://` URL, for example
   * `redis://:password@localhost:6379/0`. When absent (and no ioredis
   * `host`, `port`, `path` or `sentinels` option is given), the environment
   * is read: `REDIS_URL`, or `REDIS_HOST` with `REDIS_PORT` (6379),
   * `REDIS_DB` (0) and `REDIS_PASSWORD`.
   *
   * @default {undefined}
   */
  url?: string;
  /**
   * Where the environment variables read without `url` start:
   * `"CACHE_REDIS_"` reads `CACHE_REDIS_URL`, or `CACHE_REDIS_HOST` with
   * `CACHE_REDIS_PORT`, `CACHE_REDIS_DB` and `CACHE_REDIS_PASSWORD`. Letters,
   * digits and underscores (a `TypeError` otherwise); cannot be combined with
   * `url`, `host`, `port`, `path` or `sentinels`, which name the server.
   *
   * @default {"REDIS_"}
   */
  envPrefix?: string;
  /**
   * Prepended to every key, so caches sharing a server stay apart and
   * `clear()` deletes only this backend's keys. A non-empty prefix must end
   * with `":"` (a `TypeError` otherwise), so two prefixes never nest by
   * accident (`"tenant1"` inside `"tenant10"`). `"app:"` and `"app:2:"` still
   * nest, on purpose: a hierarchy, where `clear()` on `"app:"` clears
   * `"app:2:"` too.
   *
   * @default {""}
   */
  prefix?: string;
  /**
   * An ioredis `Redis` or `Cluster` to use instead of creating one. It is
   * borrowed: `close()` leaves it open, and its own options decide timeouts
   * and retries. Cannot be combined with `url`, `timeout` or ioredis options.
   *
   * @default {undefined}
   */
  client?: RedisClient;
  /**
   * Milliseconds after which connecting or a call fails with a `CacheError`
   * (ioredis `connectTimeout`). A call without a reply fails between `timeout`
   * minus a tenth of it (at most 100 ms) and `timeout` after the caller made
   * it, plus however late the event loop runs the check, whatever ioredis
   * still queues (an auto-pipeline waiting behind another); one timer checks
   * them all rather than ioredis' `commandTimeout` timer per command. Calls
   * made while the server is unreachable fail at the next failed reconnect
   * attempt (at most 250 ms apart), or after this timeout, whichever is first.
   * `close()` takes at most this long.
   *
   * @default {1000}
   */
  timeout?: number;
  /**
   * Lets `clear()` run with an empty prefix, deleting every key of the
   * database, including keys this cache did not write.
   *
   * @default {false}
   */
  allowClearAll?: boolean;
}

const CREATE = "Cannot create RedisCacheBackend";
const SCAN_COUNT = 1_000;
// Prefixed keys kept for repeats: a few hot keys per process, ~100 KB at most.
const FULL_KEYS_MAX = 1_024;
// Redis accepts PX up to about 2^63 ms; beyond 2^53 a JS number skips integers, so a longer TTL is refused
// rather than sent changed.
const MAX_TTL_SECONDS = `${Math.floor(Number.MAX_SAFE_INTEGER / 1000)}.${Number.MAX_SAFE_INTEGER % 1000}`;
const OWN_OPTIONS = ["url", "prefix", "client", "timeout", "allowClearAll", "envPrefix"];
const KNOWN_OPTIONS = [...new Set([...OWN_OPTIONS, ...IOREDIS_OPTIONS])];

/**
 * Stores bytes in Redis with a native per-key expiry (`SET key value PX ms`).
 * Every key is prefixed; `clear()` deletes only keys under the prefix (with
 * `SCAN` and batched `UNLINK`, on every master of a cluster) and refuses to
 * run with an empty prefix unless `allowClearAll` is set.
 *
 * The client the backend creates connects on first use, never hangs: calls
 * fail with a `CacheError` within `timeout` while the server is unreachable,
 * and work again once it is back. An open backend keeps the process alive (its
 * socket stays open) until it is closed: call `close()` (or use
 * `await using`); it answers the calls made before it, then ends the
 * connection, within `timeout`.
 *
 * @example Borrowing an existing client
 * ```ts
 * import assert from "node:assert/strict";
 * import { Redis } from "ioredis";
 * import { RedisCacheBackend } from "@cachet/cachet/redis";
 *
 * const client = new Redis("redis://127.0.0.1:6379", { lazyConnect: true });
 * const backend = new RedisCacheBackend({ client, prefix: `docs:${crypto.randomUUID()}:` });
 * await backend.set("k", new Uint8Array([1, 2, 3]), 0.5);
 * assert((await backend.get("k"))?.length === 3);
 * await backend.clear();
 * await backend.close(); // the borrowed client stays open
 * await client.quit();
 * ```
 */
export class RedisCacheBackend implements CacheBackend, AsyncDisposable {
  #client: IORedisClient;
  // Sends get and set: on the client the backend created, a lone call at once, not held for the auto-pipeline.
  #sender: Sender;
  #prefix: string;
  // Prefixed keys, the same string for a key that repeats: ioredis writes a new concatenation four times slower.
  #fullKeys: PrefixedKeys;
  #allowClearAll: boolean;
  #closed = false;
  // The connection the backend created, which bounds its calls and which close() ends. None for a borrowed client:
  // its options time it, close() leaves it be.
  #connection: Connection | undefined;
  #getFailed = (error: unknown): Promise<never> =>
    Promise.reject(this.#wrap("Cannot get from RedisCacheBackend", error));
  #setFailed = (error: unknown): Promise<never> => Promise.reject(this.#wrap("Cannot set in RedisCacheBackend", error));

  /**
   * Creates a backend; it connects on first use.
   *
   * @param options Options, see {@linkcode RedisCacheBackendOptions}.
   * @throws {TypeError} When an option has the wrong type or an unknown name, a string is ill-formed (a lone
   * surrogate), `prefix` does not end with `":"`, or `client` is combined with connection options.
   * @throws {RangeError} When `timeout` is not a finite number > 0, or over 2^31 − 1 ms (the longest a timer waits).
   * @throws {CacheSettingsValidationError} When the URL or the environment variables are missing or invalid.
   */
  constructor(options: RedisCacheBackendOptions = {}) {
    checkOptions(CREATE, options, KNOWN_OPTIONS);
    const { url, prefix = "", client, timeout, allowClearAll = false, envPrefix, ...ioredisOptions } = options;
    const variables = checkEnvPrefix(CREATE, envPrefix);
    checkString(CREATE, "prefix", prefix);
    if (prefix !== "" && !prefix.endsWith(":")) {
      // Without a closing delimiter one prefix can nest inside another ("app" inside "app2", "tenant1" inside
      // "tenant10"): clear() would delete the other's keys, and a key such as "2:secret" would reach them.
      throw new TypeError(
        `${CREATE}: prefix must end with ":", so that no other prefix can start with it (clear() on "app" would ` +
          `also delete the keys of "app2"): received ${describe(prefix)}; pass ${describe(`${prefix}:`)}`,
      );
    }
    checkBoolean(CREATE, "allowClearAll", allowClearAll);
    this.#prefix = prefix;
    this.#fullKeys = new PrefixedKeys(prefix, FULL_KEYS_MAX);
    this.#allowClearAll = allowClearAll;
    if (client !== undefined) {
      this.#client = checkClient(CREATE, "client (an ioredis Redis or Cluster)", client);
      const extra = [
        ...(url !== undefined ? ["url"] : []),
        ...(timeout !== undefined ? ["timeout"] : []),
        ...(envPrefix !== undefined ? ["envPrefix"] : []),
        ...Object.keys(ioredisOptions),
      ];
      if (extra.length > 0) {
        throw new TypeError(
          `${CREATE}: client cannot be combined with ${extra.join(", ")}: configure the client you pass instead`,
        );
      }
      // The client as its owner configured it.
      this.#sender = new Sender(this.#client);
      return;
    }
    this.#connection = new Connection(CREATE, url, checkTimeout(CREATE, timeout), ioredisOptions, variables);
    this.#client = this.#connection.client;
    const connection = this.#connection;
    this.#sender = new Sender(this.#client, () => connection.lone);
    setCallTracker(this, (reply) => this.#track(reply));
  }

  /** The key prefix. */
  get prefix(): string {
    return this.#prefix;
  }

  /** The key space bus messages name (`redis:` and the prefix), see {@linkcode CacheBackend.scope}. */
  get scope(): string {
    return `redis:${this.#prefix}`;
  }

  /** The ioredis client in use (created or borrowed), for raw commands or a {@linkcode RedisLock}. */
  get client(): RedisClient {
    return this.#client;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Connects now (with `PING`) rather than on first use, to fail early.
   *
   * @throws {CacheError} When the server cannot be reached within the timeout, or the backend is closed.
   */
  async connect(): Promise<void> {
    const context = "Cannot connect RedisCacheBackend";
    this.#checkOpen(context);
    try {
      await this.#track(this.#client.ping());
    } catch (error) {
      throw this.#wrap(context, error);
    }
  }

  /**
   * Reads the bytes under `key`.
   *
   * @param key The key, without the prefix.
   * @returns The bytes, or `undefined` when missing or expired.
   * @throws {TypeError} When `key` is not a string, or is ill-formed (a lone surrogate).
   * @throws {CacheError} When Redis fails or the backend is closed.
   */
  get(key: string): Promise<Uint8Array | undefined> {
    const context = "Cannot get from RedisCacheBackend";
    try {
      checkKey(context, key);
      this.#checkOpen(context);
    } catch (error) {
      return Promise.reject(error);
    }
    // Chained rather than async, with handlers made once.
    let reply: Promise<Buffer | null>;
    try {
      reply = this.#track(this.#sender.getBuffer(this.#fullKeys.of(key)));
    } catch (error) {
      return Promise.reject(this.#wrap(context, error));
    }
    return reply.then(toBytes, this.#getFailed);
  }

  /**
   * Stores `value` under `key` with `SET key value PX ms`, where
   * ms = ceil(ttl × 1000) (at least 1), after rounding ttl to whole
   * microseconds so that float noise (2.007 × 1000 = 2007.0000000000002)
   * never adds a millisecond.
   *
   * @param key The key, without the prefix.
   * @param value The bytes.
   * @param ttl Seconds to live, a finite number > 0, at most 9007199254740.991
   * (2^53 − 1 ms, the longest expiry a JS number holds exactly).
   * @throws {TypeError} When an argument has the wrong type, or `key` is ill-formed (a lone surrogate).
   * @throws {RangeError} When `ttl` is not a finite number > 0, or longer than the maximum.
   * @throws {CacheError} When Redis fails or the backend is closed.
   */
  set(key: string, value: Uint8Array, ttl: number): Promise<void> {
    const context = "Cannot set in RedisCacheBackend";
    try {
      checkKey(context, key);
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(`${context}: value must be a Uint8Array: received ${describe(value)}`);
      }
      this.#checkOpen(context);
    } catch (error) {
      return Promise.reject(error);
    }
    let ms: number;
    try {
      ms = pxOf(context, ttl);
    } catch (error) {
      return Promise.reject(error);
    }
    let reply: Promise<unknown>;
    try {
      reply = this.#track(this.#sender.set(
        this.#fullKeys.of(key),
        Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        ms,
      ));
    } catch (error) {
      return Promise.reject(this.#wrap(context, error));
    }
    return reply.then(ignore, this.#setFailed);
  }

  /**
   * Reads several keys in one round trip: `MGET` (per hash slot on a
   * cluster, concurrently, so no `CROSSSLOT` error reaches the caller; in
   * chunks of 1,000 keys).
   *
   * @param keys The keys, without the prefix.
   * @returns The bytes of each key, aligned with `keys`.
   * @throws {TypeError} When a key is not a well-formed string.
   * @throws {CacheError} When Redis fails or the backend is closed.
   */
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return this.#getMany(keys, false);
  }

  /**
   * getMany() as the client's Buffers, for TTLCache's batch reads (which copy every value out); none when getMany was
   * replaced, so a replacement is always honoured.
   *
   * @ignore
   */
  [SHARED_READS](): SharedReads | undefined {
    if (this.getMany !== RedisCacheBackend.prototype.getMany) return undefined;
    return (keys) => this.#getMany(keys, true);
  }

  async #getMany(keys: readonly string[], shared: boolean): Promise<(Uint8Array | undefined)[]> {
    const context = "Cannot get from RedisCacheBackend";
    // TTLCache checked its keys already (as SyncView's callers do).
    const full = shared ? this.#prefixed(context, keys) : this.#keys(context, keys);
    try {
      return await this.#track(batchGet(this.#client, full, shared));
    } catch (error) {
      throw this.#wrap(context, error);
    }
  }

  /**
   * Stores several entries in one round trip: a pipeline of
   * `SET key value PX ms` (per hash slot on a cluster).
   *
   * @param entries The entries (keys without the prefix), each with its own TTL in seconds.
   * @throws {TypeError} When a field has the wrong type (nothing is sent then).
   * @throws {RangeError} When a `ttl` is out of range (nothing is sent then).
   * @throws {CacheError} When Redis fails or the backend is closed.
   */
  async setMany(entries: readonly BackendEntry[]): Promise<void> {
    const context = "Cannot set in RedisCacheBackend";
    if (!Array.isArray(entries)) {
      throw new TypeError(`${context}: entries must be an array: received ${describe(entries)}`);
    }
    const rows = entries.map(({ key, value, ttl }) => {
      checkKey(context, key);
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(`${context}: value must be a Uint8Array: received ${describe(value)}`);
      }
      return { key: this.#fullKeys.of(key), value, ms: pxOf(context, ttl) };
    });
    this.#checkOpen(context);
    try {
      await this.#track(batchSet(this.#client, rows));
    } catch (error) {
      throw this.#wrap(context, error);
    }
  }

  /**
   * Deletes several keys with one `UNLINK` (per hash slot on a cluster).
   *
   * @param keys The keys, without the prefix; absent ones are ignored.
   * @throws {TypeError} When a key is not a well-formed string.
   * @throws {CacheError} When Redis fails or the backend is closed.
   */
  async deleteMany(keys: readonly string[]): Promise<void> {
    const context = "Cannot delete from RedisCacheBackend";
    const full = this.#keys(context, keys);
    try {
      await this.#track(batchDelete(this.#client, full));
    } catch (error) {
      throw this.#wrap(context, error);
    }
  }

  #prefixed(context: string, keys: readonly string[]): string[] {
    const full = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) full[i] = this.#fullKeys.of(keys[i]);
    this.#checkOpen(context);
    return full;
  }

  #keys(context: string, keys: readonly string[]): string[] {
    if (!Array.isArray(keys)) throw new TypeError(`${context}: keys must be an array: received ${describe(keys)}`);
    for (const key of keys) checkKey(context, key);
    return this.#prefixed(context, keys);
  }

  /**
   * Deletes `key` with `UNLINK`; a no-op when absent.
   *
   * @param key The key, without the prefix.
   * @throws {TypeError} When `key` is not a string, or is ill-formed (a lone surrogate).
   * @throws {CacheError} When Redis fails or the backend is closed.
   */
  async delete(key: string): Promise<void> {
    const context = "Cannot delete from RedisCacheBackend";
    checkKey(context, key);
    this.#checkOpen(context);
    try {
      await this.#track(this.#client.unlink(this.#fullKeys.of(key)));
    } catch (error) {
      throw this.#wrap(context, error);
    }
  }

  /**
   * Deletes every key under the prefix: `SCAN MATCH <prefix>*` (glob
   * characters in the prefix escaped) and `UNLINK` in batches, on every
   * master of a cluster. Keys outside the prefix are never touched, and
   * neither are the locks of a {@linkcode RedisLock}, which live in a key
   * space of their own. Each command is bounded by `timeout`, not the whole
   * `clear()`.
   *
   * @throws {CacheError} When the prefix is empty and `allowClearAll` is not set, when Redis fails, or the
   * backend is closed.
   */
  async clear(): Promise<void> {
    const context = "Cannot clear RedisCacheBackend";
    this.#checkOpen(context);
    if (this.#prefix === "" && !this.#allowClearAll) {
      throw new CacheError(
        `${context}: the prefix is empty, so clear() would delete every key in the database, including keys ` +
          "this cache did not write; give the backend a prefix, or pass allowClearAll: true to wipe the database",
      );
    }
    const pattern = `${escapeGlob(this.#prefix)}*`;
    try {
      const cleared: Promise<unknown> = this.#client.isCluster
        ? masters(this.#client as Cluster).then((nodes) =>
          Promise.all(nodes.map((node) => clearNode(node, pattern, true)))
        )
        : clearNode(this.#client as Redis, pattern, false);
      await this.#track(cleared, false);
    } catch (error) {
      throw this.#wrap(context, error);
    }
  }

  /**
   * Closes the connection this backend created and resolves once it has
   * ended: the calls made before `close()` (even in the same tick) get their
   * replies first, then `QUIT` ends the connection. It takes at most
   * `timeout`: past it, calls still pending fail and the socket is dropped.
   * While the server is unreachable (the client waits to reconnect) it
   * returns at once; afterwards nothing of the backend keeps the process alive.
   * A borrowed `client` stays open. Later calls are no-ops; using the backend
   * afterwards throws a `CacheError`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#connection?.close();
  }

  /** Closes the backend at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #track<T>(reply: Promise<T>, bounded = true): Promise<T> {
    return this.#connection === undefined ? reply : this.#connection.track(reply, bounded);
  }

  #checkOpen(context: string): void {
    if (this.#closed) throw new CacheError(`${context}: the backend is closed`);
    // While the client it owns waits to reconnect, the server is known to be
    // unreachable: fail at once instead of queueing until the next attempt,
    // so a fail-open caller computes without waiting.
    if (this.#connection !== undefined && this.#client.status === "reconnecting") {
      throw this.#wrap(context, new Error("the Redis server is unreachable (reconnecting)"));
    }
  }

  #wrap(context: string, error: unknown): CacheError {
    return this.#connection === undefined ? wrapError(context, error) : this.#connection.failure(context, error);
  }
}

function ignore(): void {}

// PX of a TTL in seconds: ceil(ttl × 1000) after rounding to whole microseconds,
// so float noise (2.007 × 1000 = 2007.0000000000002) never adds a millisecond.
function pxOf(context: string, ttl: number): number {
  checkTtl(context, "ttl", ttl);
  const ms = Math.max(1, Math.ceil(Math.round(ttl * 1e6) / 1e3));
  if (ms > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `${context}: ttl must be at most ${MAX_TTL_SECONDS} seconds (2^53 - 1 ms, the longest expiry sent ` +
        `exactly): received ${describe(ttl)}`,
    );
  }
  return ms;
}

function toBytes(value: Buffer | null): Uint8Array | undefined {
  return value === null ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Escapes the characters `SCAN MATCH` treats as a glob. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

async function masters(cluster: Cluster): Promise<Redis[]> {
  // A cluster learns its nodes on connect; until then nodes() is empty.
  if (cluster.nodes("master").length === 0) await cluster.ping();
  const nodes = cluster.nodes("master");
  if (nodes.length === 0) throw new CacheError("the cluster reports no master nodes");
  return nodes;
}

async function clearNode(node: Redis, pattern: string, cluster: boolean): Promise<void> {
  let cursor = "0";
  do {
    const [next, found] = await node.scanBuffer(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
    cursor = next.toString();
    // Only an empty prefix's pattern ("*") can match a lock key.
    const keys = pattern === "*" ? found.filter((key) => key[0] !== LOCK_KEY_SPACE) : found;
    if (keys.length === 0) continue;
    if (cluster) {
      // Multi-key commands need every key in one hash slot; a pipeline of
      // single-key UNLINKs to the node that owns them needs one round trip.
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.unlink(key);
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error !== null);
      if (failed) throw failed[0];
    } else {
      await node.unlink(...keys);
    }
  } while (cursor !== "0");
}
