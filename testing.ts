/**
 * The contract every {@linkcode CacheBackend} must honour, as test cases that
 * need no test runner: register them with `node:test`, `Deno.test`, `bun:test`
 * or a browser harness. Each case gets a fresh backend from `create` and
 * disposes of it afterwards; a failing case throws an `Error`. The cases come
 * in three groups, in this order:
 *
 * - **Single keys** (10): `get`/`set`/`delete`/`clear` round trips, keys as
 *   exact strings, binary values byte for byte, overwrite, expiry after a
 *   (fractional) ttl, many concurrent calls.
 * - **Batch methods** (8): `getMany` results aligned with the keys (misses and
 *   expired keys `undefined`, duplicate keys answered in place, `[]` for no
 *   keys), binary values and unicode/glob keys; `setMany` storing every entry
 *   with its own ttl, the later entry winning for a repeated key; `deleteMany`
 *   removing exactly the listed keys; 2,500 keys in one call. These methods
 *   are optional in {@linkcode CacheBackend}: a case about a method the
 *   backend lacks passes at once.
 * - **Through a `TTLCache`** (6): two caches over the one backend, as two
 *   processes over one server, storing raw bytes (no serializer). Distinct
 *   keys stay distinct (case, unicode, a leading NUL, keys shaped like the
 *   cache's own tag and namespace records); `getMany`/`setMany`/`deleteMany`
 *   of the cache; `deleteTags` through one cache makes tagged entries misses
 *   through the other (glob characters in tags are data); namespaces keep the
 *   same key apart (siblings, nested, a name containing `/`); a namespace's
 *   `clear()` drops its own and nested entries only, never its parent's or a
 *   sibling's; the root `clear()` drops everything. These cases check that
 *   the backend keeps every key apart and shows each cache the other's
 *   writes: the records `TTLCache` stores beside the entries depend on both.
 *
 * Registering them in a test file, here `tests/my_backend_test.ts` (with
 * `Deno.test` on Deno, or `node:test`, which Node, Bun and Deno all run):
 *
 * ```ts ignore
 * import { test } from "node:test";
 * import { backendConformanceCases } from "@cachet/cachet/testing";
 * import { MyBackend } from "../my_backend.ts";
 *
 * for (const { name, fn } of backendConformanceCases({ create: () => new MyBackend() })) {
 *   test(`MyBackend: ${name}`, fn);
 * }
 * ```
 *
 * @example Running the cases directly (any runtime, a browser too)
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendConformanceCases } from "@cachet/cachet/testing";
 * import { MemoryCacheBackend } from "@cachet/cachet/memory";
 *
 * const cases = backendConformanceCases({ create: () => new MemoryCacheBackend() });
 * for (const { fn } of cases) await fn(); // throws on the first case the backend fails
 * assert(cases.length === 24);
 * ```
 *
 * @module
 */
import { checkFunction, checkOptions, optionNames } from "./_validate.ts";
import { TTLCache } from "./ttl_cache.ts";
import type { CacheBackend } from "./types.ts";

/** Options of {@linkcode backendConformanceCases}. */
export interface BackendConformanceOptions {
  /**
   * Makes a backend that is empty, or whose keys do not clash with those of
   * other cases (a unique prefix on a shared server).
   */
  create(): CacheBackend | Promise<CacheBackend>;
  /**
   * Releases a backend made by `create` (closes a connection).
   *
   * @default {nothing}
   */
  dispose?(backend: CacheBackend): void | Promise<void>;
  /**
   * Waits for `ms` milliseconds, long enough for the backend's TTLs to pass.
   *
   * @default {a setTimeout}
   */
  sleep?(ms: number): Promise<void>;
}

const CONFORMANCE_OPTIONS = optionNames<BackendConformanceOptions>({ create: true, dispose: true, sleep: true });

/** One conformance case: a name and a function that rejects with an `Error` when the backend fails it. */
export interface BackendConformanceCase {
  /** What the case checks, e.g. `"set() overwrites an existing key"`. */
  readonly name: string;
  /** Runs the case on a fresh backend. */
  readonly fn: () => Promise<void>;
}

const bytes = (...values: number[]) => new Uint8Array(values);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const ALL_BYTES = Array.from({ length: 256 }, (_, i) => i);
// Keys a backend must keep apart and store as they are: glob and Redis-special characters are data.
const ODD_KEYS = ["", "a*b", "a?c", "[x]", "{tag}k", "back\\slash", "ключ", "🔑", "a b", "A", "a", "a\nb"];

function show(value: unknown): string {
  return value instanceof Uint8Array ? `Uint8Array [${value.join(", ")}]` : String(value);
}

// Private assertions: the suite must not depend on node:assert (browsers have none).
function expectBytes(actual: unknown, expected: readonly number[], what: string): void {
  const ok = actual instanceof Uint8Array && actual.length === expected.length &&
    expected.every((value, i) => actual[i] === value);
  if (!ok) throw new Error(`${what}: expected Uint8Array [${expected.join(", ")}], got ${show(actual)}`);
}

function expectMissing(actual: unknown, what: string): void {
  if (actual !== undefined) throw new Error(`${what}: expected undefined (a miss), got ${show(actual)}`);
}

// Writes "short" (ttl 0.05 s) with `write`, reads it back before its ttl, then checks it is gone 120 ms later. When
// the write and the read took longer than the ttl (a loaded machine), a miss proves nothing: that measurement is made
// again, up to 3 times. The expiry itself is checked once.
async function expiresShort(
  sleep: (ms: number) => Promise<void>,
  backend: CacheBackend,
  write: () => Promise<void>,
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const started = performance.now();
    await write();
    const got = await backend.get("short");
    if (got === undefined && performance.now() - started >= 50 && attempt < 3) continue;
    expectBytes(got, [1], 'get("short") before its ttl');
    break;
  }
  await sleep(120);
  expectMissing(await backend.get("short"), 'get("short") after its ttl of 0.05 s');
}

/** Checks a batch read: one result per key, in order; `undefined` in `expected` means a miss. */
function expectList(actual: unknown, expected: readonly (readonly number[] | undefined)[], what: string): void {
  if (!Array.isArray(actual) || actual.length !== expected.length) {
    const got = Array.isArray(actual) ? `an array of ${actual.length}` : show(actual);
    throw new Error(`${what}: expected an array of ${expected.length} results, got ${got}`);
  }
  expected.forEach((value, i) => {
    if (value === undefined) expectMissing(actual[i], `${what}[${i}]`);
    else expectBytes(actual[i], value, `${what}[${i}]`);
  });
}

/**
 * Returns the backend conformance cases: single-key round trips, exact keys,
 * binary values, overwrite, expiry and concurrency; the batch methods, when
 * the backend has them; and keys, tags and namespaces through two
 * `TTLCache`s over the backend (see the module documentation for each group).
 *
 * @param options How to make, release and wait for backends, see {@linkcode BackendConformanceOptions}.
 * @returns The cases, in a stable order; each one rejects with an `Error` naming what failed.
 * @throws {TypeError} When an option is unknown, or `create`, `dispose` or `sleep` is not a function.
 */
export function backendConformanceCases(options: BackendConformanceOptions): BackendConformanceCase[] {
  const context = "Cannot make the conformance cases";
  checkOptions(context, options, CONFORMANCE_OPTIONS);
  if (options === undefined) throw new TypeError(`${context}: options must be an object: received undefined`);
  checkFunction(context, "create", options.create);
  if (options.create === undefined) throw new TypeError(`${context}: create must be a function: received undefined`);
  checkFunction(context, "dispose", options.dispose);
  checkFunction(context, "sleep", options.sleep);
  const sleep = options.sleep ?? defaultSleep;
  const withBackend = (fn: (backend: CacheBackend) => Promise<void>) => async (): Promise<void> => {
    const backend = await options.create();
    try {
      await fn(backend);
    } finally {
      await options.dispose?.(backend);
    }
  };
  const cases: [string, (backend: CacheBackend) => Promise<void>][] = [
    ["get() returns undefined for a missing key", async (backend) => {
      expectMissing(await backend.get("missing"), 'get("missing")');
    }],
    ["set() then get() returns equal bytes", async (backend) => {
      await backend.set("k", bytes(1, 2, 3), 60);
      expectBytes(await backend.get("k"), [1, 2, 3], 'get("k")');
    }],
    ["stores empty and binary values byte for byte", async (backend) => {
      const all = Array.from({ length: 256 }, (_, i) => i);
      await backend.set("empty", new Uint8Array(0), 60);
      await backend.set("all", new Uint8Array(all), 60);
      expectBytes(await backend.get("empty"), [], 'get("empty")');
      expectBytes(await backend.get("all"), all, 'get("all")');
    }],
    ["treats keys as exact strings (unicode, glob characters, empty)", async (backend) => {
      const keys = ["", "a*b", "a?c", "[x]", "back\\slash", "ключ", "🔑", "a b", "A"];
      for (const [i, key] of keys.entries()) await backend.set(key, bytes(i), 60);
      for (const [i, key] of keys.entries()) expectBytes(await backend.get(key), [i], `get(${JSON.stringify(key)})`);
      expectMissing(await backend.get("a"), 'get("a")');
    }],
    ["set() overwrites an existing key", async (backend) => {
      await backend.set("k", bytes(1), 60);
      await backend.set("k", bytes(2), 60);
      expectBytes(await backend.get("k"), [2], 'get("k") after the second set');
    }],
    ["delete() removes a key and is a no-op when absent", async (backend) => {
      await backend.set("k", bytes(1), 60);
      await backend.delete("k");
      expectMissing(await backend.get("k"), 'get("k") after delete');
      await backend.delete("k");
      await backend.delete("never-set");
    }],
    ["clear() removes every entry", async (backend) => {
      for (let i = 0; i < 50; i++) await backend.set(`k${i}`, bytes(i), 60);
      await backend.clear();
      for (let i = 0; i < 50; i++) expectMissing(await backend.get(`k${i}`), `get("k${i}") after clear`);
      await backend.clear();
      await backend.set("after", bytes(9), 60);
      expectBytes(await backend.get("after"), [9], 'get("after") after a set following clear');
    }],
    ["expires an entry after its ttl", async (backend) => {
      await backend.set("long", bytes(2), 60);
      await expiresShort(sleep, backend, () => backend.set("short", bytes(1), 0.05));
      expectBytes(await backend.get("long"), [2], 'get("long")');
    }],
    ["accepts fractional ttls", async (backend) => {
      await backend.set("k", bytes(1), 1.5);
      expectBytes(await backend.get("k"), [1], 'get("k") with ttl 1.5');
    }],
    ["handles many concurrent operations", async (backend) => {
      await Promise.all(Array.from({ length: 200 }, (_, i) => backend.set(`c${i}`, bytes(i % 256), 60)));
      const got = await Promise.all(Array.from({ length: 200 }, (_, i) => backend.get(`c${i}`)));
      got.forEach((value, i) => expectBytes(value, [i % 256], `get("c${i}")`));
    }],
  ];
  return [...cases, ...batchCases(sleep), ...cacheCases()].map(([name, fn]) => ({ name, fn: withBackend(fn) }));
}

type Case = [name: string, fn: (backend: CacheBackend) => Promise<void>];

// The batch methods are optional: a case about one of them passes at once on a backend without it (TTLCache then
// falls back to single-key calls, which the other cases cover).
function batchCases(sleep: (ms: number) => Promise<void>): Case[] {
  return [
    ["getMany() returns values aligned with the keys, undefined where missing or expired", async (backend) => {
      if (backend.getMany === undefined) return;
      await backend.set("a", bytes(1), 60);
      await backend.set("c", bytes(3), 60);
      await backend.set("short", bytes(4), 0.05);
      expectList(await backend.getMany(["short", "a"]), [[4], [1]], 'getMany(["short", "a"])');
      await sleep(120);
      expectList(
        await backend.getMany(["a", "b", "c", "short"]),
        [[1], undefined, [3], undefined],
        'getMany(["a", "b", "c", "short"]) after "short" expired',
      );
    }],
    ["getMany() answers duplicate keys in place and [] for no keys", async (backend) => {
      if (backend.getMany === undefined) return;
      expectList(await backend.getMany([]), [], "getMany([])");
      await backend.set("a", bytes(1), 60);
      expectList(
        await backend.getMany(["a", "a", "b", "a", "b"]),
        [[1], [1], undefined, [1], undefined],
        'getMany(["a", "a", "b", "a", "b"])',
      );
    }],
    ["getMany() returns binary values byte for byte under exact keys (unicode, glob characters)", async (backend) => {
      if (backend.getMany === undefined) return;
      const values = ODD_KEYS.map((_, i) => (i === 0 ? [] : i === 1 ? ALL_BYTES : [i, 0, 255]));
      for (const [i, key] of ODD_KEYS.entries()) await backend.set(key, new Uint8Array(values[i]), 60);
      expectList(await backend.getMany(ODD_KEYS), values, `getMany(${JSON.stringify(ODD_KEYS)})`);
      expectList(
        await backend.getMany(["a*", "?", "[x", "ключ2"]),
        [undefined, undefined, undefined, undefined],
        "getMany of look-alike keys",
      );
    }],
    ["setMany() stores every entry byte for byte under exact keys, overwriting; [] is a no-op", async (backend) => {
      if (backend.setMany === undefined) return;
      await backend.setMany([]);
      await backend.set("a", bytes(9), 60);
      const values = ODD_KEYS.map((_, i) => (i === 0 ? [] : i === 1 ? ALL_BYTES : [i, 0, 255]));
      await backend.setMany(ODD_KEYS.map((key, i) => ({ key, value: new Uint8Array(values[i]), ttl: 60 })));
      for (const [i, key] of ODD_KEYS.entries()) {
        expectBytes(await backend.get(key), values[i], `get(${JSON.stringify(key)}) after setMany`);
      }
      expectMissing(await backend.get("a*"), 'get("a*")');
    }],
    ["setMany() honours each entry's own ttl", async (backend) => {
      if (backend.setMany === undefined) return;
      await expiresShort(sleep, backend, () =>
        backend.setMany!([
          { key: "short", value: bytes(1), ttl: 0.05 },
          { key: "long", value: bytes(2), ttl: 60 },
          { key: "fraction", value: bytes(3), ttl: 1.5 },
        ]));
      expectBytes(await backend.get("long"), [2], 'get("long")');
      expectBytes(await backend.get("fraction"), [3], 'get("fraction") with ttl 1.5');
    }],
    ["setMany() lets the later entry win when a key appears twice", async (backend) => {
      if (backend.setMany === undefined) return;
      await backend.setMany([
        { key: "k", value: bytes(1), ttl: 60 },
        { key: "other", value: bytes(5), ttl: 60 },
        { key: "k", value: bytes(2), ttl: 60 },
      ]);
      expectBytes(await backend.get("k"), [2], 'get("k") after setMany with "k" twice');
      expectBytes(await backend.get("other"), [5], 'get("other")');
    }],
    [
      "deleteMany() removes exactly the listed keys, ignoring absent and repeated ones; [] is a no-op",
      async (backend) => {
        if (backend.deleteMany === undefined) return;
        for (const [i, key] of ODD_KEYS.entries()) await backend.set(key, bytes(i), 60);
        await backend.deleteMany([]);
        expectBytes(await backend.get("a*b"), [1], 'get("a*b") after deleteMany([])');
        await backend.deleteMany(["a*b", "ключ", "never-set", "a*b", "[x]"]);
        for (const [i, key] of ODD_KEYS.entries()) {
          const what = `get(${JSON.stringify(key)}) after deleteMany`;
          if (key === "a*b" || key === "ключ" || key === "[x]") expectMissing(await backend.get(key), what);
          else expectBytes(await backend.get(key), [i], what);
        }
      },
    ],
    ["batch calls handle 2,500 keys at once", async (backend) => {
      const { getMany, setMany, deleteMany } = backend;
      if (getMany === undefined && setMany === undefined && deleteMany === undefined) return;
      const keys = Array.from({ length: 2_500 }, (_, i) => `many:${i}`);
      const value = (i: number) => [i % 256, i >> 8];
      if (setMany !== undefined) {
        await backend.setMany!(keys.map((key, i) => ({ key, value: new Uint8Array(value(i)), ttl: 60 })));
      } else {
        await Promise.all(keys.map((key, i) => backend.set(key, new Uint8Array(value(i)), 60)));
      }
      const read = (list: string[]) =>
        getMany !== undefined ? backend.getMany!(list) : Promise.all(list.map((key) => backend.get(key)));
      expectList(await read(keys), keys.map((_, i) => value(i)), "reading 2,500 keys");
      const even = keys.filter((_, i) => i % 2 === 0);
      if (deleteMany !== undefined) await backend.deleteMany!(even);
      else await Promise.all(even.map((key) => backend.delete(key)));
      expectList(
        await read(keys),
        keys.map((_, i) => (i % 2 === 0 ? undefined : value(i))),
        "reading after deleting half",
      );
    }],
  ];
}

// TTLCache stores its own records (tags, namespaces) beside the entries, under keys starting with NUL; a backend must
// keep every key apart and let two caches over it see each other's writes. Values are bytes: no serializer needed.
function cacheCases(): Case[] {
  // Two caches over one backend, as two processes over one server would be.
  const pair = (backend: CacheBackend) => [new TTLCache({ backend }), new TTLCache({ backend })] as const;
  return [
    [
      "TTLCache keeps distinct keys distinct (case, unicode, a leading NUL, look-alikes of its own records)",
      async (b) => {
        const [cache, other] = pair(b);
        const users = cache.namespace("users");
        // "\0n5:users|1" is how the "users" namespace stores its key "1"; "\0tt" how the tag "t" is recorded.
        const keys = [...ODD_KEYS, "k", "K", "\0", "\0k", "\0\0k", "\0n5:users|1", "\0tt", "\0g5:users", "ǅ", "ǆ"];
        for (const [i, key] of keys.entries()) await cache.set(key, bytes(i));
        await users.set("1", bytes(200));
        await cache.set("tagged", bytes(201), { tags: ["t"] });
        await cache.deleteTags(["t"]);
        await users.clear();
        for (const [i, key] of keys.entries()) {
          expectBytes(await other.get(key), [i], `get(${JSON.stringify(key)}) through a second cache`);
        }
        expectMissing(await other.namespace("users").get("1"), 'namespace("users").get("1") after its clear()');
        expectMissing(await other.get("tagged"), 'get("tagged") after deleteTags(["t"])');
        expectMissing(await other.get("\0\0"), 'get("\\0\\0")');
      },
    ],
    ["TTLCache getMany/setMany/deleteMany work over the backend (its batch methods or single-key calls)", async (b) => {
      const [cache, other] = pair(b);
      await cache.setMany([
        { key: "a", value: bytes(1) },
        { key: "\0b", value: bytes(2), ttl: 30, tags: ["t"] },
        { key: "ключ", value: new Uint8Array(ALL_BYTES), grace: 5 },
      ]);
      const keys = ["a", "missing", "\0b", "ключ", "a"];
      const expected = [[1], undefined, [2], ALL_BYTES, [1]];
      expectList(await other.getMany(keys), expected, "getMany through a second cache");
      const none = bytes();
      const withFallback = await other.getMany(["missing", "a"], none);
      if (withFallback[0] !== none) throw new Error("getMany(keys, fallback): a miss did not return the fallback");
      await other.deleteTags(["t"]);
      expectList(await cache.getMany(keys), [[1], undefined, undefined, ALL_BYTES, [1]], "getMany after deleteTags");
      await other.deleteMany(["a", "never-set"]);
      expectList(
        await cache.getMany(keys),
        [undefined, undefined, undefined, ALL_BYTES, undefined],
        "after deleteMany",
      );
      const ns = cache.namespace("ns");
      await ns.setMany([{ key: "a", value: bytes(7) }, { key: "ключ", value: bytes(8) }]);
      expectList(await other.namespace("ns").getMany(["a", "ключ", "x"]), [[7], [8], undefined], "namespace getMany");
      expectList(await other.getMany(["a", "ключ"]), [undefined, ALL_BYTES], "root getMany beside the namespace");
    }],
    ["TTLCache deleteTags() through one cache makes tagged entries misses through another", async (b) => {
      const [cache, other] = pair(b);
      const tags = ["user:*", "[x]", "тег", "a b"];
      await cache.set("star", bytes(1), { tags: ["user:*"] });
      await cache.set("literal", bytes(2), { tags: ["user:1"] });
      await cache.set("both", bytes(3), { ttl: 30, tags: ["[x]", "тег"] });
      await cache.set("plain", bytes(4));
      await cache.namespace("ns").set("k", bytes(5), { tags: ["a b"] });
      await cache.getOrSet("read-through", () => bytes(6), { tags: ["тег"] });
      expectBytes(await other.get("star"), [1], 'get("star") before deleteTags');
      await other.deleteTags([]);
      await other.deleteTags(["never-used"]);
      expectBytes(await cache.get("both"), [3], 'get("both") after deleteTags of other tags');
      await other.deleteTags(tags);
      for (const key of ["star", "both", "read-through"]) {
        expectMissing(await cache.get(key), `get(${JSON.stringify(key)}) after deleteTags through another cache`);
      }
      expectMissing(await cache.namespace("ns").get("k"), 'namespace("ns").get("k") after deleteTags(["a b"])');
      expectBytes(await cache.get("literal"), [2], 'get("literal"): a glob tag is data, "user:*" is not "user:1"');
      expectBytes(await cache.get("plain"), [4], 'get("plain"), untagged');
      await cache.set("star", bytes(9), { tags: ["user:*"] });
      expectBytes(await other.get("star"), [9], 'get("star") tagged again after deleteTags');
    }],
    ["TTLCache namespaces keep the same key apart (root, siblings, nested, a name containing /)", async (b) => {
      const [cache, other] = pair(b);
      const views = [
        cache,
        cache.namespace("a"),
        cache.namespace("b"),
        cache.namespace("a").namespace("b"),
        cache.namespace("a/b"),
        cache.namespace("A"),
        cache.namespace("\0"),
      ];
      for (const [i, view] of views.entries()) await view.set("k", bytes(i));
      const seen = [
        other,
        other.namespace("a"),
        other.namespace("b"),
        other.namespace("a").namespace("b"),
        other.namespace("a/b"),
        other.namespace("A"),
        other.namespace("\0"),
      ];
      for (const [i, view] of seen.entries()) {
        expectBytes(await view.get("k"), [i], `get("k") in namespace "${view.namespacePath}" through a second cache`);
      }
      expectMissing(await other.namespace("c").get("k"), 'namespace("c").get("k")');
    }],
    [
      "TTLCache namespace clear() drops its own and nested entries only, for every cache over the backend",
      async (b) => {
        const [cache, other] = pair(b);
        const a = cache.namespace("a");
        await cache.set("k", bytes(1));
        await cache.set("\0n1:a|k", bytes(2)); // how "a" stores "k", as a root key
        await a.set("k", bytes(3));
        await a.namespace("inner").set("k", bytes(4));
        await cache.namespace("b").set("k", bytes(5));
        await cache.namespace("ab").set("k", bytes(6));
        await other.namespace("a").clear();
        expectMissing(await a.get("k"), 'namespace("a").get("k") after another cache cleared "a"');
        expectMissing(await a.namespace("inner").get("k"), 'namespace("a/inner").get("k") after clearing "a"');
        expectBytes(await cache.get("k"), [1], 'get("k") in the parent after clearing "a"');
        expectBytes(await cache.get("\0n1:a|k"), [2], "a root key shaped like one of the namespace's");
        expectBytes(await cache.namespace("b").get("k"), [5], 'namespace("b").get("k") after clearing "a"');
        expectBytes(await cache.namespace("ab").get("k"), [6], 'namespace("ab").get("k") after clearing "a"');
        await a.namespace("inner").clear();
        await a.set("k", bytes(7));
        expectBytes(await other.namespace("a").get("k"), [7], 'namespace("a").get("k") set again after clear');
        await a.namespace("inner").set("k", bytes(8));
        await other.namespace("a").namespace("inner").clear();
        expectBytes(await cache.namespace("a").get("k"), [7], 'namespace("a").get("k") after clearing "a/inner"');
        expectMissing(await a.namespace("inner").get("k"), 'namespace("a/inner").get("k") after its clear');
      },
    ],
    ["TTLCache clear() on the root drops every entry, namespaced and tagged ones too", async (b) => {
      const [cache, other] = pair(b);
      await cache.set("k", bytes(1));
      await cache.set("\0k", bytes(2), { tags: ["t"] });
      await cache.namespace("a").set("k", bytes(3));
      await cache.namespace("a").namespace("b").set("k", bytes(4));
      await other.clear();
      for (
        const [what, view] of [["", cache], ["a", cache.namespace("a")], [
          "a/b",
          cache.namespace("a").namespace("b"),
        ]] as const
      ) {
        expectMissing(await view.get("k"), `get("k") in "${what}" after clear() of the root`);
      }
      expectMissing(await cache.get("\0k"), 'get("\\0k") after clear() of the root');
      await cache.namespace("a").set("k", bytes(5), { tags: ["t"] });
      expectBytes(await other.namespace("a").get("k"), [5], 'namespace("a").get("k") set after the root clear()');
      await other.deleteTags(["t"]);
      expectMissing(await cache.namespace("a").get("k"), 'namespace("a").get("k") after deleteTags following clear()');
    }],
  ];
}
