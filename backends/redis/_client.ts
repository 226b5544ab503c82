// Helpers shared by the Redis backend and the Redis lock.
import { Redis } from "ioredis";
import type { Cluster, Command } from "ioredis";
import { CacheError } from "../../errors.ts";
import { checkMethods, describe } from "../../_validate.ts";
import { settlesWithin } from "../../_deadline.ts";

/**
 * An ioredis client: a standalone `Redis` (`new Redis(url)`) or a `Cluster`
 * (`new Cluster(nodes)`). Typed by the members cachet's API shows; it must be
 * a real ioredis client. Cast it (`backend.client as Redis`) for raw commands.
 *
 * @example Passing a client
 * ```ts
 * import assert from "node:assert/strict";
 * import { Redis } from "ioredis";
 * import type { RedisClient } from "@cachet/cachet/redis";
 *
 * const client: RedisClient = new Redis({ lazyConnect: true });
 * assert(client.isCluster === false);
 * (client as Redis).disconnect();
 * ```
 */
export interface RedisClient {
  /** `true` for a `Cluster`, `false` for a standalone `Redis`. */
  readonly isCluster: boolean;
  /** The connection state, such as `"wait"`, `"ready"`, `"reconnecting"` or `"end"`. */
  readonly status: string;
}

/** What the implementation calls: the ioredis classes themselves. */
export type IORedisClient = Redis | Cluster;

/**
 * The first byte of every RedisLock key. No cache key can start with it: keys
 * and prefixes are well-formed strings, and UTF-8 never holds the byte 0xFF.
 * So a backend's `clear()` (SCAN of its prefix) never matches a lock.
 */
export const LOCK_KEY_SPACE = 0xff;

const CLIENT_METHODS = ["getBuffer", "set", "unlink", "scanBuffer", "eval", "quit", "disconnect"] as const;

/**
 * Checks that `value` looks like an ioredis `Redis` or `Cluster`. Duck typing,
 * because the caller's ioredis may be another copy than ours.
 */
export function checkClient(context: string, label: string, value: unknown): IORedisClient {
  checkMethods(context, label, value, CLIENT_METHODS);
  if (typeof (value as { isCluster?: unknown }).isCluster !== "boolean") {
    throw new TypeError(`${context}: ${label} must have a boolean isCluster property: received ${describe(value)}`);
  }
  return value as IORedisClient;
}

// The backends' hooks that track a command sent on their client by someone else (a RedisLock's release, sent in the
// background), so that close() answers it before QUIT: with auto-pipelining, QUIT (never pipelined) would overtake it
// and leave the lock held for its whole lease.
const trackers = new WeakMap<object, <T>(reply: Promise<T>) => Promise<T>>();

/** Lets `owner` (a backend) track the calls others send on its client, for its `close()`. */
export function setCallTracker(owner: object, track: <T>(reply: Promise<T>) => Promise<T>): void {
  trackers.set(owner, track);
}

/** Settles like `reply`, tracked by `owner`'s `close()` when it registered a tracker. */
export function trackCall<T>(owner: object | undefined, reply: Promise<T>): Promise<T> {
  const track = owner === undefined ? undefined : trackers.get(owner);
  return track === undefined ? reply : track(reply);
}

/**
 * Wraps what ioredis threw in a `CacheError` that names the operation, with
 * the last connection error and `hint` (how to fix it) when known.
 */
export function wrapError(context: string, error: unknown, lastConnectionError?: Error, hint?: string): CacheError {
  if (error instanceof CacheError) return error;
  let cause = error;
  let message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === "MaxRetriesPerRequestError") {
    // ioredis names the queue flush after its option (which cachet set, not the caller): what the caller needs to
    // know is that Redis is unreachable, and why.
    message = "the Redis server is unreachable";
    cause = new Error(
      lastConnectionError === undefined
        ? "the Redis server is unreachable: the command was dropped at a failed reconnect attempt"
        : `the Redis server is unreachable: ${lastConnectionError.message}`,
      { cause: lastConnectionError },
    );
  }
  const connection = lastConnectionError !== undefined && lastConnectionError.message !== message
    ? ` (last connection error: ${lastConnectionError.message})`
    : "";
  return new CacheError(`${context}: ${message}${connection}${hint === undefined ? "" : `; ${hint}`}`, { cause });
}

/**
 * Ends a client's connection and waits (at most `ms`) for its socket to
 * close, then destroys it, so nothing of it keeps the process alive: neither
 * the socket of a frozen server nor ioredis' reconnect timer. A client between
 * reconnect attempts has no socket: it returns at once.
 */
export async function endClient(client: IORedisClient, ms: number): Promise<void> {
  const stream = (client as { stream?: { destroyed: boolean; destroy(): void; once(e: string, f: () => void): void } })
    .stream;
  const live = !client.isCluster && stream !== undefined && !stream.destroyed;
  const closed = live ? new Promise<void>((resolve) => stream.once("close", resolve)) : undefined;
  client.disconnect();
  if (closed !== undefined && !(await settlesWithin(closed, ms))) stream!.destroy();
}

export { unrefTimer } from "../../_unref.ts";

/**
 * The options ioredis' own methods give a command they send without auto-pipelining, the reply left as bytes (as
 * `getBuffer` and `mgetBuffer` do), for a command the backend sends itself.
 */
export function bytesReplyOptions(client: Redis): ConstructorParameters<typeof Command>[2] {
  const { keyPrefix, showFriendlyErrorStack } = client.options;
  return { errorStack: showFriendlyErrorStack ? new Error() : undefined, keyPrefix, replyEncoding: null };
}

// ioredis' option names: those it has a default for (in every version the peer range allows), and those it reads
// without one. keyPrefix is left out: ioredis would prefix every key but not clear()'s SCAN pattern, so clear()
// would miss them (the prefix option does this properly).
export const IOREDIS_OPTIONS: readonly string[] = [
  ...Object.keys((Redis as unknown as { defaultOptions?: object }).defaultOptions ?? {}),
  ..."path tls preferredSlaves sentinelUsername sentinelPassword sentinelTLS sentinelCommandTimeout commandTimeout"
    .split(" "),
  ..."socketTimeout blockingTimeout scripts showFriendlyErrorStack Connector".split(" "),
].filter((name) => name !== "keyPrefix");
