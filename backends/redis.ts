/**
 * A Redis backend on [ioredis](https://github.com/redis/ioredis), for caches
 * shared between processes, plus {@linkcode RedisLock}, a distributed lock
 * for `cached({ lock })`. Server-side only (Deno, Node, Bun).
 *
 * @example Caching in Redis under a prefix
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 * import { RedisCacheBackend } from "@cachet/cachet/redis";
 *
 * await using backend = new RedisCacheBackend({ url: "redis://127.0.0.1:6379", prefix: `docs:${crypto.randomUUID()}:` });
 * const cache = new TTLCache({ backend, serializer: new JsonSerializer() });
 * await cache.set("user:1", { name: "Ada" }, 30);
 * assert((await cache.get("user:1")) !== undefined);
 * await backend.clear();
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import type { Cluster, RedisOptions as IORedisOptions } from "ioredis";
import { CacheError, CacheSettingsValidationError } from "../errors.ts";
import { checkFinite, checkKey, checkOptions, checkTtl, describe } from "../_validate.ts";
import type { CacheBackend } from "../types.ts";
import { readEnv } from "./_env.ts";
import { boundCommands } from "./_command_deadline.ts";
import { checkClient, type IORedisClient, type RedisClient, settlesWithin, wrapError } from "./_redis_client.ts";

export { RedisLock } from "./redis_lock.ts";
export type { RedisLockOptions } from "./redis_lock.ts";
export type { RedisClient } from "./_redis_client.ts";

/** The options of an ioredis `Redis` client (`tls`, `username`, `connectionName`, `retryStrategy`, …). */
export type RedisOptions = IORedisOptions;

/**
 * Options of {@linkcode RedisCacheBackend}. Any other property is an ioredis
 * option (`tls`, `username`, `connectionName`, `retryStrategy`, …) passed to
 * the client the backend creates; it overrides the defaults listed here and
 * the backend's own: `lazyConnect: true`, `enableAutoPipelining: true`,
 * `maxRetriesPerRequest: 0`, a reconnect delay of at most 1 s, and the command
 * timeout of `timeout` (an ioredis `commandTimeout` given here replaces it).
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
   * Prepended to every key, so caches sharing a server stay apart and
   * `clear()` deletes only this backend's keys.
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
   * Milliseconds after which connecting or a command fails with a
   * `CacheError` (ioredis `connectTimeout`; a command without a reply fails
   * between `timeout` minus a tenth of it (at most 100 ms) and `timeout` after
   * it was issued, checked by one timer rather than ioredis' `commandTimeout`
   * timer per command). Commands
   * issued while the server is unreachable fail at the next failed reconnect
   * attempt (at most 1 s apart), or after this timeout, whichever is first.
   *
   * @default {5000}
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
const DEFAULT_TIMEOUT_MS = 5_000;
const MAX_RECONNECT_DELAY_MS = 1_000;
const SCAN_COUNT = 1_000;
const DIRECT_KEYS = ["host", "port", "path", "sentinels"] as const;
// Redis accepts PX up to about 2^63 ms; beyond 2^53 a number loses integer precision.
const MAX_PX = Number.MAX_SAFE_INTEGER;

/**
 * Stores bytes in Redis with a native per-key expiry (`SET key value PX ms`).
 * Every key is prefixed; `clear()` deletes only keys under the prefix (with
 * `SCAN` and batched `UNLINK`, on every master of a cluster) and refuses to
 * run with an empty prefix unless `allowClearAll` is set.
 *
 * The client the backend creates connects on first use, never hangs: commands
 * fail with a `CacheError` within `timeout` while the server is unreachable,
 * and work again once it is back. Close the backend (`close()` or
 * `await using`) to end its connection.
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
  #owned: boolean;
  #prefix: string;
  #allowClearAll: boolean;
  #closed = false;
  #timeoutMs = DEFAULT_TIMEOUT_MS;
  #lastConnectionError: Error | undefined;
  #getFailed = (error: unknown): Promise<never> =>
    Promise.reject(this.#wrap("Cannot get from RedisCacheBackend", error));
  #setFailed = (error: unknown): Promise<never> => Promise.reject(this.#wrap("Cannot set in RedisCacheBackend", error));

  /**
   * Creates a backend; it connects on first use.
   *
   * @param options Options, see {@linkcode RedisCacheBackendOptions}.
   * @throws {TypeError} When an option has the wrong type, or `client` is combined with connection options.
   * @throws {RangeError} When `timeout` is not a finite number > 0.
   * @throws {CacheSettingsValidationError} When the URL or the environment variables are missing or invalid.
   */
  constructor(options: RedisCacheBackendOptions = {}) {
    checkOptions(CREATE, options);
    const { url, prefix = "", client, timeout, allowClearAll = false, ...ioredisOptions } = options;
    if (typeof prefix !== "string") {
      throw new TypeError(`${CREATE}: prefix must be a string: received ${describe(prefix)}`);
    }
    if (typeof allowClearAll !== "boolean") {
      throw new TypeError(`${CREATE}: allowClearAll must be a boolean: received ${describe(allowClearAll)}`);
    }
    this.#prefix = prefix;
    this.#allowClearAll = allowClearAll;
    if (client !== undefined) {
      this.#client = checkClient(CREATE, "client (an ioredis Redis or Cluster)", client);
      const extra = [
        ...(url !== undefined ? ["url"] : []),
        ...(timeout !== undefined ? ["timeout"] : []),
        ...Object.keys(ioredisOptions),
      ];
      if (extra.length > 0) {
        throw new TypeError(
          `${CREATE}: client cannot be combined with ${extra.join(", ")}: configure the client you pass instead`,
        );
      }
      this.#owned = false;
      return;
    }
    const timeoutMs = timeout === undefined
      ? DEFAULT_TIMEOUT_MS
      : Math.ceil(checkFinite(CREATE, "timeout", timeout, "milliseconds"));
    this.#timeoutMs = timeoutMs;
    const defaults: RedisOptions = {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      // Commands issued in the same tick share one write to the socket: more
      // throughput with many concurrent callers.
      enableAutoPipelining: true,
      // Reject queued commands at every failed reconnect attempt instead of
      // holding them until the server returns.
      maxRetriesPerRequest: 0,
      retryStrategy: (times: number) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
    };
    // Connection options given the ioredis way (host, port, path, sentinels) stand in for the url.
    const direct = url === undefined && DIRECT_KEYS.some((key) => ioredisOptions[key] !== undefined);
    const target = direct ? {} : resolveTarget(url);
    const redis = typeof target === "string"
      ? new Redis(target, { ...defaults, ...ioredisOptions })
      : new Redis({ ...defaults, ...target, ...ioredisOptions });
    // Without a listener ioredis logs every failed reconnect attempt; keep the
    // last one to explain the next command failure instead.
    redis.on("error", (error: Error) => {
      this.#lastConnectionError = error;
    });
    redis.on("ready", () => {
      this.#lastConnectionError = undefined;
    });
    // A command timeout without ioredis' timer per command (unless the caller asked for ioredis' own).
    if (ioredisOptions.commandTimeout === undefined) boundCommands(redis, timeoutMs);
    this.#client = redis;
    this.#owned = true;
  }

  /** The key prefix. */
  get prefix(): string {
    return this.#prefix;
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
      await this.#client.ping();
    } catch (error) {
      throw this.#wrap(context, error);
    }
  }

  /**
   * Reads the bytes under `key`.
   *
   * @param key The key, without the prefix.
   * @returns The bytes, or `undefined` when missing or expired.
   * @throws {TypeError} When `key` is not a string.
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
    // Chained rather than async, with handlers made once: one promise and no closure per command.
    let reply: Promise<Buffer | null>;
    try {
      reply = this.#client.getBuffer(this.#prefix + key);
    } catch (error) {
      return Promise.reject(this.#wrap(context, error));
    }
    return reply.then(toBytes, this.#getFailed);
  }

  /**
   * Stores `value` under `key` with `SET key value PX ms`, where
   * ms = ceil(ttl × 1000) (at least 1).
   *
   * @param key The key, without the prefix.
   * @param value The bytes.
   * @param ttl Seconds to live, a finite number > 0.
   * @throws {TypeError} When an argument has the wrong type.
   * @throws {RangeError} When `ttl` is not a finite number > 0.
   * @throws {CacheError} When Redis fails or the backend is closed.
   */
  set(key: string, value: Uint8Array, ttl: number): Promise<void> {
    const context = "Cannot set in RedisCacheBackend";
    try {
      checkKey(context, key);
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(`${context}: value must be a Uint8Array: received ${describe(value)}`);
      }
      checkTtl(context, "ttl", ttl);
      this.#checkOpen(context);
    } catch (error) {
      return Promise.reject(error);
    }
    const ms = Math.min(Math.max(1, Math.ceil(ttl * 1000)), MAX_PX);
    let reply: Promise<unknown>;
    try {
      reply = this.#client.set(
        this.#prefix + key,
        Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        "PX",
        ms,
      );
    } catch (error) {
      return Promise.reject(this.#wrap(context, error));
    }
    return reply.then(ignore, this.#setFailed);
  }

  /**
   * Deletes `key` with `UNLINK`; a no-op when absent.
   *
   * @param key The key, without the prefix.
   * @throws {TypeError} When `key` is not a string.
   * @throws {CacheError} When Redis fails or the backend is closed.
   */
  async delete(key: string): Promise<void> {
    const context = "Cannot delete from RedisCacheBackend";
    checkKey(context, key);
    this.#checkOpen(context);
    try {
      await this.#client.unlink(this.#prefix + key);
    } catch (error) {
      throw this.#wrap(context, error);
    }
  }

  /**
   * Deletes every key under the prefix: `SCAN MATCH <prefix>*` (glob
   * characters in the prefix escaped) and `UNLINK` in batches, on every
   * master of a cluster. Keys outside the prefix are never touched.
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
      if (this.#client.isCluster) {
        await Promise.all((await masters(this.#client as Cluster)).map((node) => clearNode(node, pattern, true)));
      } else {
        await clearNode(this.#client as Redis, pattern, false);
      }
    } catch (error) {
      throw this.#wrap(context, error);
    }
  }

  /**
   * Closes the connection this backend created (waiting for pending replies)
   * and resolves once it has ended;
   * a borrowed `client` stays open. Later calls are no-ops; using the backend
   * afterwards throws a `CacheError`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#owned) return;
    const client = this.#client as Redis;
    // A client between reconnect attempts has no socket left to end: it never emits "end".
    const ended = client.status === "reconnecting" || client.status === "end"
      ? undefined
      : new Promise((resolve) => client.once("end", resolve));
    try {
      if (client.status === "ready") await client.quit();
    } catch {
      // The server is gone; disconnecting below is all that is left to do.
    } finally {
      client.disconnect();
    }
    if (ended !== undefined) await settlesWithin(ended, this.#timeoutMs);
  }

  /** Closes the backend at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #checkOpen(context: string): void {
    if (this.#closed) throw new CacheError(`${context}: the backend is closed`);
  }

  #wrap(context: string, error: unknown): CacheError {
    return wrapError(context, error, this.#lastConnectionError);
  }
}

function ignore(): void {}

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
    const [next, keys] = await node.scanBuffer(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
    cursor = next.toString();
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

type Target = string | { host?: string; port?: number; db?: number; password?: string };

/** Hides the password of a URL before it goes into an error message. */
function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, "$1***@");
}

function checkUrl(name: string, value: string, fix: string): string {
  const schemeOk = /^rediss?:\/\//i.test(value);
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    // Reported below.
  }
  if (!schemeOk || parsed === undefined || parsed.hostname === "") {
    throw new CacheSettingsValidationError(
      `${CREATE}: ${name} must be a redis:// or rediss:// URL such as redis://localhost:6379/0: received ${
        describe(redact(value))
      }; ${fix}`,
    );
  }
  const db = decodeURIComponent(parsed.pathname.slice(1));
  if (db !== "" && !/^\d+$/.test(db)) {
    throw new CacheSettingsValidationError(
      `${CREATE}: the database in ${name} must be a non-negative integer (the path, as in redis://localhost:6379/0): ` +
        `received ${describe(db)}; ${fix}`,
    );
  }
  return value;
}

function resolveTarget(url: unknown): Target {
  if (url !== undefined) {
    if (typeof url !== "string") {
      throw new TypeError(`${CREATE}: url must be a string: received ${describe(url)}`);
    }
    return checkUrl("url", url, "fix the url option");
  }
  // An empty variable counts as unset. (On Deno, ioredis itself needs --allow-env to load.)
  const env = (name: string): string | undefined => readEnv(name) || undefined;
  const envUrl = env("REDIS_URL");
  const host = env("REDIS_HOST");
  if (envUrl !== undefined && host !== undefined) {
    throw new CacheSettingsValidationError(
      `${CREATE}: both REDIS_URL and REDIS_HOST are set; unset one of them: REDIS_URL alone, or REDIS_HOST ` +
        "with REDIS_PORT, REDIS_DB and REDIS_PASSWORD",
    );
  }
  if (envUrl !== undefined) return checkUrl("REDIS_URL", envUrl, "fix the REDIS_URL environment variable");
  if (host === undefined) {
    throw new CacheSettingsValidationError(
      `${CREATE}: no Redis server configured; pass the url option, or set REDIS_URL (for example ` +
        "redis://localhost:6379/0), or REDIS_HOST with optional REDIS_PORT (6379), REDIS_DB (0) and REDIS_PASSWORD",
    );
  }
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env(name);
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!(value >= min && value <= max)) {
      throw new CacheSettingsValidationError(
        `${CREATE}: ${name} must be an integer from ${min} to ${max}: received ${describe(raw)}; fix or unset it ` +
          `(default ${fallback})`,
      );
    }
    return value;
  };
  const port = integer("REDIS_PORT", 6379, 1, 65_535);
  const db = integer("REDIS_DB", 0, 0, Number.MAX_SAFE_INTEGER);
  const password = env("REDIS_PASSWORD");
  return password === undefined ? { host, port, db } : { host, port, db, password };
}
