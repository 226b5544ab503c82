import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type CacheBackend, cached, type CacheLock, type FactoryContext, TTLCache } from "../mod.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { deferred, settle, setup, sleep } from "./_read_through_helpers.ts";

describe("getOrSet value semantics", () => {
  test("falsy results are values: computed once, then served from the cache", async () => {
    const { cache } = setup();
    for (const [i, value] of [undefined, null, 0, "", false, Number.NaN].entries()) {
      let runs = 0;
      const factory = () => {
        runs++;
        return value;
      };
      assert.equal(Object.is(await cache.getOrSet(`k${i}`, factory), value), true);
      assert.equal(Object.is(await cache.getOrSet(`k${i}`, factory), value), true);
      assert.equal(runs, 1, `${String(value)} was not stored`);
      assert.equal(Object.is(await cache.get(`k${i}`, "fallback"), value), true);
    }
  });

  test("a thrown or rejected error reaches the caller and is never stored", async () => {
    const { cache } = setup();
    const boom = new Error("boom");
    await assert.rejects(
      cache.getOrSet("k", () => {
        throw boom;
      }),
      (error) => error === boom,
    );
    await assert.rejects(cache.getOrSet("k", () => Promise.reject(boom)), (error) => error === boom);
    assert.equal(await cache.get("k", "absent"), "absent");
    assert.equal(await cache.getOrSet("k", () => 7), 7, "the next call computes again");
    assert.equal(await cache.get("k"), 7);
  });

  test("an asynchronous serializer: a hit decodes once, and bytes it rejects are computed again once", async () => {
    let loads = 0;
    const serializer = {
      dumps: (value: unknown) => new TextEncoder().encode(JSON.stringify(value)),
      loads: async (bytes: Uint8Array) => {
        loads++;
        await Promise.resolve();
        const value = JSON.parse(new TextDecoder().decode(bytes));
        if (value === "bad") throw new Error("refused");
        return value;
      },
    };
    for (const options of [undefined, Object.freeze({ ttl: 30 })]) {
      const cache = new TTLCache<unknown>({ serializer, onError: () => {} });
      let runs = 0;
      assert.equal(await cache.getOrSet("k", () => (runs++, 1), options), 1);
      await cache.getOrSet("k", () => (runs++, 2), options); // a frozen options object is known valid from here on
      loads = 0;
      assert.equal(await cache.getOrSet("k", () => (runs++, 2), options), 1);
      assert.deepEqual({ loads, runs }, { loads: 1, runs: 1 });
      await cache.set("bad", "bad");
      assert.equal(await cache.getOrSet("bad", () => (runs++, "good"), options), "good");
      assert.equal(await cache.getOrSet("bad", () => (runs++, "other"), options), "good");
      assert.equal(runs, 2);
      assert.equal(cache.cacheInfo().errors, 1);
    }
  });

  test("exactly one miss per cold call, one hit per warm call", async () => {
    const { cache } = setup();
    await cache.getOrSet("k", () => 1);
    assert.deepEqual([cache.cacheInfo().hits, cache.cacheInfo().misses], [0, 1]);
    await cache.getOrSet("k", () => 2);
    assert.deepEqual([cache.cacheInfo().hits, cache.cacheInfo().misses], [1, 1]);
    await cache.getOrSet("other", () => Promise.resolve(3));
    assert.deepEqual([cache.cacheInfo().hits, cache.cacheInfo().misses], [1, 2]);
  });

  test("1,000 concurrent cold calls run the factory once (lock true) and all get its value", async () => {
    const { cache } = setup();
    let runs = 0;
    const gate = deferred<void>();
    const factory = async () => {
      runs++;
      await gate.promise;
      return { n: runs };
    };
    const calls = Array.from({ length: 1_000 }, () => cache.getOrSet("hot", factory));
    await settle();
    gate.resolve();
    const results = await Promise.all(calls);
    assert.equal(runs, 1);
    for (const result of results) assert.deepEqual(result, { n: 1 });
    assert.equal(cache.cacheInfo().misses, 1_000, "each cold call is one miss");
    assert.deepEqual(await cache.get("hot"), { n: 1 });
  });

  test("every caller joined on a computation receives the same error", async () => {
    const { cache } = setup();
    const boom = new Error("shared failure");
    let runs = 0;
    const gate = deferred<void>();
    const factory = async () => {
      runs++;
      await gate.promise;
      throw boom;
    };
    const calls = Array.from({ length: 50 }, () => cache.getOrSet("k", factory, { lock: true }).catch((e) => e));
    await settle();
    gate.resolve();
    const outcomes = await Promise.all(calls);
    assert.equal(runs, 1);
    for (const outcome of outcomes) assert.equal(outcome, boom);
    assert.equal(await cache.get("k"), undefined);
  });

  test("lock: false lets every concurrent caller compute", async () => {
    const { cache } = setup();
    let runs = 0;
    const gate = deferred<void>();
    const factory = async () => {
      const n = ++runs;
      await gate.promise;
      return n;
    };
    const calls = Array.from({ length: 5 }, () => cache.getOrSet("k", factory, { lock: false }));
    await settle();
    gate.resolve();
    const results = await Promise.all(calls);
    assert.equal(runs, 5);
    assert.deepEqual([...results].sort(), [1, 2, 3, 4, 5]);
  });

  test("a custom CacheLock is taken, named by the key, around re-check, computation and store", async () => {
    const { cache, backend } = setup();
    const keys: string[] = [];
    let storedInsideLock: boolean | undefined;
    const lock: CacheLock = {
      async withLock<R>(key: string, fn: () => Promise<R>): Promise<R> {
        keys.push(key);
        const result = await fn();
        storedInsideLock = (await backend.get(key)) !== undefined;
        return result;
      },
    };
    let runs = 0;
    assert.equal(await cache.getOrSet("k", () => ++runs, { lock }), 1);
    assert.deepEqual(keys, ["k"]);
    assert.equal(storedInsideLock, true, "the value is stored before the lock is released");

    // The re-check inside the lock: another process stored the value while this one waited.
    const other = setup();
    const racing: CacheLock = {
      async withLock<R>(key: string, fn: () => Promise<R>): Promise<R> {
        keys.push(key);
        await other.cache.set("r", "from elsewhere");
        return fn();
      },
    };
    let ran = false;
    const value = await other.cache.getOrSet("r", () => {
      ran = true;
      return "mine";
    }, { lock: racing });
    assert.equal(value, "from elsewhere");
    assert.equal(ran, false, "the factory does not run when the re-check inside the lock hits");

    // In a namespace, the lock is named by the key inside the namespace (ttl_cache.ts: "named by the key").
    keys.length = 0;
    const users = cache.namespace("users");
    await users.getOrSet("k", () => "u", { lock });
    assert.deepEqual(keys, ["k"]);
    assert.equal(await users.get("k"), "u");
  });

  test("a CacheLock still gives single flight in the process: concurrent callers take it once", async () => {
    const { cache } = setup();
    let taken = 0;
    const lock: CacheLock = {
      withLock<R>(_key: string, fn: () => Promise<R>): Promise<R> {
        taken++;
        return fn();
      },
    };
    let runs = 0;
    const results = await Promise.all(Array.from({ length: 20 }, () =>
      cache.getOrSet("k", async () => {
        runs++;
        await sleep(5);
        return "v";
      }, { lock })));
    assert.deepEqual(new Set(results), new Set(["v"]));
    assert.equal(runs, 1);
    assert.equal(taken, 1);
  });

  test("a CacheLock that fails rejects the call and stores nothing", async () => {
    const { cache } = setup();
    const failure = new Error("lock unavailable");
    const lock: CacheLock = { withLock: () => Promise.reject(failure) };
    await assert.rejects(cache.getOrSet("k", () => 1, { lock }), (e) => e === failure);
    assert.equal(await cache.get("k"), undefined);
  });
});

describe("getOrSet factory context", () => {
  test("ctx carries the key, a live signal and no stale value on a cold call", async () => {
    const { cache } = setup();
    let seen: FactoryContext<unknown> | undefined;
    await cache.getOrSet("k", (ctx) => {
      seen = ctx;
      return 1;
    });
    assert.equal(seen!.key, "k");
    assert.ok(seen!.signal instanceof AbortSignal);
    assert.equal(seen!.signal.aborted, false);
    assert.equal(seen!.stale, undefined);
    let nsKey: string | undefined;
    await cache.namespace("n").getOrSet("k2", (ctx) => {
      nsKey = ctx.key;
      return 1;
    });
    assert.equal(nsKey, "k2", "the key inside its namespace");
  });

  test("ctx.setTtl from the result changes the entry's expiry", async () => {
    const { cache, clock } = setup({ ttl: 60 });
    await cache.getOrSet("token", (ctx) => {
      ctx.setTtl(5);
      return "abc";
    });
    clock.advance(4_999);
    assert.equal(await cache.get("token"), "abc");
    clock.advance(2);
    assert.equal(await cache.get("token"), undefined, "expired after 5 s, not the cache's 60 s");

    await cache.getOrSet("long", (ctx) => {
      ctx.setTtl(120);
      return "x";
    });
    clock.advance(100_000);
    assert.equal(await cache.get("long"), "x", "setTtl can also lengthen the lifetime");
    clock.advance(20_001);
    assert.equal(await cache.get("long"), undefined);
  });

  test("ctx.setTtl wins over the per-call ttl option", async () => {
    const { cache, clock } = setup();
    await cache.getOrSet("k", (ctx) => {
      ctx.setTtl(2);
      return 1;
    }, { ttl: 30 });
    clock.advance(2_001);
    assert.equal(await cache.get("k"), undefined);
  });

  test("ctx.setGrace keeps the entry as a stale value after its ttl", async () => {
    const { cache, clock } = setup({ ttl: 1 });
    await cache.getOrSet("k", (ctx) => {
      ctx.setGrace(10);
      return "old";
    });
    clock.advance(5_000);
    assert.equal(await cache.get("k"), undefined, "stale is a miss for get()");
    const served = await cache.getOrSet("k", () => {
      throw new Error("origin down");
    });
    assert.equal(served, "old", "the stale value was kept for ttl + grace");
    clock.advance(6_001);
    await assert.rejects(
      cache.getOrSet("k", () => {
        throw new Error("origin down");
      }),
      /origin down/,
      "past ttl + grace it is gone",
    );
  });

  test("ctx.skip() returns the result without storing it", async () => {
    const { cache } = setup();
    let runs = 0;
    const factory = (ctx: FactoryContext<unknown>) => {
      runs++;
      ctx.skip();
      return "ephemeral";
    };
    assert.equal(await cache.getOrSet("k", factory), "ephemeral");
    assert.equal(await cache.getOrSet("k", factory), "ephemeral");
    assert.equal(runs, 2);
    assert.equal(await cache.get("k"), undefined);
  });

  test("an invalid ctx.setTtl rejects the call and stores nothing", async () => {
    const { cache } = setup();
    for (
      const [seconds, name] of [
        [-1, "RangeError"],
        [0, "RangeError"],
        [Number.NaN, "RangeError"],
        [
          Infinity,
          "RangeError",
        ],
        [60_000, "RangeError"],
        ["5", "TypeError"],
      ] as const
    ) {
      await assert.rejects(
        cache.getOrSet("k", (ctx) => {
          ctx.setTtl(seconds as number);
          return "v";
        }),
        (error: Error) => error.name === name && /seconds/.test(error.message),
        String(seconds),
      );
      assert.equal(await cache.get("k"), undefined, `stored after setTtl(${String(seconds)})`);
    }
  });

  test("an invalid ctx.setGrace rejects the call and stores nothing", async () => {
    const { cache } = setup();
    for (const seconds of [-1, Number.NaN, Infinity, 60_000]) {
      await assert.rejects(
        cache.getOrSet("k", (ctx) => {
          ctx.setGrace(seconds);
          return "v";
        }),
        RangeError,
      );
      assert.equal(await cache.get("k"), undefined);
    }
  });
});

describe("getOrSet per-call ttl", () => {
  test("options.ttl overrides the cache's ttl for this entry only", async () => {
    const { cache, clock } = setup({ ttl: 60 });
    await cache.getOrSet("short", () => 1, { ttl: 2 });
    await cache.getOrSet("default", () => 2);
    clock.advance(1_999);
    assert.equal(await cache.get("short"), 1);
    clock.advance(2);
    assert.equal(await cache.get("short"), undefined);
    assert.equal(await cache.get("default"), 2);
    clock.advance(58_000);
    assert.equal(await cache.get("default"), undefined);
  });

  test("fractional ttl in seconds", async () => {
    const { cache, clock } = setup();
    await cache.getOrSet("k", () => 1, { ttl: 0.25 });
    clock.advance(249);
    assert.equal(await cache.get("k"), 1);
    clock.advance(2);
    assert.equal(await cache.get("k"), undefined);
  });
});

describe("cached() on getOrSet", () => {
  test("lock defaults to true: concurrent calls with equal arguments compute once", async () => {
    const { cache } = setup();
    let runs = 0;
    const load = cached(cache)(async function load(id: number) {
      runs++;
      await sleep(5);
      return { id };
    });
    const results = await Promise.all(Array.from({ length: 30 }, () => load(1)));
    assert.equal(runs, 1);
    for (const result of results) assert.deepEqual(result, { id: 1 });
  });

  test("lock: false lets every concurrent call compute", async () => {
    const { cache } = setup();
    let runs = 0;
    const load = cached(cache, { lock: false })(async function load(id: number) {
      runs++;
      await sleep(5);
      return id;
    });
    await Promise.all([load(1), load(1), load(1)]);
    assert.equal(runs, 3);
  });

  test("ttl option: this function's results expire after its own ttl", async () => {
    const { cache, clock } = setup({ ttl: 60 });
    let runs = 0;
    const f = cached(cache, { ttl: 2 })(function f(n: number) {
      runs++;
      return n * 2;
    });
    await f(1);
    clock.advance(1_999);
    await f(1);
    assert.equal(runs, 1);
    clock.advance(2);
    await f(1);
    assert.equal(runs, 2);
  });

  test("tags option, as a list or a function of the arguments, lets deleteTags drop results", async () => {
    const { cache } = setup();
    let runs = 0;
    const byList = cached(cache, { tags: ["all"] })(function byList(n: number) {
      runs++;
      return n;
    });
    const byArgs = cached(cache, { tags: (id: number) => [`user:${id}`] })(function byArgs(id: number) {
      runs++;
      return id;
    });
    await byList(1);
    await byArgs(1);
    await byArgs(2);
    assert.equal(runs, 3);
    await cache.deleteTags(["user:1"]);
    await byArgs(2);
    await byList(1);
    assert.equal(runs, 3, "other tags are untouched");
    await byArgs(1);
    assert.equal(runs, 4, "user:1 was dropped");
    await cache.deleteTags(["all"]);
    await byList(1);
    assert.equal(runs, 5);
  });

  test("keyFor is synchronous for short encodings and a Promise for hashed ones", async () => {
    const { cache } = setup();
    const square = cached(cache)(function square(n: unknown) {
      return n;
    });
    assert.equal(square.keyFor(4), "square:[4]");
    const long = square.keyFor("x".repeat(500));
    assert.ok(long instanceof Promise);
    const key = await long;
    assert.equal(typeof key, "string");
    assert.equal(key.length < 200, true);
    assert.equal(await square.keyFor("x".repeat(500)), key, "stable");
    assert.notEqual(await square.keyFor("y".repeat(500)), key);
    // The key is the one used inside the function's namespace.
    await square(4);
    assert.equal(await cache.namespace("square").get(square.keyFor(4) as string), 4);
  });

  test("invalidate(...args) deletes exactly that call's entry", async () => {
    const { cache } = setup();
    let runs = 0;
    const f = cached(cache)(function f(n: number) {
      runs++;
      return n;
    });
    await f(1);
    await f(2);
    await f.invalidate(1);
    await f(2);
    assert.equal(runs, 2);
    await f(1);
    assert.equal(runs, 3);
  });

  test("cacheClear() clears only this function's entries", async () => {
    const { cache } = setup();
    const runs = { f: 0, g: 0 };
    const f = cached(cache)(function f(n: number) {
      runs.f++;
      return n;
    });
    const g = cached(cache)(function g(n: number) {
      runs.g++;
      return n;
    });
    await cache.set("root", "kept");
    await cache.namespace("other").set("x", "kept too");
    await f(1);
    await g(1);
    await f.cacheClear();
    await g(1);
    assert.equal(runs.g, 1, "g's entries survive f.cacheClear()");
    assert.equal(await cache.get("root"), "kept");
    assert.equal(await cache.namespace("other").get("x"), "kept too");
    await f(1);
    assert.equal(runs.f, 2);
  });

  test("withSignal: an aborted signal rejects with its reason; a live one computes normally", async () => {
    const { cache } = setup();
    let runs = 0;
    const f = cached(cache)(function f(n: number) {
      runs++;
      return n;
    });
    const reason = new Error("cancelled");
    await assert.rejects(f.withSignal(AbortSignal.abort(reason))(1), (e) => e === reason);
    assert.equal(runs, 0);
    assert.equal(await f.withSignal(new AbortController().signal)(1), 1);
    assert.equal(runs, 1);
    assert.throws(() => f.withSignal({} as AbortSignal), {
      name: "TypeError",
      message: /signal must be an AbortSignal/,
    });
  });

  test("withSignal: a caller aborting while waiting rejects at once; the computation still stores", async () => {
    const { cache } = setup();
    const gate = deferred<void>();
    let runs = 0;
    const f = cached(cache)(async function f(n: number) {
      runs++;
      await gate.promise;
      return n;
    });
    const controller = new AbortController();
    const pending = f.withSignal(controller.signal)(1);
    await settle();
    controller.abort(new Error("bye"));
    await assert.rejects(pending, /bye/);
    gate.resolve();
    await settle();
    assert.equal(await f(1), 1);
    assert.equal(runs, 1, "the finished computation was stored");
  });

  test("cacheInfo() of a cached function is the cache's", async () => {
    const { cache } = setup();
    const f = cached(cache)(function f(n: number) {
      return n;
    });
    await f(1);
    await f(1);
    assert.deepEqual(f.cacheInfo(), cache.cacheInfo());
    assert.equal(f.cacheInfo().hits, 1);
    assert.equal(f.cacheInfo().misses, 1);
  });

  test("cached() read-through options reach getOrSet: grace serves a stale result when the function throws", async () => {
    const { cache, clock } = setup({ ttl: 1 });
    let fail = false;
    const f = cached(cache, { grace: 60 })(function f(n: number) {
      if (fail) throw new Error("down");
      return n;
    });
    assert.equal(await f(3), 3);
    clock.advance(2_000);
    fail = true;
    assert.equal(await f(3), 3);
    assert.equal(cache.cacheInfo().staleHits, 1);
  });
});

describe("getOrSet bad input changes nothing", () => {
  async function withCached() {
    const s = setup();
    await s.cache.set("k", "cached");
    let runs = 0;
    const factory = () => {
      runs++;
      return "new";
    };
    const intact = async () => {
      assert.equal(await s.cache.get("k"), "cached");
      assert.equal(runs, 0, "the factory never ran");
    };
    return { ...s, factory, intact };
  }

  test("a non-string or ill-formed key is a TypeError naming key", async () => {
    const { cache, factory, intact } = await withCached();
    for (const key of [1, null, undefined, {}, Symbol("s"), "\uD800"]) {
      await assert.rejects(cache.getOrSet(key as string, factory), { name: "TypeError", message: /key/ });
    }
    await intact();
  });

  test("a non-function factory is a TypeError naming factory", async () => {
    const { cache, intact } = await withCached();
    for (const factory of [undefined, null, 1, "f", {}]) {
      await assert.rejects(cache.getOrSet("k", factory as never), {
        name: "TypeError",
        message: /factory must be a function/,
      });
    }
    await intact();
  });

  test("negative, NaN or infinite ttl, grace, timeout, hardTimeout, earlyRefresh: RangeError naming the option", async () => {
    const { cache, factory, intact } = await withCached();
    const cases: [string, number][] = [];
    for (const name of ["ttl", "grace", "timeout", "hardTimeout", "earlyRefresh"]) {
      for (const value of [-1, Number.NaN, Infinity, -Infinity]) cases.push([name, value]);
    }
    cases.push(["ttl", 0], ["timeout", 0], ["hardTimeout", 0]);
    for (const [name, value] of cases) {
      const options = { [name]: value };
      await assert.rejects(cache.getOrSet("k", factory, options), (error: Error) => {
        assert.equal(error.name, "RangeError", `${name}: ${value}`);
        assert.match(error.message, new RegExp(`^Cannot getOrSet in TTLCache: ${name} must be`));
        return true;
      });
      // Also on a cold key: the factory must not run.
      await assert.rejects(cache.getOrSet("cold", factory, options), RangeError);
    }
    await intact();
    assert.equal(await cache.get("cold"), undefined);
  });

  test("non-number ttl/grace/timeout: TypeError naming the option", async () => {
    const { cache, factory, intact } = await withCached();
    for (const name of ["ttl", "grace", "timeout", "hardTimeout", "earlyRefresh"]) {
      await assert.rejects(cache.getOrSet("k", factory, { [name]: "5" }), {
        name: "TypeError",
        message: new RegExp(`${name} must be`),
      });
    }
    for (const name of ["failOpen", "staleWhileRevalidate"]) {
      await assert.rejects(cache.getOrSet("k", factory, { [name]: 1 }), {
        name: "TypeError",
        message: new RegExp(`${name} must be a boolean`),
      });
    }
    await intact();
  });

  test("hardTimeout < timeout is a RangeError", async () => {
    const { cache, factory, intact } = await withCached();
    await assert.rejects(cache.getOrSet("k", factory, { timeout: 100, hardTimeout: 50 }), {
      name: "RangeError",
      message: /hardTimeout must be >= timeout/,
    });
    await cache.getOrSet("k", factory, { timeout: 50, hardTimeout: 50 });
    await intact();
  });

  test("ttl or grace in milliseconds (60000 > maxTtl) is a RangeError that says so", async () => {
    const { cache, factory, intact } = await withCached();
    await assert.rejects(cache.getOrSet("cold", factory, { ttl: 60_000 }), {
      name: "RangeError",
      message: /ttl must be at most maxTtl \(43200 seconds = 12 h\).*did you pass milliseconds\?/,
    });
    await assert.rejects(cache.getOrSet("cold", factory, { grace: 60_000 }), {
      name: "RangeError",
      message: /grace must be at most maxTtl/,
    });
    await intact();
    assert.equal(await cache.get("cold"), undefined);
  });

  test("a signal that is not an AbortSignal is a TypeError", async () => {
    const { cache, factory, intact } = await withCached();
    for (const signal of [{}, { aborted: false }, "s", 1, null]) {
      await assert.rejects(cache.getOrSet("cold", factory, { signal: signal as AbortSignal }), {
        name: "TypeError",
        message: /signal must be an AbortSignal/,
      });
    }
    await intact();
  });

  test("a lock that is neither boolean nor CacheLock is a TypeError", async () => {
    const { cache, factory, intact } = await withCached();
    for (const lock of [null, "yes", 1, {}, { withLock: 1 }]) {
      await assert.rejects(cache.getOrSet("cold", factory, { lock: lock as never }), {
        name: "TypeError",
        message: /lock must be a boolean or a CacheLock/,
      });
    }
    await intact();
  });

  test("bad tags: not an array, a non-string or an empty tag is a TypeError naming tags", async () => {
    const { cache, factory, intact } = await withCached();
    for (const tags of ["t", [1], [""], ["ok", null], ["\uDC00"]]) {
      await assert.rejects(cache.getOrSet("cold", factory, { tags: tags as never }), {
        name: "TypeError",
        message: /tags/,
      });
    }
    await intact();
  });

  test("an unknown option name is a TypeError with a did-you-mean", async () => {
    const { cache, factory, intact } = await withCached();
    await assert.rejects(cache.getOrSet("k", factory, { tll: 5 } as never), {
      name: "TypeError",
      message: /unknown option "tll" \(did you mean ttl\?\)/,
    });
    await assert.rejects(cache.getOrSet("k", factory, { hardtimeout: 5 } as never), {
      name: "TypeError",
      message: /did you mean hardTimeout\?/,
    });
    await assert.rejects(cache.getOrSet("k", factory, "fast" as never), TypeError);
    await intact();
  });

  test("cached() rejects bad options at creation, naming them", async () => {
    const { cache, intact } = await withCached();
    const bad: [Record<string, unknown>, string, RegExp][] = [
      [{ ttl: -1 }, "RangeError", /ttl must be/],
      [{ ttl: 60_000 }, "RangeError", /did you pass milliseconds\?/],
      [{ grace: Number.NaN }, "RangeError", /grace must be/],
      [{ timeout: Infinity }, "RangeError", /timeout must be/],
      [{ hardTimeout: -5 }, "RangeError", /hardTimeout must be/],
      [{ timeout: 100, hardTimeout: 10 }, "RangeError", /hardTimeout must be >= timeout/],
      [{ earlyRefresh: -1 }, "RangeError", /earlyRefresh must be/],
      [{ tags: "t" }, "TypeError", /tags must be/],
      [{ tags: [""] }, "TypeError", /tags\[0\]/],
      [{ tags: [1] }, "TypeError", /tags\[0\]/],
      [{ lock: "x" }, "TypeError", /lock must be/],
      [{ tagz: [] }, "TypeError", /did you mean tags\?/],
      [{ stalewhilerevalidate: true }, "TypeError", /did you mean staleWhileRevalidate\?/],
    ];
    for (const [options, name, message] of bad) {
      assert.throws(() => cached(cache, options as never), (error: Error) => {
        assert.equal(error.name, name, JSON.stringify(options));
        assert.match(error.message, message);
        return true;
      });
    }
    await intact();
  });

  test("cached() with a tags function returning bad tags rejects the call and stores nothing", async () => {
    const { cache, intact } = await withCached();
    let runs = 0;
    const f = cached(cache, { tags: () => [""] as string[] })(function f(n: number) {
      runs++;
      return n;
    });
    await assert.rejects(f(1), { name: "TypeError", message: /tags/ });
    assert.equal(runs, 0);
    await intact();
  });

  test("TTLCache options: bad read-through defaults are refused at construction", () => {
    const bad: [Record<string, unknown>, string, RegExp][] = [
      [{ grace: -1 }, "RangeError", /^Cannot create TTLCache: grace must be a finite number >= 0 \(seconds\)/],
      [{ grace: 60_000 }, "RangeError", /grace must be at most maxTtl/],
      [{ ttl: 60_000 }, "RangeError", /did you pass milliseconds\?/],
      [{ timeout: Number.NaN }, "RangeError", /timeout must be/],
      [{ hardTimeout: Infinity }, "RangeError", /hardTimeout must be/],
      [{ timeout: 10, hardTimeout: 5 }, "RangeError", /hardTimeout must be >= timeout/],
      [{ earlyRefresh: -0.5 }, "RangeError", /earlyRefresh must be/],
      [{ failOpen: "yes" }, "TypeError", /failOpen must be a boolean/],
      [{ staleWhileRevalidate: 1 }, "TypeError", /staleWhileRevalidate must be a boolean/],
      [{ random: 0.5 }, "TypeError", /random must be a function/],
      [{ gracePeriod: 1 }, "TypeError", /unknown option "gracePeriod"/],
      [{ maxttl: 10 }, "TypeError", /did you mean maxTtl\?/],
      [{ maxTtl: -1 }, "RangeError", /maxTtl must be/],
    ];
    for (const [options, name, message] of bad) {
      assert.throws(() => new TTLCache(options as never), (error: Error) => {
        assert.equal(error.name, name, JSON.stringify(options));
        assert.match(error.message, message);
        return true;
      });
    }
  });

  test("a raised maxTtl accepts a long ttl", async () => {
    const { cache, clock } = setup({ maxTtl: 100_000 });
    await cache.getOrSet("k", () => 1, { ttl: 60_000 });
    clock.advance(59_000_000);
    assert.equal(await cache.get("k"), 1);
  });
});

describe("single flight on a slow backend", () => {
  test("a caller whose read returns after the computation landed joins it: 200 cold callers, 1 factory call", async () => {
    for (let round = 0; round < 5; round++) {
      const memory = new MemoryCacheBackend();
      // Reads answer 0-30 ms after the server read, so many answer after the first computation (1 ms) and its write.
      const slow: CacheBackend = {
        get: (key) => {
          const read = memory.get(key); // what the server holds when the read arrives
          return new Promise((resolve) => setTimeout(() => resolve(read), Math.random() * 30));
        },
        set: (key, value, ttl) => memory.set(key, value, ttl),
        delete: (key) => memory.delete(key),
        clear: () => memory.clear(),
      };
      const cache = new TTLCache<unknown>({ backend: slow, serializer: new JsonSerializer() });
      let runs = 0;
      const values = await Promise.all(
        Array.from({ length: 200 }, () =>
          cache.getOrSet("cold", async () => {
            runs++;
            await new Promise((resolve) => setTimeout(resolve, 1));
            return "v";
          })),
      );
      assert.ok(values.every((value) => value === "v"));
      assert.equal(runs, 1, `round ${round}: one computation for 200 callers`);
    }
  });
});
