// DenoKvCacheBackend, Deno only: the published conformance cases in memory and on a shared file, a TTLCache suite
// over two backends on one file (as two processes), expiry checked on read, Deno KV's limits, clear() by prefix, and
// bad input. Under Node and Bun the Deno suites are skipped and one test checks the constructor's error there.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type DenoKv, DenoKvCacheBackend } from "../backends/deno_kv.ts";
import { CacheError } from "../errors.ts";
import { TTLCache } from "../ttl_cache.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { backendConformanceCases } from "../testing.ts";

const openKv = (globalThis as { Deno?: { openKv?: (path?: string) => Promise<DenoKv> } }).Deno?.openKv;
const skip = typeof openKv === "function"
  ? false
  : "Deno KV needs Deno (with --unstable-kv, set in deno.json); this runtime has no Deno.openKv";
const bytes = (...values: number[]) => new Uint8Array(values);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const close = (backend: unknown) => (backend as DenoKvCacheBackend).close();

let dir = "";
let files = 0;
const tempFile = () => {
  if (dir === "") dir = mkdtempSync(join(tmpdir(), "cachet-kv-"));
  return join(dir, `kv-${++files}.sqlite3`);
};
after(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

// The stored layout: the expiry as a little-endian float64, then the bytes.
function stored(expiresAt: number, ...values: number[]): Uint8Array {
  const out = new Uint8Array(8 + values.length);
  new DataView(out.buffer).setFloat64(0, expiresAt, true);
  out.set(values, 8);
  return out;
}

describe("DenoKvCacheBackend outside Deno", { skip: skip ? false : "this is Deno" }, () => {
  test("the module loads and the constructor says Deno KV needs Deno", () => {
    assert.throws(() => new DenoKvCacheBackend(), {
      name: "CacheError",
      message: /^Cannot create DenoKvCacheBackend: Deno\.openKv is missing: Deno KV needs Deno with --unstable-kv/,
    });
  });
});

describe("DenoKvCacheBackend (memory) conformance", { skip }, () => {
  if (skip) return;
  for (
    const { name, fn } of backendConformanceCases({
      create: () => new DenoKvCacheBackend({ path: ":memory:" }),
      dispose: close,
    })
  ) {
    test(`DenoKvCacheBackend (memory) ${name}`, fn);
  }
});

describe("DenoKvCacheBackend (file) conformance", { skip }, () => {
  if (skip) return;
  const path = tempFile();
  let cases = 0;
  const options = {
    create: () => new DenoKvCacheBackend({ path, prefix: `case-${++cases}` }),
    dispose: async (backend: unknown) => {
      await (backend as DenoKvCacheBackend).clear();
      await close(backend);
    },
  };
  for (const { name, fn } of backendConformanceCases(options)) test(`DenoKvCacheBackend (file) ${name}`, fn);
});

function jsonCache(backend: DenoKvCacheBackend): TTLCache<unknown> {
  return new TTLCache({ backend, serializer: new JsonSerializer() });
}

describe("DenoKvCacheBackend under TTLCache, two backends on one file", { skip }, () => {
  test("each sees the other's writes, deletes, tag invalidations and namespace clears", async () => {
    const path = tempFile();
    await using a = new DenoKvCacheBackend({ path, prefix: "app" });
    await using b = new DenoKvCacheBackend({ path, prefix: "app" });
    const one = jsonCache(a);
    const two = jsonCache(b);

    await one.set("user:1", { name: "Ada" }, { ttl: 60, tags: ["users"] });
    await one.set("post:1", { title: "Hi" }, { ttl: 60, tags: ["posts"] });
    assert.deepEqual(await two.get("user:1"), { name: "Ada" });
    await two.deleteTags(["users"]);
    assert.equal(await one.get("user:1"), undefined, "a tag invalidated through the other backend");
    assert.deepEqual(await one.get("post:1"), { title: "Hi" }, "other tags untouched");

    await one.setMany([{ key: "x", value: 1 }, { key: "y", value: 2, tags: ["posts"] }]);
    assert.deepEqual(await two.getMany(["x", "y", "z"]), [1, 2, undefined]);
    await two.deleteMany(["x"]);
    assert.deepEqual(await one.getMany(["x", "y"]), [undefined, 2]);

    const nsOne = one.namespace("tenant-1");
    const nested = nsOne.namespace("sub");
    await nsOne.set("k", "in tenant 1", 60);
    await nested.set("k", "nested", 60);
    await one.namespace("tenant-2").set("k", "in tenant 2", 60);
    assert.equal(await two.namespace("tenant-1").get("k"), "in tenant 1");
    await two.namespace("tenant-1").clear();
    assert.equal(await nsOne.get("k"), undefined);
    assert.equal(await nested.get("k"), undefined, "a nested namespace is cleared with its parent");
    assert.equal(await one.namespace("tenant-2").get("k"), "in tenant 2", "a sibling is untouched");
    assert.deepEqual(await one.get("post:1"), { title: "Hi" }, "the root is untouched");
  });

  test("getOrSet: 200 concurrent cold callers share one factory call", async () => {
    const path = tempFile();
    await using backend = new DenoKvCacheBackend({ path });
    const cache = jsonCache(backend);
    let calls = 0;
    const results = await Promise.all(Array.from({ length: 200 }, () =>
      cache.getOrSet("hot", async () => {
        calls++;
        await sleep(20);
        return { n: 42 };
      }, { ttl: 60 })));
    assert.equal(calls, 1);
    assert.ok(results.every((value) => (value as { n: number }).n === 42));
    await using other = new DenoKvCacheBackend({ path });
    assert.deepEqual(await jsonCache(other).getOrSet("hot", () => ({ n: 0 })), { n: 42 });
  });

  test("prefixes keep caches apart, and clear() removes exactly [prefix, …]", async () => {
    const path = tempFile();
    const kv = await openKv!(path);
    try {
      await using a = new DenoKvCacheBackend({ kv, prefix: "a" });
      await using ab = new DenoKvCacheBackend({ kv, prefix: "ab" });
      await using empty = new DenoKvCacheBackend({ kv, prefix: "" });
      await kv.set(["other", "k"], "user data");
      await kv.set(["a"], "a key that is only the prefix");
      await a.setMany(Array.from({ length: 1_500 }, (_, i) => ({ key: `k${i}`, value: bytes(1), ttl: 60 })));
      await ab.set("c", bytes(2), 60);
      await empty.set("abc", bytes(3), 60);
      assert.equal(await a.get("c"), undefined);
      await a.clear();
      assert.deepEqual(await a.getMany(["k0", "k1499"]), [undefined, undefined]);
      assert.deepEqual(await ab.get("c"), bytes(2), "clear() of prefix a spares prefix ab");
      assert.deepEqual(await empty.get("abc"), bytes(3), "and the empty prefix");
      assert.equal((await kv.get(["other", "k"])).value, "user data", "and keys of other first parts");
      // list({ prefix: ["a"] }) lists keys below ["a"], never ["a"] itself.
      assert.equal((await kv.get(["a"])).value, "a key that is only the prefix");
      await empty.clear();
      assert.deepEqual(await ab.get("c"), bytes(2));
    } finally {
      kv.close();
    }
  });
});

describe("DenoKvCacheBackend expiry, limits and bad input", { skip }, () => {
  test("expiry is checked on read: a value past its stored expiry is a miss even while Deno KV still has it", async () => {
    const kv = await openKv!(":memory:");
    try {
      await using backend = new DenoKvCacheBackend({ kv, prefix: "p" });
      await kv.set(["p", "old"], stored(Date.now() - 1, 1, 2));
      await kv.set(["p", "new"], stored(Date.now() + 60_000, 3));
      assert.equal(await backend.get("old"), undefined);
      assert.deepEqual(await backend.getMany(["old", "new"]), [undefined, bytes(3)]);
      await backend.set("short", bytes(1), 0.05);
      await sleep(120);
      assert.equal(await backend.get("short"), undefined);
    } finally {
      kv.close();
    }
  });

  test("values not of the backend's layout are misses (the bytes are untrusted)", async () => {
    const kv = await openKv!(":memory:");
    try {
      await using backend = new DenoKvCacheBackend({ kv, prefix: "p" });
      await kv.set(["p", "string"], "not bytes");
      await kv.set(["p", "short"], bytes(1, 2, 3));
      await kv.set(["p", "nan"], stored(NaN, 1));
      assert.deepEqual(await backend.getMany(["string", "short", "nan"]), [undefined, undefined, undefined]);
    } finally {
      kv.close();
    }
  });

  test("values up to 65,528 bytes are stored; larger ones are a RangeError and nothing is written", async () => {
    await using backend = new DenoKvCacheBackend({ path: ":memory:" });
    const max = new Uint8Array(65_528).map((_, i) => i);
    await backend.set("max", max, 60);
    assert.deepEqual(await backend.get("max"), max);
    await assert.rejects(backend.set("max", new Uint8Array(65_529), 60), {
      name: "RangeError",
      message: /^Cannot set in DenoKvCacheBackend: value must be at most 65528 bytes .*: received 65529 bytes$/,
    });
    assert.deepEqual(await backend.get("max"), max, "the old value stays");
    await assert.rejects(
      backend.setMany([{ key: "a", value: bytes(1), ttl: 60 }, { key: "b", value: new Uint8Array(70_000), ttl: 60 }]),
      { name: "RangeError" },
    );
    assert.equal(await backend.get("a"), undefined, "nothing of a refused batch is written");
  });

  test("keys beyond Deno KV's 2 KiB are a RangeError on write and a miss on read", async () => {
    await using backend = new DenoKvCacheBackend({ path: ":memory:", prefix: "p" });
    // [p, key] encodes as 3 + 2 + key bytes (+1 per NUL).
    const longest = "x".repeat(2_043);
    await backend.set(longest, bytes(1), 60);
    assert.deepEqual(await backend.get(longest), bytes(1));
    const tooLong = `${longest}y`;
    await assert.rejects(backend.set(tooLong, bytes(1), 60), {
      name: "RangeError",
      message: /key must be at most 2048 bytes encoded with the prefix .*\(2049 bytes\)$/,
    });
    await assert.rejects(backend.set("\0".repeat(1_022), bytes(1), 60), { name: "RangeError" }, "a NUL takes 2 bytes");
    assert.equal(await backend.get(tooLong), undefined);
    assert.deepEqual(await backend.getMany([tooLong, longest]), [undefined, bytes(1)]);
    await backend.delete(tooLong);
    await backend.deleteMany([tooLong, longest]);
    assert.equal(await backend.get(longest), undefined);
  });

  test("batches beyond one commit or one read: 2,500 entries of 1 KB, read back in order", async () => {
    await using backend = new DenoKvCacheBackend({ path: ":memory:" });
    const keys = Array.from({ length: 2_500 }, (_, i) => `k${i}`);
    await backend.setMany(keys.map((key, i) => ({ key, value: new Uint8Array(1_000).fill(i % 256), ttl: 60 })));
    const got = await backend.getMany([...keys, "missing", "k0"]);
    assert.equal(got.length, 2_502);
    got.slice(0, 2_500).forEach((value, i) => assert.ok(value?.length === 1_000 && value[0] === i % 256, keys[i]));
    assert.equal(got[2_500], undefined);
    assert.equal(got[2_501]?.[0], 0);
    await backend.deleteMany(keys.slice(0, 1_200));
    assert.deepEqual((await backend.getMany(["k0", "k1199", "k1200"])).map((v) => v?.length), [
      undefined,
      undefined,
      1_000,
    ]);
  });

  test("keys with NUL, quotes, %, _, emoji and 10 KB (prefix-sized) round-trip exactly and never collide", async () => {
    await using backend = new DenoKvCacheBackend({ path: ":memory:", prefix: "\0'%_" });
    const keys = [
      "\0",
      "\0\0",
      "\0a",
      "a\0",
      "a",
      "A",
      "'",
      '"',
      "%",
      "_",
      "a%",
      "\\",
      "🔑",
      "e\u0301",
      "é",
      "",
      "x".repeat(2_000),
    ];
    await backend.setMany(keys.map((key, i) => ({ key, value: bytes(i), ttl: 60 })));
    assert.deepEqual(await backend.getMany(keys), keys.map((_, i) => bytes(i)));
    await backend.delete("\0");
    assert.equal(await backend.get("\0"), undefined);
    assert.deepEqual(await backend.get("\0\0"), bytes(1));
    await assert.rejects(backend.set("x".repeat(10_240), bytes(1), 60), { name: "RangeError" }, "10 KB exceeds 2 KiB");
  });

  test("options and arguments of the wrong kind get clear errors", async () => {
    const create = (options: unknown) => () => new DenoKvCacheBackend(options as never);
    assert.throws(create({ prefx: "x" }), {
      name: "TypeError",
      message: /^Cannot create DenoKvCacheBackend: unknown option "prefx" \(did you mean prefix\?\)/,
    });
    assert.throws(create({ path: 1 }), { name: "TypeError", message: /path must be a string: received 1/ });
    assert.throws(create({ prefix: "\uD800" }), { name: "TypeError", message: /prefix must be a well-formed string/ });
    assert.throws(create({ prefix: "x".repeat(2_047) }), { name: "TypeError", message: /prefix must leave room/ });
    assert.throws(create({ kv: {} }), {
      name: "TypeError",
      message: /kv \(a Deno\.Kv\) must be an object with methods/,
    });
    const kv = await openKv!(":memory:");
    try {
      assert.throws(create({ kv, path: ":memory:" }), {
        name: "TypeError",
        message: /path cannot be combined with kv/,
      });
    } finally {
      kv.close();
    }
    await using backend = new DenoKvCacheBackend({ path: ":memory:" });
    await assert.rejects(backend.get(1 as never), { name: "TypeError", message: /key must be a string: received 1/ });
    await assert.rejects(backend.set("k", "v" as never, 1), {
      name: "TypeError",
      message: /value must be a Uint8Array/,
    });
    for (const ttl of [0, -1, Infinity, NaN, 1e16]) {
      await assert.rejects(backend.set("k", bytes(1), ttl), { name: "RangeError" }, String(ttl));
    }
    await assert.rejects(backend.getMany("k" as never), { name: "TypeError", message: /keys must be an array/ });
    await assert.rejects(backend.deleteMany([1 as never]), {
      name: "TypeError",
      message: /keys\[0\] must be a string/,
    });
    // The longest TTL is kept: past Deno KV's expireIn range, without one.
    await backend.set("forever", bytes(5), 9007199254740.991);
    assert.deepEqual(await backend.get("forever"), bytes(5));
  });

  test("a borrowed kv stays open after close(); calls after close() or on a closed kv are CacheErrors", async () => {
    const kv = await openKv!(":memory:");
    const backend = new DenoKvCacheBackend({ kv, prefix: "b" });
    await backend.set("k", bytes(1), 60);
    await backend.close();
    await backend.close();
    assert.equal(backend.closed, true);
    assert.notEqual((await kv.get(["b", "k"])).value, null, "the borrowed kv is still usable");
    await assert.rejects(backend.get("k"), {
      name: "CacheError",
      message: "Cannot get from DenoKvCacheBackend: the backend is closed",
    });
    const second = new DenoKvCacheBackend({ kv, prefix: "b" });
    kv.close();
    await assert.rejects(second.get("k"), (error: unknown) => {
      assert.ok(error instanceof CacheError, String(error));
      assert.equal(error.message, "Cannot get from DenoKvCacheBackend: the Deno KV database is closed");
      assert.ok(error.cause !== undefined);
      return true;
    });
  });

  test("an open backend does not keep the process alive", () => {
    const script = join(tmpdir(), `cachet-kv-alive-${crypto.randomUUID()}.ts`);
    const module = new URL("../backends/deno_kv.ts", import.meta.url).href;
    writeFileSync(
      script,
      `import { DenoKvCacheBackend } from ${JSON.stringify(module)};\n` +
        `const b = new DenoKvCacheBackend({ path: ":memory:" });\n` +
        `await b.set("k", new Uint8Array([1]), 60);\nconsole.log("done");\n`,
    );
    try {
      const child = spawnSync(process.execPath, ["run", "-A", "--unstable-kv", script], {
        encoding: "utf8",
        timeout: 20_000,
      });
      assert.equal(child.error, undefined, "the child exited by itself");
      assert.equal(child.status, 0, child.stderr);
      assert.equal(child.stdout.trim(), "done");
    } finally {
      rmSync(script, { force: true });
    }
  });

  test("a database that cannot be opened is a CacheError on first use, naming the path", async () => {
    const path = join(tmpdir(), `cachet-missing-${crypto.randomUUID()}`, "x.sqlite3");
    await using backend = new DenoKvCacheBackend({ path });
    await assert.rejects(backend.get("k"), (error: unknown) => {
      assert.ok(error instanceof CacheError, String(error));
      assert.match(error.message, /^Cannot get from DenoKvCacheBackend: cannot open Deno KV ".*x\.sqlite3": /);
      return true;
    });
  });
});
