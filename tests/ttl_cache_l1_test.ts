// The in-process tier (l1) and the invalidation bus, on the memory backend with
// a bus that lives in this process; Redis and cross-process runs are elsewhere.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type CacheEvent, TTLCache } from "../mod.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { JsonSerializer } from "../serializers/json.ts";
import type { CacheBackend } from "../types.ts";
import { collectGarbage, manualClock } from "./_helpers.ts";
import { LocalBus } from "./_local_bus.ts";

function pair(l1: { maxSize: number; ttl?: number; busDownTtl?: number } = { maxSize: 100 }) {
  const clock = manualClock();
  const backend = new MemoryCacheBackend({ clock });
  const bus = new LocalBus();
  const make = () => new TTLCache<unknown>({ backend, clock, serializer: new JsonSerializer(), l1, bus });
  return { clock, backend, bus, a: make(), b: make() };
}

// A backend whose reads and writes fail while `down` is set.
function switchable(): { backend: CacheBackend; memory: MemoryCacheBackend; set(down: boolean): void } {
  let down = false;
  const memory = new MemoryCacheBackend();
  const fail = () => Promise.reject(new Error("backend down"));
  const backend: CacheBackend = {
    get: (key) => down ? fail() : memory.get(key),
    set: (key, value, ttl) => down ? fail() : memory.set(key, value, ttl),
    delete: (key) => down ? fail() : memory.delete(key),
    clear: () => down ? fail() : memory.clear(),
  };
  return { backend, memory, set: (value) => down = value };
}

describe("l1 hits", () => {
  test("an in-process hit hands out the stored value itself, costs no backend read, and is counted", async () => {
    let reads = 0;
    const memory = new MemoryCacheBackend();
    const backend: CacheBackend = {
      get: (key) => (reads++, memory.get(key)),
      set: (key, value, ttl) => memory.set(key, value, ttl),
      delete: (key) => memory.delete(key),
      clear: () => memory.clear(),
    };
    const cache = new TTLCache<unknown>({ backend, serializer: new JsonSerializer(), l1: { maxSize: 10 } });
    await cache.set("k", { n: 1 });
    const first = await cache.get("k");
    const second = await cache.get("k");
    assert.deepEqual(first, { n: 1 });
    assert.equal(first, second, "the same object");
    assert.equal(reads, 0, "served from the in-process tier written by set()");
    assert.deepEqual(
      { hits: cache.cacheInfo().hits, l1Hits: cache.cacheInfo().l1Hits, misses: cache.cacheInfo().misses },
      { hits: 2, l1Hits: 2, misses: 0 },
    );
  });

  test("a copy's hits share one settled promise, made anew when the copy changes", async () => {
    const clock = manualClock();
    const bus = new LocalBus();
    const backend = new MemoryCacheBackend({ clock });
    const make = () =>
      new TTLCache<unknown>({ backend, clock, bus, serializer: new JsonSerializer(), l1: { maxSize: 2, ttl: 1 } });
    const cache = make();
    const other = make();
    const loner = new TTLCache<unknown>({ backend, clock, serializer: new JsonSerializer() });
    await cache.set("k", { n: 1 });
    const once = cache.get("k");
    const first = cache.get("k");
    assert.notEqual(first, once, "a copy hit once keeps no promise");
    assert.equal(cache.get("k"), first, "from its second hit on, its hits hand out the same promise");
    assert.equal(cache.getOrSet("k", () => ({ n: 0 })), first, "and so does getOrSet");
    assert.deepEqual([await once, await first], [{ n: 1 }, { n: 1 }]);
    // Each way a copy changes or goes: the next hit serves what the backend now holds, never the old promise.
    const changes: [string, (n: number) => Promise<unknown>][] = [
      ["set", (n) => cache.set("k", { n })],
      ["another process's set", (n) => other.set("k", { n })],
      ["delete, then set", async (n) => {
        await cache.delete("k");
        await cache.set("k", { n });
      }],
      ["eviction by maxSize, then a read from the backend", async (n) => {
        await other.set("k", { n });
        await cache.set("x", 0);
        await cache.set("y", 0);
        assert.deepEqual(await cache.get("k"), { n }, "read from the backend");
      }],
      ["the end of l1.ttl, then a read from the backend (another process's set, no bus)", async (n) => {
        await loner.set("k", { n });
        assert.deepEqual(await cache.get("k"), { n: n - 1 }, "fresh here until l1.ttl ends");
        clock.advance(1_500);
      }],
      ["expiry, then set", async (n) => {
        clock.advance(600_000);
        await cache.set("k", { n });
      }],
      ["clear, then set", async (n) => {
        await cache.clear();
        await cache.set("k", { n });
      }],
    ];
    for (const [i, [name, change]] of changes.entries()) {
      const before = cache.get("k");
      await change(i + 2);
      // The first read may fill the tier from the backend; hits follow (the first of them keeps no promise).
      assert.deepEqual(await cache.get("k"), { n: i + 2 }, name);
      assert.deepEqual(await cache.get("k"), { n: i + 2 }, name);
      const after = cache.get("k");
      assert.notEqual(after, before, name);
      assert.deepEqual(await after, { n: i + 2 }, name);
      assert.equal(cache.get("k"), after, `${name}: the new copy's hits share its promise`);
    }
    // Values handed out as copies get a promise of a new copy on each hit.
    const cloned = new TTLCache<unknown>({ serializer: new JsonSerializer(), l1: { maxSize: 2, clone: true } });
    await cloned.set("k", { n: 1 });
    assert.notEqual(await cloned.get("k"), await cloned.get("k"));
    const raw = new TTLCache({ l1: { maxSize: 2 } });
    await raw.set("k", new Uint8Array([1]));
    assert.notEqual(raw.get("k"), raw.get("k"));
    assert.notEqual(await raw.get("k"), await raw.get("k"));
  });

  test("at most 4,096 copies keep a promise: past that, the oldest to get one lets it go", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer(), l1: { maxSize: 10_000 } });
    const keys = Array.from({ length: 4_097 }, (_, i) => `k${i}`);
    // The promise in an array: an async function returning it would hand out its value.
    const kept = async (key: string) => {
      await cache.get(key);
      const promise = cache.get(key);
      assert.equal(cache.get(key), promise, `${key} keeps its promise`);
      return [promise];
    };
    for (const key of keys) await cache.set(key, { key });
    const [first] = await kept(keys[0]);
    const [second] = await kept(keys[1]);
    for (const key of keys.slice(2, 4_096)) await kept(key);
    assert.equal(cache.get(keys[0]), first, "4,096 copies keep theirs");
    const [last] = await kept(keys[4_096]);
    assert.notEqual(cache.get(keys[0]), first, "the oldest let its promise go");
    assert.equal(cache.get(keys[1]), second);
    assert.equal(cache.get(keys[4_096]), last);
    assert.deepEqual(await cache.get(keys[0]), { key: "k0" });
    // A tier that cannot hold more than that many copies keeps one for each.
    const small = new TTLCache<unknown>({ serializer: new JsonSerializer(), l1: { maxSize: 4_096 } });
    for (const key of keys.slice(0, 4_096)) await small.set(key, { key });
    const promises = [];
    for (const key of keys.slice(0, 4_096)) {
      await small.get(key);
      promises.push(small.get(key));
    }
    assert.ok(promises.every((promise, i) => small.get(keys[i]) === promise));
  });

  test("a copy dropped from the tier is not kept alive by the promise its hits shared", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer(), l1: { maxSize: 2 } });
    const drops: [string, () => Promise<unknown>][] = [
      ["delete", () => cache.delete("k")],
      ["set", () => cache.set("k", { other: true })],
      ["eviction by maxSize", async () => {
        await cache.set("x", 0);
        await cache.set("y", 0);
      }],
      ["clear", () => cache.clear()],
      // A tag's invalidation drops the copy on its next read.
      ["deleteTags, then a read", async () => {
        await cache.deleteTags(["t"]);
        assert.equal(await cache.get("k"), undefined);
      }],
    ];
    for (const [name, drop] of drops) {
      await cache.set("k", { big: "x".repeat(100_000) }, { tags: ["t"] });
      // Made in a function of its own, so that nothing of the test holds the value itself.
      const hit = async (): Promise<WeakRef<object>> => {
        const value = await cache.get("k") as object;
        const hit = cache.get("k");
        assert.equal(cache.get("k"), hit, "the promise is kept");
        assert.equal(await hit, value);
        return new WeakRef(value);
      };
      const ref = await hit();
      await drop();
      // A WeakRef holds its target until the current job ends: collect in a later one.
      await new Promise((resolve) => setTimeout(resolve, 0));
      collectGarbage();
      assert.equal(ref.deref(), undefined, `${name}: the dropped copy is still held`);
    }
  });

  test("clone: true hands out a structuredClone on each hit", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer(), l1: { maxSize: 10, clone: true } });
    const original = { n: [1, 2] };
    await cache.set("k", original);
    const a = await cache.get("k") as { n: number[] };
    const b = await cache.get("k");
    assert.deepEqual(a, original);
    assert.notEqual(a, b);
    a.n.push(3);
    assert.deepEqual(await cache.get("k"), { n: [1, 2] }, "a caller's mutation never reaches the tier");
  });

  test("the tier holds what a reader of the backend would decode, not the caller's object", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer(), l1: { maxSize: 10 } });
    const value = { at: new Date(0) };
    await cache.set("k", value);
    const got = await cache.get("k");
    assert.notEqual(got, value);
    assert.deepEqual(got, { at: "1970-01-01T00:00:00.000Z" }, "JSON turns a Date into a string for every reader");
  });

  test("raw Uint8Array values are copied out of the tier", async () => {
    const cache = new TTLCache({ l1: { maxSize: 10 } });
    await cache.set("k", new Uint8Array([1, 2]));
    const got = (await cache.get("k"))!;
    got[0] = 9;
    assert.deepEqual([...(await cache.get("k"))!], [1, 2]);
  });

  test("raw values: the read that fills the tier from the backend hands out a copy the tier does not keep", async () => {
    const backend = new MemoryCacheBackend();
    const writer = new TTLCache<Uint8Array>({ backend });
    const reader = new TTLCache<Uint8Array>({ backend, l1: { maxSize: 10 } });
    const reads: [string, (key: string) => Promise<Uint8Array | undefined>][] = [
      ["get", (key) => reader.get(key)],
      ["getOrSet", (key) => reader.getOrSet(key, () => new Uint8Array([9]))],
      ["getMany", async (key) => (await reader.getMany([key, "absent"]))[0]],
    ];
    for (const [name, read] of reads) {
      await writer.set(name, new Uint8Array([1, 2, 3]));
      (await read(name))!.fill(0);
      assert.deepEqual([...(await reader.get(name))!], [1, 2, 3], `${name}: l1 kept its own copy`);
      assert.equal(reader.cacheInfo().l1Hits > 0, true);
    }
  });

  test("an in-process copy never outlives the backend entry's ttl, and l1.ttl caps it lower", async () => {
    const clock = manualClock();
    const backend = new MemoryCacheBackend({ clock });
    const cache = new TTLCache<unknown>({ backend, clock, serializer: new JsonSerializer(), l1: { maxSize: 10 } });
    await cache.set("k", 1, 10);
    assert.equal(await cache.get("k"), 1);
    clock.advance(10_000);
    assert.equal(await cache.get("k"), undefined);

    const capped = new TTLCache<unknown>({
      backend,
      clock,
      serializer: new JsonSerializer(),
      l1: { maxSize: 10, ttl: 1 },
    });
    await capped.set("c", 1, 60);
    await capped.get("c");
    clock.advance(1_500);
    assert.equal(await capped.get("c"), 1);
    assert.deepEqual({ l1Hits: capped.cacheInfo().l1Hits, hits: capped.cacheInfo().hits }, { l1Hits: 1, hits: 2 });
  });

  test("l1.maxSize bounds the tier: the least recently used copy goes first", async () => {
    let reads = 0;
    const memory = new MemoryCacheBackend();
    const backend: CacheBackend = {
      get: (key) => (reads++, memory.get(key)),
      set: (key, value, ttl) => memory.set(key, value, ttl),
      delete: (key) => memory.delete(key),
      clear: () => memory.clear(),
    };
    const cache = new TTLCache<unknown>({ backend, serializer: new JsonSerializer(), l1: { maxSize: 2 } });
    await cache.set("a", 1);
    await cache.set("b", 2);
    await cache.get("a");
    await cache.set("c", 3);
    assert.equal(reads, 0);
    assert.equal(await cache.get("b"), 2);
    assert.equal(reads, 1, "b was dropped from the tier, read from the backend");
  });

  test("getOrSet and cached() are served from the tier; a namespace clear reaches it at once", async () => {
    const cache = new TTLCache<unknown>({ serializer: new JsonSerializer(), l1: { maxSize: 10 } });
    let runs = 0;
    const users = cache.namespace("users");
    assert.equal(await users.getOrSet("1", () => ++runs), 1);
    assert.equal(await users.getOrSet("1", () => ++runs), 1);
    assert.equal(cache.cacheInfo().l1Hits, 1);
    await users.clear();
    assert.equal(await users.getOrSet("1", () => ++runs), 2);
    await cache.deleteTags(["x"]);
    assert.equal(await users.getOrSet("2", () => ++runs, { tags: ["x"] }), 3);
    await cache.deleteTags(["x"]);
    assert.equal(await users.getOrSet("2", () => ++runs, { tags: ["x"] }), 4);
  });
});

describe("l1 with a bus", () => {
  test("set, delete, deleteMany, deleteTags, a namespace clear and clear reach the other cache's tier", async () => {
    const { a, b } = pair();
    await a.set("k", 1);
    assert.equal(await b.get("k"), 1);
    await a.set("k", 2);
    assert.equal(await b.get("k"), 2, "b dropped its copy when a wrote");
    await a.delete("k");
    assert.equal(await b.get("k"), undefined);

    await a.setMany([{ key: "x", value: 1 }, { key: "y", value: 2 }]);
    assert.deepEqual(await b.getMany(["x", "y"]), [1, 2]);
    await a.deleteMany(["x", "y"]);
    assert.deepEqual(await b.getMany(["x", "y"]), [undefined, undefined]);

    await a.set("t", 1, { tags: ["team"] });
    assert.equal(await b.get("t"), 1);
    assert.equal(await b.get("t"), 1);
    await a.deleteTags(["team"]);
    assert.equal(await b.get("t"), undefined);

    await a.namespace("ns").set("n", 1);
    assert.equal(await b.namespace("ns").get("n"), 1);
    await a.namespace("ns").clear();
    assert.equal(await b.namespace("ns").get("n"), undefined);

    await a.set("z", 1);
    assert.equal(await b.get("z"), 1);
    await a.clear();
    assert.equal(await b.get("z"), undefined);
  });

  test("a message only names what to evict: replayed, late or reordered, it never makes an invalidated copy valid", async () => {
    const { a, b, bus } = pair();
    await a.set("t", 1, { tags: ["team"] });
    assert.equal(await b.get("t"), 1);
    const old = bus.sent.map((message) => message.slice());
    await a.deleteTags(["team"]);
    assert.equal(await b.get("t"), undefined, "invalidated");
    await a.set("t", 2, { tags: ["team"] });
    assert.equal(await b.get("t"), 2);
    const newest = bus.sent.map((message) => message.slice());
    // Every message sent so far, again, oldest and newest mixed: b evicts and reads the backend again, at worst.
    for (const message of [...newest].reverse().concat(old)) bus.inject(new TextDecoder().decode(message));
    assert.equal(await b.get("t"), 2, "never the value replaced before the newest invalidation");
    await a.deleteTags(["team"]);
    for (const message of newest.concat(old)) bus.inject(new TextDecoder().decode(message));
    assert.equal(await b.get("t"), undefined, "a replay after the newest invalidation brings nothing back");
    const text = newest.map((message) => new TextDecoder().decode(message)).join("\n");
    assert.ok(!/"r":\[[^\]]*"[A-Za-z0-9_-]{16}"/.test(text), "no token travels on the bus");
  });

  test("a read in flight when an invalidation arrives does not put its older value into the tier", async () => {
    const clock = manualClock();
    const memory = new MemoryCacheBackend({ clock });
    let gate: Promise<void> | undefined;
    // b's reads take the value at once but answer when the gate opens, as a reply in flight would.
    const slow: CacheBackend = {
      get: (key) => {
        const read = memory.get(key);
        return gate === undefined ? read : gate.then(() => read);
      },
      set: (key, value, ttl) => memory.set(key, value, ttl),
      delete: (key) => memory.delete(key),
      clear: () => memory.clear(),
    };
    const bus = new LocalBus();
    const l1 = { maxSize: 10 };
    const a = new TTLCache<unknown>({ backend: memory, clock, serializer: new JsonSerializer(), l1, bus });
    const b = new TTLCache<unknown>({ backend: slow, clock, serializer: new JsonSerializer(), l1, bus });
    await a.set("k", 1);
    let open!: () => void;
    gate = new Promise((resolve) => open = resolve);
    const inFlight = b.get("k");
    await a.set("k", 2); // invalidates b's tier while b's read of 1 is in flight
    open();
    assert.equal(await inFlight, 1, "the read answers what it read");
    gate = undefined;
    assert.equal(await b.get("k"), 2, "but its older value did not stay in b's tier");
  });

  test("a cache ignores its own messages, and keeps its copy of what it wrote", async () => {
    const { a, bus } = pair();
    await a.set("k", 1);
    assert.equal(bus.sent.length, 1);
    assert.equal(await a.get("k"), 1);
    assert.equal(a.cacheInfo().l1Hits, 1);
  });

  test("without a bus, another cache's tier serves its copy until it expires (l1.ttl bounds the staleness)", async () => {
    const clock = manualClock();
    const backend = new MemoryCacheBackend({ clock });
    const make = () =>
      new TTLCache<unknown>({ backend, clock, serializer: new JsonSerializer(), l1: { maxSize: 10, ttl: 2 } });
    const a = make();
    const b = make();
    await a.set("k", 1);
    assert.equal(await b.get("k"), 1);
    await a.set("k", 2);
    assert.equal(await b.get("k"), 1, "stale: nothing told b");
    clock.advance(2_000);
    assert.equal(await b.get("k"), 2);
  });

  test("while the bus is down, new copies stay fresh busDownTtl at most; when it is back, the tier is dropped", async () => {
    const { a, b, bus, clock } = pair({ maxSize: 100, busDownTtl: 1 });
    await a.set("old", 1);
    assert.equal(await b.get("old"), 1);
    bus.drop();
    await a.set("old", 2); // the message is lost for now
    assert.equal(await b.get("old"), 1, "b's copy from before the drop");
    await a.set("fresh", 1);
    assert.equal(await b.get("fresh"), 1);
    clock.advance(1_500);
    const before = b.cacheInfo().l1Hits;
    assert.equal(await b.get("fresh"), 1);
    assert.equal(b.cacheInfo().l1Hits, before, "past busDownTtl the copy is read again from the backend");
    bus.restore();
    assert.equal(await b.get("old"), 2, "the tier was dropped when the bus came back");
  });

  test("messages the bus refused are sent again when it is back", async () => {
    const { a, bus } = pair();
    bus.drop();
    await a.set("k", 1);
    await a.delete("k");
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(bus.sent.length, 0);
    const errors: CacheEvent[] = [];
    a.addEventListener("error", (event) => errors.push(event as CacheEvent));
    bus.restore();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(bus.sent.length, 2, "both messages, in order");
    assert.deepEqual(JSON.parse(new TextDecoder().decode(bus.sent[1])).k, ["k"]);
    assert.equal(errors.length, 0);
  });

  test("malformed or hostile messages are dropped and reported, never thrown, and change nothing", async () => {
    const { a, b, bus } = pair();
    await a.set("k", 1);
    assert.equal(await b.get("k"), 1);
    const errors: CacheEvent[] = [];
    b.addEventListener("error", (event) => errors.push(event as CacheEvent));
    const hostile: (string | Uint8Array)[] = [
      "not json",
      new Uint8Array([0xff, 0xfe]),
      "null",
      "[]",
      '{"v":1,"s":"x","c":true}',
      '{"v":3,"s":"x","c":true}',
      '{"v":2,"c":true}',
      '{"v":2,"s":"x","k":"k"}',
      '{"v":2,"s":"x","k":[1]}',
      '{"v":2,"s":"x","r":[7]}',
      '{"v":2,"s":"x","c":"yes"}',
      '{"v":2,"s":"x","k":["*"]}',
      new Uint8Array((1 << 20) + 1),
      '{"v":2,"s":"x","__proto__":{"polluted":true},"k":[]}',
    ];
    for (const message of hostile) bus.inject(message);
    assert.equal(errors.length, hostile.length - 2, "all but the glob key (just data) and the harmless __proto__");
    assert.ok(errors.every((event) => event.operation === "bus"));
    assert.equal(await b.get("k"), 1, "a glob is a key like any other: nothing matched it");
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    assert.equal(b.cacheInfo().errors, hostile.length - 2);
  });

  test("close() stops listening to the bus", async () => {
    const { a, b, bus } = pair();
    await b.close();
    assert.equal(bus.subscribers.size, 1);
    await a.set("k", 1);
    assert.equal(await b.get("k"), 1);
    await a.set("k", 2);
    assert.equal(await b.get("k"), 1, "b no longer hears a");
  });
});

describe("l1 through a backend outage", () => {
  test("with grace, the in-process stale copy is served when the backend is down and the computation fails", async () => {
    const clock = manualClock();
    const { backend, set } = switchable();
    const cache = new TTLCache<unknown>({
      backend,
      clock,
      serializer: new JsonSerializer(),
      l1: { maxSize: 10 },
      grace: 60,
    });
    assert.equal(await cache.getOrSet("k", () => "v1", { ttl: 1 }), "v1");
    clock.advance(2_000);
    set(true);
    const stale: CacheEvent[] = [];
    cache.addEventListener("stale", (event) => stale.push(event as CacheEvent));
    assert.equal(await cache.getOrSet("k", () => Promise.reject(new Error("origin down")), { ttl: 1 }), "v1");
    assert.equal(stale.length, 1);
    assert.equal(cache.cacheInfo().staleHits, 1);
    assert.equal(await cache.getOrSet("k", () => "v2", { ttl: 1 }), "v2", "a healthy origin still answers");
  });

  test("with grace and staleWhileRevalidate, the stale copy is returned at once during the outage", async () => {
    const clock = manualClock();
    const { backend, set } = switchable();
    const cache = new TTLCache<unknown>({
      backend,
      clock,
      serializer: new JsonSerializer(),
      l1: { maxSize: 10 },
      grace: 60,
      staleWhileRevalidate: true,
    });
    await cache.getOrSet("k", () => "v1", { ttl: 1 });
    clock.advance(2_000);
    set(true);
    let runs = 0;
    assert.equal(await cache.getOrSet("k", () => `v${++runs + 1}`, { ttl: 1 }), "v1");
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(runs, 1, "one background refresh");
  });
});

describe("l1 bad input", () => {
  const serializer = new JsonSerializer();
  for (
    const [name, options, pattern] of [
      [
        "l1 not an object",
        { l1: 5 },
        /^Cannot create TTLCache: l1 must be an object \{ maxSize, ttl\?, clone\?, busDownTtl\? \}: received 5$/,
      ],
      ["l1 without maxSize", { l1: {} }, /l1\.maxSize is required/],
      ["a negative l1.maxSize", { l1: { maxSize: -1 } }, /l1\.maxSize must be a non-negative integer: received -1/],
      ["l1.maxSize 0", { l1: { maxSize: 0 } }, /l1\.maxSize must be a positive integer: received 0/],
      ["a fractional l1.maxSize", { l1: { maxSize: 1.5 } }, /l1\.maxSize must be a non-negative integer/],
      ["a non-boolean clone", { l1: { maxSize: 1, clone: "yes" } }, /l1\.clone must be a boolean: received "yes"/],
      ["a misspelt l1 option", { l1: { maxsize: 1 } }, /unknown option "maxsize" \(did you mean maxSize\?\)/],
      ["an l1.ttl in milliseconds", { l1: { maxSize: 1, ttl: 60_000 } }, /l1\.ttl must be at most maxTtl/],
      ["a negative busDownTtl", { l1: { maxSize: 1, busDownTtl: -1 } }, /l1\.busDownTtl must be a finite number > 0/],
      ["a bus without l1", { bus: { publish() {}, subscribe() {} } }, /bus needs l1/],
      [
        "a bus missing subscribe",
        { l1: { maxSize: 1 }, bus: { publish() {} } },
        /bus must be an object with methods publish, subscribe \(missing subscribe\)/,
      ],
    ] as const
  ) {
    test(`new TTLCache() rejects ${name}`, () => {
      assert.throws(() => new TTLCache({ serializer, ...(options as object) }), (error: Error) => {
        assert.ok(error instanceof TypeError || error instanceof RangeError, error.name);
        assert.match(error.message, pattern);
        return true;
      });
    });
  }
});
