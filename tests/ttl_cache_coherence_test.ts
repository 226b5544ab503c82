// Coherence under faults, with two caches (a writer and a reader) over one
// backend and one bus in this process: a failed or timed-out write never
// leaves an invalidated value served once the fault heals, large
// invalidations arrive whole, and every wait is bounded. Real servers:
// tests/redis_faults_test.ts, tests/ttl_cache_tiers_test.ts and `npm run chaos`.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CacheError, TTLCache } from "../mod.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { JsonSerializer } from "../serializers/json.ts";
import type { CacheBackend } from "../types.ts";
import { manualClock } from "./_helpers.ts";
import { LocalBus } from "./_local_bus.ts";
import { record, sleep } from "./_read_through_helpers.ts";

/**
 * A memory backend that can fail or freeze. Down: every call rejects at once.
 * Frozen: every call rejects after 5 ms ("timed out"), and the writes among
 * them run when it thaws, as a frozen Redis runs what it had received.
 */
function faulty() {
  const memory = new MemoryCacheBackend();
  let state: "up" | "down" | "frozen" = "up";
  const pending: (() => Promise<unknown>)[] = [];
  const call = <R>(run: () => Promise<R>, write: boolean): Promise<R> => {
    if (state === "up") return run();
    if (state === "down") return Promise.reject(new Error("connection refused"));
    if (write) pending.push(run);
    return sleep(5).then(() => Promise.reject(new Error("Command timed out")));
  };
  const backend: CacheBackend = {
    get: (key) => call(() => memory.get(key), false),
    getMany: (keys) => call(() => Promise.all(keys.map((key) => memory.get(key))), false),
    set: (key, value, ttl) => call(() => memory.set(key, value, ttl), true),
    delete: (key) => call(() => memory.delete(key), true),
    deleteMany: (keys) => call(() => Promise.all(keys.map((key) => memory.delete(key))).then(() => {}), true),
    clear: () => call(() => memory.clear(), true),
  };
  return {
    backend,
    memory,
    down: () => void (state = "down"),
    freeze: () => void (state = "frozen"),
    async up() {
      state = "up";
      for (const run of pending.splice(0)) await run();
    },
  };
}

function twoCaches(backend: CacheBackend) {
  const bus = new LocalBus();
  const make = () =>
    new TTLCache<unknown>({
      backend,
      bus,
      l1: { maxSize: 10_000 },
      serializer: new JsonSerializer(),
      circuitBreaker: 0,
    });
  return { bus, writer: make(), reader: make() };
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

// What each cache serves for `key` through read-through, when the backend may fail: never the superseded value.
const served = (cache: TTLCache<unknown>, key: string, namespace?: string) =>
  (namespace === undefined ? cache : cache.namespace(namespace)).getOrSet(key, () => "computed", { ttl: 60 });

describe("failed writes and invalidations (backend down)", () => {
  for (
    const [name, write] of [
      ["delete", (c: TTLCache<unknown>) => c.delete("k")],
      ["set", (c: TTLCache<unknown>) => c.set("k", "new")],
      ["deleteMany", (c: TTLCache<unknown>) => c.deleteMany(["k"])],
      ["setMany", (c: TTLCache<unknown>) => c.setMany([{ key: "k", value: "new" }])],
      ["deleteTags", (c: TTLCache<unknown>) => c.deleteTags(["t"])],
      ["clear", (c: TTLCache<unknown>) => c.clear()],
    ] as const
  ) {
    test(`a failed ${name}: neither the writer nor a reader serves the old value, then or after the backend returns`, async () => {
      const fault = faulty();
      const { writer, reader } = twoCaches(fault.backend);
      await writer.set("k", "old", { tags: ["t"] });
      assert.equal(await reader.get("k"), "old", "in the reader's l1 now");
      assert.equal(await writer.get("k"), "old", "and in the writer's");
      fault.down();
      await assert.rejects(write(writer), CacheError);
      assert.notEqual(await served(writer, "k"), "old", "the writer dropped its own copy first");
      assert.notEqual(await served(reader, "k"), "old", "the reader was told at once");
      await fault.up();
      // The write is owed: it is applied again (as an invalidation) until it succeeds, then announced again.
      const notOld = async () => (await writer.get("k")) !== "old" && (await reader.get("k")) !== "old";
      await eventually(notOld, `${name} re-applied`);
      await sleep(100);
      assert.ok(await notOld(), "and it stays so");
      writer.close();
      reader.close();
    });
  }

  test("a failed namespace clear(): the namespace's entries are misses everywhere, then and after", async () => {
    const fault = faulty();
    const { writer, reader } = twoCaches(fault.backend);
    await writer.namespace("ns").set("k", "old");
    assert.equal(await reader.namespace("ns").get("k"), "old");
    fault.down();
    await assert.rejects(writer.namespace("ns").clear(), CacheError);
    assert.equal(await served(writer, "k", "ns"), "computed");
    assert.equal(await served(reader, "k", "ns"), "computed");
    await fault.up();
    await eventually(async () => (await reader.namespace("ns").get("k")) === undefined, "cleared after recovery");
    assert.equal(await writer.namespace("ns").get("k"), undefined);
    writer.close();
    reader.close();
  });
});

describe("timed-out writes (backend frozen, applied when it thaws)", () => {
  test("a delete that timed out and ran at thaw is announced: no l1 keeps the old value", async () => {
    const fault = faulty();
    const { writer, reader, bus } = twoCaches(fault.backend);
    await writer.set("k", "old");
    assert.equal(await reader.get("k"), "old");
    fault.freeze();
    bus.drop(); // the bus is down with the server: the writer's message waits in its outbox
    await assert.rejects(writer.delete("k"), /timed out/);
    assert.notEqual(await served(writer, "k"), "old");
    await fault.up(); // the server runs the delete it had received
    bus.restore();
    assert.equal(await writer.get("k"), undefined);
    await eventually(async () => (await reader.get("k")) === undefined, "the reader drops its copy");
    writer.close();
    reader.close();
  });

  test("a deleteTags that timed out: after the thaw, every tagged entry is a miss in every cache", async () => {
    const fault = faulty();
    const { writer, reader } = twoCaches(fault.backend);
    for (const key of ["a", "b", "c", "d"]) await writer.set(key, `old ${key}`, { tags: ["orders"] });
    for (const key of ["a", "b", "c", "d"]) assert.equal(await reader.get(key), `old ${key}`);
    fault.freeze();
    await assert.rejects(writer.deleteTags(["orders"]), /timed out/);
    await fault.up();
    await eventually(async () => {
      for (const cache of [writer, reader]) {
        for (const key of ["a", "b", "c", "d"]) if ((await cache.get(key)) !== undefined) return false;
      }
      return true;
    }, "every tagged entry is a miss");
    writer.close();
    reader.close();
  });

  test("a set that timed out: the value it replaced is never served again; a later successful set wins", async () => {
    const fault = faulty();
    const { writer, reader } = twoCaches(fault.backend);
    await writer.set("k", "v1");
    assert.equal(await reader.get("k"), "v1");
    fault.freeze();
    await assert.rejects(writer.set("k", "v2"), /timed out/);
    await fault.up();
    await eventually(async () => (await reader.get("k")) !== "v1", "v1 is gone");
    await writer.set("k", "v3");
    await sleep(100); // past any owed retry
    assert.equal(await reader.get("k"), "v3");
    assert.equal(await writer.get("k"), "v3");
    writer.close();
    reader.close();
  });
});

describe("the bus never loses an invalidation to size", () => {
  test("deleteMany of 1,000 keys of 2 KB (2 MB of names) reaches the other cache whole, in messages under 1 MiB", async () => {
    const backend = new MemoryCacheBackend();
    const { writer, reader, bus } = twoCaches(backend);
    const keys = Array.from({ length: 1_000 }, (_, i) => `${i}:`.padEnd(2_048, "x"));
    await writer.setMany(keys.map((key) => ({ key, value: 1 })));
    for (const key of keys) assert.equal(await reader.get(key), 1);
    bus.sent.length = 0;
    await writer.deleteMany(keys);
    assert.ok(bus.sent.length > 1, "split");
    for (const message of bus.sent) assert.ok(message.length < 1 << 20, `${message.length} bytes`);
    const before = reader.cacheInfo().l1Hits;
    for (const key of keys) assert.equal(await reader.get(key), undefined);
    assert.equal(reader.cacheInfo().l1Hits, before);
  });

  test("a single key too long for one message makes the receivers drop their whole l1", async () => {
    const backend = new MemoryCacheBackend();
    const { writer, reader, bus } = twoCaches(backend);
    const huge = "k".repeat(300_000);
    await writer.set(huge, 1);
    await writer.set("other", 2);
    assert.equal(await reader.get(huge), 1);
    assert.equal(await reader.get("other"), 2);
    bus.sent.length = 0;
    await backend.delete(huge); // as if another process deleted it
    await writer.delete(huge);
    assert.deepEqual(bus.sent.map((m) => JSON.parse(new TextDecoder().decode(m)).c), [true]);
    const hits = reader.cacheInfo().l1Hits;
    assert.equal(await reader.get(huge), undefined);
    assert.equal(await reader.get("other"), 2);
    assert.equal(reader.cacheInfo().l1Hits, hits, "read from the backend again");
  });
});

describe("bounded waits", () => {
  test("after a backend call fails slowly, read-through skips the backend for circuitBreaker ms; plain calls do not", async () => {
    const clock = manualClock();
    let calls = 0;
    const slow: CacheBackend = {
      get: () => {
        calls++;
        clock.advance(300); // a frozen server: the call waited its whole timeout
        return Promise.reject(new Error("Command timed out"));
      },
      set: () => Promise.reject(new Error("Command timed out")),
      delete: () => Promise.resolve(),
      clear: () => Promise.resolve(),
    };
    const cache = new TTLCache<unknown>({ backend: slow, clock, serializer: new JsonSerializer() });
    const errors = record(cache, ["error"]);
    assert.equal(await cache.getOrSet("a", () => 1), 1);
    assert.equal(calls, 1);
    assert.equal(await cache.getOrSet("c", () => 3), 3, "read-through fails open at once");
    assert.equal(calls, 1, "no read-through call reached the backend while the breaker was open");
    assert.ok(errors.some((event) => /circuitBreaker/.test(String(event.error))), "reported as skipped");
    await assert.rejects(cache.get("b"), /timed out/, "a plain get still asks the backend");
    assert.equal(calls, 2);
    clock.advance(1_000);
    assert.equal(await cache.getOrSet("d", () => 4), 4);
    assert.equal(calls, 3, "read-through tries again once the breaker closed");
  });

  test("a call refused at once opens no breaker", async () => {
    let calls = 0;
    const refusing: CacheBackend = {
      get: () => (calls++, Promise.reject(new Error("connection refused"))),
      set: () => Promise.reject(new Error("connection refused")),
      delete: () => Promise.resolve(),
      clear: () => Promise.resolve(),
    };
    const cache = new TTLCache<unknown>({ backend: refusing, serializer: new JsonSerializer() });
    await assert.rejects(cache.get("a"), /refused/);
    await assert.rejects(cache.get("b"), /refused/);
    assert.equal(calls, 2);
  });

  test("durations a timer cannot wait (over 2^31 - 1 ms) are refused when checked, not fired at once", () => {
    for (const option of ["timeout", "hardTimeout", "circuitBreaker"] as const) {
      assert.throws(() => new TTLCache({ [option]: 30 * 86_400_000 }), {
        name: "RangeError",
        message: new RegExp(`^Cannot create TTLCache: ${option} must be at most 2147483647 ms`),
      });
    }
    for (const [bad, name] of [[-1, "RangeError"], [NaN, "RangeError"], ["1s", "TypeError"], [null, "TypeError"]]) {
      assert.throws(() => new TTLCache({ circuitBreaker: bad as never }), {
        name: name as string,
        message: /^Cannot create TTLCache: circuitBreaker must be a finite number >= 0 \(milliseconds\): received /,
      });
    }
    const cache = new TTLCache({});
    assert.rejects(cache.getOrSet("k", () => new Uint8Array(1), { hardTimeout: 2 ** 31 }), RangeError);
    assert.doesNotThrow(() => new TTLCache({ hardTimeout: 2 ** 31 - 1, circuitBreaker: 0 }));
  });
});

describe("bus messages carry the backend's key space", () => {
  test("caches over different prefixes share a channel without evicting each other's copies", async () => {
    const bus = new LocalBus();
    const scoped = (scope: string): CacheBackend => {
      const memory = new MemoryCacheBackend();
      return {
        scope,
        get: (key) => memory.get(key),
        set: (key, value, ttl) => memory.set(key, value, ttl),
        delete: (key) => memory.delete(key),
        clear: () => memory.clear(),
      };
    };
    const make = (backend: CacheBackend) =>
      new TTLCache<unknown>({ backend, bus, l1: { maxSize: 10 }, serializer: new JsonSerializer() });
    const appA = scoped("redis:app:");
    const [a1, a2] = [make(appA), make(appA)];
    const b1 = make(scoped("redis:billing:"));
    await a1.set("k", "a");
    await b1.set("k", "b");
    assert.equal(await a2.get("k"), "a");
    const hits = a2.cacheInfo().l1Hits;
    await b1.set("k", "b2"); // another key space: a2 keeps its copy
    await b1.clear();
    assert.equal(await a2.get("k"), "a");
    assert.equal(a2.cacheInfo().l1Hits, hits + 1, "served from l1");
    await a1.set("k", "a2"); // the same key space: a2 drops it
    assert.equal(await a2.get("k"), "a2");
    const text = bus.sent.map((message) => new TextDecoder().decode(message)).join("\n");
    assert.match(text, /"p":"redis:billing:"/);
  });
});
