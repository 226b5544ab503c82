import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { backendConformanceCases } from "../testing.ts";
import { backendConformance } from "./_backend_conformance.ts";
import { manualClock } from "./_helpers.ts";

backendConformance("MemoryCacheBackend", { create: () => new MemoryCacheBackend() });

describe("MemoryCacheBackend", () => {
  test("MemoryCacheBackend.get() expires entries exactly at their ttl on the injected clock", async () => {
    const clock = manualClock();
    const backend = new MemoryCacheBackend({ clock });
    await backend.set("k", new Uint8Array([1]), 1.5);
    clock.advance(1499);
    assert.deepEqual([...(await backend.get("k"))!], [1]);
    clock.advance(1);
    assert.equal(await backend.get("k"), undefined);
    assert.equal(backend.size, 0, "lazy expiry removes the entry on read");
  });

  test("MemoryCacheBackend round-trips every byte value and exact expiries, compact (≤ 64 bytes) or not", async () => {
    const clock = manualClock(1e6 + 0.123);
    const backend = new MemoryCacheBackend({ clock });
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const length of [0, 1, 63, 64, 65, 256]) {
      const value = all.slice(256 - length);
      await backend.set(`k${length}`, value, 0.0015);
      const got = (await backend.get(`k${length}`))!;
      assert.deepEqual([...got], [...all.slice(256 - length)]);
      if (length <= 64) {
        // Small values are stored as a copy, so neither side's array reaches the other.
        value.fill(7);
        got.fill(9);
        assert.deepEqual([...(await backend.get(`k${length}`))!], [...all.slice(256 - length)]);
      }
    }
    clock.advance(1.4999);
    assert.equal((await backend.get("k64"))?.length, 64);
    assert.equal((await backend.get("k65"))?.length, 65);
    clock.advance(0.0001);
    for (const length of [0, 1, 63, 64, 65, 256]) assert.equal(await backend.get(`k${length}`), undefined);
  });

  test("MemoryCacheBackend sweeps expired entries that are never read again", async () => {
    const clock = manualClock();
    const backend = new MemoryCacheBackend({ clock });
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 1000; i++) await backend.set(`r${round}:${i}`, new Uint8Array(1), 1);
      clock.advance(2000);
    }
    // Without the sweep 20,000 dead entries would stay; it keeps memory to about twice the live set.
    assert.ok(backend.size <= 2048, `size ${backend.size} should stay bounded`);
  });

  test("MemoryCacheBackend does not keep the process alive and disposes by clearing", async () => {
    const backend = new MemoryCacheBackend();
    await backend.set("k", new Uint8Array([1]), 3600);
    await backend[Symbol.asyncDispose]();
    assert.equal(backend.size, 0);
  });

  test("new MemoryCacheBackend() rejects a clock without now()", () => {
    assert.throws(
      () => new MemoryCacheBackend({ clock: {} as never }),
      { name: "TypeError", message: /clock must be an object with methods now/ },
    );
    assert.throws(() => new MemoryCacheBackend("fast" as never), {
      name: "TypeError",
      message: /options must be an object: received "fast"/,
    });
  });

  test("MemoryCacheBackend rejects bad arguments with named errors", async () => {
    const backend = new MemoryCacheBackend();
    await assert.rejects(backend.get(1 as never), { name: "TypeError", message: /key must be a string: received 1/ });
    await assert.rejects(backend.set("k", "v" as never, 1), {
      name: "TypeError",
      message: /value must be a Uint8Array: received "v"/,
    });
    for (const ttl of [0, -1, NaN, Infinity]) {
      await assert.rejects(backend.set("k", new Uint8Array(1), ttl), { name: "RangeError", message: /ttl must be/ });
    }
    await assert.rejects(backend.delete(null as never), { name: "TypeError" });
    assert.equal(backend.size, 0, "failed writes store nothing");
  });
});

test("new MemoryCacheBackend() rejects an unknown option, naming the nearest valid one", () => {
  assert.throws(() => new MemoryCacheBackend({ clok: { now: () => 0 } } as never), {
    name: "TypeError",
    message: 'Cannot create MemoryCacheBackend: unknown option "clok" (did you mean clock?); valid options: clock',
  });
});

test("backendConformanceCases() (./testing) reports a broken backend with an Error naming the case", async () => {
  // Forgets every ttl: entries never expire, so the expiry case must fail and the others pass.
  class Forever extends MemoryCacheBackend {
    override set(key: string, value: Uint8Array): Promise<void> {
      return super.set(key, value, 3600);
    }
  }
  const cases = backendConformanceCases({ create: () => new Forever() });
  const failed: string[] = [];
  for (const { name, fn } of cases) await fn().catch((error: Error) => failed.push(`${name}: ${error.message}`));
  // setMany() of the memory backend does not go through set(), so its ttl case passes.
  assert.deepEqual(failed, [
    'expires an entry after its ttl: get("short") after its ttl of 0.05 s: expected undefined (a miss), ' +
    "got Uint8Array [1]",
    'getMany() returns values aligned with the keys, undefined where missing or expired: getMany(["a", "b", "c", ' +
    '"short"]) after "short" expired[3]: expected undefined (a miss), got Uint8Array [4]',
  ]);
  assert.throws(() => backendConformanceCases({ create: () => new Forever(), dipose: () => {} } as never), {
    name: "TypeError",
    message: /unknown option "dipose" \(did you mean dispose\?\)/,
  });
});

test("backendConformanceCases() passes a backend without batch methods (TTLCache falls back to single-key calls)", async () => {
  const memory = new MemoryCacheBackend();
  const calls = new Set<string>();
  const plain = {
    get: (key: string) => (calls.add("get"), memory.get(key)),
    set: (key: string, value: Uint8Array, ttl: number) => (calls.add("set"), memory.set(key, value, ttl)),
    delete: (key: string) => (calls.add("delete"), memory.delete(key)),
    clear: () => memory.clear(),
  };
  const cases = backendConformanceCases({ create: () => plain, dispose: () => memory.clear() });
  for (const { fn } of cases) await fn();
  assert.deepEqual([...calls].sort(), ["delete", "get", "set"]);
});

test("backendConformanceCases() catches batch methods that break the contract", async () => {
  const run = async (backend: MemoryCacheBackend) => {
    const failed: string[] = [];
    for (const { name, fn } of backendConformanceCases({ create: () => backend, dispose: () => backend.clear() })) {
      await fn().catch((error: Error) => failed.push(`${name}: ${error.message}`));
    }
    return failed;
  };
  // Leaves misses out instead of keeping their place.
  class Compacting extends MemoryCacheBackend {
    override async getMany(keys: readonly string[]) {
      return (await super.getMany(keys)).filter((value) => value !== undefined);
    }
  }
  // Stores the first of two entries with one key, and every entry for 60 s.
  class FirstWins extends MemoryCacheBackend {
    override setMany(entries: readonly { key: string; value: Uint8Array; ttl: number }[]) {
      const seen = new Set<string>();
      const kept = entries.filter(({ key }) => !seen.has(key) && seen.add(key)).map((e) => ({ ...e, ttl: 60 }));
      return super.setMany(kept);
    }
  }
  // Deletes nothing when a key is absent.
  class AllOrNothing extends MemoryCacheBackend {
    override async deleteMany(keys: readonly string[]) {
      if ((await super.getMany(keys)).every((value) => value !== undefined)) await super.deleteMany(keys);
    }
  }
  const names = (failed: string[]) => failed.map((line) => line.slice(0, line.indexOf(":")));
  assert.deepEqual(names(await run(new Compacting())), [
    "getMany() returns values aligned with the keys, undefined where missing or expired",
    "getMany() answers duplicate keys in place and [] for no keys",
    "getMany() returns binary values byte for byte under exact keys (unicode, glob characters)",
    "batch calls handle 2,500 keys at once",
    "TTLCache getMany/setMany/deleteMany work over the backend (its batch methods or single-key calls)",
    // TTLCache reads tag and namespace records together with the entry.
    "TTLCache deleteTags() through one cache makes tagged entries misses through another",
    "TTLCache namespaces keep the same key apart (root, siblings, nested, a name containing /)",
    "TTLCache namespace clear() drops its own and nested entries only, for every cache over the backend",
    "TTLCache clear() on the root drops every entry, namespaced and tagged ones too",
  ]);
  assert.deepEqual(names(await run(new FirstWins())), [
    "setMany() honours each entry's own ttl",
    "setMany() lets the later entry win when a key appears twice",
  ]);
  assert.deepEqual(names(await run(new AllOrNothing())), [
    "deleteMany() removes exactly the listed keys, ignoring absent and repeated ones; [] is a no-op",
    "TTLCache getMany/setMany/deleteMany work over the backend (its batch methods or single-key calls)",
  ]);
});
