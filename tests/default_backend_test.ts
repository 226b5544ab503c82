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
