// A worker process for redis_lock_test.ts: runs `calls` concurrent withLock()
// calls on one cold key, each guarding "compute once and store in Redis", and
// prints what they returned. Usage: <url> <prefix> <calls> <start at (epoch ms)>
import process from "node:process";
import type { Redis } from "ioredis";
import { RedisCacheBackend, RedisLock } from "../backends/redis.ts";

const [url, prefix, calls, startAt] = process.argv.slice(-4);
const backend = new RedisCacheBackend({ url, prefix });
const lock = new RedisLock(backend, { waitTimeout: 30_000 });
const decoder = new TextDecoder();
try {
  await backend.connect();
  // Start together with the other workers, so they all find the key cold.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
  const results = await Promise.all(Array.from({ length: Number(calls) }, () =>
    lock.withLock("cold", async () => {
      const stored = await backend.get("result");
      if (stored !== undefined) return decoder.decode(stored);
      await (backend.client as Redis).incr(`${prefix}computations`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const value = `computed by ${process.pid}`;
      await backend.set("result", new TextEncoder().encode(value), 60);
      return value;
    })));
  console.log(JSON.stringify({ results: [...new Set(results)], count: results.length }));
} finally {
  await backend.close();
}
