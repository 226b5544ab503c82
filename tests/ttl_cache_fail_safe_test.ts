import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  type CacheBackend,
  CacheError,
  CacheEvent,
  type CacheEventType,
  type CacheLock,
  CacheTimeoutError,
  type FactoryContext,
  TTLCache,
} from "../mod.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { StructuredSerializer } from "../serializers/structured.ts";
import { manualClock } from "./_helpers.ts";
import { deferred, record, settle, setup, sleep, watchUnhandled } from "./_read_through_helpers.ts";

/** Lets promise jobs run without waiting for timers (a background refresh on the memory backend needs a few). */
async function microtasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await null;
}

/** A cache with an entry "k" = "old" that is stale (past its 1 s ttl, within 60 s of grace). */
async function withStale(options: ConstructorParameters<typeof TTLCache<unknown>>[0] = {}) {
  const s = setup({ ttl: 1, grace: 60, ...options });
  await s.cache.set("k", "old");
  s.clock.advance(1_500);
  return s;
}

const down = () => new Error("backend down");

/** A backend whose every call rejects. */
function deadBackend(): CacheBackend & { calls: number } {
  const backend = {
    calls: 0,
    get: () => (backend.calls++, Promise.reject(down())),
    set: () => (backend.calls++, Promise.reject(down())),
    delete: () => (backend.calls++, Promise.reject(down())),
    clear: () => (backend.calls++, Promise.reject(down())),
  };
  return backend;
}

/** A memory backend (async methods only) whose writes reject. */
function readOnlyBackend(inner: MemoryCacheBackend): CacheBackend {
  return {
    get: (key) => inner.get(key),
    set: () => Promise.reject(down()),
    delete: (key) => inner.delete(key),
    clear: () => inner.clear(),
  };
}

function overBackend(backend: CacheBackend, options: { failOpen?: boolean } = {}) {
  const clock = manualClock();
  return new TTLCache<unknown>({ backend, clock, serializer: new StructuredSerializer(), ...options });
}

describe("grace", () => {
  test("a stale value is served when the factory throws: staleHits, stale event with reason error", async () => {
    const { cache } = await withStale();
    const events = record(cache, ["stale"]);
    const failure = new Error("origin down");
    const value = await cache.getOrSet("k", () => {
      throw failure;
    });
    assert.equal(value, "old");
    assert.equal(cache.cacheInfo().staleHits, 1);
    assert.equal(events.length, 1);
    assert.equal(events[0].key, "k");
    assert.equal(events[0].reason, "error");
    assert.equal(events[0].error, failure);
  });

  test("plain get() of a stale entry is a miss", async () => {
    const { cache } = await withStale();
    assert.equal(await cache.get("k"), undefined);
    assert.equal(await cache.get("k", "fallback"), "fallback");
    assert.equal(cache.cacheInfo().misses, 2);
    assert.equal(cache.cacheInfo().hits, 0);
  });

  test("a stale entry is recomputed by getOrSet when the factory succeeds", async () => {
    const { cache } = await withStale();
    let seen: unknown;
    assert.equal(
      await cache.getOrSet("k", (ctx) => {
        seen = ctx.stale;
        return "new";
      }),
      "new",
    );
    assert.equal(seen, "old", "ctx.stale is the value being replaced");
    assert.equal(await cache.get("k"), "new");
    assert.equal(cache.cacheInfo().staleHits, 0);
  });

  test("past ttl + grace the entry is gone and the factory's error reaches the caller", async () => {
    const { cache, clock } = await withStale();
    clock.advance(60_000);
    await assert.rejects(cache.getOrSet("k", () => Promise.reject(new Error("origin down"))), /origin down/);
  });

  test("grace given per call keeps the entry that long", async () => {
    const { cache, clock } = setup({ ttl: 1 });
    await cache.getOrSet("k", () => "v", { grace: 5 });
    clock.advance(4_000);
    assert.equal(await cache.getOrSet("k", () => Promise.reject(new Error("x")), { grace: 5 }), "v");
    clock.advance(3_000);
    await assert.rejects(cache.getOrSet("k", () => Promise.reject(new Error("x"))), /x/);
  });

  test("joiners of a failing refresh all get the stale value", async () => {
    const { cache } = await withStale();
    const gate = deferred<void>();
    let runs = 0;
    const calls = Array.from({ length: 10 }, () =>
      cache.getOrSet("k", async () => {
        runs++;
        await gate.promise;
        throw new Error("down");
      }));
    await settle();
    gate.resolve();
    assert.deepEqual(await Promise.all(calls), Array(10).fill("old"));
    assert.equal(runs, 1);
    assert.equal(cache.cacheInfo().staleHits, 10);
  });
});

describe("staleWhileRevalidate", () => {
  test("the stale value is returned at once and one background refresh stores the new one", async () => {
    const { cache } = await withStale();
    const events = record(cache, ["stale", "refresh"]);
    const gate = deferred<void>();
    let runs = 0;
    const factory = async () => {
      runs++;
      await gate.promise;
      return "new";
    };
    const results = await Promise.all(
      Array.from({ length: 5 }, () => cache.getOrSet("k", factory, { staleWhileRevalidate: true })),
    );
    assert.deepEqual(results, Array(5).fill("old"), "returned before the refresh finished");
    assert.equal(runs, 1, "one background refresh per key");
    assert.equal(cache.cacheInfo().staleHits, 5);
    assert.deepEqual(events.map((e) => [e.type, e.reason]), Array(5).fill(["stale", "revalidate"]));
    gate.resolve();
    await settle();
    assert.equal(await cache.get("k"), "new");
    assert.equal(events.at(-1)!.type, "refresh");
    assert.equal(events.at(-1)!.key, "k");
  });

  test("a failing background refresh: error event (operation refresh), errors++, no unhandled rejection", async () => {
    const watch = watchUnhandled();
    try {
      const { cache } = await withStale({ staleWhileRevalidate: true });
      const errors = record(cache, ["error"]);
      const failure = new Error("refresh failed");
      assert.equal(await cache.getOrSet("k", () => Promise.reject(failure)), "old");
      assert.equal(await cache.getOrSet("k2", () => "cold"), "cold", "a cold key is computed, not served stale");
      await settle(5);
      assert.equal(cache.cacheInfo().errors, 1);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].operation, "refresh");
      assert.equal(errors[0].key, "k");
      assert.equal(errors[0].error, failure);
      assert.equal(await cache.getOrSet("k", () => "new"), "old", "the stale value is kept");
      await settle(5);
      assert.equal(await cache.get("k"), "new");
      // A synchronous throw in the background is handled the same way.
      const sync = await withStale({ staleWhileRevalidate: true });
      assert.equal(
        await sync.cache.getOrSet("k", () => {
          throw failure;
        }),
        "old",
      );
      await settle(5);
      assert.equal(sync.cache.cacheInfo().errors, 1);
      assert.deepEqual(watch.reasons, []);
    } finally {
      watch.stop();
    }
  });
});

describe("timeouts", () => {
  test("soft timeout: the stale value is returned after ~timeout ms and the slow factory still stores", async () => {
    const { cache } = await withStale();
    const events = record(cache, ["stale"]);
    const started = performance.now();
    let computed = false;
    const value = await cache.getOrSet("k", async () => {
      await sleep(150);
      computed = true;
      return "new";
    }, { timeout: 40 });
    const elapsed = performance.now() - started;
    assert.equal(value, "old");
    // Early: before the factory finished (a flag rather than a time bound, which a loaded machine can stretch).
    assert.equal(computed, false, `returned after ${elapsed} ms, once the factory had finished`);
    assert.ok(elapsed >= 35, `returned after ${elapsed} ms, before the timeout`);
    assert.equal(cache.cacheInfo().staleHits, 1);
    assert.deepEqual(events.map((e) => e.reason), ["timeout"]);
    await sleep(180);
    assert.equal(await cache.get("k"), "new", "the computation went on and stored its value");
  });

  test("soft timeout without a stale value: the caller waits for the value", async () => {
    const { cache } = setup();
    const started = performance.now();
    const value = await cache.getOrSet("k", async () => {
      await sleep(60);
      return "v";
    }, { timeout: 10 });
    assert.equal(value, "v");
    assert.ok(performance.now() - started >= 55);
  });

  test("hardTimeout: CacheTimeoutError, ctx.signal aborted with it, timeout event, nothing stored", async () => {
    const { cache } = setup();
    const events = record(cache, ["timeout"]);
    let signal: AbortSignal | undefined;
    const started = performance.now();
    let computed = false;
    const outcome = await cache.getOrSet("k", async (ctx) => {
      signal = ctx.signal;
      await sleep(120);
      computed = true;
      return "late";
    }, { hardTimeout: 30 }).catch((e) => e);
    assert.ok(outcome instanceof CacheTimeoutError, String(outcome));
    assert.ok(outcome instanceof CacheError);
    assert.match(outcome.message, /hardTimeout \(30 ms\)/);
    assert.equal(computed, false, "the caller did not wait for the factory");
    assert.ok(performance.now() - started >= 25, "nor rejected before hardTimeout");
    assert.equal(signal!.aborted, true);
    assert.equal(signal!.reason, outcome);
    assert.equal(events.length, 1);
    assert.equal(events[0].key, "k");
    assert.equal(events[0].error, outcome);
    await sleep(130);
    assert.equal(await cache.get("k"), undefined, "the abandoned computation is not stored");
  });

  test("hardTimeout with a stale value: the stale value is served (stale event reason timeout)", async () => {
    const { cache } = await withStale();
    const events = record(cache, ["stale", "timeout"]);
    const value = await cache.getOrSet("k", (ctx) =>
      new Promise((_, reject) => {
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
      }), { hardTimeout: 20 });
    assert.equal(value, "old");
    assert.equal(cache.cacheInfo().staleHits, 1);
    assert.deepEqual(events.map((e) => [e.type, e.reason]), [["timeout", undefined], ["stale", "timeout"]]);
    assert.ok(events[1].error instanceof CacheTimeoutError);
  });

  test("joiners of a timed-out computation all get the CacheTimeoutError", async () => {
    const { cache } = setup({ hardTimeout: 20 });
    let runs = 0;
    const calls = Array.from({ length: 5 }, () =>
      cache.getOrSet("k", async () => {
        runs++;
        await sleep(80);
        return 1;
      }).catch((e) => e));
    const outcomes = await Promise.all(calls);
    assert.equal(runs, 1);
    for (const outcome of outcomes) assert.ok(outcome instanceof CacheTimeoutError);
    assert.equal(new Set(outcomes).size, 1);
    await sleep(80);
  });
});

describe("failOpen", () => {
  test("a backend whose reads and writes reject: the value is still returned, errors counted and reported", async () => {
    const backend = deadBackend();
    const clock = manualClock();
    const cache = new TTLCache<unknown>({ backend, clock, serializer: new StructuredSerializer() });
    const events = record(cache, ["error", "miss"]);
    let runs = 0;
    assert.equal(await cache.getOrSet("k", () => ++runs), 1);
    await settle(); // the write left to the background fails first
    clock.advance(1_000); // past the second a value computed during an outage is served again
    assert.equal(await cache.getOrSet("k", () => ++runs), 2, "nothing could be stored");
    await settle(); // a write after a failed read may be left to the background
    const info = cache.cacheInfo();
    assert.equal(info.errors, 4);
    assert.equal(info.misses, 2);
    const errors = events.filter((e) => e.type === "error");
    assert.deepEqual(errors.map((e) => e.operation).sort(), ["get", "get", "set", "set"]);
    for (const event of errors) {
      assert.equal(event.key, "k");
      assert.ok(event.error instanceof CacheError);
      assert.match((event.error as Error).message, /backend down/);
      assert.ok((event.error as Error).cause instanceof Error);
    }
  });

  test("during an outage, a value computed less than a second ago is served again (a copy), not recomputed", async () => {
    const backend = deadBackend();
    const clock = manualClock();
    const cache = new TTLCache<unknown>({ backend, clock, serializer: new StructuredSerializer() });
    const hits = record(cache, ["hit"]);
    let runs = 0;
    const first = await cache.getOrSet("k", () => ({ run: ++runs })) as { run: number };
    first.run = 99;
    clock.advance(999);
    assert.deepEqual(await cache.getOrSet("k", () => ({ run: ++runs })), { run: 1 }, "kept, as a fresh copy");
    assert.equal(runs, 1);
    assert.deepEqual(hits.map((event) => event.tier), ["outage"]);
    clock.advance(1);
    assert.deepEqual(await cache.getOrSet("k", () => ({ run: ++runs })), { run: 2 }, "a second at most");
    await assert.rejects(cache.delete("k"), CacheError);
    assert.deepEqual(await cache.getOrSet("k", () => ({ run: ++runs })), { run: 3 }, "an invalidation drops it");
    cache.close();
  });

  test("under failOpen, concurrent callers still share one computation", async () => {
    const cache = overBackend(deadBackend());
    let runs = 0;
    const results = await Promise.all(Array.from({ length: 10 }, () =>
      cache.getOrSet("k", async () => {
        runs++;
        await sleep(10);
        return "v";
      })));
    assert.deepEqual(results, Array(10).fill("v"));
    assert.equal(runs, 1);
  });

  test("a backend that fails only writes: value returned, one set error, nothing stored", async () => {
    const inner = new MemoryCacheBackend();
    const cache = overBackend(readOnlyBackend(inner));
    const events = record(cache, ["error"]);
    assert.equal(await cache.getOrSet("k", () => "v"), "v");
    assert.equal(cache.cacheInfo().errors, 1);
    assert.deepEqual(events.map((e) => [e.operation, e.key]), [["set", "k"]]);
    assert.equal(inner.size, 0);
    await assert.rejects(cache.set("k", "v"), CacheError, "plain set rejects");
  });

  test("a failing backend with tags or in a namespace still returns the value", async () => {
    const cache = overBackend(deadBackend());
    assert.equal(await cache.getOrSet("k", () => "t", { tags: ["x"] }), "t");
    assert.equal(await cache.namespace("n").getOrSet("k", () => "n"), "n");
    assert.ok(cache.cacheInfo().errors >= 2);
  });

  test("failOpen: false rejects with the CacheError (read failure, and write failure)", async () => {
    const dead = overBackend(deadBackend());
    let runs = 0;
    await assert.rejects(dead.getOrSet("k", () => ++runs, { failOpen: false }), (error: Error) => {
      assert.ok(error instanceof CacheError);
      assert.match(error.message, /backend down/);
      return true;
    });
    assert.equal(runs, 0, "a failed read does not run the factory when failing closed");
    const closedByDefault = overBackend(deadBackend(), { failOpen: false });
    await assert.rejects(closedByDefault.getOrSet("k", () => 1), CacheError);
    const writes = overBackend(readOnlyBackend(new MemoryCacheBackend()), { failOpen: false });
    await assert.rejects(writes.getOrSet("k", () => 1), CacheError);
    assert.equal(dead.cacheInfo().errors, 0, "nothing was swallowed");
  });

  test("plain get, set, getMany, setMany, delete, deleteTags, clear reject with CacheError", async () => {
    const cache = overBackend(deadBackend());
    await assert.rejects(cache.get("k"), CacheError);
    await assert.rejects(cache.set("k", 1), CacheError);
    await assert.rejects(cache.getMany(["a", "b"]), CacheError);
    await assert.rejects(cache.setMany([{ key: "a", value: 1 }, { key: "b", value: 2 }]), CacheError);
    await assert.rejects(cache.delete("k"), CacheError);
    await assert.rejects(cache.deleteMany(["a", "b"]), CacheError);
    await assert.rejects(cache.deleteTags(["t"]), CacheError);
    await assert.rejects(cache.clear(), CacheError);
    assert.equal(cache.cacheInfo().errors, 0);
  });
});

describe("earlyRefresh", () => {
  // ln(e^-1) = -1: an entry is refreshed once now + delta * beta >= freshUntil.
  const random = () => Math.exp(-1);

  test("a hit refreshes in the background just before expiry, by the measured compute time", async () => {
    const { cache, clock } = setup({ ttl: 10, random });
    const events = record(cache, ["refresh", "miss"]);
    let runs = 0;
    const factory = () => {
      clock.advance(100); // the computation takes 100 ms of (fake) time
      return ++runs;
    };
    const options = { earlyRefresh: 1 };
    assert.equal(await cache.getOrSet("k", factory, options), 1);
    clock.advance(9_899); // 1 ms before the refresh window
    assert.equal(await cache.getOrSet("k", factory, options), 1);
    await microtasks();
    assert.equal(runs, 1);
    clock.advance(1); // inside the window: still fresh
    assert.equal(await cache.getOrSet("k", factory, options), 1, "the caller gets the current value at once");
    await microtasks();
    assert.equal(runs, 2, "refreshed before expiry");
    clock.advance(500); // past the first entry's expiry
    assert.equal(await cache.get("k"), 2);
    assert.equal(events.filter((e) => e.type === "miss").length, 1);
    const refresh = events.find((e) => e.type === "refresh")!;
    assert.equal(refresh.key, "k");
    assert.equal(refresh.reason, "early");
  });

  for (const lock of ["true", "false", "a CacheLock"] as const) {
    test(`early refresh recomputes with lock: ${lock}`, async () => {
      const { cache, clock } = setup({ ttl: 10, random });
      const held: string[] = [];
      const custom: CacheLock = {
        withLock: async (key, body) => {
          held.push(key);
          return await body();
        },
      };
      let runs = 0;
      const factory = () => {
        clock.advance(100);
        return ++runs;
      };
      const options = { earlyRefresh: 1, lock: lock === "true" ? true : lock === "false" ? false : custom };
      assert.equal(await cache.getOrSet("k", factory, options), 1);
      clock.advance(9_900); // inside the window
      assert.equal(await cache.getOrSet("k", factory, options), 1);
      await microtasks();
      assert.equal(runs, 2, "recomputed, even though the entry is still fresh under the lock");
      assert.equal(await cache.get("k"), 2);
      if (lock === "a CacheLock") assert.deepEqual(held, ["k", "k"]);
    });
  }

  test("the window scales with earlyRefresh (beta)", async () => {
    const { cache, clock } = setup({ ttl: 10, random, earlyRefresh: 3 });
    let runs = 0;
    const factory = () => {
      clock.advance(100);
      return ++runs;
    };
    await cache.getOrSet("k", factory);
    clock.advance(9_699);
    await cache.getOrSet("k", factory);
    await microtasks();
    assert.equal(runs, 1);
    clock.advance(1);
    await cache.getOrSet("k", factory);
    await microtasks();
    assert.equal(runs, 2, "beta 3: 300 ms before expiry");
  });

  test("a hot key read every tick never has a cold miss (and has them without earlyRefresh)", async () => {
    const run = async (earlyRefresh: number) => {
      const { cache, clock } = setup({ ttl: 1, random });
      let runs = 0;
      const factory = () => {
        clock.advance(50);
        return ++runs;
      };
      for (let tick = 0; tick < 400; tick++) {
        clock.advance(10);
        await cache.getOrSet("hot", factory, { earlyRefresh });
        await microtasks(5);
      }
      return { info: cache.cacheInfo(), runs };
    };
    const early = await run(1);
    assert.equal(early.info.misses, 1, "only the very first call missed");
    assert.ok(early.runs >= 4, `refreshed ${early.runs - 1} times`);
    const late = await run(0);
    assert.ok(late.info.misses > 1, "the control run does miss");
  });

  test("earlyRefresh 0 or a random near 1 never refreshes early", async () => {
    const { cache, clock } = setup({ ttl: 10, random: () => 0.999999 });
    let runs = 0;
    const factory = () => {
      clock.advance(100);
      return ++runs;
    };
    await cache.getOrSet("k", factory, { earlyRefresh: 1 });
    clock.advance(9_890);
    await cache.getOrSet("k", factory, { earlyRefresh: 1 });
    await cache.getOrSet("k", factory);
    await microtasks();
    assert.equal(runs, 1);
  });
});

describe("signal", () => {
  test("an already aborted signal rejects with its reason without running the factory", async () => {
    const { cache } = setup();
    const reason = new Error("cancelled before");
    let runs = 0;
    await assert.rejects(cache.getOrSet("k", () => ++runs, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(runs, 0);
    assert.equal(await cache.get("k"), undefined);
  });

  test("one of two waiters aborting rejects at once and keeps the computation", async () => {
    const { cache } = setup();
    const gate = deferred<void>();
    let ctxSignal: AbortSignal | undefined;
    let runs = 0;
    const factory = async (ctx: FactoryContext<unknown>) => {
      runs++;
      ctxSignal = ctx.signal;
      await gate.promise;
      return "v";
    };
    const a = new AbortController();
    const b = new AbortController();
    const first = cache.getOrSet("k", factory, { signal: a.signal });
    const second = cache.getOrSet("k", factory, { signal: b.signal });
    await settle();
    const reason = new Error("a left");
    a.abort(reason);
    await assert.rejects(first, (e) => e === reason);
    assert.equal(ctxSignal!.aborted, false);
    gate.resolve();
    assert.equal(await second, "v");
    assert.equal(runs, 1);
  });

  test("a waiter without a signal keeps the computation alive", async () => {
    const { cache } = setup();
    const gate = deferred<void>();
    let ctxSignal: AbortSignal | undefined;
    const factory = async (ctx: FactoryContext<unknown>) => {
      ctxSignal = ctx.signal;
      await gate.promise;
      return "v";
    };
    const a = new AbortController();
    const first = cache.getOrSet("k", factory, { signal: a.signal }).catch((e) => e);
    const second = cache.getOrSet("k", factory);
    await settle();
    a.abort(new Error("bye"));
    await first;
    assert.equal(ctxSignal!.aborted, false);
    gate.resolve();
    assert.equal(await second, "v");
  });

  test("all waiters aborting aborts ctx.signal; a computation that finishes anyway is stored", async () => {
    const { cache } = setup();
    const gate = deferred<void>();
    let ctxSignal: AbortSignal | undefined;
    const factory = async (ctx: FactoryContext<unknown>) => {
      ctxSignal = ctx.signal;
      await gate.promise;
      return "finished anyway";
    };
    const a = new AbortController();
    const b = new AbortController();
    const first = cache.getOrSet("k", factory, { signal: a.signal }).catch((e) => e);
    const second = cache.getOrSet("k", factory, { signal: b.signal }).catch((e) => e);
    await settle();
    a.abort(new Error("a"));
    assert.equal(ctxSignal!.aborted, false);
    const last = new Error("b");
    b.abort(last);
    assert.equal((await first as Error).message, "a");
    assert.equal(await second, last);
    assert.equal(ctxSignal!.aborted, true);
    assert.equal(ctxSignal!.reason, last);
    gate.resolve();
    await settle();
    assert.equal(await cache.get("k"), "finished anyway");
  });

  test("a caller aborting after the value arrived is unaffected", async () => {
    const { cache } = setup();
    const controller = new AbortController();
    assert.equal(await cache.getOrSet("k", () => 1, { signal: controller.signal }), 1);
    controller.abort();
    assert.equal(await cache.getOrSet("k", () => 2, { signal: controller.signal }).catch(() => "rejected"), "rejected");
    assert.equal(await cache.get("k"), 1);
  });
});

describe("events", () => {
  test("each event type fires with its fields", async () => {
    const { cache, clock } = setup({ ttl: 1, maxSize: 2 });
    const all: CacheEventType[] = ["hit", "miss", "stale", "set", "delete", "evict", "refresh", "timeout", "error"];
    const events = record(cache, all);
    const take = (type: CacheEventType) => {
      const found = events.filter((e) => e.type === type);
      events.length = 0;
      return found;
    };
    for (const e of events) assert.ok(e instanceof CacheEvent);

    await cache.set("a", 1);
    assert.deepEqual(take("set").map((e) => [e.key, e.namespace]), [["a", ""]]);
    await cache.get("a");
    assert.deepEqual(take("hit").map((e) => [e.key, e.tier, e.namespace]), [["a", "backend", ""]]);
    await cache.get("nope");
    assert.deepEqual(take("miss").map((e) => e.key), ["nope"]);
    await cache.delete("a");
    assert.deepEqual(take("delete").map((e) => e.key), ["a"]);
    await cache.set("b", 2);
    await cache.set("c", 3);
    await cache.set("d", 4);
    assert.deepEqual(take("evict").map((e) => e.key), ["b"]);

    await cache.set("s", "old", { grace: 60 });
    clock.advance(1_500);
    const failure = new Error("f");
    await cache.getOrSet("s", () => Promise.reject(failure));
    const [stale] = take("stale");
    assert.deepEqual([stale.key, stale.reason, stale.error], ["s", "error", failure]);

    await cache.getOrSet("s", () => "new", { staleWhileRevalidate: true });
    await settle();
    const [refresh] = events.filter((e) => e.type === "refresh");
    assert.equal(refresh.key, "s");
    assert.equal(refresh.reason, "revalidate");
    events.length = 0;

    await cache.getOrSet("t", () => sleep(50), { hardTimeout: 5 }).catch(() => {});
    const [timeout] = take("timeout");
    assert.equal(timeout.key, "t");
    assert.ok(timeout.error instanceof CacheTimeoutError);

    const broken = overBackend(deadBackend());
    const brokenEvents = record(broken, ["error"]);
    await broken.getOrSet("x", () => 1);
    await settle();
    assert.deepEqual(brokenEvents.map((e) => [e.type, e.key, e.operation]), [["error", "x", "get"], [
      "error",
      "x",
      "set",
    ]]);
    await sleep(60);
  });

  test("an evict event names the key inside its namespace", async () => {
    const { cache } = setup({ maxSize: 1 });
    const events = record(cache, ["evict"]);
    const ns = cache.namespace("users");
    await ns.set("1", "a");
    await ns.set("2", "b");
    assert.deepEqual(events.map((e) => [e.key, e.namespace]), [["1", "users"]]);
  });

  test("an evict event names a root key beginning with NUL as the user wrote it", async () => {
    const { cache } = setup({ maxSize: 1 });
    const events = record(cache, ["evict"]);
    await cache.set("\0x", 1);
    await cache.set("y", 2);
    assert.deepEqual(events.map((e) => [e.key, e.namespace]), [["\0x", ""]]);
  });

  test("a refresh event carries the background computation's duration", async () => {
    const { cache, clock } = await withStale();
    const events = record(cache, ["refresh"]);
    await cache.getOrSet("k", () => {
      clock.advance(42);
      return "new";
    }, { staleWhileRevalidate: true });
    await settle();
    assert.equal(events.length, 1);
    assert.equal(events[0].duration, 42, "the factory took 42 ms of the cache's clock");
  });

  test("no listener: no event is dispatched (nor built)", async () => {
    const { cache, clock } = setup({ ttl: 1, maxSize: 2 });
    let dispatched = 0;
    const original = cache.dispatchEvent.bind(cache);
    cache.dispatchEvent = (event: Event) => {
      dispatched++;
      return original(event);
    };
    const ns = cache.namespace("n");
    await cache.set("a", 1, { grace: 60 });
    await cache.get("a");
    await cache.get("x");
    await ns.set("b", 2, 60);
    await cache.getOrSet("a", () => 2);
    clock.advance(2_000);
    await cache.getOrSet("a", () => Promise.reject(new Error("e")));
    await cache.getOrSet("a", () => "new", { staleWhileRevalidate: true });
    await settle();
    await cache.delete("a");
    await cache.set("e", 5);
    await cache.set("f", 6); // evicts
    assert.equal(cache.cacheInfo().evictions, 1);
    await cache.getOrSet("t", () => sleep(30), { hardTimeout: 5 }).catch(() => {});
    assert.equal(dispatched, 0);

    // Only the types listened to are dispatched, and none after the listener is removed.
    const listener = () => {};
    cache.addEventListener("set", listener);
    await cache.set("c", 3);
    await cache.get("c");
    await cache.get("missing");
    assert.equal(dispatched, 1);
    cache.removeEventListener("set", listener);
    await cache.set("d", 4);
    assert.equal(dispatched, 1);
    ns.addEventListener("hit", listener);
    await cache.get("d");
    assert.equal(dispatched, 2, "a listener added on a view listens to the cache");
    ns.removeEventListener("hit", listener);
    await cache.get("d");
    assert.equal(dispatched, 2);
  });
});

describe("cacheInfo", () => {
  test("has exactly the spec's fields plus staleHits, errors and l1Hits, frozen", async () => {
    const { cache } = await withStale({ maxSize: 10 });
    await cache.getOrSet("k", () => Promise.reject(new Error("e")));
    const info = cache.cacheInfo();
    assert.deepEqual(Object.keys(info).sort(), [
      "currSize",
      "errors",
      "evictions",
      "hits",
      "l1Hits",
      "maxSize",
      "misses",
      "staleHits",
    ]);
    assert.ok(Object.isFrozen(info));
    assert.deepEqual(info, {
      hits: 0,
      misses: 0,
      maxSize: 10,
      currSize: 1,
      evictions: 0,
      staleHits: 1,
      errors: 0,
      l1Hits: 0,
    });
  });

  test("errors counts undecodable bytes too", async () => {
    const { cache, backend } = setup();
    const events = record(cache, ["error"]);
    await backend.set("k", new Uint8Array([1, 2, 3]), 60);
    assert.equal(await cache.get("k"), undefined);
    assert.equal(cache.cacheInfo().errors, 1);
    assert.deepEqual(events.map((e) => [e.key, e.operation]), [["k", "loads"]]);
  });
});

describe("a lock whose store is down", () => {
  const unreachable = (error: Error): CacheLock => ({ withLock: () => Promise.reject(error) });

  test("under fail-open, a lock that cannot be reached is passed over: one computation per process", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer() });
    const errors: CacheEvent[] = [];
    cache.addEventListener("error", (event) => errors.push(event as CacheEvent));
    const lock = unreachable(new CacheError('Cannot acquire RedisLock "k": the Redis server is unreachable'));
    let runs = 0;
    const factory = async () => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return "v";
    };
    const results = await Promise.all([1, 2, 3].map(() => cache.getOrSet("k", factory, { lock })));
    assert.deepEqual(results, ["v", "v", "v"]);
    assert.equal(runs, 1);
    assert.deepEqual(errors.map((event) => event.operation), ["lock"]);
    assert.equal(await cache.get("k"), "v", "the value is stored");
  });

  test("a lock held past its wait limit (CacheTimeoutError) still rejects, and failOpen: false rejects any lock error", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer() });
    let runs = 0;
    await assert.rejects(
      cache.getOrSet("k", () => ++runs, { lock: unreachable(new CacheTimeoutError("another caller holds it")) }),
      CacheTimeoutError,
    );
    await assert.rejects(
      cache.getOrSet("k", () => ++runs, { lock: unreachable(new CacheError("down")), failOpen: false }),
      { message: "down" },
    );
    await assert.rejects(
      cache.getOrSet("k", () => ++runs, { lock: unreachable(new TypeError("a bug")) }),
      TypeError,
    );
    assert.equal(runs, 0);
  });
});

describe("set events of computations", () => {
  test("a set event from a computation carries how long it took; a plain set carries none", async () => {
    const { cache, clock } = setup();
    const events = record(cache, ["set"]);
    await cache.getOrSet("k", () => {
      clock.advance(42);
      return 1;
    });
    await cache.set("plain", 1);
    assert.deepEqual(events.map((event) => [event.key, event.duration]), [["k", 42], ["plain", undefined]]);
  });
});
