// One process of the invalidation-latency measure of the tiers suite:
//   _invalidation_child.ts writer|raw-writer|reader <prefix> <channel> <writes> [bus|tracking]
// Both hold a TTLCache with l1 over the same Redis, kept coherent by a RedisBus
// (default) or a RedisTracking. The writer sets one key ~100 times a second
// with { seq, at: Date.now() }; a raw-writer does the same with a plain ioredis
// SET of the bytes a cache would store (made by a cache under another prefix
// just before). The reader reads it in a loop (through l1) and, for each new
// seq, records how long after the write it first saw it. The reader prints
// "ready" once subscribed, then its figures as JSON when the last write is seen
// (or after a deadline).
import process from "node:process";
import { Redis } from "ioredis";
import * as redis from "../../backends/redis/mod.ts";
import { TTLCache } from "../../mod.ts";
import type { InvalidationBus } from "../../bus.ts";
import { JsonSerializer } from "../../serializers/json.ts";

const [role, prefix, channel, count, source = "bus"] = process.argv.slice(2);
const writes = Number(count);
const URL = "redis://127.0.0.1:6379";
type Value = { seq: number; at: number };
type Bus = InvalidationBus & { close(): Promise<void>; subscribed?(): Promise<void> };

const backend = new redis.RedisCacheBackend({ url: URL, prefix });
const exports = redis as unknown as Record<string, new (...args: unknown[]) => Bus>;
const bus = source === "tracking" ? new exports.RedisTracking(backend) : new exports.RedisBus({ url: URL, channel });
const cache = new TTLCache<Value>({
  ttl: 60,
  backend,
  bus,
  serializer: new JsonSerializer<Value>(),
  l1: { maxSize: 100 },
});
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

if (role === "writer" || role === "raw-writer") {
  // The raw writer makes each value's bytes with a cache under another prefix (outside the tracked one), then SETs
  // them itself: its latencies include those two round trips.
  const staging = new redis.RedisCacheBackend({ url: URL, prefix: `${prefix.slice(0, -1)}-staging:` });
  const plain = new TTLCache<Value>({ ttl: 60, backend: staging, serializer: new JsonSerializer<Value>() });
  const raw = new Redis(URL);
  const started = performance.now();
  for (let seq = 1; seq <= writes; seq++) {
    if (role === "writer") await cache.set("k", { seq, at: Date.now() });
    else {
      await plain.set("v", { seq, at: Date.now() });
      await raw.set(`${prefix}k`, (await raw.getBuffer(`${staging.prefix}v`))!);
    }
    // ~100 writes a second, whatever each set took.
    const wait = started + seq * 10 - performance.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
  }
  raw.disconnect();
  await staging.close();
} else {
  await bus.subscribed?.();
  await cache.set("k", { seq: 0, at: Date.now() });
  // Let the subscription settle before the writer starts.
  await new Promise((resolve) => setTimeout(resolve, 300));
  process.stdout.write("ready\n");
  const latencies: number[] = [];
  let last = 0;
  let reads = 0;
  const started = performance.now();
  const deadline = started + writes * 10 + 10_000;
  while (last < writes && performance.now() < deadline) {
    const value = await cache.get("k");
    reads++;
    if (value !== undefined && value.seq > last) {
      latencies.push(Date.now() - value.at);
      last = value.seq;
    }
    // l1 hits settle in microtasks: yield to the event loop so the bus's messages are delivered between reads.
    if (reads % 4 === 0) await tick();
  }
  process.stdout.write(
    JSON.stringify({
      latencies,
      reads,
      seconds: (performance.now() - started) / 1000,
      missed: writes - latencies.length,
    }) + "\n",
  );
}
await bus.close?.();
await backend.close();
process.exit(0);
