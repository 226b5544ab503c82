// RedisBus: the invalidation bus over Redis pub/sub (exported by ./mod.ts).
import { Buffer } from "node:buffer";
import type { Cluster, Redis } from "ioredis";
import type { BusSubscriber, InvalidationBus } from "../../bus.ts";
import { CacheError } from "../../errors.ts";
import { checkKey, checkMethods, checkOptions, describe } from "../../_validate.ts";
import { settlesWithin } from "../../_deadline.ts";
import { endClient, IOREDIS_OPTIONS, type IORedisClient, unrefTimer, wrapError } from "./_client.ts";
import { checkEnvPrefix, checkTimeout, Connection, type RedisOptions } from "./_connection.ts";
import { RedisCacheBackend } from "./redis_cache_backend.ts";

/**
 * Options of {@linkcode RedisBus}. Made from options, the bus creates its
 * connections like a {@linkcode RedisCacheBackend} does (same `url`,
 * environment variables and ioredis options; an unknown name is a
 * `TypeError`). Made from a backend, only `channel` and `timeout` apply.
 */
export interface RedisBusOptions extends RedisOptions {
  /**
   * A `redis://` or `rediss://` URL; when absent (and no ioredis `host`,
   * `port`, `path` or `sentinels` option is given), `REDIS_URL` or
   * `REDIS_HOST` and its companions are read, as for
   * {@linkcode RedisCacheBackend}.
   *
   * @default {undefined}
   */
  url?: string;
  /**
   * Where the environment variables read without `url` start, as for
   * {@linkcode RedisCacheBackend} (`"CACHE_REDIS_"` reads `CACHE_REDIS_URL`, …).
   *
   * @default {"REDIS_"}
   */
  envPrefix?: string;
  /**
   * The pub/sub channel: every bus on this channel (and server or cluster)
   * hears every other.
   *
   * Made from a backend, the default names the backend's prefix (and its
   * database, other than 0), so caches over different prefixes or databases
   * of one server never evict each other's l1 copies.
   *
   * @default {"cachet:bus"} (made from a backend: `"cachet:bus:"` and the backend's prefix; on database n > 0,
   * `"cachet:bus@n:"` and the prefix)
   */
  channel?: string;
  /**
   * Milliseconds after which `publish()` fails with a `CacheError`, and
   * connecting gives up (ioredis `connectTimeout`, when the bus creates its
   * connections). `close()` takes at most this long.
   *
   * @default {1000}
   */
  timeout?: number;
}

const CREATE = "Cannot create RedisBus";
const PUBLISH = "Cannot publish on RedisBus";
const DEFAULT_CHANNEL = "cachet:bus";
const KNOWN_OPTIONS = [...new Set(["url", "channel", "timeout", "envPrefix", ...IOREDIS_OPTIONS])];
const SUBSCRIBER_METHODS = ["message", "down", "up"] as const;

/** Where the subscriber connection stands. */
type State = "idle" | "connecting" | "up" | "down";

/**
 * An {@linkcode InvalidationBus} over Redis pub/sub (`PUBLISH`/`SUBSCRIBE`
 * on one channel), between processes on any number of hosts. On a Redis
 * Cluster, classic pub/sub reaches every node, so buses connected to any
 * node hear each other. Messages stay bytes end to end.
 *
 * Connections: a subscriber connection of its own (a connection in
 * subscribe mode cannot run other commands), opened on the first
 * `subscribe()` and shared by all the bus' subscribers, plus a publisher.
 * Made from options, the bus creates the publisher connection too. Made from a
 * {@linkcode RedisCacheBackend}, it publishes on the backend's client (no
 * extra connection; its timeouts apply too, and publishing fails once the
 * backend is closed), and its subscriber is `client.duplicate()`, a client
 * with the same server and options.
 *
 * Faults: when the subscriber connection is lost (server down, network cut,
 * `CLIENT KILL`), the subscribers are told `down()` and `publish()` fails
 * with a `CacheError` (the cache retries later) until the connection is back
 * and the channel is subscribed again (the `SUBSCRIBE` reply received); then
 * they are told `up()`. A first connection that fails is a `down()` too. On a
 * Cluster, `down()`/`up()` follow the whole cluster's connection; ioredis
 * moves a lost subscription to another node by itself, and messages published
 * during that move are lost without a `down()` (the L1 `ttl` bounds what that
 * costs).
 *
 * Liveness: the subscriber connection keeps the process alive from the first
 * `subscribe()` until `close()` (as does the publisher connection of a bus
 * made from options, once used); an unsubscribed subscriber does not close
 * the connection. Call `close()` or use `await using`.
 *
 * @example Two buses on one server
 * ```ts
 * import assert from "node:assert/strict";
 * import { RedisBus } from "@cachet/cachet/redis";
 *
 * const channel = `docs:${crypto.randomUUID()}`;
 * await using a = new RedisBus({ url: "redis://127.0.0.1:6379", channel });
 * await using b = new RedisBus({ url: "redis://127.0.0.1:6379", channel });
 * const received = new Promise<Uint8Array>((message) => b.subscribe({ message, down() {}, up() {} }));
 * await b.subscribed();
 * await a.publish(new Uint8Array([0, 255]));
 * assert.deepEqual([...await received], [0, 255]);
 * ```
 */
export class RedisBus implements InvalidationBus, AsyncDisposable {
  readonly #channel: string;
  readonly #timeoutMs: number;
  readonly #publisher: IORedisClient;
  // The backend published through, or the connection the bus created (which close() ends).
  readonly #backend: RedisCacheBackend | undefined;
  readonly #connection: Connection | undefined;
  readonly #subscribers = new Set<BusSubscriber>();
  #subscriber: IORedisClient | undefined;
  #state: State = "idle";
  // Bumped at every loss of the connection, so a SUBSCRIBE reply from before it cannot report up().
  #generation = 0;
  // Resolved once the first subscription settled (up or down). Not Promise.withResolvers: Node 20 lacks it.
  #settled: Promise<void> | undefined;
  #markSettled: (() => void) | undefined;
  #lastConnectionError: Error | undefined;
  #closed = false;

  /**
   * Creates a bus; it connects on first use.
   *
   * @param backendOrOptions A {@linkcode RedisCacheBackend} whose server (and client, to publish) the bus uses, or
   * options, see {@linkcode RedisBusOptions}.
   * @param options With a backend: `channel` and `timeout` only.
   * @throws {TypeError} When an option has the wrong type or an unknown name, a string is ill-formed, or connection
   * options are given with a backend.
   * @throws {RangeError} When `timeout` is not a finite number > 0, or over 2^31 − 1 ms (the longest a timer waits).
   * @throws {CacheSettingsValidationError} When the URL or the environment variables are missing or invalid.
   */
  constructor(
    backendOrOptions: RedisCacheBackend | RedisBusOptions = {},
    options?: Pick<RedisBusOptions, "channel" | "timeout">,
  ) {
    const fromBackend = backendOrOptions instanceof RedisCacheBackend;
    const own = fromBackend ? options ?? {} : backendOrOptions;
    if (!fromBackend && options !== undefined) {
      throw new TypeError(`${CREATE}: a second argument is only taken after a RedisCacheBackend`);
    }
    checkOptions(CREATE, own, fromBackend ? ["channel", "timeout"] : KNOWN_OPTIONS);
    const { url, channel, timeout, envPrefix, ...ioredisOptions } = own as RedisBusOptions;
    if (channel !== undefined) checkKey(CREATE, channel, "channel");
    this.#timeoutMs = checkTimeout(CREATE, timeout);
    if (fromBackend) {
      this.#backend = backendOrOptions;
      // Pub/sub channels span every database of a server, so the db is part of the default too (for db 0 it is
      // left out: "cachet:bus@" never starts "cachet:bus:", so the two forms cannot meet).
      const db = (backendOrOptions.client as { options?: { db?: unknown } }).options?.db;
      const scope = typeof db === "number" && db !== 0 ? `@${db}:` : ":";
      this.#channel = channel ?? `${DEFAULT_CHANNEL}${scope}${backendOrOptions.prefix}`;
      this.#publisher = backendOrOptions.client as IORedisClient;
    } else {
      const variables = checkEnvPrefix(CREATE, envPrefix);
      this.#connection = new Connection(CREATE, url, this.#timeoutMs, ioredisOptions, variables);
      this.#channel = channel ?? DEFAULT_CHANNEL;
      this.#publisher = this.#connection.client;
    }
  }

  /** The pub/sub channel. */
  get channel(): string {
    return this.#channel;
  }

  /**
   * Whether the subscriber connection is subscribed and delivers: `false`
   * before the first `subscribe()` completes, while down, and once closed.
   */
  get connected(): boolean {
    return this.#state === "up" && !this.#closed;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves once the first `subscribe()` has subscribed the channel (or
   * failed to, reported as `down()`), so that a message published afterwards
   * is delivered; at once when nothing is subscribed or connecting.
   *
   * @returns A Promise that resolves when the first subscription settled.
   */
  subscribed(): Promise<void> {
    return this.#settled ?? Promise.resolve();
  }

  /**
   * Publishes `message` on the channel (`PUBLISH`), to every subscribed bus,
   * this one included.
   *
   * @param message The bytes to send.
   * @returns A Promise that resolves once Redis has accepted the message.
   * @throws {TypeError} When `message` is not a `Uint8Array` (as a rejection).
   * @throws {CacheError} When the subscriber connection is down, Redis fails or does not answer within `timeout`,
   * or the bus (or the backend it publishes through) is closed (as a rejection).
   */
  async publish(message: Uint8Array): Promise<void> {
    if (!(message instanceof Uint8Array)) {
      throw new TypeError(`${PUBLISH}: message must be a Uint8Array: received ${describe(message)}`);
    }
    if (this.#closed) throw new CacheError(`${PUBLISH}: the bus is closed`);
    if (this.#state === "down") {
      throw wrapError(PUBLISH, new Error("the subscriber connection is down"), this.#lastConnectionError);
    }
    if (this.#backend?.closed === true) throw new CacheError(`${PUBLISH}: the backend it publishes through is closed`);
    const bytes = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      unrefTimer(timer);
    });
    try {
      await Promise.race([this.#publisher.publish(this.#channel, bytes), timedOut]);
    } catch (error) {
      throw this.#connection?.failure(PUBLISH, error) ?? wrapError(PUBLISH, error, this.#lastConnectionError);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Delivers every message on the channel to `subscriber`, and tells it when
   * the subscriber connection is lost (`down()`) and back (`up()`). The first
   * call opens the subscriber connection; {@linkcode RedisBus.subscribed}
   * tells when it listens.
   *
   * @param subscriber Told every message and every loss or return of the connection.
   * @returns A function that stops the delivery to `subscriber` (idempotent).
   * @throws {TypeError} When `subscriber` lacks a `message`, `down` or `up` method.
   * @throws {CacheError} When the bus is closed.
   */
  subscribe(subscriber: BusSubscriber): () => void {
    const context = "Cannot subscribe to RedisBus";
    checkMethods(context, "subscriber", subscriber, SUBSCRIBER_METHODS);
    if (this.#closed) throw new CacheError(`${context}: the bus is closed`);
    // The same subscriber twice is told everything twice, as two caches would be.
    const entry: BusSubscriber = {
      message: (bytes) => subscriber.message(bytes),
      down: () => subscriber.down(),
      up: () => subscriber.up(),
    };
    this.#subscribers.add(entry);
    if (this.#subscriber === undefined) this.#connect();
    return () => {
      this.#subscribers.delete(entry);
    };
  }

  /**
   * Stops delivery at once, ends the subscriber connection and, for a bus
   * made from options, the publisher connection (after the messages being
   * published), within `timeout`; at once while the server is unreachable.
   * Afterwards nothing of the bus keeps the process alive. A backend's client
   * stays open. Later calls are no-ops.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscribers.clear();
    this.#markSettled?.();
    // Both connections end concurrently: the subscriber has nothing to flush, the publisher its messages in flight.
    await Promise.all([
      this.#subscriber === undefined ? undefined : endClient(this.#subscriber, this.#timeoutMs),
      this.#connection === undefined ? undefined : settlesWithin(this.#connection.close(), this.#timeoutMs),
    ]);
  }

  /** Closes the bus at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #connect(): void {
    // Without ioredis' 2 s disconnect timer, which would keep the process alive after close() (see endClient).
    const client =
      (this.#publisher.isCluster
        ? (this.#publisher as Cluster).duplicate()
        : (this.#publisher as Redis).duplicate({ disconnectTimeout: 0 })) as IORedisClient;
    this.#subscriber = client;
    this.#state = "connecting";
    this.#settled = new Promise((resolve) => {
      this.#markSettled = resolve;
    });
    client.on("messageBuffer", (channel: Buffer, message: Buffer) => {
      if (this.#closed || channel.toString() !== this.#channel) return;
      const bytes = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
      for (const subscriber of this.#subscribers) subscriber.message(bytes);
    });
    client.on("error", (error: Error) => {
      this.#lastConnectionError = error;
    });
    const lost = () => {
      this.#generation++;
      if (this.#state === "up" || this.#state === "connecting") this.#down();
    };
    client.on("close", lost);
    client.on("end", lost);
    // ioredis also subscribes again by itself, right after "ready": this SUBSCRIBE's reply is what proves it.
    client.on("ready", () => {
      if (this.#state === "down") this.#subscribe(client);
    });
    this.#subscribe(client);
  }

  #subscribe(client: IORedisClient): void {
    const generation = this.#generation;
    client.subscribe(this.#channel).then(() => {
      if (this.#closed || generation !== this.#generation) return;
      const wasDown = this.#state === "down";
      this.#state = "up";
      this.#lastConnectionError = undefined;
      this.#markSettled?.();
      if (wasDown) { for (const subscriber of this.#subscribers) subscriber.up(); }
    }, (error: Error) => {
      this.#lastConnectionError ??= error;
      if (this.#closed || generation !== this.#generation) return;
      if (this.#state !== "down") this.#down();
    });
  }

  #down(): void {
    this.#state = "down";
    this.#markSettled?.();
    if (this.#closed) return;
    for (const subscriber of this.#subscribers) subscriber.down();
  }
}
