// cache.peek(key): a synchronous read of the in-process tier alone.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type CacheEvent, TTLCache } from "../mod.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { JsonSerializer } from "../serializers/json.ts";
import type { CacheBackend } from "../types.ts";
import { manualClock } from "./_helpers.ts";
import { LocalBus } from "./_local_bus.ts";

// A memory backend that counts every call made to it.
function counted(clock = manualClock()): { backend: CacheBackend; calls: () => number } {
  let calls = 0;
  const memory = new MemoryCacheBackend({ clock });
  const backend: CacheBackend = {
    get: (key) => (calls++, memory.get(key)),
    set: (key, value, ttl) => (calls++, memory.set(key, value, ttl)),
    delete: (key) => (calls++, memory.delete(key)),
    clear: () => (calls++, memory.clear()),
  };
  return { backend, calls: () => calls };
}

function pair(l1: { maxSize: number; ttl?: number } = { maxSize: 100 }) {
  const clock = manualClock();
  const backend = new MemoryCacheBackend({ clock });
  const bus = new LocalBus();
  const make = () => new TTLCache<unknown>({ backend, clock, serializer: new JsonSerializer(), l1, bus });
  return { clock, bus, a: make(), b: make() };
}

describe("peek", () => {
  test("returns the l1 value synchronously, counted as a hit and an l1 hit, without calling the backend", async () => {
    const { backend, calls } = counted();
    const cache = new TTLCache<unknown>({ backend, serializer: new JsonSerializer(), l1: { maxSize: 10 } });
    const events: CacheEvent[] = [];
    cache.addEventListener("hit", (event) => events.push(event as CacheEvent));
    await cache.set("k", { n: 1 });
    const before = calls();
    const value = cache.peek("k");
    assert.ok(!(value instanceof Promise), "not a Promise");
    assert.deepEqual(value, { n: 1 });
    assert.equal(cache.peek("k"), value, "the stored object itself, as an l1 hit of get");
    assert.equal(calls(), before, "no backend call");
    const info = cache.cacheInfo();
    assert.deepEqual({ hits: info.hits, l1Hits: info.l1Hits, misses: info.misses }, { hits: 2, l1Hits: 2, misses: 0 });
    assert.deepEqual(events.map((event) => [event.key, event.tier]), [["k", "l1"], ["k", "l1"]]);
  });

  test("a key not in l1 is undefined: no backend read, no miss, and l1 is not filled", async () => {
    const { backend, calls } = counted();
    const writer = new TTLCache<unknown>({ backend, serializer: new JsonSerializer() });
    const cache = new TTLCache<unknown>({ backend, serializer: new JsonSerializer(), l1: { maxSize: 10 } });
    await writer.set("k", 1); // in the backend, not in cache's l1
    const before = calls();
    assert.equal(cache.peek("k"), undefined);
    assert.equal(cache.peek("absent"), undefined);
    assert.equal(calls(), before, "no backend call");
    assert.deepEqual(cache.cacheInfo().misses, 0);
    assert.equal(cache.cacheInfo().hits, 0);
    assert.equal(await cache.get("k"), 1, "get reads the backend and fills l1");
    assert.equal(cache.peek("k"), 1, "now it is in l1");
  });

  test("without l1 it is always undefined, even for a key the backend holds", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer() });
    await cache.set("k", 1);
    assert.equal(cache.peek("k"), undefined);
    assert.deepEqual([cache.cacheInfo().hits, cache.cacheInfo().misses], [0, 0]);
  });

  test("a key that is not a well-formed string is a TypeError, with or without l1", () => {
    for (const cache of [new TTLCache(), new TTLCache({ l1: { maxSize: 1 } })]) {
      assert.throws(() => cache.peek(42 as unknown as string), (error: Error) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /^Cannot peek in TTLCache: key .*received 42/);
        return true;
      });
      assert.throws(() => cache.peek("\ud800"), TypeError);
    }
  });

  test("bytes are handed out as a copy, and l1.clone hands out a clone", async () => {
    const raw = new TTLCache({ l1: { maxSize: 10 } });
    await raw.set("k", new Uint8Array([1, 2]));
    const first = raw.peek("k")!;
    first[0] = 9;
    assert.deepEqual(raw.peek("k"), new Uint8Array([1, 2]));
    const cloning = new TTLCache<unknown>({ serializer: new JsonSerializer(), l1: { maxSize: 10, clone: true } });
    await cloning.set("k", { n: [1] });
    const a = cloning.peek("k");
    assert.deepEqual(a, { n: [1] });
    assert.notEqual(cloning.peek("k"), a, "a new clone each time");
  });

  test("stale copies are undefined: past the entry's ttl (even within grace) and past l1.ttl", async () => {
    const clock = manualClock();
    const backend = new MemoryCacheBackend({ clock });
    const cache = new TTLCache<unknown>({
      backend,
      clock,
      serializer: new JsonSerializer(),
      l1: { maxSize: 10, ttl: 5 },
    });
    await cache.set("graced", 1, { ttl: 10, grace: 60 });
    await cache.set("short", 2, { ttl: 2 });
    clock.advance(1_999);
    assert.deepEqual([cache.peek("graced"), cache.peek("short")], [1, 2]);
    clock.advance(1);
    assert.equal(cache.peek("short"), undefined, "the entry's ttl ended");
    clock.advance(3_000);
    assert.equal(cache.peek("graced"), undefined, "l1.ttl (5 s) ended");
    assert.equal(await cache.get("graced"), 1, "get reads the backend again");
    assert.equal(cache.peek("graced"), 1, "and refills l1");
    clock.advance(6_000);
    assert.equal(cache.peek("graced"), undefined, "within grace: stale, so not served");
    assert.equal(cache.cacheInfo().misses, 0, "peek never counts a miss");
  });

  test("with the default clock (read coarsely on hits), an expired copy is gone once a timer has run", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer(), l1: { maxSize: 10 } });
    await cache.set("k", 1, { ttl: 0.02 });
    for (let i = 0; i < 100; i++) assert.equal(cache.peek("k"), 1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(cache.peek("k"), undefined);
    assert.equal(await cache.get("k"), undefined);
  });

  test("another cache's writes, deletes, tag deletions and namespace clears reach peek through the bus", async () => {
    const { a, b } = pair();
    await a.set("k", 1, { tags: ["team"] });
    await a.set("d", 1);
    const users = a.namespace("users");
    await users.set("u", 1);
    assert.equal(await b.get("k"), 1);
    assert.equal(await b.get("d"), 1);
    assert.equal(await b.namespace("users").get("u"), 1);
    assert.deepEqual([b.peek("k"), b.peek("d"), b.namespace("users").peek("u")], [1, 1, 1]);
    await a.set("k", 2, { tags: ["team"] });
    assert.equal(b.peek("k"), undefined, "a write elsewhere drops the copy");
    assert.equal(await b.get("k"), 2);
    assert.equal(b.peek("k"), 2);
    await a.deleteTags(["team"]);
    assert.equal(b.peek("k"), undefined, "a tag deleted elsewhere");
    await a.delete("d");
    assert.equal(b.peek("d"), undefined, "a key deleted elsewhere");
    await users.clear();
    assert.equal(b.namespace("users").peek("u"), undefined, "a namespace cleared elsewhere");
    assert.equal(b.peek("u"), undefined, "namespaces keep keys apart");
  });

  test("without a bus, another process's write is seen when the copy's l1.ttl ends", async () => {
    const clock = manualClock();
    const backend = new MemoryCacheBackend({ clock });
    const make = () =>
      new TTLCache<unknown>({ backend, clock, serializer: new JsonSerializer(), l1: { maxSize: 10, ttl: 2 } });
    const a = make();
    const b = make();
    await a.set("k", 1);
    assert.equal(await b.get("k"), 1);
    await a.set("k", 2);
    assert.equal(b.peek("k"), 1, "nothing told b");
    clock.advance(2_000);
    assert.equal(b.peek("k"), undefined, "its l1.ttl ended");
  });

  test("a hit makes the key the most recently used of l1", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer(), l1: { maxSize: 2 } });
    await cache.set("a", 1);
    await cache.set("b", 2);
    assert.equal(cache.peek("a"), 1);
    await cache.set("c", 3); // l1 keeps two: "b" was the least recently used
    assert.deepEqual([cache.peek("a"), cache.peek("b"), cache.peek("c")], [1, undefined, 3]);
  });
});

describe("l1 times by slot", () => {
  test("copies keep their own ttl, grace, l1.ttl and compute time before and after other copies need them", async () => {
    const clock = manualClock();
    const backend = new MemoryCacheBackend({ clock });
    const cache = new TTLCache<unknown>({ backend, clock, serializer: new JsonSerializer(), l1: { maxSize: 10 } });
    await cache.set("plain", 1, { ttl: 5 }); // every time at its default: no column kept yet
    await cache.set("graced", 2, { ttl: 10, grace: 60 }); // needs its own end of freshness
    const computed = await cache.getOrSet("computed", () => {
      clock.advance(50); // a compute time
      return 3;
    }, { ttl: 20 });
    assert.equal(computed, 3);
    await cache.set("after", 4, { ttl: 15 });
    assert.deepEqual(["plain", "graced", "computed", "after"].map((k) => cache.peek(k)), [1, 2, 3, 4]);
    clock.advance(4_950); // 5 s after "plain" was written
    assert.deepEqual(["plain", "graced", "computed", "after"].map((k) => cache.peek(k)), [undefined, 2, 3, 4]);
    clock.advance(5_000);
    assert.deepEqual(["graced", "computed", "after"].map((k) => cache.peek(k)), [undefined, 3, 4]);
    clock.advance(5_050); // "after" was written 50 ms in, after the computation
    assert.deepEqual(["computed", "after"].map((k) => cache.peek(k)), [3, undefined]);
    clock.advance(5_000);
    assert.equal(cache.peek("computed"), undefined);
    // "graced" is stale within grace: getOrSet serves it (from l1) and refreshes it in the background.
    let refreshed = 0;
    const stale = await cache.getOrSet("graced", () => ++refreshed + 100, { staleWhileRevalidate: true, grace: 60 });
    assert.equal(stale, 2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(refreshed, 1);
    assert.equal(cache.peek("graced"), 101);
  });
});
