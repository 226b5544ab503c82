import { test } from "node:test";
import assert from "node:assert/strict";
import { getDefaultBackend, setDefaultBackend, TTLCache } from "../mod.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";

test("setDefaultBackend() is used by caches created afterwards, and can be unregistered", async () => {
  const shared = new MemoryCacheBackend();
  try {
    setDefaultBackend(shared);
    assert.equal(getDefaultBackend(), shared);
    const a = new TTLCache();
    assert.equal(a.backend, shared);
    await a.set("k", new Uint8Array([1]));
    assert.deepEqual([...(await new TTLCache().get("k"))!], [1]);
    const own = new MemoryCacheBackend();
    assert.equal(new TTLCache({ backend: own }).backend, own, "an explicit backend wins");
  } finally {
    setDefaultBackend(undefined);
  }
  assert.equal(getDefaultBackend(), undefined);
  assert.notEqual(new TTLCache().backend, shared);
});

test("setDefaultBackend() rejects an object that is not a backend and keeps the previous one", () => {
  assert.throws(() => setDefaultBackend({ get() {} } as never), {
    name: "TypeError",
    message: /Cannot set the default backend: backend must be an object with methods get, set, delete, clear/,
  });
  assert.equal(getDefaultBackend(), undefined);
});

test("setDefaultBackend() and new TTLCache() refuse a Map, WeakMap or Set, saying what to pass instead", () => {
  for (const collection of [new Map(), new WeakMap(), new Set()]) {
    const type = collection.constructor.name;
    const rule = `backend must be a CacheBackend, not a ${type} (which ignores ttl and returns no Promise): pass a ` +
      `CacheBackend such as new MemoryCacheBackend() of "@cachet/cachet/memory", whose methods return Promises ` +
      `and honour ttl: received an object (${type})`;
    assert.throws(() => setDefaultBackend(collection as never), {
      name: "TypeError",
      message: `Cannot set the default backend: ${rule}`,
    });
    assert.throws(() => new TTLCache({ backend: collection as never }), {
      name: "TypeError",
      message: `Cannot create TTLCache: ${rule}`,
    });
  }
  assert.equal(getDefaultBackend(), undefined);
  // A Map subclass that implements the contract itself is a backend.
  class MapBackend extends Map<string, Uint8Array> {
    override get(key: string) {
      return Promise.resolve(super.get(key)) as never;
    }
  }
  assert.ok(new TTLCache({ backend: new MapBackend() as never }));
});
