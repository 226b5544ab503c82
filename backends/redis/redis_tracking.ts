// RedisTracking: Redis server-assisted invalidation (CLIENT TRACKING, BCAST)
// as an invalidation source for a two-tier cache (exported by ./mod.ts).
import { Buffer } from "node:buffer";
import type { Redis } from "ioredis";
import type { BusSubscriber, InvalidationBus } from "../../bus.ts";
import { CacheError } from "../../errors.ts";
import { encodeMessages } from "../../_bus_message.ts";
import { checkDuration, checkMethods, checkOptions, describe } from "../../_validate.ts";
import { endClient, unrefTimer } from "./_client.ts";
import { checkTimeout } from "./_connection.ts";
import { RedisCacheBackend } from "./redis_cache_backend.ts";

/** Options of {@linkcode RedisTracking}. */
export interface RedisTrackingOptions {
  /**
   * Milliseconds within which connecting, turning tracking on and each
   * health check must answer; past it the connections are dropped and made
   * again (`down()`, then `up()`). `close()` takes at most this long.
   *
   * @default {1000}
   */
  timeout?: number;
  /**
   * Milliseconds between two health checks (`PING` on the invalidation
   * connection, `CLIENT TRACKINGINFO` on the other): how long a connection
   * that died silently (a network cut no socket noticed) goes unnoticed, at
   * most, plus `timeout`.
   *
   * @default {1000}
   */
  checkInterval?: number;
}

const CREATE = "Cannot create RedisTracking";
const CHANNEL = "__redis__:invalidate";
const KNOWN_OPTIONS = ["timeout", "checkInterval"];
const SUBSCRIBER_METHODS = ["message", "down", "up"] as const;
const MIN_RETRY_MS = 50;
// As the backend's own reconnects (_connection.ts): invalidations are heard again soon after the server returns.
const MAX_RETRY_MS = 250;

/** Where the tracking stands. */
type State = "idle" | "up" | "down";

/** One pair of connections: invalidations arrive on `subscriber`, `control` has tracking on. */
interface Session {
  readonly subscriber: Redis;
  readonly control: Redis;
  id: string | undefined;
  dead: boolean;
  check: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Redis server-assisted invalidation for a cache's in-process tier: the
 * server itself reports every change of a key under the backend's prefix,
 * whoever made it (cachet in any process, another program, `redis-cli`, a
 * migration), and the cache drops its copies of the keys reported. Plug it in
 * where a bus goes: `new TTLCache({ backend, l1, bus: new RedisTracking(backend) })`.
 *
 * How: two connections of its own to the backend's server (RESP2). One
 * subscribes to `__redis__:invalidate`; the other runs
 * `CLIENT TRACKING on REDIRECT <first's id> BCAST PREFIX <prefix>`. BCAST
 * (broadcast) mode reports every key under the prefix: the server keeps no
 * per-key table, so its memory does not grow with what the readers read, and
 * no read needs a second command to be tracked (the default and OPTIN modes
 * track only keys read on the tracking connection itself, which are the
 * backend's reads here). A reported key is delivered to the cache as both a
 * key and a record (cachet's tag and namespace records are keys under the
 * prefix too), so tag and namespace invalidations by caches with no bus at
 * all reach it; `FLUSHDB` and `FLUSHALL` drop the whole tier.
 *
 * Own writes: tracking is per connection and its connection writes nothing,
 * so the cache hears its own writes as well (so caches sharing one backend
 * in one process hear each other): a write costs the writer one re-read of
 * that key. `NOLOOP` would exclude only the tracking connection's own writes,
 * so it is not used.
 *
 * Faults: when either connection is lost (server down, network cut,
 * `CLIENT KILL`) or fails a health check, subscribers are told `down()`, the
 * pair is made again (new client id, `SUBSCRIBE`, tracking on with the new
 * redirect), and only then `up()`, on which a cache drops its whole tier.
 * Before tracking is on for the first time subscribers are down too: a new
 * subscriber is told `down()` at once, then `up()`.
 *
 * The server's key space is one for all databases: writes to a key of the
 * same name in another database, and a `FLUSHDB` of any database, evict here
 * too (more re-reads, never a stale copy). A Redis Cluster is refused for
 * now (tracking would have to run on every node).
 *
 * Liveness: the two connections keep the process alive from the first
 * `subscribe()` until `close()` (its timers do not); an unsubscribed
 * subscriber does not close them. Call `close()` or use `await using`.
 *
 * @example A write by another client evicts the l1 copy
 * ```ts
 * import assert from "node:assert/strict";
 * import { Redis } from "ioredis";
 * import { TTLCache } from "@cachet/cachet";
 * import { RedisCacheBackend, RedisTracking } from "@cachet/cachet/redis";
 *
 * const prefix = `docs:${crypto.randomUUID()}:`;
 * const backend = new RedisCacheBackend({ url: "redis://127.0.0.1:6379", prefix });
 * const tracking = new RedisTracking(backend);
 * const cache = new TTLCache({ backend, bus: tracking, l1: { maxSize: 100 } });
 * await tracking.subscribed();
 * await cache.set("k", new Uint8Array([1]), 30);
 * assert.deepEqual(await cache.get("k"), new Uint8Array([1]));
 * // Another program deletes the key: the server tells this process, which drops its copy within milliseconds.
 * const other = new Redis("redis://127.0.0.1:6379");
 * await other.del(`${prefix}k`);
 * for (let i = 0; i < 100 && (await cache.get("k")) !== undefined; i++) {
 *   await new Promise((resolve) => setTimeout(resolve, 10));
 * }
 * assert.equal(await cache.get("k"), undefined);
 * other.disconnect();
 * await cache.close();
 * await tracking.close();
 * await backend.close();
 * ```
 */
export class RedisTracking implements InvalidationBus, AsyncDisposable {
  readonly #client: Redis;
  readonly #prefix: Buffer;
  readonly #scope: string;
  // Messages come from the server, never from a cache: an id no cache has.
  readonly #sender = `redis-tracking:${crypto.randomUUID()}`;
  readonly #timeoutMs: number;
  readonly #intervalMs: number;
  readonly #subscribers = new Set<BusSubscriber>();
  #session: Session | undefined;
  #state: State = "idle";
  #failures = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #settled: Promise<void> | undefined;
  #markSettled: (() => void) | undefined;
  #closed = false;
  // Whether the server has CLIENT TRACKINGINFO (checked by the health check until it says otherwise).
  #trackingInfo = true;

  /**
   * Creates the tracking; it connects on the first `subscribe()`.
   *
   * @param backend The {@linkcode RedisCacheBackend} whose server and prefix are tracked (its client's options
   * are reused for the two connections; its own client is not used).
   * @param options See {@linkcode RedisTrackingOptions}.
   * @throws {TypeError} When `backend` is not a `RedisCacheBackend`, is over a Redis Cluster, or an option has the
   * wrong type or an unknown name.
   * @throws {RangeError} When `timeout` or `checkInterval` is not a finite number > 0, or over 2^31 − 1 ms.
   */
  constructor(backend: RedisCacheBackend, options: RedisTrackingOptions = {}) {
    if (!(backend instanceof RedisCacheBackend)) {
      throw new TypeError(`${CREATE}: backend must be a RedisCacheBackend: received ${describe(backend)}`);
    }
    checkOptions(CREATE, options, KNOWN_OPTIONS);
    const { timeout, checkInterval } = options;
    if (backend.client.isCluster) {
      throw new TypeError(
        `${CREATE}: a Redis Cluster backend is not supported yet (tracking would have to run on every node); ` +
          "use RedisBus, or a standalone server",
      );
    }
    this.#timeoutMs = checkTimeout(CREATE, timeout);
    this.#intervalMs = checkInterval === undefined
      ? 1_000
      : Math.ceil(checkDuration(CREATE, "checkInterval", checkInterval));
    this.#client = backend.client as Redis;
    this.#prefix = Buffer.from(backend.prefix, "utf8");
    this.#scope = backend.scope;
  }

  /** Whether tracking is on and invalidations are delivered: `false` before, while down, and once closed. */
  get connected(): boolean {
    return this.#state === "up" && !this.#closed;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves once tracking was first turned on (or failed to, reported as
   * `down()`); at once before the first `subscribe()`.
   *
   * @returns A Promise that resolves when the first attempt settled.
   */
  subscribed(): Promise<void> {
    return this.#settled ?? Promise.resolve();
  }

  /**
   * Nothing to send: the server reports every write itself. Resolves at once.
   *
   * @param message A cache's message (ignored).
   * @returns A resolved Promise.
   * @throws {TypeError} When `message` is not a `Uint8Array` (as a rejection).
   */
  publish(message: Uint8Array): Promise<void> {
    if (!(message instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(`Cannot publish on RedisTracking: message must be a Uint8Array: received ${describe(message)}`),
      );
    }
    return Promise.resolve();
  }

  /**
   * Delivers the server's invalidations to `subscriber` as bus messages over
   * the backend's scope, and tells it when they may be lost (`down()`, at
   * once while tracking is not on yet) and when they are delivered again
   * (`up()`). The first call opens the connections.
   *
   * @param subscriber Told every invalidation and every loss or return of tracking.
   * @returns A function that stops the delivery to `subscriber` (idempotent).
   * @throws {TypeError} When `subscriber` lacks a `message`, `down` or `up` method.
   * @throws {CacheError} When the tracking is closed.
   */
  subscribe(subscriber: BusSubscriber): () => void {
    const context = "Cannot subscribe to RedisTracking";
    checkMethods(context, "subscriber", subscriber, SUBSCRIBER_METHODS);
    if (this.#closed) throw new CacheError(`${context}: it is closed`);
    const entry: BusSubscriber = {
      message: (bytes) => subscriber.message(bytes),
      down: () => subscriber.down(),
      up: () => subscriber.up(),
    };
    this.#subscribers.add(entry);
    if (this.#state !== "up") entry.down();
    if (this.#state === "idle") {
      this.#state = "down";
      this.#settled = new Promise((resolve) => {
        this.#markSettled = resolve;
      });
      this.#start();
    }
    return () => {
      this.#subscribers.delete(entry);
    };
  }

  /**
   * Stops delivery at once and ends both connections, within `timeout` (at
   * once while the server is unreachable). Afterwards nothing of it keeps the
   * process alive. Later calls are no-ops.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscribers.clear();
    this.#markSettled?.();
    clearTimeout(this.#retry);
    const session = this.#session;
    this.#session = undefined;
    if (session === undefined) return;
    session.dead = true;
    clearTimeout(session.check);
    await Promise.all([
      endClient(session.subscriber, this.#timeoutMs),
      endClient(session.control, this.#timeoutMs),
    ]);
  }

  /** Closes the tracking at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // Opens a new pair of connections and turns tracking on; up() once the server confirmed it.
  async #start(): Promise<void> {
    const connection = (): Redis => {
      const client = this.#client.duplicate({
        lazyConnect: true,
        // Reconnecting is done here, as a pair: a new subscriber has a new id, which tracking must redirect to.
        retryStrategy: () => null,
        autoResubscribe: false,
        enableAutoPipelining: false,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: true,
        // A client passed to the backend may carry one; the channel and the tracked prefix are exact.
        keyPrefix: "",
        connectTimeout: this.#timeoutMs,
        disconnectTimeout: 0,
        // RESP2 on both, whatever the client's: ioredis 6 speaks RESP3 by default, where the server sends a redirected
        // invalidation as an "invalidate" push, which ioredis drops, instead of a message on __redis__:invalidate (and
        // CLIENT TRACKINGINFO answers a map). ioredis 5 has no such option and ignores it.
        ...({ protocol: 2 } as object),
      });
      // Without a listener ioredis logs every error; a failure shows as a lost session.
      client.on("error", () => {});
      client.on("close", () => this.#lost(session));
      client.on("end", () => this.#lost(session));
      return client;
    };
    const session: Session = {
      subscriber: connection(),
      control: connection(),
      id: undefined,
      dead: false,
      check: undefined,
    };
    this.#session = session;
    session.subscriber.on("messageBuffer", (channel: Buffer, keys: unknown) => {
      if (!session.dead && channel.toString() === CHANNEL) this.#deliver(keys);
    });
    try {
      const id = String(await this.#bounded(session.subscriber.client("ID")));
      await this.#bounded(session.subscriber.subscribe(CHANNEL));
      const prefix = this.#prefix.length === 0 ? [] : ["PREFIX", this.#prefix];
      await this.#bounded(session.control.call("CLIENT", "TRACKING", "on", "REDIRECT", id, "BCAST", ...prefix));
      if (session.dead) return;
      session.id = id;
    } catch {
      this.#lost(session);
      return;
    }
    this.#failures = 0;
    this.#state = "up";
    this.#markSettled?.();
    for (const subscriber of this.#subscribers) subscriber.up();
    this.#scheduleCheck(session);
  }

  // The server's invalidation: keys (Buffers) under the prefix, or null for a flush.
  #deliver(keys: unknown): void {
    const names = this.#names(keys);
    if (names?.length === 0) return;
    const what = names === undefined ? { all: true } : { keys: names, records: names };
    const messages = encodeMessages(this.#sender, this.#scope, what);
    for (const subscriber of this.#subscribers) {
      for (const message of messages) subscriber.message(message);
    }
  }

  // The backend keys reported, without the prefix; undefined for "everything" (a flush, or anything unexpected:
  // the reply is untrusted, and evicting too much only costs re-reads).
  #names(keys: unknown): string[] | undefined {
    if (!Array.isArray(keys)) return undefined;
    const prefix = this.#prefix;
    const names: string[] = [];
    for (const key of keys) {
      if (!Buffer.isBuffer(key)) return undefined;
      // Compared as bytes; a key that is not UTF-8 (never one of cachet's) decodes to an extra, harmless eviction.
      if (key.length >= prefix.length && prefix.equals(key.subarray(0, prefix.length))) {
        names.push(key.toString("utf8", prefix.length));
      }
    }
    return names;
  }

  #scheduleCheck(session: Session): void {
    session.check = setTimeout(() => this.#check(session), this.#intervalMs);
    unrefTimer(session.check);
  }

  // Both connections answer, and the server still redirects this client's invalidations to the subscriber.
  async #check(session: Session): Promise<void> {
    if (session.dead) return;
    try {
      const [, info] = await Promise.all([
        this.#bounded(session.subscriber.ping()),
        this.#trackingInfo
          ? this.#bounded(session.control.call("CLIENT", "TRACKINGINFO")).catch((error: Error) => {
            // Redis 6.0 has no TRACKINGINFO (6.2+): the server answered, so the connection is alive; PING from now on.
            if (error?.name !== "ReplyError") throw error;
            this.#trackingInfo = false;
          })
          : this.#bounded(session.control.ping()),
      ]);
      if (Array.isArray(info) && !redirects(info, session.id!)) {
        throw new Error(`the server no longer redirects invalidations (CLIENT TRACKINGINFO: ${JSON.stringify(info)})`);
      }
    } catch {
      this.#lost(session);
      return;
    }
    if (!session.dead) this.#scheduleCheck(session);
  }

  // Either connection of `session` is gone or failed: down(), drop both, try again after a pause.
  #lost(session: Session): void {
    if (session.dead) return;
    session.dead = true;
    clearTimeout(session.check);
    session.subscriber.disconnect();
    session.control.disconnect();
    if (this.#session === session) this.#session = undefined;
    if (this.#closed) return;
    const wasUp = this.#state === "up";
    this.#state = "down";
    this.#markSettled?.();
    if (wasUp) { for (const subscriber of this.#subscribers) subscriber.down(); }
    const delay = Math.min(MIN_RETRY_MS * 2 ** this.#failures, MAX_RETRY_MS);
    this.#failures++;
    this.#retry = setTimeout(() => {
      if (!this.#closed) this.#start();
    }, delay);
    // A tracking that is down does not keep the process alive by its own retries.
    unrefTimer(this.#retry);
  }

  // Settles as `reply`, or fails past the timeout (an unref'd timer: a check never keeps the process alive).
  #bounded<T>(reply: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      unrefTimer(timer);
      reply.then((value) => {
        clearTimeout(timer);
        resolve(value);
      }, (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }
}

// Whether a CLIENT TRACKINGINFO reply says tracking is on and redirected to `id`, a client that still exists.
function redirects(info: unknown[], id: string): boolean {
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
  const flags = fields.get("flags");
  if (!Array.isArray(flags)) return false;
  const names = flags.map(String);
  return names.includes("on") && !names.includes("broken_redirect") && String(fields.get("redirect")) === id;
}
