import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type CacheBackend, type CacheEvent, TTLCache } from "../mod.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { SHARED_READS } from "../_shared_reads.ts";
import { StructuredSerializer } from "../serializers/structured.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { LocalBus } from "./_local_bus.ts";
import { manualClock } from "./_helpers.ts";
import { deferred, record, settle, setup, twin } from "./_read_through_helpers.ts";

/** A backend with only the four required methods, over a memory backend, counting calls. */
function plainBackend(inner: MemoryCacheBackend) {
  const calls = { get: 0, set: 0, delete: 0, clear: 0 };
  const backend: CacheBackend = {
    get: (key) => (calls.get++, inner.get(key)),
    set: (key, value, ttl) => (calls.set++, inner.set(key, value, ttl)),
    delete: (key) => (calls.delete++, inner.delete(key)),
    clear: () => (calls.clear++, inner.clear()),
  };
  return { backend, calls };
}

describe("getMany / setMany / deleteMany", () => {
  test("getMany returns values aligned with keys, undefined or the fallback for misses", async () => {
    const { cache } = setup();
    await cache.set("a", 1);
    await cache.set("c", 0);
    assert.deepEqual(await cache.getMany(["a", "b", "c", "a"]), [1, undefined, 0, 1]);
    assert.deepEqual(await cache.getMany(["b", "a", "zz"], null), [null, 1, null]);
    assert.deepEqual(await cache.getMany([]), []);
  });

  test("getMany of raw bytes hands out copies: writing to one changes neither the cache nor another value", async () => {
    // Large values (kept by the memory backend as given) and small ones (kept packed), in a namespace and outside.
    const cache = new TTLCache<Uint8Array>({ backend: new MemoryCacheBackend() });
    const large = new Uint8Array(200).fill(7);
    for (const view of [cache, cache.namespace("n")]) {
      await view.set("big", large);
      await view.set("small", new Uint8Array([1, 2, 3]));
      const [big, small, again] = await view.getMany(["big", "small", "big"]);
      assert.deepEqual([big!.length, small!.length, again!.length], [200, 3, 200]);
      big!.fill(0);
      small!.fill(0);
      assert.deepEqual([...again!.subarray(0, 3)], [7, 7, 7], "each position is its own copy");
      assert.deepEqual(await view.getMany(["big", "small"]), [large, new Uint8Array([1, 2, 3])]);
      assert.notEqual(big!.buffer, large.buffer);
      // Payloads copied by hand (short) and with set() (long), side by side in one buffer, each at its own offset.
      const huge = Uint8Array.from({ length: 1_000 }, (_, i) => i % 251);
      const shorter = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
      await view.set("huge", huge);
      await view.set("shorter", shorter);
      assert.deepEqual(await view.getMany(["shorter", "huge", "small", "huge"]), [
        shorter,
        huge,
        new Uint8Array([1, 2, 3]),
        huge,
      ]);
    }
  });

  test("getMany of raw bytes: entries with headers of different lengths, one shared buffer holding values alone", async () => {
    const cache = new TTLCache<Uint8Array>({ backend: new MemoryCacheBackend() });
    // A grace and a compute time lengthen an entry's header; a one-byte value after a long header is the worst case.
    await cache.set("plain", new Uint8Array([9]));
    await cache.set("graced", new Uint8Array([8, 8]), { grace: 30 });
    await cache.getOrSet("computed", () => new Uint8Array([7, 7, 7]));
    await cache.set("long", new Uint8Array(100).fill(6), { grace: 5 });
    const keys = ["plain", "computed", "graced", "long", "plain", "computed"];
    const values = (await cache.getMany(keys)) as Uint8Array[];
    assert.deepEqual(values.map((v) => [...v]), [
      [9],
      [7, 7, 7],
      [8, 8],
      [...new Uint8Array(100).fill(6)],
      [9],
      [7, 7, 7],
    ]);
    const shared = values[0].buffer;
    assert.ok(values.every((v) => v.buffer === shared));
    // Nothing but the values (and zeros): no header byte of any entry is left in the buffer they share.
    const inBuffer = new Uint8Array(shared);
    const covered = new Set(values.flatMap((v) => Array.from({ length: v.length }, (_, i) => v.byteOffset + i)));
    for (let i = 0; i < inBuffer.length; i++) if (!covered.has(i)) assert.equal(inBuffer[i], 0, `byte ${i}`);
  });

  test("getMany over a backend's shared reads: copies, never the shared memory, on every path; events per key", async () => {
    const inner = new MemoryCacheBackend();
    let sharedCalls = 0;
    // Each value a view into one larger array of junk (as a client's reply buffer), of a subclass of Uint8Array.
    class Reply extends Uint8Array {}
    const backend: CacheBackend & {
      [SHARED_READS](): (keys: readonly string[]) => Promise<(Uint8Array | undefined)[]>;
    } = {
      get: (key) => inner.get(key),
      set: (key, value, ttl) => inner.set(key, value, ttl),
      delete: (key) => inner.delete(key),
      clear: () => inner.clear(),
      getMany: (keys) => inner.getMany(keys),
      [SHARED_READS]: () => async (keys) => {
        sharedCalls++;
        const got = await inner.getMany(keys);
        const reply = new Reply(got.reduce((n, v) => n + (v?.length ?? 0) + 3, 0)).fill(0xee);
        let at = 3;
        return got.map((v) => {
          if (v === undefined) return undefined;
          reply.set(v, at);
          at += v.length + 3;
          return reply.subarray(at - v.length - 3, at - 3);
        });
      },
    };
    const plain = (v: unknown) => Object.getPrototypeOf(v) === Uint8Array.prototype;
    for (const l1 of [undefined, { maxSize: 10 }]) {
      const cache = new TTLCache<Uint8Array>({ backend, l1 });
      const events = record(cache as TTLCache<unknown>, ["hit", "miss"]);
      await cache.set("a", new Uint8Array([1, 2]));
      await cache.set("b", new Uint8Array(70).fill(3), { grace: 5 });
      const before = sharedCalls;
      const values = await cache.getMany(["a", "x", "b"], null);
      assert.equal(sharedCalls, before + 1, "read through the shared reads");
      assert.deepEqual(values.map((v) => v && [...v]), [[1, 2], null, [...new Uint8Array(70).fill(3)]]);
      assert.ok(plain(values[0]) && plain(values[2]), "plain Uint8Arrays");
      assert.ok(!new Uint8Array(values[0]!.buffer).includes(0xee), "no byte of the shared memory");
      assert.deepEqual(events.map((e) => [e.type, e.key, e.tier]), [
        ["hit", "a", "backend"],
        ["miss", "x", undefined],
        ["hit", "b", "backend"],
      ]);
      // A tagged entry among them takes the general path: still copies.
      await cache.set("t", new Uint8Array([4]), { tags: ["tag"] });
      const mixed = await cache.getMany(["t", "a"]);
      assert.deepEqual(mixed.map((v) => [...v!]), [[4], [1, 2]]);
      assert.ok(mixed.every((v) => plain(v) && !new Uint8Array(v!.buffer).includes(0xee)), `l1: ${l1 !== undefined}`);
    }
  });

  test("a backend that returns Buffers (slice() a view): every read still hands out a copy of its own", async () => {
    // As Node's Buffer: a Uint8Array whose slice() is a view of the same memory.
    class Viewing extends Uint8Array<ArrayBuffer> {
      override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
        return this.subarray(start, end);
      }
    }
    const stored = new Map<string, Viewing>();
    const backend: CacheBackend = {
      get: (key) => Promise.resolve(stored.get(key)),
      set: (key, value) => Promise.resolve(void stored.set(key, Viewing.from(value) as Viewing)),
      delete: (key) => Promise.resolve(void stored.delete(key)),
      clear: () => Promise.resolve(stored.clear()),
    };
    for (const l1 of [undefined, { maxSize: 10 }]) {
      const cache = new TTLCache<Uint8Array>({ backend, l1 });
      await cache.set("a", new Uint8Array([1, 2, 3]));
      await cache.set("t", new Uint8Array([4, 5]), { tags: ["tag"] });
      const reads = [
        await cache.get("a"),
        await cache.get("t"),
        ...(await cache.getMany(["a", "t"])),
        await cache.getOrSet("a", () => new Uint8Array([0])),
      ];
      for (const value of reads) value!.fill(0);
      assert.deepEqual([...(await cache.get("a"))!], [1, 2, 3], `l1: ${l1 !== undefined}`);
      assert.deepEqual([...(await cache.get("t"))!], [4, 5]);
      stored.clear();
    }
  });

  test("getMany counts each hit and miss", async () => {
    const { cache } = setup();
    await cache.set("a", 1);
    await cache.getMany(["a", "x", "a", "y", "z"]);
    const info = cache.cacheInfo();
    assert.equal(info.hits, 2);
    assert.equal(info.misses, 3);
  });

  test("getMany: a stale entry is a miss; an expired one too", async () => {
    const { cache, clock } = setup({ ttl: 1 });
    await cache.set("stale", 1, { grace: 60 });
    await cache.set("fresh", 2, { ttl: 10 });
    clock.advance(1_500);
    assert.deepEqual(await cache.getMany(["stale", "fresh"], "miss"), ["miss", 2]);
  });

  test("getMany of raw bytes: a stale entry beside a tagged one is the fallback itself, the hits copies", async () => {
    const clock = manualClock();
    const cache = new TTLCache<Uint8Array>({ backend: new MemoryCacheBackend({ clock }), clock, ttl: 1 });
    await cache.set("stale", new Uint8Array([1]), { grace: 60 });
    await cache.set("tagged", new Uint8Array([2]), { ttl: 10, tags: ["t"] });
    await cache.set("fresh", new Uint8Array([3, 3]), { ttl: 10 });
    clock.advance(1_500);
    const fallback = new Uint8Array([9, 9, 9]);
    const values = await cache.getMany(["stale", "tagged", "fresh"], fallback);
    assert.equal(values[0], fallback);
    assert.deepEqual(values.slice(1).map((v) => [...v]), [[2], [3, 3]]);
  });

  test("setMany stores each entry with its own ttl, grace and tags", async () => {
    const { cache, clock } = setup({ ttl: 60 });
    await cache.setMany([
      { key: "short", value: "s", ttl: 1 },
      { key: "long", value: "l", ttl: 10 },
      { key: "default", value: "d" },
      { key: "graced", value: "g", ttl: 1, grace: 30 },
      { key: "tagged", value: "t", tags: ["t1"] },
      { key: "tagged2", value: "t2", tags: ["t2"] },
    ]);
    assert.deepEqual(await cache.getMany(["short", "long", "default", "tagged", "tagged2"]), [
      "s",
      "l",
      "d",
      "t",
      "t2",
    ]);
    await cache.deleteTags(["t1"]);
    assert.deepEqual(await cache.getMany(["tagged", "tagged2"]), [undefined, "t2"]);
    clock.advance(1_001);
    assert.deepEqual(await cache.getMany(["short", "long", "default", "graced"]), [undefined, "l", "d", undefined]);
    assert.equal(
      await cache.getOrSet("graced", () => {
        throw new Error("down");
      }),
      "g",
      "grace from setMany keeps a stale value",
    );
    clock.advance(9_000);
    assert.equal(await cache.get("long"), undefined);
    assert.equal(await cache.get("default"), "d");
  });

  test("setMany of nothing is a no-op; later entries with the same key win", async () => {
    const { cache } = setup();
    await cache.setMany([]);
    assert.equal(cache.cacheInfo().currSize, 0);
    await cache.setMany([{ key: "k", value: 1 }, { key: "k", value: 2 }]);
    assert.equal(await cache.get("k"), 2);
  });

  test("setMany respects maxSize and counts evictions", async () => {
    const { cache } = setup({ maxSize: 2 });
    await cache.setMany([{ key: "a", value: 1 }, { key: "b", value: 2 }, { key: "c", value: 3 }]);
    const info = cache.cacheInfo();
    assert.equal(info.currSize, 2);
    assert.equal(info.evictions, 1);
    assert.deepEqual(await cache.getMany(["a", "b", "c"]), [undefined, 2, 3]);
  });

  test("deleteMany deletes the given keys only; absent keys are ignored", async () => {
    const { cache } = setup();
    await cache.setMany([{ key: "a", value: 1 }, { key: "b", value: 2 }, { key: "c", value: 3 }]);
    await cache.deleteMany(["a", "c", "missing"]);
    assert.deepEqual(await cache.getMany(["a", "b", "c"]), [undefined, 2, undefined]);
    await cache.deleteMany([]);
    assert.equal(await cache.get("b"), 2);
  });

  test("the memory backend's native batch methods are used: one call per batch", async () => {
    const clock = manualClock();
    const inner = new MemoryCacheBackend({ clock });
    const counts = { getMany: 0, setMany: 0, deleteMany: 0 };
    const { getMany, setMany, deleteMany } = inner;
    inner.getMany = (keys) => (counts.getMany++, getMany.call(inner, keys));
    inner.setMany = (entries) => (counts.setMany++, setMany.call(inner, entries));
    inner.deleteMany = (keys) => (counts.deleteMany++, deleteMany.call(inner, keys));
    const cache = new TTLCache<unknown>({ backend: inner, clock, serializer: new StructuredSerializer() });
    await cache.setMany([{ key: "a", value: 1 }, { key: "b", value: 2 }, { key: "c", value: 3 }]);
    assert.deepEqual(await cache.getMany(["a", "b", "c"]), [1, 2, 3]);
    await cache.deleteMany(["a", "b", "c"]);
    assert.deepEqual(counts, { getMany: 1, setMany: 1, deleteMany: 1 });
  });

  test("a backend without batch methods gets per-key calls, with the same results", async () => {
    const clock = manualClock();
    const inner = new MemoryCacheBackend({ clock });
    const { backend, calls } = plainBackend(inner);
    const cache = new TTLCache<unknown>({ backend, clock, serializer: new StructuredSerializer() });
    await cache.setMany([{ key: "a", value: 1, ttl: 1 }, { key: "b", value: 2 }, { key: "c", value: 3 }]);
    assert.equal(calls.set, 3);
    assert.deepEqual(await cache.getMany(["a", "b", "c", "d"]), [1, 2, 3, undefined]);
    assert.equal(calls.get, 4);
    clock.advance(1_001);
    assert.deepEqual(await cache.getMany(["a", "b"]), [undefined, 2], "per-entry ttl reached the backend");
    await cache.deleteMany(["b", "c"]);
    assert.equal(calls.delete, 2);
    assert.deepEqual(await cache.getMany(["b", "c"], null), [null, null]);
    assert.equal(inner.size <= 1, true);
  });

  test("a backend without batch methods still supports tags, namespaces and getOrSet", async () => {
    const clock = manualClock();
    const { backend } = plainBackend(new MemoryCacheBackend({ clock }));
    const cache = new TTLCache<unknown>({ backend, clock, serializer: new StructuredSerializer() });
    const ns = cache.namespace("n");
    await ns.set("k", 1, { tags: ["t"] });
    assert.equal(await ns.get("k"), 1);
    assert.equal(await ns.getOrSet("k", () => 2), 1);
    await cache.deleteTags(["t"]);
    assert.equal(await ns.get("k"), undefined);
    await ns.set("k", 3);
    await ns.clear();
    assert.equal(await ns.get("k"), undefined);
  });

  test("bad input to batch methods: TypeError/RangeError naming the entry, nothing changes", async () => {
    const { cache } = setup();
    await cache.set("k", "cached");
    await assert.rejects(cache.getMany("k" as never), { name: "TypeError", message: /keys must be an array/ });
    await assert.rejects(cache.getMany(["k", 1 as never]), {
      name: "TypeError",
      message: /keys\[1\] must be a string/,
    });
    await assert.rejects(cache.getMany(["\uD800"]), { name: "TypeError", message: /keys\[0\]/ });
    await assert.rejects(cache.deleteMany(["k", null as never]), { name: "TypeError", message: /keys\[1\]/ });
    assert.equal(await cache.get("k"), "cached", "deleteMany deleted nothing");
    const badEntries: [unknown, string, RegExp][] = [
      ["k", "TypeError", /entries must be an array/],
      [[null], "TypeError", /entries\[0\] must be an object/],
      [[{ key: 1, value: 1 }], "TypeError", /entries\[0\].*key must be a string/],
      [[{ key: "k", value: "new" }, { key: 2, value: 1 }], "TypeError", /entries\[1\]/],
      [[{ key: "k", value: "new" }, { key: "x", value: 1, ttl: -1 }], "RangeError", /entries\[1\].*ttl must be/],
      [[{ key: "k", value: "new", ttl: 60_000 }], "RangeError", /did you pass milliseconds\?/],
      [[{ key: "k", value: "new", grace: Number.NaN }], "RangeError", /grace must be/],
      [[{ key: "k", value: "new", tags: [""] }], "TypeError", /tags\[0\] must be a non-empty string/],
      [[{ key: "k", value: "new", tags: [1] }], "TypeError", /tags\[0\]/],
      [[{ key: "k", value: "new", tgas: ["t"] }], "TypeError", /did you mean tags\?/],
    ];
    for (const [entries, name, message] of badEntries) {
      await assert.rejects(cache.setMany(entries as never), (error: Error) => {
        assert.equal(error.name, name, JSON.stringify(entries));
        assert.match(error.message, message);
        return true;
      });
      assert.equal(await cache.get("k"), "cached", `setMany(${JSON.stringify(entries)}) changed an entry`);
    }
    assert.equal(await cache.get("x"), undefined, "a batch with a bad entry stores none of its entries");
  });
});

describe("tags", () => {
  test("deleteTags makes tagged entries misses in every cache sharing the backend; untagged ones stay", async () => {
    const s = setup();
    const a = s.cache;
    const b = twin(s);
    await a.set("x", 1, { tags: ["user:1"] });
    await a.set("y", 2, { tags: ["user:1", "team:9"] });
    await a.set("z", 3, { tags: ["team:9"] });
    await a.set("plain", 4);
    await b.set("bx", 5, { tags: ["user:1"] });
    assert.equal(await b.get("x"), 1);
    await b.deleteTags(["user:1"]);
    for (const cache of [a, b]) {
      assert.deepEqual(await cache.getMany(["x", "y", "z", "plain", "bx"]), [undefined, undefined, 3, 4, undefined]);
    }
  });

  test("an entry written after deleteTags with the same tag is a hit", async () => {
    const { cache } = setup();
    await cache.set("x", 1, { tags: ["t"] });
    await cache.deleteTags(["t"]);
    await cache.set("x", 2, { tags: ["t"] });
    assert.equal(await cache.get("x"), 2);
    await cache.deleteTags(["t", "t"]);
    assert.equal(await cache.get("x"), undefined);
  });

  test("deleteTags([]) is a no-op", async () => {
    const { cache, backend } = setup();
    await cache.set("x", 1, { tags: ["t"] });
    const size = backend.size;
    await cache.deleteTags([]);
    assert.equal(await cache.get("x"), 1);
    assert.equal(backend.size, size, "nothing was written");
  });

  test("glob and special characters in tags are data, not patterns", async () => {
    const { cache } = setup();
    const tags = ["*", "user:*", "a?", "[ab]", "{x}", "\\", "a b", "%", "\0", "t|u", "é🙂", "\0t"];
    for (const [i, tag] of tags.entries()) await cache.set(`k${i}`, i, { tags: [tag] });
    await cache.set("user:1", "u", { tags: ["user:1"] });
    await cache.deleteTags(["*"]);
    assert.equal(await cache.get("k0"), undefined);
    assert.equal(await cache.get("user:1"), "u", "* matched nothing but itself");
    await cache.deleteTags(["user:*", "a?", "[ab]"]);
    assert.deepEqual(await cache.getMany(["k1", "k2", "k3", "k4", "user:1"]), [
      undefined,
      undefined,
      undefined,
      4,
      "u",
    ]);
    for (let i = 4; i < tags.length; i++) {
      assert.equal(await cache.get(`k${i}`), i, tags[i]);
      await cache.deleteTags([tags[i]]);
      assert.equal(await cache.get(`k${i}`), undefined, tags[i]);
      for (let j = i + 1; j < tags.length; j++) assert.equal(await cache.get(`k${j}`), j, `${tags[i]} hit ${tags[j]}`);
    }
  });

  test("tags given to getOrSet: a hit until deleteTags, then recomputed", async () => {
    const { cache } = setup();
    let runs = 0;
    const load = () => cache.getOrSet("k", () => ++runs, { tags: ["t"] });
    assert.equal(await load(), 1);
    assert.equal(await load(), 1);
    await cache.deleteTags(["t"]);
    assert.equal(await load(), 2);
    assert.equal(await load(), 2);
  });

  test("a value computed while deleteTags ran is not served afterwards", async () => {
    const { cache } = setup();
    const gate = deferred<void>();
    let started = false;
    const pending = cache.getOrSet("k", async () => {
      started = true;
      await gate.promise;
      return "computed before the invalidation finished";
    }, { tags: ["t"] });
    await settle();
    assert.equal(started, true);
    await cache.deleteTags(["t"]);
    gate.resolve();
    assert.equal(await pending, "computed before the invalidation finished", "the caller gets its value");
    assert.equal(await cache.get("k"), undefined, "but it is not served afterwards");
    let runs = 0;
    assert.equal(await cache.getOrSet("k", () => ++runs, { tags: ["t"] }), 1);
  });

  test("same, when the tag record did not exist before the computation", async () => {
    const s = setup();
    const gate = deferred<void>();
    const pending = s.cache.getOrSet("k", async () => {
      await gate.promise;
      return "v";
    }, { tags: ["fresh-tag"] });
    await settle();
    await twin(s).deleteTags(["fresh-tag"]);
    gate.resolve();
    await pending;
    assert.equal(await s.cache.get("k"), undefined);
  });

  test("bad tags: TypeError naming tags, nothing cached changes", async () => {
    const { cache } = setup();
    await cache.set("k", "cached", { tags: ["t"] });
    for (const tags of ["t", [1], [""], [null], ["\uD800"], {}]) {
      await assert.rejects(cache.deleteTags(tags as never), { name: "TypeError", message: /tags/ });
      await assert.rejects(cache.set("k", "new", { tags: tags as never }), { name: "TypeError", message: /tags/ });
    }
    assert.equal(await cache.get("k"), "cached");
    await assert.rejects(cache.set("k", "new", { tgas: ["t"] } as never), {
      name: "TypeError",
      message: /did you mean tags\?/,
    });
    await assert.rejects(cache.set("k", "new", { ttl: 60_000 }), {
      name: "RangeError",
      message: /did you pass milliseconds\?/,
    });
    await assert.rejects(cache.set("k", "new", { grace: -1 }), { name: "RangeError", message: /grace must be/ });
    await assert.rejects(cache.set("k", "new", Number.NaN), { name: "RangeError", message: /ttl must be/ });
    assert.equal(await cache.get("k"), "cached");
  });

  test("set(key, value, ttl) with a number still works", async () => {
    const { cache, clock } = setup();
    await cache.set("k", 1, 2);
    clock.advance(1_999);
    assert.equal(await cache.get("k"), 1);
    clock.advance(2);
    assert.equal(await cache.get("k"), undefined);
  });
});

describe("namespaces", () => {
  test("keys are isolated from the parent and from siblings", async () => {
    const { cache } = setup();
    const a = cache.namespace("a");
    const b = cache.namespace("b");
    const ab = a.namespace("b");
    await cache.set("k", "root");
    await a.set("k", "a");
    await b.set("k", "b");
    await ab.set("k", "a/b");
    assert.deepEqual(
      await Promise.all([cache.get("k"), a.get("k"), b.get("k"), ab.get("k")]),
      ["root", "a", "b", "a/b"],
    );
    await a.delete("k");
    assert.deepEqual(
      await Promise.all([cache.get("k"), a.get("k"), b.get("k"), ab.get("k")]),
      ["root", undefined, "b", "a/b"],
    );
    assert.equal(await cache.namespace("a").get("k"), undefined);
    assert.equal(await cache.namespace("b").get("k"), "b", "a second view of the same namespace sees its entries");
  });

  test("names that could collide when joined stay apart", async () => {
    const { cache } = setup();
    await cache.namespace("a").namespace("b").set("k", 1);
    await cache.namespace("a/b").set("k", 2);
    await cache.namespace("a|b").set("k", 3);
    await cache.namespace("ab").set("k", 4);
    await cache.namespace("1:a").set("k", 5);
    assert.deepEqual(
      await Promise.all(["a/b", "a|b", "ab", "1:a"].map((name) => cache.namespace(name).get("k"))),
      [2, 3, 4, 5],
    );
    assert.equal(await cache.namespace("a").namespace("b").get("k"), 1);
    await cache.namespace("a").clear();
    assert.equal(await cache.namespace("a/b").get("k"), 2, "clearing a does not clear the namespace named a/b");
  });

  test("clear() of a namespace drops its entries and its nested namespaces', nothing else", async () => {
    const { cache } = setup();
    const a = cache.namespace("a");
    const ax = a.namespace("x");
    const b = cache.namespace("b");
    await cache.set("k", 0);
    await a.set("k", 1);
    await ax.set("k", 2);
    await b.set("k", 3);
    await a.clear();
    assert.deepEqual(await Promise.all([cache.get("k"), a.get("k"), ax.get("k"), b.get("k")]), [
      0,
      undefined,
      undefined,
      3,
    ]);
    await a.set("k", 4);
    assert.equal(await a.get("k"), 4, "a cleared namespace is usable again");
    await ax.set("k", 5);
    await ax.clear();
    assert.deepEqual([await a.get("k"), await ax.get("k")], [4, undefined], "a nested clear leaves its parent");
  });

  test("root clear() drops everything", async () => {
    const { cache } = setup();
    const a = cache.namespace("a");
    await cache.set("k", 0);
    await a.set("k", 1);
    await a.namespace("x").set("k", 2);
    await cache.clear();
    assert.deepEqual(
      await Promise.all([cache.get("k"), a.get("k"), a.namespace("x").get("k")]),
      [undefined, undefined, undefined],
    );
    await a.set("k", 3);
    assert.equal(await a.get("k"), 3);
  });

  test("a namespace clear is seen by another TTLCache over the same backend", async () => {
    const s = setup();
    const other = twin(s);
    await s.cache.namespace("users").set("1", "Ada");
    await s.cache.namespace("posts").set("1", "Hello");
    assert.equal(await other.namespace("users").get("1"), "Ada");
    await other.namespace("users").clear();
    assert.equal(await s.cache.namespace("users").get("1"), undefined);
    assert.equal(await s.cache.namespace("posts").get("1"), "Hello");
  });

  test("namespaces share statistics and events with the cache", async () => {
    const { cache } = setup();
    const events = record(cache, ["hit", "miss", "set"]);
    const ns = cache.namespace("users");
    const nested = ns.namespace("admins");
    const nsEvents = record(ns, ["miss"]);
    await ns.set("1", "Ada");
    await ns.get("1");
    await nested.get("2");
    await cache.get("3");
    const info = cache.cacheInfo();
    assert.deepEqual(ns.cacheInfo(), info);
    assert.equal(info.hits, 1);
    assert.equal(info.misses, 2);
    assert.equal(info.currSize, 1);
    assert.deepEqual(
      events.map((e) => [e.type, e.key, e.namespace]),
      [["set", "1", "users"], ["hit", "1", "users"], ["miss", "2", "users/admins"], ["miss", "3", ""]],
    );
    assert.deepEqual(nsEvents.map((e: CacheEvent) => e.key), ["2", "3"], "a view's listeners hear the whole cache");
  });

  test("namespacePath", () => {
    const { cache } = setup();
    assert.equal(cache.namespacePath, "");
    assert.equal(cache.namespace("a").namespacePath, "a");
    assert.equal(cache.namespace("a").namespace("b").namespacePath, "a/b");
    assert.ok(cache.namespace("a") instanceof TTLCache);
  });

  test("namespace() refuses a non-string, empty or ill-formed name", () => {
    const { cache } = setup();
    for (const name of [undefined, 1, null, "", "\uDFFF"]) {
      assert.throws(() => cache.namespace(name as string), { name: "TypeError", message: /name/ });
    }
  });

  test("getOrSet and getMany/setMany in a namespace", async () => {
    const { cache } = setup();
    const ns = cache.namespace("n");
    await ns.setMany([{ key: "a", value: 1 }, { key: "b", value: 2 }]);
    assert.deepEqual(await ns.getMany(["a", "b", "c"]), [1, 2, undefined]);
    assert.deepEqual(await cache.getMany(["a", "b"]), [undefined, undefined]);
    assert.equal(await ns.getOrSet("a", () => 9), 1);
    await ns.clear();
    assert.deepEqual(await ns.getMany(["a", "b"]), [undefined, undefined]);
    assert.equal(await ns.getOrSet("a", () => 9), 9);
  });
});

describe("keys beginning with NUL", () => {
  test("are distinct from each other, from namespaced keys and from cachet's records", async () => {
    const { cache } = setup();
    const ns = cache.namespace("a");
    await ns.set("k", "ns", { tags: ["tag"] });
    const rootKeys = ["\0", "\0\0", "\0n1:a|k", "\0n", "\0t", "\0ttag", "\0g", "\0g1:a", "\0\0g1:a", "k"];
    for (const key of rootKeys) await cache.set(key, `root ${JSON.stringify(key)}`);
    for (const key of rootKeys) assert.equal(await cache.get(key), `root ${JSON.stringify(key)}`);
    assert.equal(await ns.get("k"), "ns", "root keys did not overwrite the namespace's entry or its records");
    await ns.clear();
    assert.equal(await ns.get("k"), undefined);
    for (const key of rootKeys) assert.equal(await cache.get(key), `root ${JSON.stringify(key)}`);
    await ns.set("k", "ns again", { tags: ["tag"] });
    await cache.deleteTags(["tag"]);
    assert.equal(await ns.get("k"), undefined);
    for (const key of rootKeys) assert.equal(await cache.get(key), `root ${JSON.stringify(key)}`, JSON.stringify(key));
    await cache.delete("\0");
    assert.equal(await cache.get("\0"), undefined);
    assert.equal(await cache.get("\0\0"), `root "\\u0000\\u0000"`);
  });

  test("work with getOrSet, getMany and deleteMany", async () => {
    const { cache } = setup();
    assert.equal(await cache.getOrSet("\0x", () => 1), 1);
    assert.equal(await cache.getOrSet("\0x", () => 2), 1);
    await cache.set("x", "plain");
    assert.deepEqual(await cache.getMany(["\0x", "x", "\0\0x"]), [1, "plain", undefined]);
    await cache.deleteMany(["\0x"]);
    assert.deepEqual(await cache.getMany(["\0x", "x"]), [undefined, "plain"]);
  });
});

describe("currSize counts live entries only", () => {
  test("entries invalidated by deleteTags or a namespace clear() stop counting at once, and are never evicted later", async () => {
    const cache = new TTLCache<unknown>({ maxSize: 4, serializer: new JsonSerializer() });
    await cache.set("a", 1, { tags: ["t"] });
    await cache.set("b", 2, { tags: ["t", "u"] });
    await cache.namespace("ns").set("c", 3);
    await cache.set("d", 4);
    assert.equal(cache.cacheInfo().currSize, 4);
    await cache.deleteTags(["t"]);
    assert.equal(cache.cacheInfo().currSize, 2, "a and b are dead");
    await cache.namespace("ns").clear();
    assert.equal(cache.cacheInfo().currSize, 1, "c is dead");
    for (const key of ["e", "f", "g"]) await cache.set(key, key);
    assert.equal(cache.cacheInfo().currSize, 4);
    assert.equal(cache.cacheInfo().evictions, 0, "the dead entries made room without counting as evictions");
    await cache.set("h", "h");
    assert.equal(cache.cacheInfo().evictions, 1, "d, the oldest live entry, is evicted");
    assert.equal(await cache.get("d"), undefined);
    assert.equal(await cache.get("e"), "e");
  });

  test("an invalidation heard from another cache on the bus stops counting too", async () => {
    const backend = new MemoryCacheBackend();
    const bus = new LocalBus();
    const make = () => new TTLCache<unknown>({ backend, bus, l1: { maxSize: 10 }, serializer: new JsonSerializer() });
    const a = make();
    const b = make();
    await b.set("x", 1, { tags: ["t"] });
    await b.set("y", 2);
    assert.equal(b.cacheInfo().currSize, 2);
    await a.deleteTags(["t"]);
    assert.equal(b.cacheInfo().currSize, 1);
    await a.delete("y");
    assert.equal(b.cacheInfo().currSize, 0);
  });
});

describe("records created concurrently", () => {
  for (const local of [true, false]) {
    test(`concurrent first writes under a new tag share one token (${local ? "memory" : "an async backend"})`, async () => {
      const memory = new MemoryCacheBackend();
      const backend: CacheBackend = local ? memory : {
        get: (key) => memory.get(key),
        set: (key, value, ttl) => memory.set(key, value, ttl),
        delete: (key) => memory.delete(key),
        clear: () => memory.clear(),
      };
      const cache = new TTLCache<unknown>({ backend, serializer: new JsonSerializer() });
      const keys = ["a", "b", "c", "d", "e"];
      await Promise.all(keys.map((key) => cache.getOrSet(key, () => key, { tags: ["shared", key] })));
      for (const key of keys) assert.equal(await cache.get(key), key, `${key} is alive`);
      await Promise.all(keys.map((key) => cache.namespace("fresh").set(key, key)));
      for (const key of keys) assert.equal(await cache.namespace("fresh").get(key), key);
    });
  }
});

describe("tags and namespaces a record cannot hold are refused before anything is written", () => {
  test("65,536 tags, a tag over 65,533 bytes, a namespace path over 65,535 bytes; deleteTags(undefined) as null", async () => {
    const writes: string[] = [];
    const memory = new MemoryCacheBackend();
    const backend: CacheBackend = {
      get: (key) => memory.get(key),
      getMany: (keys) => memory.getMany(keys),
      set: (key, value, ttl) => (writes.push(key), memory.set(key, value, ttl)),
      setMany: (rows) => (writes.push(...rows.map((row) => row.key)), memory.setMany(rows)),
      delete: (key) => memory.delete(key),
      clear: () => memory.clear(),
    };
    const cache = new TTLCache<unknown>({ backend, serializer: new JsonSerializer() });
    const many = Array.from({ length: 65_536 }, (_, i) => `t${i}`);
    await assert.rejects(cache.set("k", 1, { tags: many }), {
      name: "RangeError",
      message: /^Cannot set in TTLCache: tags must hold at most 65535 tags .*: received 65536$/,
    });
    await assert.rejects(cache.getOrSet("k", () => 1, { tags: many }), { name: "RangeError", message: /65535 tags/ });
    await assert.rejects(cache.setMany([{ key: "k", value: 1, tags: many }]), RangeError);
    await assert.rejects(cache.deleteTags(many), RangeError);
    await assert.rejects(cache.set("k", 1, { tags: ["ok", "é".repeat(40_000)] }), {
      name: "RangeError",
      message:
        /^Cannot set in TTLCache: tags\[1\] must be at most 65533 bytes in UTF-8 .*: received a string of 80000 bytes$/,
    });
    assert.throws(() => cache.namespace("n".repeat(70_000)), {
      name: "RangeError",
      message:
        /^Cannot create a namespace of TTLCache: name must be short enough .*: received a string of 70000 bytes$/,
    });
    assert.deepEqual(writes, [], "nothing was written");
    for (const bad of [undefined, null]) {
      await assert.rejects(cache.deleteTags(bad as never), {
        name: "TypeError",
        message: /^Cannot deleteTags in TTLCache: tags must be an array/,
      });
    }
  });
});
