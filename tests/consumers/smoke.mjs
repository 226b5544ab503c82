// The install smoke test, in plain JavaScript. scripts/smoke_install.ts copies it into a scratch project that
// installed the packed tarball (`npm install ./cachet-x.y.z.tgz`, `bun add ./cachet-x.y.z.tgz`) and runs it there
// with Node 20, Node 24 and Bun. It imports every subpath the package exports and runs a round trip through each one
// it knows, then two tiers (l1 + RedisBus) over the machine's Redis.
// Usage: <runtime> smoke.mjs '<JSON { subpath: [packages it needs] }>' [--core-only]
// With --core-only (nothing but cachet installed), subpaths that need a package must fail to import, naming it.
import assert from "node:assert/strict";
import process from "node:process";

const needs = JSON.parse(process.argv[2]);
const coreOnly = process.argv.includes("--core-only");
const specifier = (subpath) => subpath === "." ? "cachet" : `cachet${subpath.slice(1)}`;
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok ${name}`);
  } catch (error) {
    failed++;
    console.log(`not ok ${name}`);
    console.log(error);
  }
}

// One round trip per subpath, given the namespaces of every imported subpath.
const roundTrips = {
  ".": async ({ ".": { TTLCache, CacheError } }) => {
    const cache = new TTLCache({ ttl: 60 });
    await cache.set("bytes", new Uint8Array([1, 2, 3]));
    assert.deepEqual(await cache.get("bytes"), new Uint8Array([1, 2, 3]));
    assert.equal(await cache.get("missing", "fallback"), "fallback");
    assert.throws(() => new TTLCache({ ttl: -1 }), (e) => e instanceof RangeError && /received -1/.test(e.message));
    assert.ok(CacheError.prototype instanceof Error);
  },
  "cached()": async ({ ".": { cached, TTLCache }, "./json": { JsonSerializer } }) => {
    const cache = new TTLCache({ serializer: new JsonSerializer() });
    let calls = 0;
    const square = cached(cache)(function square(n) {
      calls++;
      return n * n;
    });
    assert.deepEqual([await square(4), await square(4), await square(5)], [16, 16, 25]);
    assert.equal(calls, 2);
    assert.equal(square.cacheInfo().hits, 1);
  },
  "./memory": async ({ ".": { TTLCache }, "./memory": { MemoryCacheBackend } }) => {
    const backend = new MemoryCacheBackend();
    const cache = new TTLCache({ backend, maxSize: 2 });
    await cache.set("a", new Uint8Array([1]));
    await cache.set("b", new Uint8Array([2]));
    await cache.get("a");
    await cache.set("c", new Uint8Array([3])); // evicts "b", the least recently used
    assert.equal(await cache.get("b"), undefined);
    assert.equal(await backend.get("b"), undefined, "the evicted entry left the backend");
    assert.ok((await backend.get("a")) instanceof Uint8Array, "the backend holds a's entry (header + bytes)");
    assert.deepEqual(cache.cacheInfo(), {
      hits: 1,
      misses: 1,
      maxSize: 2,
      currSize: 2,
      evictions: 1,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
  },
  "./json": async (
    { ".": { TTLCache, CacheError }, "./memory": { MemoryCacheBackend }, "./json": { JsonSerializer } },
  ) => {
    const backend = new MemoryCacheBackend();
    const errors = [];
    const cache = new TTLCache({ backend, serializer: new JsonSerializer(), onError: (e) => errors.push(e) });
    await cache.set("user:1", { id: 1, name: "Ada", tags: ["x"] });
    assert.deepEqual(await cache.get("user:1"), { id: 1, name: "Ada", tags: ["x"] });
    await backend.set("bad", new Uint8Array([0xff]), 60);
    assert.equal(await cache.get("bad"), undefined);
    // One copy of the core: the error thrown by ./json is the CacheError of ".".
    assert.ok(errors[0] instanceof CacheError, String(errors[0]));
  },
  "./structured": async ({ ".": { TTLCache }, "./structured": { StructuredSerializer } }) => {
    const cache = new TTLCache({ serializer: new StructuredSerializer() });
    const value = {
      when: new Date(0),
      tags: new Map([["n", 1n]]),
      seen: new Set(["a"]),
      bytes: new Uint8Array([1, 2]),
    };
    value.self = value;
    await cache.set("rich", value);
    const copy = await cache.get("rich");
    assert.equal(copy.self, copy);
    assert.equal(copy.when.getTime(), 0);
    assert.equal(copy.tags.get("n"), 1n);
    assert.ok(copy.seen.has("a"));
    assert.deepEqual(copy.bytes, new Uint8Array([1, 2]));
  },
  "./schema": async ({ ".": { TTLCache }, "./memory": { MemoryCacheBackend }, "./schema": { SchemaSerializer } }) => {
    const Id = {
      "~standard": {
        version: 1,
        vendor: "smoke",
        validate: (v) => typeof v === "number" ? { value: v } : { issues: [{ message: "Expected a number" }] },
      },
    };
    const backend = new MemoryCacheBackend();
    const cache = new TTLCache({ backend, serializer: new SchemaSerializer(Id) });
    await cache.set("id", 42);
    assert.equal(await cache.get("id"), 42);
    await backend.set("stale", new TextEncoder().encode('"not a number"'), 60);
    assert.equal(await cache.get("stale", "miss"), "miss");
  },
  // Needs the Redis on 127.0.0.1:6379 (or REDIS_URL) that the suite's Redis tests use; touches only its own prefix.
  "./redis": async ({ ".": { TTLCache }, "./json": { JsonSerializer }, "./redis": { RedisCacheBackend } }) => {
    const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
    const backend = new RedisCacheBackend({ url, prefix: `cachet-smoke:${crypto.randomUUID()}:` });
    try {
      const cache = new TTLCache({ backend, serializer: new JsonSerializer() });
      await cache.set("user:1", { id: 1, name: "Ada" }, 30);
      assert.deepEqual(await cache.get("user:1"), { id: 1, name: "Ada" });
    } finally {
      await backend.clear();
      await backend.close();
    }
  },
  // Needs the PostgreSQL on 127.0.0.1:5432 (or DATABASE_URL) of the suite's Postgres tests; clears only its own prefix.
  "./postgres": async ({ ".": { TTLCache }, "./json": { JsonSerializer }, "./postgres": { PostgresCacheBackend } }) => {
    const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
    const backend = new PostgresCacheBackend({ url, prefix: `cachet-smoke:${crypto.randomUUID()}` });
    try {
      const cache = new TTLCache({ backend, serializer: new JsonSerializer() });
      await cache.set("user:1", { id: 1, name: "Ada" }, 30);
      assert.deepEqual(await cache.get("user:1"), { id: 1, name: "Ada" });
    } finally {
      await backend.clear();
      await backend.close();
    }
  },
  // Two tiers as the README sets them up, two "processes" (two backends, buses and caches) over one Redis prefix: a
  // write in one drops the other's l1 copy through RedisBus. Closes in the README's order: cache, bus, backend.
  "two tiers": async (
    { ".": { TTLCache }, "./json": { JsonSerializer }, "./redis": { RedisBus, RedisCacheBackend } },
  ) => {
    const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
    const prefix = `cachet-smoke:${crypto.randomUUID()}:`;
    const open = () => {
      const backend = new RedisCacheBackend({ url, prefix });
      const bus = new RedisBus(backend);
      const cache = new TTLCache({ backend, bus, serializer: new JsonSerializer(), l1: { maxSize: 100 }, grace: 60 });
      return { backend, bus, cache };
    };
    const a = open();
    const b = open();
    try {
      await Promise.all([a.bus.subscribed(), b.bus.subscribed()]);
      await a.cache.set("user:1", { v: 1 }, 30);
      assert.deepEqual(await b.cache.getOrSet("user:1", () => ({ v: 0 })), { v: 1 });
      // Bus messages take milliseconds; 5 s holds on a loaded machine.
      const within5s = async (what, done) => {
        const deadline = Date.now() + 5_000;
        while (!(await done())) {
          assert.ok(Date.now() < deadline, `${what} within 5 s`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };
      // A read that overlaps the bus message of a's write does not fill l1; a later one does.
      await within5s(
        "b serves user:1 from l1",
        async () => (await b.cache.get("user:1")).v === 1 && b.cache.cacheInfo().l1Hits > 0,
      );
      await a.cache.set("user:1", { v: 2 }, 30);
      await within5s("b's l1 copy is dropped", async () => (await b.cache.get("user:1")).v === 2);
      await a.backend.clear();
    } finally {
      for (const { backend, bus, cache } of [a, b]) {
        await cache.close();
        await bus.close();
        await backend.close();
      }
    }
  },
};

const modules = {};
for (const [subpath, packages] of Object.entries(needs)) {
  if (coreOnly && packages.length > 0) {
    await check(`import("${specifier(subpath)}") without ${packages.join(", ")} fails naming it`, async () => {
      await assert.rejects(import(specifier(subpath)), (e) => packages.some((p) => String(e?.message).includes(p)));
    });
    continue;
  }
  await check(`import("${specifier(subpath)}")`, async () => {
    modules[subpath] = await import(specifier(subpath));
    assert.ok(Object.keys(modules[subpath]).length > 0, "exports nothing");
  });
}
for (const subpath of Object.keys(modules)) {
  if (roundTrips[subpath]) await check(`round trip through ${specifier(subpath)}`, () => roundTrips[subpath](modules));
  else console.log(`# ${specifier(subpath)}: imported; no round trip in tests/consumers/smoke.mjs yet`);
}
if (modules["."] && modules["./json"]) {
  await check("round trip through cached()", () => roundTrips["cached()"](modules));
}
if (modules["."] && modules["./json"] && modules["./redis"]) {
  await check("two tiers: l1 + RedisBus over Redis", () => roundTrips["two tiers"](modules));
}
console.log(`smoke: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
