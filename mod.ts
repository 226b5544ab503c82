/**
 * cachet: a TTL + LRU cache for TypeScript with pluggable backends and
 * serializers, running unchanged on Deno, Bun, Node and in browsers.
 *
 * This entry point is the runtime-neutral core. Backends and serializers are
 * subpath exports: `@cachet/cachet/memory`, `@cachet/cachet/json`, ….
 *
 * @example Quick start
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ ttl: 60, maxSize: 1_000, serializer: new JsonSerializer() });
 * await cache.set("greeting", { text: "hello" });
 * assert((await cache.get("greeting")) !== undefined);
 * ```
 *
 * @module
 */
export { CacheError, CacheSettingsValidationError, CacheTimeoutError } from "./errors.ts";
export type { BackendEntry, CacheBackend, CacheInfo, CacheSerializer, Clock } from "./types.ts";
export { TTLCache } from "./ttl_cache.ts";
export type {
  CacheErrorContext,
  Factory,
  FactoryContext,
  GetOrSetOptions,
  L1Options,
  ReadThroughOptions,
  SetManyEntry,
  SetOptions,
  TTLCacheOptions,
} from "./ttl_cache_options.ts";
export { CacheEvent } from "./events.ts";
export type { BusSubscriber, InvalidationBus } from "./bus.ts";
export { BroadcastChannelBus } from "./broadcast_channel_bus.ts";
export type { BroadcastChannelBusOptions } from "./broadcast_channel_bus.ts";
export type { CacheEventInit, CacheEventType } from "./events.ts";
export { getDefaultBackend, setDefaultBackend } from "./default_backend.ts";
export type { CacheLock } from "./cache_lock.ts";
export { cached } from "./decorator.ts";
export type {
  AnyFunction,
  Cached,
  CachedFunction,
  CachedHelpers,
  CachedOptions,
  CachedStream,
  CachedStreamHelpers,
  PrivateCacheOptions,
} from "./decorator.ts";
export { makeKey } from "./make_key.ts";
export type { MakeKeyOptions } from "./make_key.ts";
