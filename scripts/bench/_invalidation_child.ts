// One process of the invalidation-latency measure of the tiers suite:
//   _invalidation_child.ts writer|reader <prefix> <channel> <writes>
// Both hold a TTLCache with l1 and a RedisBus over the same Redis. The writer
// sets one key ~100 times a second with { seq, at: Date.now() }; the reader
// reads it in a loop (through l1) and, for each new seq, records how long
// after the write it first saw it. The reader prints "ready" once subscribed,
// then its figures as JSON when the last write is seen (or after a deadline).
import process from "node:process";
import * as redis from "../../backends/redis/mod.ts";
import { TTLCache } from "../../mod.ts";
import type { InvalidationBus } from "../../bus.ts";
import { JsonSerializer } from "../../serializers/json.ts";

const [role, prefix, channel, count] = process.argv.slice(2);
const writes = Number(count);
const URL = "redis://127.0.0.1:6379";
type Value = { seq: number; at: number };

const RedisBus =
  (redis as unknown as { RedisBus: new (options: object) => InvalidationBus & { close(): Promise<void> } })
    .RedisBus;
const backend = new redis.RedisCacheBackend({ url: URL, prefix });
const bus = new RedisBus({ url: URL, channel });
const cache = new TTLCache<Value>({
  ttl: 60,
  backend,
  bus,
  serializer: new JsonSerializer<Value>(),
  l1: { maxSize: 100 },
});
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

if (role === "writer") {
  const started = performance.now();
  for (let seq = 1; seq <= writes; seq++) {
    await cache.set("k", { seq, at: Date.now() });
    // ~100 writes a second, whatever each set took.
    const wait = started + seq * 10 - performance.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
  }
} else {
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
