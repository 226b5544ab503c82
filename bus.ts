/**
 * The invalidation bus contract: how the in-process tiers (`l1`) of caches in
 * several processes tell each other which entries changed.
 *
 * @module
 */

/** What a bus tells a subscriber. */
export interface BusSubscriber {
  /**
   * A message published by another subscriber (or by this one: the cache
   * ignores its own). The bytes are untrusted.
   *
   * @param message The bytes as published.
   */
  message(message: Uint8Array): void;
  /**
   * The bus can no longer deliver messages (a dropped connection): messages
   * published meanwhile may be lost.
   */
  down(): void;
  /**
   * The bus delivers messages again after `down()`. The cache then drops its
   * whole in-process tier, since it may have missed invalidations.
   */
  up(): void;
}

/**
 * A channel that carries invalidation messages between the caches of several
 * processes (or workers, or browser tabs). A bus only moves bytes: the cache
 * encodes, checks and applies the messages, so a bus needs no knowledge of
 * keys or tags. Delivery is at most once; a cache recovers from lost messages
 * through `down()`/`up()` and its `l1.ttl`.
 *
 * Implementations: `BroadcastChannelBus` (workers, tabs, threads) and
 * `RedisBus` (`@cachet/cachet/redis`, Redis pub/sub across processes).
 *
 * @example A bus between two caches in one process
 * ```ts
 * import assert from "node:assert/strict";
 * import type { BusSubscriber, InvalidationBus } from "@cachet/cachet";
 *
 * const subscribers = new Set<BusSubscriber>();
 * const local: InvalidationBus = {
 *   publish(message) {
 *     for (const s of subscribers) s.message(message);
 *     return Promise.resolve();
 *   },
 *   subscribe(subscriber) {
 *     subscribers.add(subscriber);
 *     return () => subscribers.delete(subscriber);
 *   },
 * };
 * const seen: number[] = [];
 * const stop = local.subscribe({ message: (m) => seen.push(m.length), down() {}, up() {} });
 * await local.publish(new Uint8Array(3));
 * stop();
 * assert.deepEqual(seen, [3]);
 * ```
 */
export interface InvalidationBus {
  /**
   * Sends a message to every subscriber of the bus, in every process.
   *
   * @param message The bytes to send.
   * @returns A Promise that settles once the message is handed to the transport.
   * @throws {CacheError} When the transport is down.
   */
  publish(message: Uint8Array): Promise<void>;
  /**
   * Starts delivering messages and connection changes to `subscriber`.
   *
   * @param subscriber Told every message and every loss or return of the connection.
   * @returns A function that stops the delivery.
   */
  subscribe(subscriber: BusSubscriber): () => void;
}
