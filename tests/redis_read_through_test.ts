// TTLCache read-through (getOrSet, cached()) over RedisCacheBackend when Redis fails for real: a private
// redis-server on a loopback port is SIGKILLed, SIGSTOPped, or never started. Also tags, namespaces and batch reads
// across two backends over one server. Every server started here is stopped by PID in after(), even on failure.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RedisCacheBackend } from "../backends/redis/mod.ts";
import { CacheError } from "../errors.ts";
import type { CacheEvent } from "../events.ts";
import { TTLCache } from "../ttl_cache.ts";
import { cached } from "../decorator.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { record, watchUnhandled } from "./_read_through_helpers.ts";
import {
  freePort,
  rawClient,
  type RedisServer,
  redisServerSkip,
  sleep,
  startRedisServer,
  uniquePrefix,
} from "./_redis_server.ts";

// The backend's timeout, in ms, and how much later than it any call may settle (the brief of issue #13: the
// backend timeout + 200 ms, origin time included).
const TIMEOUT = 400;
const BOUND = TIMEOUT + 200;
// How long the origin takes: long enough that concurrent callers overlap, short enough to leave room in BOUND.
const ORIGIN_MS = 30;

interface Timed<T> {
  value?: T;
  error?: unknown;
  ms: number;
}

/** Settles `promise`, timing it from now. */
async function timed<T>(promise: Promise<T>): Promise<Timed<T>> {
  const started = performance.now();
  try {
    const value = await promise;
    return { value, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

function within<T>(outcome: Timed<T>, what: string): T {
  assert.equal(outcome.error, undefined, `${what} rejected: ${String(outcome.error)}`);
  assert.ok(outcome.ms <= BOUND, `${what} took ${Math.round(outcome.ms)} ms, bound ${BOUND} ms`);
  return outcome.value as T;
}

/** Retries `op` until it succeeds, for up to `ms` milliseconds. */
async function eventually<T>(op: () => Promise<T>, ms = 5_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    try {
      return await op();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

const operations = (events: CacheEvent[]) => new Set(events.map((event) => event.operation));

describe("TTLCache over a private Redis that fails", { skip: redisServerSkip() }, () => {
  let server: RedisServer;
  const backends: RedisCacheBackend[] = [];
  const backend = (options: { url?: string; prefix?: string } = {}) => {
    const made = new RedisCacheBackend({
      url: options.url ?? server.url,
      prefix: options.prefix ?? uniquePrefix("read-through"),
      timeout: TIMEOUT,
    });
    backends.push(made);
    return made;
  };
  const jsonCache = (over: RedisCacheBackend, options: { ttl?: number; grace?: number; failOpen?: boolean } = {}) =>
    new TTLCache<unknown>({ backend: over, serializer: new JsonSerializer(), ...options });

  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    server?.pause(false);
    await Promise.all(backends.map((made) => made.close().catch(() => {})));
    await server?.stop();
  });

  test("SIGKILLed Redis: getOrSet and cached() return computed values within the timeout, single flight holds, stored again after a restart", async () => {
    const unhandled = watchUnhandled();
    const prefix = uniquePrefix("killed");
    const cache = jsonCache(backend({ prefix }));
    const errors = record(cache, ["error"]);
    let runs = 0;
    const origin = async (n: number) => {
      runs++;
      await sleep(ORIGIN_MS);
      return n * 10;
    };
    assert.equal(await cache.getOrSet("warm", () => origin(1)), 10);
    await server.kill();
    try {
      // The stored value cannot be read either: the call computes it again.
      assert.equal(within(await timed(cache.getOrSet("warm", () => origin(2))), "getOrSet of a stored key"), 20);
      for (let i = 0; i < 5; i++) {
        assert.equal(within(await timed(cache.getOrSet(`k${i}`, () => origin(i))), `getOrSet("k${i}")`), i * 10);
      }
      let squares = 0;
      const square = cached(cache, { name: "square" })((n: number) => (squares++, n * n));
      assert.equal(within(await timed(square(4)), "cached square(4)"), 16);
      assert.equal(within(await timed(square(4)), "cached square(4) again"), 16);
      assert.equal(squares, 1, "nothing could be stored, but a value computed during the outage is served for 1 s");

      // Single flight within the process while the backend is down: 20 callers, one computation.
      runs = 0;
      const callers = await Promise.all(
        Array.from({ length: 20 }, () => timed(cache.getOrSet("cold", () => origin(7)))),
      );
      callers.forEach((outcome, i) => assert.equal(within(outcome, `concurrent caller ${i}`), 70));
      assert.equal(runs, 1, "one factory run for 20 concurrent callers on one cold key");

      // The writes after a failed read go out in the background; their failures arrive within the timeout.
      await sleep(BOUND);
      const info = cache.cacheInfo();
      assert.ok(info.errors >= 9 + 20, `errors ${info.errors}: each read failure (9 calls + 20 callers) counts`);
      assert.equal(info.errors, errors.length, "one error event per swallowed failure");
      assert.deepEqual(operations(errors), new Set(["get", "set"]));
      for (const event of errors) {
        assert.ok(event.error instanceof CacheError, `the event carries the CacheError: ${String(event.error)}`);
        assert.equal(typeof event.key, "string");
      }
    } finally {
      await server.restart();
    }
    // Once the backend reconnects, computed values are stored again: a second backend reads them from Redis.
    await eventually(() => cache.get("probe"));
    runs = 0;
    assert.equal(await cache.getOrSet("after", () => origin(3)), 30);
    assert.equal(await cache.getOrSet("after", () => origin(4)), 30, "a hit");
    assert.equal(runs, 1);
    assert.equal(await jsonCache(backend({ prefix })).get("after"), 30, "another backend reads it from Redis");
    unhandled.stop();
    assert.deepEqual(unhandled.reasons, [], "no unhandled rejection from the failed background writes");
  });

  test("grace with Redis SIGSTOPped: the stale copy lives in Redis and cannot be read, so the caller gets the factory's outcome", async () => {
    const cache = jsonCache(backend(), { ttl: 0.3, grace: 30 });
    await cache.set("k", "old");
    await sleep(400); // past the ttl, within the grace
    // Control, with Redis answering: stale-if-error serves the stale value.
    assert.equal(await cache.getOrSet("k", () => Promise.reject(new Error("origin down"))), "old");
    assert.equal(cache.cacheInfo().staleHits, 1);
    server.pause(true);
    try {
      // Frozen: the read times out, fail-open computes, and there is no stale value to fall back on.
      const failing = await timed(cache.getOrSet("k", () => Promise.reject(new Error("origin down"))));
      assert.ok(failing.error instanceof Error && failing.error.message === "origin down", String(failing.error));
      assert.ok(!(failing.error instanceof CacheError), "the factory's own error, not a CacheError");
      assert.ok(failing.ms >= TIMEOUT - 100 && failing.ms <= BOUND, `rejected after ${Math.round(failing.ms)} ms`);
      assert.equal(cache.cacheInfo().staleHits, 1, "no stale value was served");
      assert.equal(within(await timed(cache.getOrSet("k", () => "new")), "getOrSet with a working origin"), "new");
    } finally {
      server.pause(false);
    }
  });

  test("failOpen: false rejects with a CacheError on a killed server (read) and a frozen one (write)", async () => {
    const closed = jsonCache(backend(), { failOpen: false });
    const open = jsonCache(backend());
    const errors = record(open, ["error"]);
    let runs = 0;
    await server.kill();
    try {
      const viaCache = await timed(closed.getOrSet("k", () => ++runs));
      assert.ok(viaCache.error instanceof CacheError && viaCache.error.cause !== undefined, String(viaCache.error));
      assert.match((viaCache.error as Error).message, /Cannot get/);
      const perCall = await timed(open.getOrSet("k", () => ++runs, { failOpen: false }));
      assert.ok(perCall.error instanceof CacheError, String(perCall.error));
      const load = cached(open, { name: "load", failOpen: false })(() => ++runs);
      const viaCached = await timed(load());
      assert.ok(viaCached.error instanceof CacheError, String(viaCached.error));
      for (const outcome of [viaCache, perCall, viaCached]) assert.ok(outcome.ms <= BOUND, `${outcome.ms} ms`);
      assert.equal(runs, 0, "a failed read rejects before the factory runs");
      assert.equal(open.cacheInfo().errors, 0, "failOpen: false swallows nothing");
    } finally {
      await server.restart();
    }
    await eventually(() => closed.get("probe"));
    // The read answers (a miss), then Redis freezes while the origin computes: the write times out.
    const freezing = () => {
      server.pause(true);
      return "computed";
    };
    try {
      const write = await timed(closed.getOrSet("w1", freezing));
      assert.ok(write.error instanceof CacheError, `failOpen: false: ${String(write.error)}`);
      assert.match((write.error as Error).message, /Cannot set/);
      server.pause(false);
      assert.equal(
        within(await timed(open.getOrSet("w2", freezing)), "failOpen: true with a failing write"),
        "computed",
      );
      assert.deepEqual(errors.map((event) => [event.operation, event.key]), [["set", "w2"]]);
      assert.equal(open.cacheInfo().errors, 1);
    } finally {
      server.pause(false);
    }
  });

  test("Redis down at start (nothing listening): fail-open serves computed values within the timeout, single flight holds", async () => {
    const port = await freePort();
    const cache = jsonCache(backend({ url: `redis://127.0.0.1:${port}` }));
    const errors = record(cache, ["error"]);
    let runs = 0;
    const origin = async () => (runs++, await sleep(ORIGIN_MS), "value");
    assert.equal(within(await timed(cache.getOrSet("k", origin)), "getOrSet"), "value");
    const greet = cached(cache, { name: "greet" })((name: string) => `hi ${name}`);
    assert.equal(within(await timed(greet("Ada")), "cached greet()"), "hi Ada");
    runs = 0;
    const callers = await Promise.all(Array.from({ length: 10 }, () => timed(cache.getOrSet("cold", origin))));
    callers.forEach((outcome, i) => assert.equal(within(outcome, `caller ${i}`), "value"));
    assert.equal(runs, 1);
    await sleep(BOUND);
    assert.deepEqual(operations(errors), new Set(["get", "set"]));
    assert.ok(cache.cacheInfo().errors >= 12, `errors: ${cache.cacheInfo().errors}`);
    await assert.rejects(cache.get("k"), CacheError, "plain get() still rejects");
  });

  test("tags, namespaces and getMany across two backends on one server (same prefix)", async () => {
    const prefix = uniquePrefix("shared");
    const one = jsonCache(backend({ prefix }));
    const two = jsonCache(backend({ prefix }));
    let loads = 0;
    const user = () => one.getOrSet("user:1", () => ({ name: "Ada", load: ++loads }), { tags: ["user:1"] });
    assert.deepEqual(await user(), { name: "Ada", load: 1 });
    await one.set("post:1", "hello", { tags: ["post:*"] });
    await one.set("post:2", "world", { tags: ["post:2"] });
    assert.deepEqual(await two.get("user:1"), { name: "Ada", load: 1 });
    await two.deleteTags(["user:1", "post:*"]);
    assert.equal(await one.get("user:1"), undefined);
    assert.equal(await one.get("post:1"), undefined);
    assert.equal(await one.get("post:2"), "world", "the glob tag post:* is data: post:2 keeps its entry");
    assert.deepEqual(await user(), { name: "Ada", load: 2 }, "recomputed after deleteTags");
    assert.deepEqual(await two.get("user:1"), { name: "Ada", load: 2 });

    await one.set("1", "root");
    await one.namespace("users").set("1", "user");
    await one.namespace("users").namespace("admins").set("1", "admin");
    await one.namespace("posts").set("1", "post");
    await two.namespace("users").clear();
    assert.equal(await one.namespace("users").get("1"), undefined);
    assert.equal(await one.namespace("users").namespace("admins").get("1"), undefined, "nested namespaces too");
    assert.equal(await one.namespace("posts").get("1"), "post");
    assert.equal(await one.get("1"), "root", "the parent keeps its entries");
    await one.namespace("users").set("1", "again");
    assert.equal(await two.namespace("users").get("1"), "again");
  });

  test("TTLCache.getMany of raw bytes over Redis: plain Uint8Array copies in a buffer of their own, tags or not", async () => {
    const cache = new TTLCache<Uint8Array>({ ttl: 60, backend: backend() });
    const keys = Array.from({ length: 50 }, (_, i) => `raw${i}`);
    const valueOf = (i: number) => Uint8Array.from({ length: 1 + (i % 90) }, (_, j) => (i * 7 + j) & 0xff);
    await cache.setMany(keys.filter((_, i) => i % 5 !== 0).map((key, i) => ({ key, value: valueOf(i) })));
    const expected = keys.filter((_, i) => i % 5 !== 0).map((_, i) => valueOf(i));
    const check = (values: (Uint8Array | undefined)[]) => {
      const hits = values.filter((v) => v !== undefined);
      assert.deepEqual(hits.map((v) => [...v!]), expected.map((v) => [...v]));
      assert.equal(values.filter((v) => v === undefined).length, 10);
      for (const value of hits) {
        assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype, "a plain Uint8Array, not the client's Buffer");
      }
      return hits as Uint8Array[];
    };
    // All untagged: copied out together, one buffer holding the values alone.
    const first = check(await cache.getMany(keys));
    const shared = first[0].buffer;
    assert.ok(first.every((v) => v.buffer === shared));
    const covered = new Set(first.flatMap((v) => Array.from({ length: v.length }, (_, i) => v.byteOffset + i)));
    new Uint8Array(shared).forEach((byte, i) => !covered.has(i) && assert.equal(byte, 0, `byte ${i} of the buffer`));
    for (const value of first) value.fill(0);
    const second = check(await cache.getMany(keys));
    assert.ok(second.every((v) => v.buffer !== shared), "each call copies into a buffer of its own");
    // One tagged entry among them: the general path, whose values must be copies too (never the reply's memory).
    await cache.set("tagged", valueOf(1), { tags: ["t"] });
    const mixed = await cache.getMany([...keys, "tagged"]);
    assert.deepEqual([...mixed.at(-1)!], [...valueOf(1)]);
    assert.equal(Object.getPrototypeOf(mixed.at(-1)), Uint8Array.prototype);
    const mixedHits = check(mixed.slice(0, -1));
    mixed.at(-1)!.fill(0);
    for (const value of mixedHits) value.fill(0);
    check((await cache.getMany([...keys, "tagged"])).slice(0, -1));
    assert.deepEqual([...(await cache.get("tagged"))!], [...valueOf(1)]);
    // A getMany replaced on the backend (instrumented, say) is what TTLCache calls, not the backend's own batch read.
    const replaced = backend();
    const original = replaced.getMany.bind(replaced);
    let calls = 0;
    replaced.getMany = (keys) => (calls++, original(keys));
    const instrumented = new TTLCache<Uint8Array>({ ttl: 60, backend: replaced });
    await instrumented.set("one", valueOf(3));
    assert.deepEqual((await instrumented.getMany(["one", "two"])).map((v) => v && [...v]), [
      [...valueOf(3)],
      undefined,
    ]);
    assert.equal(calls, 1);
  });

  test("TTLCache.getMany over 100 keys is one MGET on the server (INFO commandstats)", async () => {
    const admin = rawClient(server.url);
    try {
      const calls = async () => {
        const counts = new Map<string, number>();
        for (const [, name, n] of (await admin.info("commandstats")).matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
          counts.set(name, Number(n));
        }
        return counts;
      };
      const delta = async (fn: () => Promise<unknown>) => {
        const before = await calls();
        await fn();
        const after = await calls();
        return (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
      };
      const cache = jsonCache(backend());
      await cache.get("connect");
      const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
      await cache.setMany(keys.filter((_, i) => i % 2 === 0).map((key) => ({ key, value: key })));
      let values: unknown[] = [];
      const plain = await delta(async () => (values = await cache.getMany(keys)));
      assert.deepEqual(values, keys.map((key, i) => (i % 2 === 0 ? key : undefined)));
      assert.equal(plain("mget"), 1, "one MGET");
      assert.equal(plain("get"), 0, "no single GET");

      const users = cache.namespace("users");
      await users.setMany(keys.map((key) => ({ key, value: key })));
      const namespaced = await delta(async () => (values = await users.getMany(keys)));
      assert.deepEqual(values, keys);
      assert.equal(namespaced("mget"), 1, "one MGET: the namespace's record is read with the entries");
      assert.equal(namespaced("get"), 0);

      // Tagged entries name their tag records only once read: a second round trip (one GET for a single tag).
      await cache.setMany(keys.map((key) => ({ key, value: key, tags: ["t"] })));
      const tagged = await delta(async () => (values = await cache.getMany(keys)));
      assert.deepEqual(values, keys);
      assert.equal(tagged("mget"), 1, "the entries");
      assert.equal(tagged("get"), 1, "then the tag record");
    } finally {
      admin.disconnect();
    }
  });
});
