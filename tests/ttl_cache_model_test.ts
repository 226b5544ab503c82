// Model-based test: random command sequences run against TTLCache and a tiny
// reference model; every result and every cacheInfo() must agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { TTLCache } from "../mod.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { manualClock } from "./_helpers.ts";

interface Model {
  maxSize: number;
  now: number;
  // Insertion order = LRU order, oldest first.
  entries: Map<string, { value: number; expiresAt: number }>;
  hits: number;
  misses: number;
  evictions: number;
}

const KEYS = ["a", "b", "c", "d", "e"];
type Command =
  | { op: "get"; key: string }
  | { op: "set"; key: string; value: number; ttl?: number }
  | { op: "delete"; key: string }
  | { op: "clear" }
  | { op: "advance"; ms: number }
  | { op: "info" };

// Weighted so that long runs of gets and sets fill the cache and exercise LRU order
// before a rare clear() empties it again.
const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("get" as const), key: fc.constantFrom(...KEYS) }), weight: 4 },
  {
    arbitrary: fc.record({
      op: fc.constant("set" as const),
      key: fc.constantFrom(...KEYS),
      value: fc.integer(),
      ttl: fc.option(fc.constantFrom(0.5, 1, 2.5, 10), { nil: undefined }),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ op: fc.constant("delete" as const), key: fc.constantFrom(...KEYS) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("clear" as const) }), weight: 1 },
  // cacheInfo() is a command of its own: calling it after every step would sweep
  // expired entries and hide a set() that forgot to.
  { arbitrary: fc.record({ op: fc.constant("info" as const) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 3000 }) }), weight: 2 },
);

function live(model: Model) {
  for (const [key, entry] of model.entries) if (entry.expiresAt <= model.now) model.entries.delete(key);
}

test("TTLCache behaves like a reference LRU+TTL model on random command sequences", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 4 }),
      fc.array(command, { minLength: 10, maxLength: 80, size: "max" }),
      async (maxSize, commands) => {
        const clock = manualClock(0);
        const cache = new TTLCache<number>({
          maxSize,
          ttl: 2,
          clock,
          backend: new MemoryCacheBackend({ clock }),
          serializer: new JsonSerializer<number>(),
        });
        const model: Model = { maxSize, now: 0, entries: new Map(), hits: 0, misses: 0, evictions: 0 };
        for (const c of commands) {
          switch (c.op) {
            case "get": {
              const got = await cache.get(c.key);
              const entry = model.entries.get(c.key);
              if (entry && entry.expiresAt > model.now) {
                model.hits++;
                model.entries.delete(c.key);
                model.entries.set(c.key, entry);
                assert.equal(got, entry.value);
              } else {
                model.misses++;
                model.entries.delete(c.key);
                assert.equal(got, undefined);
              }
              break;
            }
            case "set": {
              await cache.set(c.key, c.value, c.ttl);
              const entry = { value: c.value, expiresAt: model.now + (c.ttl ?? 2) * 1000 };
              if (!model.entries.delete(c.key) && maxSize > 0 && model.entries.size >= maxSize) {
                live(model);
                while (model.entries.size >= maxSize) {
                  model.entries.delete(model.entries.keys().next().value!);
                  model.evictions++;
                }
              }
              model.entries.set(c.key, entry);
              break;
            }
            case "delete":
              await cache.delete(c.key);
              model.entries.delete(c.key);
              break;
            case "clear":
              await cache.clear();
              model.entries.clear();
              break;
            case "advance":
              clock.advance(c.ms);
              model.now += c.ms;
              break;
            case "info":
              live(model);
              assert.deepEqual(cache.cacheInfo(), {
                hits: model.hits,
                misses: model.misses,
                maxSize,
                currSize: model.entries.size,
                evictions: model.evictions,
                staleHits: 0,
                errors: 0,
                l1Hits: 0,
              });
              break;
          }
        }
        live(model);
        assert.equal(cache.cacheInfo().currSize, model.entries.size);
        assert.equal(cache.cacheInfo().evictions, model.evictions);
      },
    ),
    { numRuns: 1000 },
  );
});
