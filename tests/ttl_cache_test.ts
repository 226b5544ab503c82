import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CacheError, TTLCache } from "../mod.ts";
import type { CacheBackend, CacheEvent, CacheSerializer } from "../mod.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { bytes, entryOf, jsonCache, manualClock } from "./_helpers.ts";

const BAD_NUMBERS = [NaN, Infinity, -Infinity, -1, 1.5, "3", null, true, {}] as const;

describe("TTLCache construction", () => {
  test("new TTLCache() uses defaults: unlimited, ttl 60, a private memory backend", async () => {
    const a = new TTLCache();
    const b = new TTLCache();
    assert.deepEqual(a.cacheInfo(), {
      hits: 0,
      misses: 0,
      maxSize: 0,
      currSize: 0,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
    assert.ok(a.backend instanceof MemoryCacheBackend);
    assert.notEqual(a.backend, b.backend, "unregistered defaults are never shared");
    await a.set("k", bytes(1));
    assert.equal(await b.get("k"), undefined);
  });

  test("new TTLCache() rejects a bad maxSize with its value and the rule", () => {
    for (const maxSize of BAD_NUMBERS) {
      const expected = typeof maxSize === "number" ? "RangeError" : "TypeError";
      assert.throws(() => new TTLCache({ maxSize: maxSize as never }), (error: Error) => {
        assert.equal(error.name, expected, String(maxSize));
        assert.match(error.message, /^Cannot create TTLCache: maxSize must be a non-negative integer: received /);
        return true;
      });
    }
    assert.throws(() => new TTLCache({ maxSize: -1 }), {
      message: "Cannot create TTLCache: maxSize must be a non-negative integer: received -1",
    });
    assert.equal(new TTLCache({ maxSize: 0 }).cacheInfo().maxSize, 0);
  });

  test("new TTLCache() rejects a ttl that is not a finite number > 0", () => {
    for (const ttl of [0, -0, -1, NaN, Infinity, -Infinity, "60", null, false]) {
      const expected = typeof ttl === "number" ? "RangeError" : "TypeError";
      assert.throws(() => new TTLCache({ ttl: ttl as never }), {
        name: expected,
        message: /ttl must be a finite number > 0/,
      });
    }
    assert.throws(() => new TTLCache({ ttl: -1 }), {
      message: "Cannot create TTLCache: ttl must be a finite number > 0 (seconds): received -1",
    });
    new TTLCache({ ttl: 0.001 });
  });

  test("a ttl under 1 ms (0.001 s) is a RangeError wherever a TTL is taken", async () => {
    const rule = "ttl must be at least 0.001 seconds (1 ms, the finest expiry a backend keeps)";
    for (const ttl of [1e-9, 0.0009999]) {
      assert.throws(() => new TTLCache({ ttl }), {
        name: "RangeError",
        message: `Cannot create TTLCache: ${rule}: received ${ttl}`,
      });
      const { cache } = jsonCache();
      await assert.rejects(cache.set("k", 1, ttl), {
        name: "RangeError",
        message: `Cannot set in TTLCache: ${rule}: received ${ttl}`,
      });
      await assert.rejects(cache.set("k", 1, { ttl }), {
        name: "RangeError",
        message: new RegExp(rule.replace(/[()]/g, "\\$&")),
      });
      await assert.rejects(cache.getOrSet("k", () => 1, { ttl }), { name: "RangeError" });
      assert.throws(() => new TTLCache({ l1: { maxSize: 10, ttl } }), {
        name: "RangeError",
        message: /l1\.ttl must be at least 0\.001/,
      });
      await assert.rejects(new MemoryCacheBackend().set("k", new Uint8Array([1]), ttl), {
        name: "RangeError",
        message: `Cannot set in MemoryCacheBackend: ${rule}: received ${ttl}`,
      });
      assert.equal(await cache.get("k"), undefined, "nothing was stored");
    }
    const { cache } = jsonCache();
    await cache.set("k", 1, 0.001);
    assert.equal(await cache.get("k"), 1, "1 ms is allowed");
  });

  test("new TTLCache() rejects a backend, serializer, clock or onError of the wrong shape", () => {
    assert.throws(() => new TTLCache({ backend: {} as never }), {
      name: "TypeError",
      message: /backend must be an object with methods get, set, delete, clear \(missing get, set, delete, clear\)/,
    });
    assert.throws(() => new TTLCache({ backend: { get() {}, set() {}, delete() {} } as never }), {
      message: /missing clear/,
    });
    assert.throws(() => new TTLCache({ serializer: { dumps() {} } as never }), {
      name: "TypeError",
      message: /serializer must be an object with methods dumps, loads \(missing loads\)/,
    });
    assert.throws(() => new TTLCache({ serializer: "json" as never }), { message: /received "json"/ });
    assert.throws(() => new TTLCache({ clock: 5 as never }), { name: "TypeError", message: /clock/ });
    assert.throws(() => new TTLCache({ onError: "log" as never }), {
      name: "TypeError",
      message: /onError must be a function/,
    });
    assert.throws(() => new TTLCache(42 as never), {
      name: "TypeError",
      message: /options must be an object: received 42/,
    });
  });

  test("new TTLCache() does not mutate the caller's options", () => {
    const options = Object.freeze({ maxSize: 3, ttl: 5 });
    const cache = new TTLCache(options);
    assert.equal(cache.cacheInfo().maxSize, 3);
    assert.deepEqual(options, { maxSize: 3, ttl: 5 });
  });
});

describe("TTLCache get and set", () => {
  test("TTLCache.get() returns undefined or the fallback on a miss and counts it", async () => {
    const { cache } = jsonCache();
    assert.equal(await cache.get("nope"), undefined);
    assert.equal(await cache.get("nope", "fallback"), "fallback");
    assert.equal(cache.cacheInfo().misses, 2);
  });

  test("misses without a fallback and sets on the memory backend share one settled promise of undefined", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer() });
    const other = new TTLCache();
    const [miss, set, otherMiss] = [cache.get("a"), cache.set("b", 1), other.get("c")];
    // No promise is made for each: the same settled one serves every cache, and still resolves to undefined.
    assert.equal(miss, set);
    assert.equal(miss, otherMiss);
    assert.deepEqual(await Promise.all([miss, set, otherMiss]), [undefined, undefined, undefined]);
    // A fallback, a hit or a failure gets a promise of its own.
    assert.notEqual(cache.get("a", 0), miss);
    assert.notEqual(cache.get("b"), miss);
    const refused = cache.get(1 as unknown as string);
    assert.notEqual(refused, miss);
    await assert.rejects(refused, TypeError);
    assert.equal(await cache.get("b"), 1);
  });

  test("TTLCache.set() then get() round-trips and counts a hit", async () => {
    const { cache } = jsonCache();
    await cache.set("user", { id: 1, tags: ["a"] });
    assert.deepEqual(await cache.get("user"), { id: 1, tags: ["a"] });
    assert.deepEqual(cache.cacheInfo(), {
      hits: 1,
      misses: 0,
      maxSize: 0,
      currSize: 1,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("TTLCache serves falsy values as hits, not misses", async () => {
    const { cache } = jsonCache();
    for (const [i, value] of [null, 0, "", false].entries()) {
      await cache.set(`f${i}`, value);
      assert.equal(await cache.get(`f${i}`, "fallback"), value);
    }
    assert.equal(cache.cacheInfo().hits, 4);
    assert.equal(cache.cacheInfo().misses, 0);
  });

  test("TTLCache.get() returns a fresh copy each time", async () => {
    const { cache } = jsonCache();
    await cache.set("k", { n: 1 });
    const first = (await cache.get("k")) as { n: number };
    first.n = 99;
    assert.deepEqual(await cache.get("k"), { n: 1 });
  });

  test("TTLCache without a serializer stores Uint8Array copies only", async () => {
    const cache = new TTLCache();
    const value = bytes(1, 2);
    await cache.set("k", value);
    value[0] = 9;
    const got = await cache.get("k");
    assert.deepEqual([...got!], [1, 2]);
    got![1] = 9;
    assert.deepEqual([...(await cache.get("k"))!], [1, 2]);
    await assert.rejects(cache.set("s", "text" as never), {
      name: "TypeError",
      message: "Cannot store string without a serializer: pass a serializer to TTLCache or store a Uint8Array",
    });
    await assert.rejects(cache.set("o", { a: 1 } as never), { message: /Cannot store Object without a serializer/ });
    assert.equal(cache.cacheInfo().currSize, 1);
  });

  test("TTLCache.get rejects an ill-formed key (a lone surrogate) on every path, before any backend read", async () => {
    const inner = new MemoryCacheBackend();
    let reads = 0;
    const counting: CacheBackend = {
      get: (key) => (reads++, inner.get(key)),
      set: (key, value, ttl) => inner.set(key, value, ttl),
      delete: (key) => inner.delete(key),
      clear: () => inner.clear(),
    };
    const caches = [
      new TTLCache<number>({ serializer: new JsonSerializer() }),
      new TTLCache<number>({ serializer: new JsonSerializer(), l1: { maxSize: 10 } }),
      new TTLCache<number>({ serializer: new JsonSerializer() }).namespace("ns"),
      new TTLCache<number>({ serializer: new JsonSerializer(), backend: counting }),
    ];
    for (const cache of caches) {
      await cache.set("k\uFFFD", 1);
      for (const key of ["k\uD800", "\uDFFF", "k\uD800x"]) {
        await assert.rejects(cache.get(key), { name: "TypeError", message: /key must be a well-formed string/ });
      }
      assert.equal(await cache.get("k\uFFFD"), 1);
      assert.equal(cache.cacheInfo().misses, 0, "a refused key is not a miss");
    }
    assert.equal(reads, 1, "only the well-formed key reached the backend");
  });

  test("TTLCache rejects keys that are not strings", async () => {
    const { cache } = jsonCache();
    for (const key of [1, null, undefined, {}, Symbol("k")]) {
      await assert.rejects(cache.get(key as never), { name: "TypeError", message: /key must be a string/ });
      await assert.rejects(cache.set(key as never, 1), { name: "TypeError", message: /key must be a string/ });
      await assert.rejects(cache.delete(key as never), { name: "TypeError", message: /key must be a string/ });
    }
    assert.deepEqual(cache.cacheInfo(), {
      hits: 0,
      misses: 0,
      maxSize: 0,
      currSize: 0,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("TTLCache.set() rejects a bad per-entry ttl and keeps what was cached", async () => {
    const { cache } = jsonCache({ maxSize: 2 });
    await cache.set("a", 1);
    await cache.set("b", 2);
    for (const ttl of [0, -1, NaN, Infinity, -Infinity]) {
      await assert.rejects(cache.set("c", 3, ttl), {
        name: "RangeError",
        message: new RegExp(`^Cannot set in TTLCache: ttl must be a finite number > 0 \\(seconds\\): received ${ttl}$`),
      });
      await assert.rejects(cache.set("a", 100, ttl), { name: "RangeError" });
    }
    await assert.rejects(cache.set("c", 3, "1" as never), { name: "TypeError", message: /received "1"/ });
    assert.equal(await cache.get("a"), 1);
    assert.equal(await cache.get("b"), 2);
    assert.deepEqual(cache.cacheInfo(), {
      hits: 2,
      misses: 0,
      maxSize: 2,
      currSize: 2,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("TTLCache.set() with a value the serializer rejects keeps entries and counters", async () => {
    const { cache } = jsonCache({ maxSize: 1 });
    await cache.set("a", 1);
    await assert.rejects(cache.set("b", 1n), { name: "TypeError", message: /bigint/ });
    await assert.rejects(cache.set("a", () => 1), { name: "TypeError", message: /function/ });
    assert.equal(await cache.get("a"), 1);
    assert.deepEqual(cache.cacheInfo(), {
      hits: 1,
      misses: 0,
      maxSize: 1,
      currSize: 1,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("TTLCache.delete() removes a key and is a no-op when absent", async () => {
    const { cache } = jsonCache();
    await cache.set("k", 1);
    await cache.delete("k");
    await cache.delete("k");
    assert.equal(await cache.get("k"), undefined);
    assert.equal(cache.cacheInfo().currSize, 0);
  });

  test("TTLCache.clear() empties the cache and keeps the counters", async () => {
    const { cache } = jsonCache({ maxSize: 1 });
    await cache.set("a", 1);
    await cache.get("a");
    await cache.get("x");
    await cache.set("b", 2);
    await cache.clear();
    assert.equal(await cache.get("b"), undefined);
    assert.deepEqual(cache.cacheInfo(), {
      hits: 1,
      misses: 2,
      maxSize: 1,
      currSize: 0,
      evictions: 1,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("TTLCache.cacheInfo() returns a frozen snapshot", async () => {
    const { cache } = jsonCache();
    const info = cache.cacheInfo();
    assert.ok(Object.isFrozen(info));
    await cache.set("k", 1);
    assert.equal(info.currSize, 0);
    assert.equal(cache.cacheInfo().currSize, 1);
  });
});

describe("TTLCache expiry", () => {
  test("TTLCache entries expire after the default ttl", async () => {
    const { cache, clock } = jsonCache({ ttl: 10 });
    await cache.set("k", "v");
    clock.advance(9_999);
    assert.equal(await cache.get("k"), "v");
    clock.advance(1);
    assert.equal(await cache.get("k"), undefined);
    assert.deepEqual(cache.cacheInfo(), {
      hits: 1,
      misses: 1,
      maxSize: 0,
      currSize: 0,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("TTLCache with the default clock (read coarsely on hits): an entry within grace is stale once a timer has run", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer(), grace: 60 });
    await cache.set("k", 1, 0.02);
    for (let i = 0; i < 100; i++) assert.equal(await cache.get("k"), 1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(await cache.get("k"), undefined, "stale: get does not serve it");
    assert.equal(await cache.getOrSet("k", () => 2), 2, "stale: getOrSet computes it again");
  });

  test("TTLCache.set() per-entry ttl overrides the default, fractions allowed", async () => {
    const { cache, clock } = jsonCache({ ttl: 60 });
    await cache.set("short", 1, 0.5);
    await cache.set("long", 2);
    clock.advance(500);
    assert.equal(await cache.get("short"), undefined);
    assert.equal(await cache.get("long"), 2);
  });

  test("TTLCache.cacheInfo() stops counting entries whose ttl has passed", async () => {
    const { cache, clock } = jsonCache();
    await cache.set("a", 1, 1);
    await cache.set("b", 1, 5);
    assert.equal(cache.cacheInfo().currSize, 2);
    clock.advance(1000);
    assert.equal(cache.cacheInfo().currSize, 1);
    clock.advance(4000);
    assert.equal(cache.cacheInfo().currSize, 0);
  });

  test("TTLCache evicts expired entries before live ones, and does not count them", async () => {
    const { cache, clock } = jsonCache({ maxSize: 2 });
    await cache.set("old", 1, 1);
    await cache.set("live", 2, 60);
    clock.advance(1000);
    await cache.set("new", 3);
    assert.equal(await cache.get("live"), 2);
    assert.equal(await cache.get("new"), 3);
    assert.equal(cache.cacheInfo().evictions, 0);
    assert.equal(cache.cacheInfo().currSize, 2);
  });

  test("TTLCache still expires an entry written right after a full cache dropped an expired one", async () => {
    // Regression: the sweep during that write used to forget the new entry's expiry.
    const { cache, clock } = jsonCache({ maxSize: 1, ttl: 2 });
    await cache.set("old", 1);
    clock.advance(2000);
    await cache.set("new", 2);
    clock.advance(2000);
    assert.equal(cache.cacheInfo().currSize, 0);
  });

  test("TTLCache tracking memory stays proportional to live entries when unbounded", async () => {
    const { cache, clock } = jsonCache();
    for (let i = 0; i < 10_000; i++) {
      await cache.set(`k${i}`, i, 1);
      if (i % 100 === 99) clock.advance(2000);
    }
    assert.ok(cache.cacheInfo().currSize <= 100);
  });
});

describe("TTLCache LRU", () => {
  test("TTLCache evicts the least recently used entry when full", async () => {
    const { cache } = jsonCache({ maxSize: 3 });
    for (const key of ["a", "b", "c"]) await cache.set(key, key);
    await cache.get("a");
    await cache.set("d", "d");
    assert.equal(await cache.get("b"), undefined);
    for (const key of ["a", "c", "d"]) assert.equal(await cache.get(key), key);
    await cache.set("e", "e");
    assert.equal(await cache.get("a"), undefined, "a became least recent after c and d were read");
    assert.equal(cache.cacheInfo().evictions, 2);
    assert.equal(cache.cacheInfo().currSize, 3);
  });

  test("TTLCache.set() overwriting a key promotes it and never evicts", async () => {
    const { cache } = jsonCache({ maxSize: 2 });
    await cache.set("a", 1);
    await cache.set("b", 2);
    await cache.set("a", 10);
    assert.equal(cache.cacheInfo().evictions, 0);
    await cache.set("c", 3);
    assert.equal(await cache.get("b"), undefined);
    assert.equal(await cache.get("a"), 10);
  });

  test("TTLCache with maxSize 1 keeps only the last key", async () => {
    const { cache } = jsonCache({ maxSize: 1 });
    for (let i = 0; i < 5; i++) await cache.set(`k${i}`, i);
    assert.equal(await cache.get("k4"), 4);
    assert.equal(await cache.get("k3"), undefined);
    assert.deepEqual(cache.cacheInfo(), {
      hits: 1,
      misses: 1,
      maxSize: 1,
      currSize: 1,
      evictions: 4,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("TTLCache eviction deletes the victim from the backend", async () => {
    const { cache, backend } = jsonCache({ maxSize: 2 });
    for (let i = 0; i < 10; i++) await cache.set(`k${i}`, i);
    assert.equal(backend.size, 2);
  });

  test("parallel TTLCache.set() calls never leave currSize above maxSize", async () => {
    const { cache, backend } = jsonCache({ maxSize: 10 });
    await Promise.all(Array.from({ length: 500 }, (_, i) => cache.set(`k${i % 137}`, i)));
    assert.ok(cache.cacheInfo().currSize <= 10);
    assert.ok(backend.size <= 10, `backend holds ${backend.size}`);
  });

  test("a hit on a key another instance wrote to a shared backend does not grow currSize past maxSize", async () => {
    const backend = new MemoryCacheBackend();
    const serializer = new JsonSerializer();
    const writer = new TTLCache({ backend, serializer });
    const reader = new TTLCache({ backend, serializer, maxSize: 2 });
    for (let i = 0; i < 5; i++) await writer.set(`w${i}`, i);
    await reader.set("r", 1);
    for (let i = 0; i < 5; i++) assert.equal(await reader.get(`w${i}`), i);
    assert.equal(reader.cacheInfo().currSize, 1);
    assert.equal(reader.cacheInfo().hits, 5);
  });
});

describe("TTLCache untrusted bytes", () => {
  test("TTLCache.get() treats undecodable bytes as a counted miss, deletes them and reports onError", async () => {
    const backend = new MemoryCacheBackend();
    const errors: unknown[] = [];
    const cache = new TTLCache({
      backend,
      serializer: new JsonSerializer(),
      onError: (error, context) => errors.push([error, context]),
    });
    await backend.set("bad", entryOf(new TextEncoder().encode("{not json")), 60);
    await backend.set("bad-utf8", entryOf(bytes(0xff, 0xfe)), 60);
    assert.equal(await cache.get("bad", "fallback"), "fallback");
    assert.equal(await cache.get("bad-utf8"), undefined);
    assert.equal(await backend.get("bad"), undefined, "the bad entry is deleted");
    assert.deepEqual(cache.cacheInfo().misses, 2);
    assert.equal(errors.length, 2);
    const [error, context] = errors[0] as [CacheError, unknown];
    assert.ok(error instanceof CacheError);
    assert.ok(error.cause instanceof Error);
    assert.deepEqual(context, { key: "bad", operation: "loads" });
  });

  test("TTLCache.get() treats bytes it did not write (no entry header, truncated, unknown flags) as a counted miss", async () => {
    const backend = new MemoryCacheBackend();
    const errors: unknown[] = [];
    const cache = new TTLCache({ backend, serializer: new JsonSerializer(), onError: (error) => errors.push(error) });
    const good = entryOf(new TextEncoder().encode("1"));
    const variants = [
      new TextEncoder().encode("1"),
      good.subarray(0, 9),
      Uint8Array.from([good[0], 0x80, ...good.subarray(2)]),
      Uint8Array.from([good[0], 1, ...good.subarray(2, 10), 5, 0]),
    ];
    for (const [i, variant] of variants.entries()) await backend.set(`k${i}`, variant, 60);
    for (let i = 0; i < variants.length; i++) assert.equal(await cache.get(`k${i}`), undefined);
    assert.equal(errors.length, variants.length);
    assert.ok(errors.every((error) => error instanceof CacheError));
    assert.deepEqual({ misses: cache.cacheInfo().misses, errors: cache.cacheInfo().errors }, { misses: 4, errors: 4 });
  });

  test("TTLCache.get() survives a throwing onError hook and an async-failing serializer", async () => {
    const backend = new MemoryCacheBackend();
    const serializer: CacheSerializer<string> = {
      dumps: (v) => new TextEncoder().encode(v),
      loads: () => Promise.reject(new Error("invalid")),
    };
    const cache = new TTLCache({
      backend,
      serializer,
      onError: () => {
        throw new Error("hook broke");
      },
    });
    await cache.set("k", "v");
    assert.equal(await cache.get("k"), undefined);
    assert.equal(cache.cacheInfo().misses, 1);
    assert.equal(cache.cacheInfo().currSize, 0);
  });

  test("TTLCache.get() without a serializer treats a non-Uint8Array from the backend as a miss", async () => {
    const backend: CacheBackend = {
      get: () => Promise.resolve("not bytes" as never),
      set: () => Promise.resolve(),
      delete: () => Promise.resolve(),
      clear: () => Promise.resolve(),
    };
    const cache = new TTLCache({ backend });
    assert.equal(await cache.get("k"), undefined);
    assert.equal(cache.cacheInfo().misses, 1);
  });
});

describe("TTLCache backend failures", () => {
  const failing = (message: string): CacheBackend => ({
    get: () => Promise.reject(new Error(message)),
    set: () => Promise.reject(new Error(message)),
    delete: () => Promise.reject(new Error(message)),
    clear: () => Promise.reject(new Error(message)),
  });

  test("TTLCache wraps backend errors in CacheError with the cause, and changes no counter", async () => {
    const cache = new TTLCache({ backend: failing("ECONNREFUSED"), serializer: new JsonSerializer() });
    for (const op of [() => cache.get("k"), () => cache.set("k", 1), () => cache.delete("k"), () => cache.clear()]) {
      await assert.rejects(op(), (error: Error) => {
        assert.ok(error instanceof CacheError);
        assert.match(error.message, /ECONNREFUSED/);
        assert.equal((error.cause as Error).message, "ECONNREFUSED");
        return true;
      });
    }
    assert.deepEqual(cache.cacheInfo(), {
      hits: 0,
      misses: 0,
      maxSize: 0,
      currSize: 0,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("TTLCache passes a backend's CacheError through unchanged", async () => {
    const original = new CacheError("down");
    const backend = { ...failing("x"), get: () => Promise.reject(original) };
    const cache = new TTLCache({ backend });
    await assert.rejects(cache.get("k"), (error) => error === original);
  });
});

describe("TTLCache on the memory backend", () => {
  test("TTLCache goes through a MemoryCacheBackend subclass's own get, set and delete", async () => {
    const calls: string[] = [];
    class Logged extends MemoryCacheBackend {
      override get(key: string) {
        calls.push(`get ${key}`);
        return super.get(key);
      }
      override set(key: string, value: Uint8Array, ttl: number) {
        calls.push(`set ${key}`);
        return super.set(key, value, ttl);
      }
      override delete(key: string) {
        calls.push(`delete ${key}`);
        return super.delete(key);
      }
    }
    const cache = new TTLCache({ maxSize: 1, backend: new Logged() });
    await cache.set("a", bytes(1));
    await cache.set("b", bytes(2));
    assert.equal(await cache.get("a"), undefined);
    assert.deepEqual([...(await cache.get("b"))!], [2]);
    assert.deepEqual(calls, ["set a", "set b", "delete a", "get a", "get b"]);
  });

  test("TTLCache over a MemoryCacheBackend with its own clock: the backend expires entries by that clock", async () => {
    const clock = manualClock(1_000_000);
    const backendClock = manualClock(5_000_000);
    const cache = new TTLCache({ clock, backend: new MemoryCacheBackend({ clock: backendClock }) });
    await cache.set("k", bytes(1), 10);
    assert.deepEqual([...(await cache.get("k"))!], [1]);
    backendClock.advance(9_999);
    assert.deepEqual([...(await cache.get("k"))!], [1]);
    backendClock.advance(1);
    assert.equal(await cache.get("k"), undefined);
  });

  test("TTLCache over a shared memory backend: an entry someone else deletes is evicted before live ones", async () => {
    const backend = new MemoryCacheBackend();
    const cache = new TTLCache({ maxSize: 2, backend });
    await cache.set("x", bytes(1));
    await cache.set("y", bytes(2));
    await backend.delete("x");
    assert.equal(await cache.get("x"), undefined);
    await cache.set("z", bytes(3));
    assert.deepEqual([...(await cache.get("y"))!], [2]);
    assert.deepEqual([...(await cache.get("z"))!], [3]);
    assert.equal(cache.cacheInfo().currSize, 2);
  });

  test("TTLCache keeps exact LRU order when a few hot keys are read among many", async () => {
    const cache = new TTLCache({ maxSize: 1000 });
    for (let i = 0; i < 1000; i++) await cache.set(`k${i}`, bytes(i % 256));
    for (let round = 0; round < 50; round++) for (let i = 0; i < 10; i++) await cache.get(`k${i}`);
    await cache.set("new", bytes(0));
    // k10 was the least recently used: the ten hot keys were all read after it was written.
    assert.equal(await cache.get("k10"), undefined);
    for (let i = 0; i < 10; i++) assert.notEqual(await cache.get(`k${i}`), undefined);
    assert.equal(cache.cacheInfo().evictions, 1);
  });
});

describe("TTLCache hardening: option names, maxTtl, backends", () => {
  test("new TTLCache() rejects an unknown option, naming the nearest valid one", () => {
    const valid =
      "valid options: l1, bus, maxSize, ttl, maxTtl, backend, serializer, clock, random, onError, circuitBreaker, maxValueBytes, grace, failOpen, timeout, hardTimeout, staleWhileRevalidate, earlyRefresh";
    for (const [options, name, near] of [[{ maxsize: 1 }, "maxsize", "maxSize"], [{ TTL: 5 }, "TTL", "ttl"]] as const) {
      assert.throws(() => new TTLCache(options as never), {
        name: "TypeError",
        message: `Cannot create TTLCache: unknown option "${name}" (did you mean ${near}?); ${valid}`,
      });
    }
    assert.throws(() => new TTLCache({ keymaker: () => "" } as never), { message: /unknown option "keymaker"/ });
  });

  test("a ttl above maxTtl (default 43200 s = 12 h) is a RangeError that mentions seconds", async () => {
    const cache = new TTLCache();
    assert.equal(cache.maxTtl, 43200);
    assert.throws(() => new TTLCache({ ttl: 60000 }), {
      name: "RangeError",
      message: "Cannot create TTLCache: ttl must be at most maxTtl (43200 seconds = 12 h): received 60000; ttl is " +
        "in seconds (did you pass milliseconds?); raise maxTtl to allow longer entries",
    });
    await assert.rejects(cache.set("k", bytes(1), 1e300), {
      name: "RangeError",
      message: "Cannot set in TTLCache: ttl must be at most maxTtl (43200 seconds = 12 h): received 1e+300; " +
        "raise maxTtl to allow longer entries",
    });
    await assert.rejects(cache.set("k", bytes(1), 60000), { name: "RangeError", message: /did you pass milliseconds/ });
    assert.equal(await cache.get("k"), undefined, "a refused set stores nothing");
    await cache.set("k", bytes(1), 43200);
    assert.deepEqual([...(await cache.get("k"))!], [1]);
  });

  test("maxTtl raises or lowers the bound, and must itself be finite, > 0 and exact in milliseconds", async () => {
    const week = new TTLCache({ maxTtl: 7 * 86400, ttl: 86400 });
    assert.equal(week.maxTtl, 604800);
    await week.set("k", bytes(1), 604800);
    await assert.rejects(week.set("k", bytes(1), 604801), { message: /at most maxTtl \(604800 seconds = 7 d\)/ });
    assert.doesNotThrow(() => new TTLCache({ maxTtl: 30 }), "the default ttl (60) yields to a lower maxTtl");
    assert.throws(() => new TTLCache({ maxTtl: 30, ttl: 31 }), { message: /at most maxTtl \(30 seconds = 30 s\)/ });
    for (const bad of [0, -1, NaN, Infinity, "60", null]) {
      assert.throws(() => new TTLCache({ maxTtl: bad as never }), {
        name: typeof bad === "number" ? "RangeError" : "TypeError",
        message: /^Cannot create TTLCache: maxTtl must be a finite number > 0 \(seconds\): received /,
      });
    }
    for (const big of [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER / 1000, 100 * 365 * 86400 + 1]) {
      assert.throws(() => new TTLCache({ maxTtl: big }), {
        name: "RangeError",
        message: /^Cannot create TTLCache: maxTtl must be at most 3153600000 seconds/,
      });
    }
    // The largest maxTtl still stores tagged and namespaced entries (their records live 2 maxTtl).
    const longest = new TTLCache({ maxTtl: 100 * 365 * 86400 });
    await longest.namespace("n").set("k", bytes(1), { ttl: 100 * 365 * 86400, tags: ["t"] });
    assert.deepEqual([...(await longest.namespace("n").get("k"))!], [1]);
    await longest.deleteTags(["t"]);
    assert.equal(await longest.namespace("n").get("k"), undefined);
  });

  test("a backend whose get() does not return a Promise is a TypeError, not a silent hit or miss", async () => {
    const store = new Map<string, Uint8Array>();
    const syncBackend: CacheBackend = {
      get: (key) => store.get(key) as never,
      set: (key, value) => Promise.resolve(void store.set(key, value)),
      delete: (key) => Promise.resolve(void store.delete(key)),
      clear: () => Promise.resolve(store.clear()),
    };
    const cache = new TTLCache({ backend: syncBackend });
    await cache.set("k", bytes(1));
    for (const key of ["k", "missing"]) {
      await assert.rejects(cache.get(key), {
        name: "TypeError",
        message:
          /^Cannot get from TTLCache: backend\.get must return a Promise \(of a Uint8Array or undefined\): received /,
      });
    }
  });
});

describe("maxValueBytes", () => {
  test("a set over the limit is a RangeError and changes nothing; read-through returns the value unstored", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer(), maxValueBytes: 16 });
    await cache.set("k", "small");
    await assert.rejects(cache.set("k", "x".repeat(100)), {
      name: "RangeError",
      message: "Cannot store a value of 102 bytes (encoded): over maxValueBytes (16)",
    });
    assert.equal(await cache.get("k"), "small", "the stored value is untouched");
    const errors: CacheEvent[] = [];
    cache.addEventListener("error", (event) => errors.push(event as CacheEvent));
    let runs = 0;
    const big = () => (runs++, "y".repeat(100));
    assert.equal(await cache.getOrSet("big", big), "y".repeat(100));
    assert.equal(await cache.getOrSet("big", big), "y".repeat(100));
    assert.equal(runs, 2, "never stored");
    assert.deepEqual(errors.map((event) => event.operation), ["set", "set"]);
    for (const bad of [0, -1, 1.5, NaN]) {
      assert.throws(() => new TTLCache({ maxValueBytes: bad }), { name: "RangeError", message: /maxValueBytes/ });
    }
    assert.throws(() => new TTLCache({ maxValueBytes: "1kb" as never }), { name: "TypeError" });
  });
});

describe("TTLCache over small entries (kept packed in a string by the memory backend)", () => {
  test("hits read the header and payload out of the string as from an array: raw, grace, compute time", async () => {
    const clock = manualClock();
    const backend = new MemoryCacheBackend({ clock });
    const cache = new TTLCache<Uint8Array>({ backend, clock, ttl: 1 });
    await cache.set("plain", bytes(1, 2, 3));
    await cache.set("graced", bytes(4, 5), { grace: 60 });
    await cache.getOrSet("computed", () => bytes(6));
    await cache.set("empty", bytes());
    for (const [key, want] of [["plain", [1, 2, 3]], ["graced", [4, 5]], ["computed", [6]], ["empty", []]] as const) {
      const got = (await cache.get(key))!;
      assert.deepEqual([...got], want, key);
      assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype);
      got.fill(9);
      assert.deepEqual([...(await cache.get(key))!], want, `${key}: each hit is a copy of its own`);
    }
    clock.advance(1_500);
    assert.equal(await cache.get("graced"), undefined, "stale: a miss for get");
    assert.deepEqual([...(await cache.getOrSet("graced", () => Promise.reject(new Error("down")), { grace: 60 }))], [
      4,
      5,
    ]);
    assert.equal(await cache.get("plain"), undefined, "expired");
  });

  test("JSON: ASCII text is parsed from the string, other text decoded from the bytes; an override of loads is honoured", async () => {
    const clock = manualClock();
    const backend = new MemoryCacheBackend({ clock });
    const cache = new TTLCache<unknown>({ backend, clock, serializer: new JsonSerializer() });
    const values = [{ a: 1 }, "é", "😀 ok", [null, true], { __proto__: 1 }, 0];
    for (const [i, value] of values.entries()) await cache.set(`k${i}`, value, { grace: i % 2 === 0 ? 0 : 5 });
    for (const [i, value] of values.entries()) {
      const got = await cache.get(`k${i}`);
      assert.deepEqual(got, JSON.parse(JSON.stringify(value)));
      if (typeof got === "object" && got !== null) {
        assert.notEqual(got, await cache.get(`k${i}`), "a new value per hit");
      }
    }
    let calls = 0;
    class Counting extends JsonSerializer<unknown> {
      override loads(data: Uint8Array): unknown {
        calls++;
        return { counted: super.loads(data) };
      }
    }
    const counted = new TTLCache<unknown>({ backend, clock, serializer: new Counting() });
    assert.deepEqual(await counted.get("k0"), { counted: { a: 1 } });
    assert.equal(calls, 1);
    await cache.set("short", { b: 2 }, { ttl: 1, grace: 60 });
    assert.deepEqual(await cache.get("short"), { b: 2 });
    clock.advance(1_500);
    assert.equal(await cache.get("short"), undefined, "stale: a miss for get");
  });
});
