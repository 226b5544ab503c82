// RedisLock: a distributed lock on Redis (exported by ./mod.ts).
import { Buffer } from "node:buffer";
import type { CacheLock } from "../../cache_lock.ts";
import { CacheError, CacheTimeoutError } from "../../errors.ts";
import { KeyLock } from "../../_key_lock.ts";
import { beforeDeadline } from "../../_deadline.ts";
import { checkDuration, checkFinite, checkKey, checkOptions, checkString, describe } from "../../_validate.ts";
import {
  checkClient,
  type IORedisClient,
  LOCK_KEY_SPACE,
  type RedisClient,
  trackCall,
  unrefTimer,
  wrapError,
} from "./_client.ts";

/** Options of {@linkcode RedisLock}. All durations are in milliseconds. */
export interface RedisLockOptions {
  /**
   * Prepended to the lock name (after the backend's prefix, when the lock is
   * made from a `RedisCacheBackend`). The Redis key is the byte 0xFF followed
   * by that text in UTF-8: a key space no cache key can enter, so a backend's
   * `clear()` never deletes a lock.
   *
   * @default {"lock:"}
   */
  prefix?: string;
  /**
   * How long the lock outlives a holder that stops renewing it (a crashed
   * process). While `fn` runs, the lease is renewed every third of it.
   *
   * @default {10000}
   */
  lease?: number;
  /**
   * How long `withLock` waits to acquire the lock before it rejects with a
   * `CacheError`.
   *
   * @default {10000}
   */
  waitTimeout?: number;
  /**
   * Pause between attempts while another process holds the lock (each pause
   * randomized by ±50 %).
   *
   * @default {50}
   */
  retryInterval?: number;
}

/** Anything with the ioredis client a lock can use: a `RedisCacheBackend`. */
interface HasClient {
  readonly client: RedisClient;
  readonly prefix: string;
  readonly closed?: boolean;
}

const CREATE = "Cannot create RedisLock";
// Even with no wait left (waitTimeout 0), one attempt gets this long for Redis's reply.
const MIN_REPLY_MS = 50;
const ACQUIRE = "Cannot acquire RedisLock";
const OPTIONS = ["prefix", "lease", "waitTimeout", "retryInterval"];
const LOCK_KEY_START = Buffer.of(LOCK_KEY_SPACE);
// Deletes or extends the lock only while it still holds this holder's token,
// so a holder whose lease ran out never touches the next holder's lock.
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const EXTEND =
  `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

/**
 * A distributed lock on Redis for `cached({ lock })` and any critical section
 * shared by several processes.
 *
 * It acquires with `SET key token NX PX lease`, renews the lease while `fn`
 * runs, and releases with a compare-and-delete script, so a process never
 * releases a lock another process holds. Renewals and the release run in the
 * background: a frozen Redis never holds a caller whose `fn` has finished. Callers in one process queue
 * locally first, so only one of them at a time polls Redis. An acquire that
 * fails (a timeout while Redis stalls) sends a release right behind its
 * `SET`, so a lock the server grants late is freed as soon as it answers
 * rather than held by nobody for the whole lease.
 *
 * Rule for the lease: it bounds how long a crashed holder blocks others, not
 * how long `fn` may run. If the process stalls longer than `lease` (or loses
 * Redis) while `fn` runs, the lock expires and another process may enter.
 *
 * @example Computing once across processes
 * ```ts
 * import assert from "node:assert/strict";
 * import { RedisCacheBackend, RedisLock } from "@cachet/cachet/redis";
 *
 * await using backend = new RedisCacheBackend({ url: "redis://127.0.0.1:6379", prefix: `docs:${crypto.randomUUID()}:` });
 * const lock = new RedisLock(backend, { waitTimeout: 2_000 });
 * let runs = 0;
 * await Promise.all([1, 2, 3].map(() => lock.withLock("report", async () => runs++)));
 * assert(runs === 3); // one at a time
 * ```
 */
export class RedisLock implements CacheLock {
  #client: IORedisClient;
  #prefix: string;
  #lease: number;
  #waitTimeout: number;
  #retryInterval: number;
  #backend: HasClient | undefined;
  #local = new KeyLock();

  /**
   * Creates a lock over a backend's client or an ioredis client (borrowed,
   * never closed by the lock).
   *
   * @param redis A `RedisCacheBackend`, or an ioredis `Redis` or `Cluster`.
   * @param options Options, see {@linkcode RedisLockOptions}.
   * @throws {TypeError} When an argument has the wrong type, an option an unknown name, or `prefix` is
   * ill-formed (a lone surrogate).
   * @throws {RangeError} When a duration is out of range (each at most 2^31 − 1 ms, the longest a timer waits).
   */
  constructor(redis: HasClient | RedisClient, options: RedisLockOptions = {}) {
    checkOptions(CREATE, options, OPTIONS);
    const { prefix = "lock:", lease = 10_000, waitTimeout = 10_000, retryInterval = 50 } = options;
    checkString(CREATE, "prefix", prefix);
    this.#lease = checkMs("lease", lease, 10);
    this.#waitTimeout = checkMs("waitTimeout", waitTimeout, 0);
    this.#retryInterval = checkMs("retryInterval", retryInterval, 1);
    const fromBackend = redis !== null && typeof redis === "object" && "client" in redis && "prefix" in redis;
    if (fromBackend) {
      this.#client = checkClient(CREATE, "redis.client (an ioredis Redis or Cluster)", redis.client);
      checkString(CREATE, "redis.prefix", redis.prefix);
      this.#prefix = `${redis.prefix}${prefix}`;
      this.#backend = redis;
    } else {
      this.#client = checkClient(CREATE, "redis (a RedisCacheBackend, or an ioredis Redis or Cluster)", redis);
      this.#prefix = prefix;
    }
  }

  /**
   * Runs `fn` while holding the lock named `key`, across every process that
   * uses the same Redis and prefix, then releases it.
   *
   * @param key The lock's name.
   * @param fn The critical section.
   * @returns What `fn` resolves to.
   * @throws {TypeError} When `key` is not a string (or is ill-formed: a lone surrogate) or `fn` not a function.
   * @throws {CacheError} When the lock is not acquired within `waitTimeout`, Redis fails while acquiring, or
   * the backend the lock was made from is closed; whatever `fn` throws.
   */
  withLock<R>(key: string, fn: () => Promise<R>): Promise<R> {
    try {
      checkKey(ACQUIRE, key);
      if (typeof fn !== "function") {
        throw new TypeError(`${ACQUIRE}: fn must be a function: received ${describe(fn)}`);
      }
      if (this.#backend?.closed === true) throw new CacheError(`${ACQUIRE} ${describe(key)}: the backend is closed`);
    } catch (error) {
      return Promise.reject(error);
    }
    const name = this.#prefix + key;
    const deadline = performance.now() + this.#waitTimeout;
    // This process's callers of one name queue here, so only the first of them polls Redis.
    return this.#local.withLock(name, () => this.#hold(key, name, deadline, fn), {
      deadline,
      timedOut: () => this.#timeout(key),
    });
  }

  async #hold<R>(key: string, name: string, deadline: number, fn: () => Promise<R>): Promise<R> {
    const redisKey = Buffer.concat([LOCK_KEY_START, Buffer.from(name)]);
    const token = crypto.randomUUID();
    await this.#acquire(key, redisKey, token, deadline);
    const renew = setInterval(() => {
      // A closed backend renews nothing: its connection must end, and the lease frees the lock.
      if (this.#backend?.closed === true) return clearInterval(renew);
      this.#client.eval(EXTEND, 1, redisKey, token, this.#lease).catch(() => {});
    }, Math.max(1, Math.floor(this.#lease / 3)));
    unrefTimer(renew);
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      // In the background: a frozen Redis must not hold the caller, whose value is ready (when the release never
      // arrives, the lease frees the lock). The next holder's SET from this process goes out on the same
      // connection behind it, so Redis still sees the release first.
      void this.#release(redisKey, token);
    }
  }

  async #acquire(key: string, redisKey: Buffer, token: string, deadline: number): Promise<void> {
    for (;;) {
      let reply: string | null;
      try {
        // No reply by the deadline counts as a failure (the server stalls), so acquiring never outlasts waitTimeout.
        reply = await beforeDeadline(
          this.#client.set(redisKey, token, "PX", this.#lease, "NX"),
          Math.max(deadline - performance.now(), MIN_REPLY_MS),
          () => new Error("no reply from Redis within the wait limit"),
        );
      } catch (error) {
        // The SET may still reach the server (a timeout while it stalls, not a refusal): the release queued
        // behind it frees the lock as soon as the server answers, instead of the lease running out.
        void this.#release(redisKey, token);
        if (this.#backend?.closed === true) {
          // Closed while this caller waited: the same words as before it started.
          throw new CacheError(`${ACQUIRE} ${describe(key)}: the backend is closed`, { cause: error });
        }
        throw wrapError(`${ACQUIRE} ${describe(key)}`, error);
      }
      if (reply === "OK") return;
      const left = deadline - performance.now();
      if (left <= 0) throw this.#timeout(key);
      const pause = this.#retryInterval * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
    }
  }

  /** Deletes the lock if it still holds `token`; never rejects. The backend's `close()` waits for it. */
  #release(redisKey: Buffer, token: string): Promise<unknown> {
    try {
      return trackCall(this.#backend, this.#client.eval(RELEASE, 1, redisKey, token)).catch(() => {});
    } catch {
      return Promise.resolve();
    }
  }

  #timeout(key: string): CacheTimeoutError {
    return new CacheTimeoutError(
      `Cannot acquire RedisLock ${describe(key)} within ${this.#waitTimeout} ms: another caller holds it; ` +
        "raise waitTimeout, or keep the work under the lock shorter",
    );
  }
}

function checkMs(name: string, value: unknown, min: number): number {
  checkFinite(CREATE, name, value, "milliseconds", min, true);
  return Math.ceil(checkDuration(CREATE, name, value, true));
}
