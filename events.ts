/**
 * The events a {@linkcode TTLCache} dispatches (it is an `EventTarget`).
 *
 * @module
 */

/**
 * The type of a {@linkcode CacheEvent}:
 *
 * - `hit`: a read found a fresh value (`tier` says where).
 * - `miss`: a read found nothing usable.
 * - `stale`: a stale value was served; `reason` says why (`"error"`: the
 *   computation failed, `"timeout"`: it outran the soft `timeout`,
 *   `"revalidate"`: stale-while-revalidate, `"backend"`: the backend failed).
 * - `set`, `delete`: an entry was written or deleted through this cache; a
 *   `set` by a computation carries its `duration` in ms.
 * - `evict`: an entry was removed to respect `maxSize`.
 * - `refresh`: a background computation (early refresh or stale-while-revalidate)
 *   stored a new value; `duration` is its ms. (A computation that outran a
 *   soft `timeout` finishes with a `set` event.)
 * - `timeout`: a computation outran `hardTimeout`.
 * - `error`: a failure that was swallowed, so no caller saw it: a backend error
 *   under fail-open, undecodable bytes, a failed background refresh, a bad bus
 *   message. `operation` says which step failed, `error` holds the cause.
 */
export type CacheEventType =
  | "hit"
  | "miss"
  | "stale"
  | "set"
  | "delete"
  | "evict"
  | "refresh"
  | "timeout"
  | "error";

/** What a {@linkcode CacheEvent} carries besides its type: its fields, each optional. */
export type CacheEventInit = Partial<
  Pick<CacheEvent, "key" | "namespace" | "reason" | "duration" | "error" | "operation" | "tier">
>;

/**
 * An event of a {@linkcode TTLCache}. Listen with
 * `cache.addEventListener("miss", (event) => …)`; a cache dispatches events
 * of a type only while someone listens to it, so an unobserved cache pays
 * nothing for them. Listeners run synchronously: keep them short, and never
 * throw (a throwing listener is reported by the runtime, not the cache).
 *
 * @example Counting misses
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CacheEvent, TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ serializer: new JsonSerializer() });
 * const missed: string[] = [];
 * cache.addEventListener("miss", (event) => missed.push((event as CacheEvent).key!));
 * await cache.get("nothing-here");
 * assert.deepEqual(missed, ["nothing-here"]);
 * ```
 */
export class CacheEvent extends Event {
  /** The key (inside its namespace), when the event concerns one. */
  readonly key?: string;
  /** The namespace path (`"users"`, `"users/admins"`), or `""` for the root. */
  readonly namespace?: string;
  /** Why a stale value was served, or what started a refresh. */
  readonly reason?: string;
  /** The ms a computation took. */
  readonly duration?: number;
  /** The failure of an `error`, `timeout` or failed `refresh` event. */
  readonly error?: unknown;
  /** The step that failed (`"get"`, `"set"`, `"lock"`, `"loads"`, `"refresh"`, `"publish"`, `"bus"`). */
  readonly operation?: string;
  /**
   * Which tier served a hit: `"l1"` (decoded values in this process), `"backend"`, or `"outage"` (a value this
   * process computed less than a second ago while the backend could not be read).
   */
  readonly tier?: "l1" | "backend" | "outage";

  /**
   * Creates an event.
   *
   * @param type The event type.
   * @param init What the event carries.
   */
  constructor(type: CacheEventType, init: CacheEventInit = {}) {
    super(type);
    this.key = init.key;
    this.namespace = init.namespace;
    this.reason = init.reason;
    this.duration = init.duration;
    this.error = init.error;
    this.operation = init.operation;
    this.tier = init.tier;
  }
}
