import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { cached, CacheError, CacheTimeoutError, setDefaultBackend, TTLCache } from "../mod.ts";
import type { CacheBackend, CacheLock, CacheSerializer } from "../mod.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { jsonCache, manualClock } from "./_helpers.ts";
import { Feet, Meters } from "./_units.ts";

// JSON, plus `undefined`, so that every falsy result can be stored.
const withUndefined: CacheSerializer<unknown> = {
  dumps: (value) => new TextEncoder().encode(value === undefined ? "" : JSON.stringify(value)),
  loads: (bytes) => bytes.length === 0 ? undefined : JSON.parse(new TextDecoder().decode(bytes)),
};

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

// A promise that the test settles by hand.
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("cached", () => {
  test("cached() caches a sync function: one computation, then hits", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const square = cached(cache)(function square(n: number) {
      calls++;
      return n * n;
    });
    const first = square(3);
    assert.ok(first instanceof Promise, "the wrapper always returns a Promise");
    assert.equal(await first, 9);
    assert.equal(await square(3), 9);
    assert.equal(await square(3), 9);
    assert.equal(await square(4), 16);
    assert.equal(calls, 2);
    assert.deepEqual(square.cacheInfo(), {
      hits: 2,
      misses: 2,
      maxSize: 0,
      currSize: 2,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
    assert.equal(square.keyFor(3), "square:[3]", "the key is <name>:<arguments>");
    assert.deepEqual(await cache.namespace("square").get("square:[3]"), 9, "in the namespace <name>");
  });

  test("cached() caches an async function and serves fresh copies of the stored value", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const getUser = cached(cache)(async function getUser(id: number) {
      calls++;
      await tick();
      return { id, tags: ["a"] };
    });
    const miss = await getUser(1);
    const hit = await getUser(1);
    assert.deepEqual(hit, { id: 1, tags: ["a"] });
    assert.notEqual(hit, miss);
    hit.tags.push("mutated");
    assert.deepEqual(await getUser(1), { id: 1, tags: ["a"] }, "mutating a result never changes the cache");
    assert.equal(calls, 1);
  });

  test("cached() keeps the original's name and length, and adds cacheInfo and cacheClear", () => {
    const { cache } = jsonCache();
    const wrapped = cached(cache)(function fetchPage(_url: string, _page: number) {
      return 1;
    });
    assert.equal(wrapped.name, "fetchPage");
    assert.equal(wrapped.length, 2);
    assert.equal(typeof wrapped.cacheInfo, "function");
    assert.equal(typeof wrapped.cacheClear, "function");
  });

  test("cacheClear() empties only this function's entries and the next call recomputes", async () => {
    const { cache } = jsonCache();
    await cache.set("other", "entry");
    let calls = 0;
    const inc = cached(cache)(function inc(n: number) {
      calls++;
      return n + 1;
    });
    await inc(1);
    await inc(2);
    assert.equal(inc.cacheInfo().currSize, 3);
    const cleared = inc.cacheClear();
    assert.ok(cleared instanceof Promise);
    assert.equal(await cleared, undefined);
    assert.equal(await cache.get("other"), "entry", "other entries stay");
    await inc(1);
    await inc(2);
    assert.equal(calls, 4);
    assert.deepEqual(inc.cacheInfo(), {
      hits: 1,
      misses: 4,
      maxSize: 0,
      currSize: 3,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("cached() caches and serves undefined, null, 0, empty string and false", async () => {
    const cache = new TTLCache<unknown>({ serializer: withUndefined });
    const results = [undefined, null, 0, "", false];
    let calls = 0;
    const pick = cached(cache)(function pick(i: number) {
      calls++;
      return results[i];
    });
    for (let i = 0; i < results.length; i++) {
      assert.equal(await pick(i), results[i]);
      assert.equal(await pick(i), results[i]);
    }
    assert.equal(calls, results.length);
    assert.deepEqual(cache.cacheInfo(), {
      hits: 5,
      misses: 5,
      maxSize: 0,
      currSize: 5,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("cached() never stores errors: sync throws and rejections reach the caller, the next call retries", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const flaky = cached(cache)(function flaky(mode: string) {
      calls++;
      if (calls === 1) throw new Error(`sync ${mode}`);
      if (calls === 2) return Promise.reject(new Error(`async ${mode}`));
      return mode;
    });
    await assert.rejects(flaky("x"), { message: "sync x" });
    await assert.rejects(flaky("x"), { message: "async x" });
    assert.equal(cache.cacheInfo().currSize, 0);
    assert.equal(await flaky("x"), "x");
    assert.equal(await flaky("x"), "x");
    assert.equal(calls, 3);
    assert.deepEqual(cache.cacheInfo(), {
      hits: 1,
      misses: 3,
      maxSize: 0,
      currSize: 1,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("cached() returns a skipped result without storing it", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const seen: unknown[] = [];
    const find = cached(cache, {
      skip: (result) => {
        seen.push(result);
        return result === null;
      },
    })(function find(id: number) {
      calls++;
      return id > 0 ? { id } : null;
    });
    assert.equal(await find(0), null);
    assert.equal(await find(0), null);
    assert.deepEqual(await find(1), { id: 1 });
    assert.deepEqual(await find(1), { id: 1 });
    assert.equal(calls, 3);
    assert.deepEqual(seen, [null, null, { id: 1 }], "skip sees computed results only");
    assert.deepEqual(cache.cacheInfo(), {
      hits: 1,
      misses: 3,
      maxSize: 0,
      currSize: 1,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("cached() passes the serializer's TypeError on, and stores nothing", async () => {
    const { cache } = jsonCache();
    const big = cached(cache)(function big() {
      return 1n;
    });
    await assert.rejects(big(), { name: "TypeError", message: /Cannot serialize bigint as JSON/ });
    assert.equal(cache.cacheInfo().currSize, 0);
    const raw = new TTLCache();
    const text = cached(raw)(function text() {
      return "not bytes";
    });
    await assert.rejects(text() as Promise<unknown>, { name: "TypeError", message: /without a serializer/ });
  });

  test("cached() expires results after the cache's ttl", async () => {
    const { cache, clock } = jsonCache({ ttl: 10 });
    let calls = 0;
    const now = cached(cache)(function now() {
      return ++calls;
    });
    assert.equal(await now(), 1);
    clock.advance(9_999);
    assert.equal(await now(), 1);
    clock.advance(1);
    assert.equal(await now(), 2);
  });

  test("cached() evicts by the cache's maxSize", async () => {
    const { cache } = jsonCache({ maxSize: 2 });
    let calls = 0;
    const id = cached(cache)(function id(n: number) {
      calls++;
      return n;
    });
    await id(1);
    await id(2);
    await id(3);
    assert.deepEqual(cache.cacheInfo(), {
      hits: 0,
      misses: 3,
      maxSize: 2,
      currSize: 2,
      evictions: 1,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
    await id(1);
    assert.equal(calls, 4);
  });

  test("cached() rejects unencodable arguments before calling the function", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const run = cached(cache)(function run(_n: number, _cb: () => void) {
      calls++;
      return 1;
    });
    await assert.rejects(run(1, () => {}), {
      name: "TypeError",
      message: /^Cannot make a cache key for run: args\[1\] is function .*pass keyMaker to cached\(\)/,
    });
    assert.equal(calls, 0);
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

  test("cached() namespaces keys by name, so functions never share entries by accident", async () => {
    const { cache } = jsonCache();
    const a = cached(cache)(function a(n: number) {
      return `a${n}`;
    });
    const b = cached(cache)(function b(n: number) {
      return `b${n}`;
    });
    const renamed = cached(cache, { name: "a:x" })(function a(n: number) {
      return `x${n}`;
    });
    assert.equal(await a(1), "a1");
    assert.equal(await b(1), "b1");
    assert.equal(await renamed(1), "x1");
    assert.equal(await a(1), "a1");
    assert.equal(cache.cacheInfo().currSize, 3);
    assert.equal(await cache.namespace("a:x").get("a%3Ax:[1]"), "x1");
  });

  test("cached() refuses an anonymous function without the name option", () => {
    const { cache } = jsonCache();
    assert.throws(() => cached(cache)(((n: number) => n) as never), {
      name: "TypeError",
      message: /^Cannot create cached function: the function has no name; pass the name option/,
    });
    const named = cached(cache, { name: "double" })((n: number) => n * 2);
    assert.equal(typeof named, "function");
  });

  test("cached() with typed separates class instances with equal fields", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const untyped = cached(cache, { name: "untyped" })((_x: { value: number }) => ++calls);
    const typed = cached(cache, { name: "typed", typed: true })((_x: { value: number }) => ++calls);
    assert.equal(await untyped(new Meters(1)), await untyped(new Feet(1)));
    assert.notEqual(await typed(new Meters(1)), await typed(new Feet(1)));
    assert.equal(await typed(new Feet(1)), 3);
  });

  test("cached() hashes long argument lists into bounded keys and still serves hits", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const echo = cached(cache)(function echo(text: string) {
      calls++;
      return text.length;
    });
    const long = "y".repeat(10_000);
    assert.equal(await echo(long), 10_000);
    assert.equal(await echo("y".repeat(10_000)), 10_000);
    assert.equal(await echo(long + "z"), 10_001);
    assert.equal(calls, 2);
    assert.equal(cache.cacheInfo().hits, 1);
  });

  test("cached() uses a keyMaker's key as the cache's key, sync or async, with fn, args, this", async () => {
    const { cache } = jsonCache();
    const received: unknown[][] = [];
    function lookup(this: { region: string }, id: number) {
      return `${this.region}-${id}`;
    }
    const syncKeys = cached(cache, {
      keyMaker: (fn, args, self) => {
        received.push([fn, args, self]);
        return `user/${(self as { region: string }).region}/${args[0]}`;
      },
    })(lookup);
    const eu = { region: "eu", lookup: syncKeys };
    const us = { region: "us", lookup: syncKeys };
    assert.equal(await eu.lookup(1), "eu-1");
    assert.equal(await us.lookup(1), "us-1", "per-instance keys through thisArg");
    assert.equal(await eu.lookup(1), "eu-1");
    assert.deepEqual(received[0], [lookup, [1], eu]);
    assert.equal(await cache.get("user/eu/1"), "eu-1", "the cache's key as is");
    assert.equal(await cache.namespace("lookup").get("user/eu/1"), undefined, "not inside the function's namespace");

    const asyncKeys = cached(cache, { keyMaker: (_fn, args) => Promise.resolve(`async/${args[0]}`), name: "ignored" })(
      function plain(id: number) {
        return id;
      },
    );
    assert.equal(await asyncKeys(7), 7);
    assert.equal(await asyncKeys(7), 7);
    assert.equal(await cache.get("async/7"), 7);
    assert.equal(await asyncKeys.keyFor(7), "async/7");
  });

  test("cached() rejects a keyMaker result that is not a string, and keyMaker errors", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const f = (key: unknown) =>
      cached(cache, { keyMaker: () => key as string })(function f() {
        calls++;
        return 1;
      });
    await assert.rejects(f(5)(), {
      name: "TypeError",
      message: "Cannot call f: keyMaker must return a string (or a Promise of one): received 5",
    });
    await assert.rejects(f(Promise.resolve(null))(), { name: "TypeError", message: /received null/ });
    const throwing = cached(cache, {
      keyMaker: () => {
        throw new Error("no key");
      },
    })(function g() {
      return 1;
    });
    await assert.rejects(throwing(), { message: "no key" });
    assert.equal(calls, 0);
  });

  test("cached() passes this through, and shares keys across instances when used as a method", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    class Repo {
      prefix: string;
      constructor(prefix: string) {
        this.prefix = prefix;
      }
      find(id: number): Promise<string> {
        calls++;
        return Promise.resolve(`${this.prefix}${id}`);
      }
    }
    Repo.prototype.find = cached(cache, { name: "Repo#find" })(Repo.prototype.find);
    assert.equal(await new Repo("a").find(1), "a1");
    assert.equal(await new Repo("b").find(1), "a1", "by default this is not part of the key");
    assert.equal(calls, 1);
    assert.equal(await cache.namespace("Repo#find").get("Repo#find:[1]"), "a1");
  });

  test("cached() computes through backend failures by default (fail-open), or rejects with failOpen: false", async () => {
    const failing: CacheBackend = {
      get: () => Promise.reject(new Error("down")),
      set: () => Promise.resolve(),
      delete: () => Promise.resolve(),
      clear: () => Promise.resolve(),
    };
    const cache = new TTLCache<unknown>({ backend: failing, serializer: new JsonSerializer<unknown>() });
    const f = cached(cache, { name: "f" })(function f() {
      return 1;
    });
    assert.equal(await f(), 1);
    assert.equal(cache.cacheInfo().errors, 1);
    const closed = cached(cache, { failOpen: false, name: "closed" })(function closed() {
      return 1;
    });
    await assert.rejects(closed(), (error: Error) => error instanceof CacheError && /down/.test(error.message));
  });
});

describe("cached lock", () => {
  test("lock: true runs 1,000 concurrent cold calls on one key once; each cold call counts one miss", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const gate = deferred();
    const load = cached(cache, { lock: true })(async function load(id: number) {
      calls++;
      await gate.promise;
      return { id };
    });
    const all = Array.from({ length: 1_000 }, () => load(1));
    await tick();
    gate.resolve();
    const results = await Promise.all(all);
    assert.equal(calls, 1);
    assert.ok(results.every((r) => r.id === 1));
    assert.deepEqual(cache.cacheInfo(), {
      hits: 0,
      misses: 1_000,
      maxSize: 0,
      currSize: 1,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
    await load(1);
    assert.equal(cache.cacheInfo().hits, 1);
  });

  test("lock: false lets concurrent cold calls all run the function", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const load = cached(cache, { lock: false })(async function load(id: number) {
      calls++;
      await tick();
      return id;
    });
    await Promise.all([load(1), load(1), load(1)]);
    assert.equal(calls, 3);
  });

  test("lock: true runs different keys in parallel", async () => {
    const { cache } = jsonCache();
    const started: number[] = [];
    const gates = [deferred(), deferred()];
    const load = cached(cache, { lock: true })(async function load(id: number) {
      started.push(id);
      await gates[id].promise;
      return id;
    });
    const both = Promise.all([load(0), load(1)]);
    await tick();
    assert.deepEqual(started, [0, 1], "the second key does not wait for the first");
    gates[1].resolve();
    gates[0].resolve();
    assert.deepEqual(await both, [0, 1]);
  });

  test("lock: true shares one computation's error with every caller waiting on it, and stores nothing", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const gate = deferred();
    const load = cached(cache, { lock: true })(async function load(id: number) {
      calls++;
      await gate.promise;
      if (calls === 1) throw new Error("first attempt failed");
      return id;
    });
    const waiting = [load(1), load(1), load(1)];
    await tick();
    gate.resolve();
    for (const call of waiting) await assert.rejects(call, { message: "first attempt failed" });
    assert.equal(calls, 1, "one computation for the three callers");
    assert.equal(await load(1), 1, "the next call computes again");
    assert.equal(calls, 2);
    assert.deepEqual(cache.cacheInfo(), {
      hits: 0,
      misses: 4,
      maxSize: 0,
      currSize: 1,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("lock: true with skip gives every waiter the one unstored result", async () => {
    const { cache } = jsonCache();
    let running = 0;
    let overlap = false;
    let calls = 0;
    const load = cached(cache, { lock: true, skip: () => true })(async function load() {
      calls++;
      running++;
      if (running > 1) overlap = true;
      await tick();
      running--;
      return calls;
    });
    assert.deepEqual(await Promise.all([load(), load(), load()]), [1, 1, 1]);
    assert.equal(overlap, false);
    assert.equal(await load(), 2, "a skipped result is not stored");
  });

  test("a custom CacheLock wraps the re-check, the call and the store of a miss, keyed by the cache key", async () => {
    const { cache } = jsonCache();
    const events: string[] = [];
    let tail: Promise<unknown> = Promise.resolve();
    const globalLock: CacheLock = {
      withLock<R>(key: string, fn: () => Promise<R>): Promise<R> {
        events.push(`wait ${key}`);
        const run = tail.then(async () => {
          events.push(`hold ${key}`);
          try {
            return await fn();
          } finally {
            events.push(`release ${key}`);
          }
        });
        tail = run.catch(() => {});
        return run;
      },
    };
    let calls = 0;
    const load = cached(cache, { lock: globalLock })(async function load(id: number) {
      calls++;
      events.push(`run ${id}`);
      await tick();
      return id;
    });
    assert.deepEqual(await Promise.all([load(1), load(1), load(2)]), [1, 1, 2]);
    assert.equal(calls, 2);
    assert.deepEqual(events, [
      "wait load:[1]",
      "wait load:[2]",
      "hold load:[1]",
      "run 1",
      "release load:[1]",
      "hold load:[2]",
      "run 2",
      "release load:[2]",
    ], "the second call of key 1 joins the first in this process; the lock is held once per computation");
    assert.deepEqual(cache.cacheInfo(), {
      hits: 0,
      misses: 3,
      maxSize: 0,
      currSize: 2,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
    events.length = 0;
    await load(1);
    assert.deepEqual(events, [], "hits never take the lock");
  });

  test("a custom CacheLock's timeout reaches the caller; an unreachable lock is passed over under fail-open", async () => {
    const { cache } = jsonCache();
    const timeout: CacheLock = { withLock: () => Promise.reject(new CacheTimeoutError("lock timeout")) };
    let calls = 0;
    const load = cached(cache, { lock: timeout })(function load() {
      return ++calls;
    });
    await assert.rejects(load(), { name: "CacheTimeoutError", message: "lock timeout" });
    assert.equal(calls, 0);
    const down: CacheLock = { withLock: () => Promise.reject(new CacheError("lock store down")) };
    const strict = cached(cache, { lock: down, failOpen: false })(function strict() {
      return ++calls;
    });
    await assert.rejects(strict(), { name: "CacheError", message: "lock store down" });
    const open = cached(cache, { lock: down })(function open() {
      return ++calls;
    });
    assert.equal(await open(), 1);
  });
});

describe("cached bad input", () => {
  const { cache } = jsonCache();
  const CREATE = /^Cannot create cached function: /;

  test("cached() rejects what is neither a TTLCache nor private cache options, naming what to pass", () => {
    for (const bad of [undefined, null, new MemoryCacheBackend(), "cache", [], new Map()]) {
      assert.throws(() => cached(bad as never), {
        name: "TypeError",
        message: new RegExp(
          "^Cannot create cached function: pass a TTLCache \\(cached\\(cache, options\\)\\) or the options of a " +
            "private cache \\(cached\\(\\{ ttl: 30, maxSize: 100 \\}\\)\\): received ",
        ),
      });
    }
    assert.throws(() => (cached as () => unknown)(), { message: /received undefined$/ });
    assert.throws(() => cached({ ttl: 1 } as never, {}), { message: /received an object \(Object\) and an object/ });
  });

  test("cached() rejects options that are not an object", () => {
    for (const bad of [null, 1, "lock", [true]]) {
      assert.throws(() => cached(cache, bad as never), { name: "TypeError", message: /options must be an object/ });
    }
  });

  test("cached() rejects keyMaker and skip that are not functions", () => {
    assert.throws(() => cached(cache, { keyMaker: "id" as never }), {
      name: "TypeError",
      message: 'Cannot create cached function: keyMaker must be a function: received "id"',
    });
    assert.throws(() => cached(cache, { skip: true as never }), {
      name: "TypeError",
      message: "Cannot create cached function: skip must be a function: received true",
    });
  });

  test("cached() rejects typed that is not a boolean", () => {
    for (const bad of [1, "true", null]) {
      assert.throws(() => cached(cache, { typed: bad as never }), {
        name: "TypeError",
        message: /^Cannot create cached function: typed must be a boolean: received /,
      });
    }
  });

  test("cached() rejects a lock that is neither a boolean nor a CacheLock", () => {
    for (const bad of [1, "yes", null, {}, { withLock: 1 }, { acquire() {} }]) {
      assert.throws(() => cached(cache, { lock: bad as never }), {
        name: "TypeError",
        message:
          /^Cannot create cached function: lock must be a boolean or a CacheLock \(an object with a withLock\(key, fn\) method\): received /,
      });
    }
    cached(cache, { lock: false });
    cached(cache, { lock: { withLock: (_key, fn) => fn() } });
  });

  test("cached() rejects a name that is not a non-empty string", () => {
    assert.throws(() => cached(cache, { name: "" }), {
      name: "RangeError",
      message: 'Cannot create cached function: name must be a non-empty string: received ""',
    });
    for (const bad of [1, null, Symbol("n")]) {
      assert.throws(() => cached(cache, { name: bad as never }), { name: "TypeError", message: CREATE });
    }
  });

  test("the wrapper rejects what is not a function, and a decorator context that is not a method's", () => {
    for (const bad of [undefined, 1, "fn", {}]) {
      assert.throws(() => cached(cache)(bad as never), {
        name: "TypeError",
        message: /^Cannot create cached function: fn must be a function: received /,
      });
    }
    const fn = function f() {};
    assert.throws(() => cached(cache)(fn as never, { kind: "getter", name: "x" } as never), {
      name: "TypeError",
      message: "Cannot create cached function: @cached decorates methods only: received a getter",
    });
    assert.throws(() => cached(cache)(fn as never, 3 as never), { message: /methods only: received 3/ });
  });

  test("bad input leaves what is cached intact", async () => {
    await cache.set("kept", 1);
    assert.throws(() => cached(cache, { lock: 1 as never }));
    assert.equal(await cache.get("kept"), 1);
  });
});

describe("cached() hardening: option names", () => {
  test("cached() rejects an unknown option, naming the nearest valid one", () => {
    const { cache } = jsonCache();
    assert.throws(() => cached(cache, { keymaker: () => "k" } as never), {
      name: "TypeError",
      message: 'Cannot create cached function: unknown option "keymaker" (did you mean keyMaker?); ' +
        "valid options: key, keyMaker, skip, typed, lock, name, ttl, tags, grace, failOpen, timeout, hardTimeout, staleWhileRevalidate, earlyRefresh",
    });
    assert.throws(() => cached(cache, { nmae: "f" } as never), {
      message: /unknown option "nmae" \(did you mean name\?\)/,
    });
  });

  test("cached() refuses an ill-formed name, which UTF-8 backends cannot keep distinct", () => {
    const { cache } = jsonCache();
    assert.throws(() => cached(cache, { name: "f\uD800" }), {
      name: "TypeError",
      message: /name must be a well-formed string/,
    });
  });
});

describe("cached keys: templates and key functions are the cache's keys", () => {
  test("a key template's key is the cache's key: get, set, delete and keyFor reach the same entry", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const getUser = cached(cache, { key: "user:{0}" })(function getUser(id: number) {
      calls++;
      return { id, calls };
    });
    assert.deepEqual(await getUser(1), { id: 1, calls: 1 });
    assert.equal(getUser.keyFor(1), "user:1");
    assert.deepEqual(await cache.get("user:1"), { id: 1, calls: 1 }, "cache.get(key) reads the memoized call");
    await cache.delete("user:1");
    assert.deepEqual(await getUser(1), { id: 1, calls: 2 }, "cache.delete(key) invalidated it");
    await cache.set("user:1", { id: 1, calls: 99 });
    assert.deepEqual(await getUser(1), { id: 1, calls: 99 }, "cache.set(key, v) is what the next call returns");
    await getUser.invalidate(1);
    assert.equal(await cache.get("user:1"), undefined);
    assert.equal(calls, 2);
  });

  test("placeholders read dotted paths of arguments and this; the function form is called with this", async () => {
    const { cache } = jsonCache();
    const order = cached(cache, { key: "order:{0.id}:{1}:{0.lines.0.sku}" })(
      function order(o: { id: number; lines: { sku: string }[] }, v: bigint) {
        return `${o.id}/${v}`;
      },
    );
    assert.equal(await order({ id: 7, lines: [{ sku: "a" }] }, 2n), "7/2");
    assert.equal(order.keyFor({ id: 7, lines: [{ sku: "a" }] }, 2n), "order:7:2:a");
    assert.equal(await cache.get("order:7:2:a"), "7/2");

    const find = cached(cache, { key: "repo:{this.region}:{0}" })(function find(this: { region: string }, id: number) {
      return `${this.region}-${id}`;
    });
    const eu = { region: "eu", find };
    const us = { region: "us", find };
    assert.equal(await eu.find(1), "eu-1");
    assert.equal(await us.find(1), "us-1", "this is part of the key");
    assert.equal(await cache.get("repo:eu:1"), "eu-1");
    assert.equal(find.keyFor.call(us, 1), "repo:us:1");

    const seen: unknown[] = [];
    const byFunction = cached(cache, {
      key: function (this: unknown, a: number, b: number) {
        seen.push(this);
        return `sum:${a}+${b}`;
      },
    })(function sum(a: number, b: number) {
      return a + b;
    });
    const self = { byFunction };
    assert.equal(await self.byFunction(1, 2), 3);
    assert.equal(await cache.get("sum:1+2"), 3);
    assert.equal(seen[0], self);
    assert.equal(
      cached(cache, { key: "{{literal}}:{0}" })(function lit(n: number) {
        return n;
      }).keyFor(1),
      "{literal}:1",
    );
  });

  test("a key lands in the view passed to cached(), not in a namespace of the function", async () => {
    const { cache } = jsonCache();
    const users = cache.namespace("users");
    const load = cached(users, { key: "u:{0}" })(function load(id: number) {
      return id * 10;
    });
    assert.equal(await load(1), 10);
    assert.equal(await users.get("u:1"), 10);
    assert.equal(await cache.get("u:1"), undefined);
    await users.clear();
    assert.equal(await users.get("u:1"), undefined);
  });

  test("cacheClear() drops exactly the function's entries under explicit keys (a per-function tag)", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const a = cached(cache, { key: "a:{0}" })(function a(n: number) {
      calls++;
      return n;
    });
    const b = cached(cache, { keyMaker: (_fn, args) => `b:${args[0]}` })(function b(n: number) {
      calls++;
      return n;
    });
    const c = cached(cache)(function c(n: number) {
      calls++;
      return n;
    });
    for (const call of [() => a(1), () => a(2), () => b(1), () => c(1)]) await call();
    await cache.set("a:3", 3);
    await a.cacheClear();
    assert.equal(await cache.get("a:1"), undefined);
    assert.equal(await cache.get("a:2"), undefined);
    assert.equal(await cache.get("b:1"), 1, "another function's entries stay");
    assert.equal(await c.keyFor(1), "c:[1]");
    assert.equal(await cache.namespace("c").get("c:[1]"), 1, "default keys stay");
    assert.equal(await cache.get("a:3"), 3, "an entry the function did not store stays");
    await b.cacheClear();
    assert.equal(await cache.get("b:1"), undefined);
    assert.equal(calls, 4);
  });

  test("tags take templates beside literal tags", async () => {
    const { cache } = jsonCache();
    let calls = 0;
    const getUser = cached(cache, { key: "user:{0}", tags: ["users", "user:{0}", "team:{1.name}"] })(
      function getUser(id: number, _team: { name: string }) {
        calls++;
        return id;
      },
    );
    const core = { name: "core" };
    // One after the other: concurrent first stores under a tag no entry carried yet keep only the last (reported to core).
    for (const [id, team] of [[1, core], [2, core], [3, { name: "ops" }]] as const) await getUser(id, team);
    await cache.deleteTags(["user:1"]);
    assert.equal(await cache.get("user:1"), undefined);
    assert.equal(await cache.get("user:2"), 2);
    await cache.deleteTags(["team:core"]);
    assert.equal(await cache.get("user:2"), undefined);
    assert.equal(await cache.get("user:3"), 3);
    await cache.deleteTags(["users"]);
    assert.equal(await cache.get("user:3"), undefined);
    assert.equal(calls, 3);
  });

  test("malformed templates are TypeErrors at decoration, naming the template; bad paths reject the call", async () => {
    const { cache } = jsonCache();
    const make = (key: string, tags?: string[]) =>
      cached(cache, { key, ...(tags ? { tags } : {}) })(function f(o: unknown) {
        return o;
      });
    assert.throws(() => make("user:{id}"), {
      name: "TypeError",
      message: 'Cannot create cached function: key template "user:{id}" has the unknown placeholder {id}: ' +
        "a placeholder names a positional argument ({0}, {1.id}) or this ({this.region}), then fields separated by dots",
    });
    for (const bad of ["user:{0", "user:0}", "{}", "{0.}", "{a{0}}", "{0..id}", "{-1}"]) {
      assert.throws(() => make(bad), { name: "TypeError", message: new RegExp(`"${bad.replace(/[{}.]/g, "\\$&")}"`) });
    }
    assert.throws(() => make("ok:{0}", ["t:{x}"]), { name: "TypeError", message: /tag template "t:\{x\}"/ });
    assert.throws(() => make(""), { name: "RangeError", message: /key must be a non-empty template/ });
    assert.throws(() => cached(cache, { key: 1 as never }), { name: "TypeError", message: /received 1$/ });
    assert.throws(() => cached(cache, { key: "k:{0}", keyMaker: () => "k" }), {
      name: "TypeError",
      message: /^Cannot create cached function: pass key or keyMaker, not both/,
    });

    const path = make("order:{0.id}");
    await assert.rejects(path(undefined), {
      name: "TypeError",
      message: 'Cannot make a cache key: key template "order:{0.id}": {0.id} reads id of args[0], which is undefined',
    });
    await assert.rejects(make("o:{0}")({ id: 1 }), {
      name: "TypeError",
      message: /key template "o:\{0\}": \{0\} is an object \(Object\), not a string, number, bigint or boolean/,
    });
    await assert.rejects(make("o:{0}")(undefined), { name: "TypeError", message: /\{0\} is undefined/ });
    const badTags = cached(cache, { key: "x:{0}", tags: () => "user" as never })(function h(n: number) {
      return n;
    });
    await assert.rejects(badTags(1), { name: "TypeError", message: /tags/ });
    assert.equal(await cache.get("x:1"), undefined);
    const badKey = cached(cache, { key: () => 5 as never })(function g() {
      return 1;
    });
    await assert.rejects(badKey(), {
      name: "TypeError",
      message: "Cannot call g: key must return a string (or a Promise of one): received 5",
    });
  });
});

describe("cached refresh()", () => {
  test("refresh() runs the function without reading, stores and returns the result; the next call hits it", async () => {
    const { cache } = jsonCache();
    let version = 0;
    const report = cached(cache, { key: "report:{0}" })(async function report(id: number) {
      await tick();
      return { id, version: ++version };
    });
    assert.deepEqual(await report(1), { id: 1, version: 1 });
    const before = cache.cacheInfo();
    assert.deepEqual(await report.refresh(1), { id: 1, version: 2 });
    assert.deepEqual(cache.cacheInfo(), before, "refresh() read nothing: no hit, no miss");
    assert.deepEqual(await report(1), { id: 1, version: 2 });
    assert.deepEqual(await cache.get("report:1"), { id: 1, version: 2 });
    assert.deepEqual(await report.refresh(2), { id: 2, version: 3 }, "a refresh of a cold key stores it too");
    assert.deepEqual(await report(2), { id: 2, version: 3 });
    assert.equal(version, 3);
  });

  test("concurrent refreshes each run the function", async () => {
    const { cache } = jsonCache();
    let runs = 0;
    const f = cached(cache)(async function f(n: number) {
      await tick();
      return n + ++runs;
    });
    const results = await Promise.all([f.refresh(1), f.refresh(1), f.refresh(1)]);
    assert.equal(runs, 3);
    assert.deepEqual([...results].sort(), [2, 3, 4]);
  });

  test("a failing refresh rejects and leaves the stored value; skip and tags apply", async () => {
    const { cache } = jsonCache();
    let next: () => unknown = () => 1;
    const f = cached(cache, { tags: ["t:{0}"], skip: (v) => v === null })(function f(_n: number) {
      return next();
    });
    assert.equal(await f(1), 1);
    next = () => {
      throw new Error("origin down");
    };
    await assert.rejects(f.refresh(1), { message: "origin down" });
    next = () => Promise.reject(new Error("async down"));
    await assert.rejects(f.refresh(1), { message: "async down" });
    next = () => null;
    assert.equal(await f.refresh(1), null, "a skipped result is returned");
    next = () => 2;
    assert.equal(await f(1), 1, "neither the failures nor the skipped result changed the entry");
    assert.equal(await f.refresh(1), 2);
    assert.equal(await f(1), 2);
    await cache.deleteTags(["t:1"]);
    next = () => 3;
    assert.equal(await f(1), 3, "the refreshed entry carried the tag");
  });

  test("refresh() keeps the function's ttl", async () => {
    const { cache, clock } = jsonCache();
    let runs = 0;
    const f = cached(cache, { ttl: 5, key: "k", name: "f" })(() => ++runs);
    await f.refresh();
    clock.advance(4_000);
    assert.equal(await f(), 1);
    clock.advance(2_000);
    assert.equal(await f(), 2, "expired after the function's ttl, not the cache's 60 s");
  });
});

describe("cached streams (async generator functions)", () => {
  // A producer whose items the test releases one by one.
  function gatedProducer() {
    const gates = [deferred(), deferred(), deferred()];
    const log: string[] = [];
    let runs = 0;
    async function* produce(n: number) {
      runs++;
      try {
        for (let i = 0; i < 3; i++) {
          await gates[i].promise;
          log.push(`yield ${i}`);
          yield n * 10 + i;
        }
      } finally {
        log.push("closed");
      }
    }
    return { gates, log, produce, runs: () => runs };
  }

  test("the first caller gets items live; the completed sequence is stored as an array and replayed", async () => {
    const { cache } = jsonCache();
    const p = gatedProducer();
    const stream = cached(cache, { key: "items:{0}" })(p.produce);
    const iterator = stream(1)[Symbol.asyncIterator]();
    const first = iterator.next();
    p.gates[0].resolve();
    assert.deepEqual(await first, { value: 10, done: false });
    assert.deepEqual(p.log, ["yield 0"], "the first item arrived before the generator went on");
    assert.equal(await cache.get("items:1"), undefined, "nothing stored before the sequence completes");
    p.gates[1].resolve();
    p.gates[2].resolve();
    assert.deepEqual(await iterator.next(), { value: 11, done: false });
    assert.deepEqual(await iterator.next(), { value: 12, done: false });
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
    assert.deepEqual(await cache.get("items:1"), [10, 11, 12]);

    const replayed: number[] = [];
    for await (const item of stream(1)) replayed.push(item);
    assert.deepEqual(replayed, [10, 11, 12]);
    assert.deepEqual(await stream.collect(1), [10, 11, 12]);
    assert.equal(p.runs(), 1, "the generator ran once");
    const info = stream.cacheInfo();
    assert.equal(info.misses, 2, "one streamed miss counts one miss (the other: the cache.get before it completed)");
    assert.equal(info.hits, 3, "two replays (and the cache.get after it completed)");
  });

  test("a concurrent caller of the same key waits for the sequence, then replays it", async () => {
    const { cache } = jsonCache();
    const p = gatedProducer();
    const stream = cached(cache)(p.produce);
    const a = stream.collect(2);
    const b = stream.collect(2);
    await tick();
    for (const gate of p.gates) gate.resolve();
    assert.deepEqual(await Promise.all([a, b]), [[20, 21, 22], [20, 21, 22]]);
    assert.equal(p.runs(), 1);
    assert.equal(stream.keyFor(2), "produce:[2]");
  });

  test("an error mid-stream reaches the consumer after the items before it, and stores nothing", async () => {
    const { cache } = jsonCache();
    let runs = 0;
    const stream = cached(cache, { key: "s:{0}" })(async function* failing(n: number) {
      runs++;
      yield n;
      throw new Error("producer failed");
    });
    const got: number[] = [];
    await assert.rejects(async () => {
      for await (const item of stream(1)) got.push(item);
    }, { message: "producer failed" });
    assert.deepEqual(got, [1]);
    assert.equal(await cache.get("s:1"), undefined);
    await assert.rejects(stream.collect(1), { message: "producer failed" });
    assert.equal(runs, 2, "nothing stored: the next call ran the generator again");
  });

  for (const how of ["break", "a throwing consumer"] as const) {
    test(`a consumer that stops early (${how}) closes the generator and stores nothing; a waiter recomputes`, async () => {
      const { cache } = jsonCache();
      const p = gatedProducer();
      for (const gate of p.gates) gate.resolve();
      const stream = cached(cache, { key: "k:{0}" })(p.produce);
      const waiter = (async () => {
        await tick();
        return await stream.collect(1);
      })();
      const got: number[] = [];
      const consume = async () => {
        for await (const item of stream(1)) {
          got.push(item);
          await tick();
          await tick();
          if (how === "break") break;
          throw new Error("consumer gave up");
        }
      };
      if (how === "break") await consume();
      else await assert.rejects(consume(), { message: "consumer gave up" });
      assert.deepEqual(got, [10]);
      assert.equal(p.log.includes("closed"), true, "the generator was closed (its finally ran)");
      assert.deepEqual(await waiter, [10, 11, 12], "the waiting caller got a complete sequence");
      assert.equal(p.runs(), 2);
      assert.deepEqual(await cache.get("k:1"), [10, 11, 12], "stored by the waiter's complete run only");
    });
  }

  test("skip receives the whole array; refresh, invalidate and keyFor work on streams", async () => {
    const { cache } = jsonCache();
    let runs = 0;
    const seen: unknown[] = [];
    const stream = cached(cache, {
      key: "list:{0}",
      skip: (items) => {
        seen.push(items);
        return (items as number[]).length === 0;
      },
    })(async function* list(n: number) {
      runs++;
      for (let i = 0; i < n; i++) yield i + runs * 100;
    });
    assert.deepEqual(await stream.collect(0), []);
    assert.deepEqual(seen, [[]]);
    assert.equal(await cache.get("list:0"), undefined, "skipped");
    assert.deepEqual(await stream.collect(2), [200, 201]);
    assert.deepEqual(await stream.refresh(2), [300, 301], "refresh() runs the generator and returns the sequence");
    assert.deepEqual(await stream.collect(2), [300, 301]);
    assert.equal(stream.keyFor(2), "list:2");
    await stream.invalidate(2);
    assert.equal(await cache.get("list:2"), undefined);
    assert.deepEqual(await stream.collect(2), [400, 401]);
  });

  test("grace: a producer failing before its first item replays the stale sequence", async () => {
    const { cache, clock } = jsonCache();
    let fail = false;
    const stream = cached(cache, { ttl: 1, grace: 60, key: "g" })(async function* graced() {
      if (fail) throw new Error("origin down");
      yield "a";
      yield "b";
    });
    assert.deepEqual(await stream.collect(), ["a", "b"]);
    clock.advance(2_000);
    fail = true;
    assert.deepEqual(await stream.collect(), ["a", "b"], "the stale sequence, within grace");
    assert.equal(stream.cacheInfo().staleHits, 1);
    fail = false;
    const fresh = cached(cache, { ttl: 1, grace: 60, key: "g2" })(async function* midway() {
      yield "x";
      if (fail) throw new Error("origin down midway");
      yield "y";
    });
    assert.deepEqual(await fresh.collect(), ["x", "y"]);
    clock.advance(2_000);
    fail = true;
    assert.deepEqual(
      await fresh.collect(),
      ["x", "y"],
      "a recomputation with a stale sequence at hand is collected first",
    );
    fail = false;
    assert.deepEqual(await fresh.collect(), ["x", "y"]);
  });

  test("earlyRefresh recomputes a stream before it expires (compute time from start to end of the producer)", async () => {
    const clock = manualClock();
    const cache = new TTLCache<unknown>({
      serializer: new JsonSerializer<unknown>(),
      backend: new MemoryCacheBackend({ clock }),
      clock,
      random: () => 1e-9,
    });
    let runs = 0;
    const stream = cached(cache, { ttl: 10, earlyRefresh: 1, key: "e" })(async function* early() {
      runs++;
      yield runs;
      clock.advance(100); // the producer takes 100 ms
      yield runs;
    });
    assert.deepEqual(await stream.collect(), [1, 1]);
    clock.advance(9_000); // 1 s left: -100 ms × ln(1e-9) ≈ 2 s says refresh now
    assert.deepEqual(await stream.collect(), [1, 1], "the caller is served the stored sequence at once");
    for (let i = 0; i < 20 && runs < 2; i++) await tick();
    for (let i = 0; i < 20 && (await cache.get("e") as number[])[0] !== 2; i++) await tick();
    assert.equal(runs, 2);
    assert.deepEqual(await cache.get("e"), [2, 2]);
  });

  test("withSignal() binds a stream to a signal", async () => {
    const { cache } = jsonCache();
    const gate = deferred();
    const stream = cached(cache)(async function* slow() {
      await gate.promise;
      yield 1;
    });
    const controller = new AbortController();
    const bound = stream.withSignal(controller.signal);
    const waiting = stream.collect();
    await tick();
    const aborted = assert.rejects(async () => {
      for await (const _ of bound()) { /* waits on the other call's computation */ }
    }, { message: "stop" });
    await tick();
    controller.abort(new Error("stop"));
    await aborted;
    gate.resolve();
    assert.deepEqual(await waiting, [1]);
    assert.throws(() => stream.withSignal("no" as never), {
      name: "TypeError",
      message: /signal must be an AbortSignal/,
    });
  });
});

describe("cached private caches: cached({ ttl, maxSize })", () => {
  test("an options object makes a private cache: hits are equal copies, never the stored object", async () => {
    let calls = 0;
    const settings = cached({ ttl: 30, maxSize: 2 })((team: string) => {
      calls++;
      return { team, flags: ["beta"], at: new Date(0), seen: new Set([1]), by: new Map([["a", 1n]]), gone: undefined };
    });
    const first = settings("core");
    assert.ok(first instanceof Promise, "a sync function's call returns a Promise");
    const value = await first;
    value.flags.push("mutated");
    const hit = await settings("core");
    assert.deepEqual(hit, {
      team: "core",
      flags: ["beta"],
      at: new Date(0),
      seen: new Set([1]),
      by: new Map([["a", 1n]]),
      gone: undefined,
    });
    assert.notEqual(hit, await settings("core"), "each hit is its own copy");
    assert.equal(calls, 1);
    assert.deepEqual(settings.cacheInfo(), {
      hits: 2,
      misses: 1,
      maxSize: 2,
      currSize: 1,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
    await settings("ops");
    await settings("dev");
    assert.equal(settings.cacheInfo().evictions, 1, "maxSize bounds the private cache");
    await settings.cacheClear();
    assert.equal(settings.cacheInfo().currSize, 0);
    await settings("core");
    assert.equal(calls, 4, "cacheClear() emptied it");
  });

  test("each wrapped function gets its own private cache, in memory even when a default backend is registered", async () => {
    const shared = new MemoryCacheBackend();
    setDefaultBackend(shared);
    try {
      const memo = cached({ ttl: 60 });
      const a = memo(function a(n: number) {
        return n + 1;
      });
      const b = memo(function b(n: number) {
        return n + 2;
      });
      assert.equal(await a(1), 2);
      assert.equal(await b(1), 3);
      assert.equal(a.cacheInfo().currSize, 1);
      assert.equal(b.cacheInfo().currSize, 1);
      assert.equal(await shared.get("a:[1]"), undefined);
      assert.equal((await shared.getMany?.(["a:[1]", "b:[1]"]))?.filter(Boolean).length ?? 0, 0);
      await a.cacheClear();
      assert.equal(b.cacheInfo().currSize, 1, "clearing one leaves the other");
    } finally {
      setDefaultBackend(undefined);
    }
  });

  test("private caches expire entries after their ttl, and take every cached() option", async () => {
    let calls = 0;
    const f = cached({ ttl: 1, key: "k:{0}", skip: (v) => v === 0 })(function f(n: number) {
      calls++;
      return n;
    });
    assert.equal(await f(1), 1);
    assert.equal(await f(1), 1);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    assert.equal(await f(1), 1);
    assert.equal(calls, 2, "expired after its 1 s ttl");
    await f(0);
    await f(0);
    assert.equal(calls, 4, "skip applies");
    assert.equal(await f.refresh(1), 1);
  });

  test("a private cache's copies keep -0, NaN, ±Infinity, bytes, nested maps and an own __proto__ field", async () => {
    class Point {
      x = 1;
    }
    const odd = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
    const make = () => ({
      numbers: [-0, NaN, Infinity, -Infinity, 1.5],
      bytes: new Uint8Array([1, 2, 255]),
      nested: new Map<unknown, unknown>([[1, new Set(["a"])], ["k", [undefined, null]]]),
      point: new Point(),
      odd,
    });
    const f = cached({})(make);
    await f();
    const copy = await f();
    assert.ok(Object.is(copy.numbers[0], -0));
    assert.ok(Number.isNaN(copy.numbers[1]));
    assert.deepEqual(copy.numbers.slice(2), [Infinity, -Infinity, 1.5]);
    assert.deepEqual(copy.bytes, new Uint8Array([1, 2, 255]));
    assert.deepEqual(copy.nested, new Map<unknown, unknown>([[1, new Set(["a"])], ["k", [undefined, null]]]));
    assert.deepEqual({ ...copy.point }, { x: 1 });
    assert.equal(Object.getPrototypeOf(copy.point), Object.prototype, "a class instance comes back as a plain object");
    assert.equal(Object.getPrototypeOf(copy.odd), Object.prototype, "an own __proto__ field stays a field");
    assert.deepEqual(Object.keys(copy.odd), ["__proto__", "ok"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(f.cacheInfo().hits, 1);
  });

  test("private cache options are checked like a cache's; values that cannot be copied reject", async () => {
    assert.throws(() => cached({ ttl: 1, maxsize: 2 } as never), {
      name: "TypeError",
      message: /^Cannot create cached function: unknown option "maxsize" \(did you mean maxSize\?\)/,
    });
    assert.throws(() => cached({ maxSize: -1 }), {
      name: "RangeError",
      message: "Cannot create cached function: maxSize must be a non-negative integer: received -1",
    });
    assert.throws(() => cached({ ttl: -1 }), { name: "RangeError", message: /ttl/ });
    const f = cached({})(function f() {
      return { run: () => 1 };
    });
    await assert.rejects(f(), { name: "TypeError", message: /Cannot store function run in a private cache/ });
    const cyclic = cached({})(function cyclic() {
      const o: Record<string, unknown> = {};
      o.self = o;
      return o;
    });
    await assert.rejects(cyclic(), { name: "TypeError", message: /cyclic/ });
  });
});

describe("cached names on shared backends (bundler-stable keys)", () => {
  const shared = (): TTLCache<unknown> =>
    new TTLCache<unknown>({
      backend: {
        get: () => Promise.resolve(undefined),
        set: () => Promise.resolve(),
        delete: () => Promise.resolve(),
        clear: () => Promise.resolve(),
      },
      serializer: new JsonSerializer<unknown>(),
    });

  test("a backend other processes read needs the name option: a function's own name changes under bundlers", () => {
    assert.throws(() => cached(shared())(function getUser() {}), {
      name: "TypeError",
      message: 'Cannot create cached function getUser: pass the name option (cached(cache, { name: "getUser" })): ' +
        "its entries live in Object, which other processes read, and a function's own name is not " +
        "stable across builds (bundlers and minifiers rename functions: getUser may become getUser2), so two " +
        "builds would stop sharing entries",
    });
    assert.throws(() => cached(shared(), { key: "u:{0}" })(function getUser() {}), { message: /pass the name option/ });
    assert.equal(typeof cached(shared(), { name: "getUser" })(function getUser() {}), "function");
    assert.equal(typeof cached(jsonCache().cache)(function local() {}), "function", "memory backends need no name");
  });
});
