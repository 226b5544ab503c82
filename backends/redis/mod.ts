/**
 * A Redis backend on [ioredis](https://github.com/redis/ioredis), for caches
 * shared between processes, plus {@linkcode RedisBus}, an invalidation bus
 * for two-tier caches, and {@linkcode RedisLock}, a distributed lock for
 * `cached({ lock })`. Server-side only (Deno, Node, Bun).
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
export { RedisCacheBackend } from "./redis_cache_backend.ts";
export type { RedisCacheBackendOptions } from "./redis_cache_backend.ts";
export { RedisBus } from "./redis_bus.ts";
export type { RedisBusOptions } from "./redis_bus.ts";
export { RedisLock } from "./redis_lock.ts";
export type { RedisLockOptions } from "./redis_lock.ts";
export type { RedisClient } from "./_client.ts";
export type { RedisOptions } from "./_connection.ts";
