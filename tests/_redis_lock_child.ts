// A worker process for redis_lock_test.ts: makes `calls` concurrent calls on
// one cold key that must "compute once and store in Redis" across processes,
// and prints what they returned. The mode picks the path: RedisLock.withLock()
// around a hand-written check-compute-store, or cached({ lock }).
// Usage: <url> <prefix> <calls> <start at (epoch ms)> <lock|cached>
import process from "node:process";
import type { Redis } from "ioredis";
import { cached, TTLCache } from "../mod.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { RedisCacheBackend, RedisLock } from "../backends/redis/mod.ts";

const [url, prefix, calls, startAt, mode] = process.argv.slice(-5);
const backend = new RedisCacheBackend({ url, prefix });
const lock = new RedisLock(backend, { waitTimeout: 30_000 });

/** The expensive work: counts its runs in Redis, so the test can tell how many processes ran it. */
async function compute(): Promise<string> {
  const redis = backend.client as Redis;
  await redis.multi().incr(`${prefix}computations`).pexpire(`${prefix}computations`, 60_000).exec();
  await new Promise((resolve) => setTimeout(resolve, 50));
  return `computed by ${process.pid}`;
}

const cache = new TTLCache<string>({ backend, serializer: new JsonSerializer() });
const cachedCompute = cached(cache, { lock, name: "compute" })(compute);
const decoder = new TextDecoder();
const withLock = () =>
  lock.withLock("cold", async () => {
    const stored = await backend.get("result");
    if (stored !== undefined) return decoder.decode(stored);
    const value = await compute();
    await backend.set("result", new TextEncoder().encode(value), 60);
    return value;
  });

try {
  await backend.connect();
  // Start together with the other workers, so they all find the key cold.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
  const call = mode === "cached" ? () => cachedCompute() : withLock;
  const results = await Promise.all(Array.from({ length: Number(calls) }, call));
  console.log(JSON.stringify({ results: [...new Set(results)], count: results.length }));
} finally {
  await backend.close();
}
