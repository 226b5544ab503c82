import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { RedisCacheBackend, RedisLock } from "../backends/redis/mod.ts";
import { CacheError } from "../errors.ts";
import { TTLCache } from "../ttl_cache.ts";
import { JsonSerializer } from "../serializers/json.ts";
import {
  deletePrefix,
  rawClient,
  REDIS_URL,
  type RedisServer,
  redisServerSkip,
  runtimeCommand,
  sharedRedisSkip,
  sleep,
  startRedisServer,
  uniquePrefix,
} from "./_redis_server.ts";

const skip = await sharedRedisSkip();
/** The Redis key of a lock named `name` (its prefixes included): the byte 0xFF, then the name in UTF-8. */
const lockKey = (name: string) => Buffer.concat([Buffer.of(0xff), Buffer.from(name)]);

/**
 * Takes `key` and keeps it until let go: `holding` resolves (with the function that lets go) once the critical section
 * runs, `done` when the lock is released; `then` runs after being let go, inside the critical section.
 */
function hold(
  lock: RedisLock,
  key: string,
  then?: () => unknown,
): { holding: Promise<() => void>; done: Promise<void> } {
  let holding!: (letGo: () => void) => void;
  const started = new Promise<() => void>((resolve) => (holding = resolve));
  const done = lock.withLock(key, async () => {
    await new Promise<void>((resolve) => holding(resolve));
    then?.();
  });
  // A failed acquire fails `holding` too, instead of leaving its awaiter waiting.
  return { holding: Promise.race([started, done.then(() => Promise.reject(new Error("never held")))]), done };
}

function runChild(args: string[]): Promise<{ results: string[]; count: number }> {
  const { command, args: base } = runtimeCommand(fileURLToPath(new URL("./_redis_lock_child.ts", import.meta.url)));
  return new Promise((resolve, reject) => {
    execFile(command, [...base, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stdout}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").at(-1)!));
    });
  });
}

describe("RedisLock", { skip }, () => {
  let raw: Redis;
  const prefixes: string[] = [];
  const prefixed = (name: string) => {
    const prefix = uniquePrefix(name);
    prefixes.push(prefix);
    return prefix;
  };
  before(() => {
    raw = rawClient();
  });
  after(async () => {
    for (const prefix of prefixes) await deletePrefix(raw, prefix);
    raw.disconnect();
  });

  for (const mode of ["lock", "cached"]) {
    const through = mode === "lock" ? "RedisLock.withLock()" : "cached({ lock: redisLock })";
    test(`RedisLock: 4 processes × 250 concurrent calls through ${through} on a cold key compute exactly once`, async () => {
      const prefix = prefixed(`lock-processes-${mode}`);
      const startAt = String(Date.now() + 1_500);
      const outcomes = await Promise.all([1, 2, 3, 4].map(() => runChild([REDIS_URL, prefix, "250", startAt, mode])));
      assert.equal(await raw.get(`${prefix}computations`), "1", "the function ran once across all processes");
      const values = new Set(outcomes.flatMap((o) => o.results));
      assert.equal(values.size, 1, `every call returned the one computed value: ${[...values].join(", ")}`);
      assert.deepEqual(outcomes.map((o) => o.count), [250, 250, 250, 250]);
    });
  }

  test("RedisLock.withLock() runs callers one at a time and returns what fn returns", async () => {
    await using backend = new RedisCacheBackend({ url: REDIS_URL, prefix: prefixed("serial") });
    const first = new RedisLock(backend);
    const second = new RedisLock(backend); // no shared local queue: only Redis keeps them apart
    let inside = 0;
    let most = 0;
    const work = async (i: number) => {
      most = Math.max(most, ++inside);
      await sleep(2);
      inside--;
      return i;
    };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? first : second).withLock("k", () => work(i))),
    );
    assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(most, 1);
  });

  test("RedisLock.withLock() rejects with a CacheError after waitTimeout while another process holds the lock", async () => {
    const prefix = prefixed("timeout");
    await raw.set(lockKey(`${prefix}lock:busy`), "someone-else", "PX", 10_000);
    const lock = new RedisLock(raw, { prefix: `${prefix}lock:`, waitTimeout: 200, retryInterval: 20 });
    const started = performance.now();
    let ran = false;
    await assert.rejects(
      lock.withLock("busy", () => {
        ran = true;
        return Promise.resolve();
      }),
      (error: Error) => {
        assert.ok(error instanceof CacheError);
        assert.match(error.message, /Cannot acquire RedisLock "busy" within 200 ms: another caller holds it/);
        return true;
      },
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 190 && elapsed < 1_000, `gave up after ${Math.round(elapsed)} ms`);
    assert.equal(ran, false);
    assert.equal(await raw.get(lockKey(`${prefix}lock:busy`)), "someone-else", "the holder's lock is untouched");
  });

  test("RedisLock never releases a lock another holder took after its lease ran out", async () => {
    const prefix = prefixed("foreign");
    const lock = new RedisLock(raw, { prefix });
    await lock.withLock("k", async () => {
      // As if this holder's lease expired and another process acquired the lock.
      await raw.set(lockKey(`${prefix}k`), "next-holder", "PX", 10_000);
    });
    assert.equal(await raw.get(lockKey(`${prefix}k`)), "next-holder");
  });

  test("RedisLock renews the lease while fn runs longer than it", async () => {
    const prefix = prefixed("lease");
    // Renewed every third of the lease: only an event loop stalled for a whole lease (600 ms) could lose it.
    const lock = new RedisLock(raw, { prefix, lease: 600 });
    const other = new RedisLock(raw, { prefix, waitTimeout: 0 });
    await lock.withLock("k", async () => {
      await sleep(1_800);
      assert.ok(await raw.pttl(lockKey(`${prefix}k`)) > 0, "still held after three leases");
      await assert.rejects(other.withLock("k", () => Promise.resolve()), CacheError);
    });
    assert.equal(await raw.exists(lockKey(`${prefix}k`)), 0, "released at the end");
    assert.equal(await other.withLock("k", () => Promise.resolve("free")), "free");
  });

  test("RedisLock: the backend closed right after withLock() still sends the release first", async () => {
    const prefix = prefixed("close-after");
    const backend = new RedisCacheBackend({ url: REDIS_URL, prefix });
    const lock = new RedisLock(backend);
    assert.equal(await lock.withLock("k", () => Promise.resolve(1)), 1);
    await backend.close(); // QUIT must not overtake the release, sent in the background
    assert.equal(await raw.exists(lockKey(`${prefix}lock:k`)), 0, "the lock was released");
  });

  test("RedisLock releases the lock when fn rejects and passes the error on", async () => {
    const prefix = prefixed("reject");
    const lock = new RedisLock(raw, { prefix });
    await assert.rejects(lock.withLock("k", () => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(await raw.exists(lockKey(`${prefix}k`)), 0);
  });

  test("RedisLock.withLock() rejects with a CacheError when Redis is unreachable", async () => {
    const backend = new RedisCacheBackend({ url: "redis://127.0.0.1:1", prefix: "x:", timeout: 300 });
    try {
      await assert.rejects(new RedisLock(backend).withLock("k", () => Promise.resolve()), (error: Error) => {
        assert.ok(error instanceof CacheError && error.cause !== undefined);
        assert.match(error.message, /Cannot acquire RedisLock "k": the Redis server is unreachable/);
        return true;
      });
    } finally {
      await backend.close();
    }
  });

  test("new RedisLock() and withLock() reject bad arguments, naming the value", async () => {
    const cases: [unknown, unknown, string, RegExp][] = [
      [{}, undefined, "TypeError", /redis \(a RedisCacheBackend, or an ioredis Redis or Cluster\) must be an object/],
      ["redis://x", undefined, "TypeError", /received "redis:\/\/x"/],
      [raw, "fast", "TypeError", /options must be an object: received "fast"/],
      [raw, { prefix: 1 }, "TypeError", /prefix must be a string: received 1/],
      [raw, { lease: "10s" }, "TypeError", /lease must be a finite number >= 10 \(milliseconds\): received "10s"/],
      [raw, { lease: 5 }, "RangeError", /lease must be a finite number >= 10 .*: received 5/],
      [raw, { waitTimeout: -1 }, "RangeError", /waitTimeout must be a finite number >= 0 .*: received -1/],
      [raw, { waitTimeout: NaN }, "RangeError", /waitTimeout .*: received NaN/],
      [raw, { retryInterval: 0 }, "RangeError", /retryInterval must be a finite number >= 1 .*: received 0/],
      [raw, { retryInterval: Infinity }, "RangeError", /retryInterval .*: received Infinity/],
      // Longer than a timer waits: it would fire at once (a renewal every ms, or an acquire Redis refuses).
      [raw, { lease: 1e10 }, "RangeError", /lease must be at most 2147483647 ms .*: received 10000000000/],
      [raw, { lease: 1e300 }, "RangeError", /lease must be at most 2147483647 ms .*: received 1e\+300/],
      [raw, { waitTimeout: 2 ** 31 }, "RangeError", /waitTimeout must be at most 2147483647 ms/],
      [raw, { retryInterval: 2 ** 40 }, "RangeError", /retryInterval must be at most 2147483647 ms/],
      [raw, { leese: 100 }, "TypeError", /unknown option "leese" \(did you mean lease\?\)/],
      [raw, { waitTimeOut: 100 }, "TypeError", /unknown option "waitTimeOut" \(did you mean waitTimeout\?\)/],
      [raw, { prefix: "l\uD800:" }, "TypeError", /prefix must be a well-formed string .*lone surrogate/],
      [{ client: raw, prefix: "p\uDFFF:" }, undefined, "TypeError", /redis.prefix must be a well-formed string/],
    ];
    for (const [redis, options, name, message] of cases) {
      assert.throws(() => new RedisLock(redis as never, options as never), { name, message }, String(message));
    }
    const lock = new RedisLock(raw, { prefix: prefixed("args") });
    await assert.rejects(lock.withLock(1 as never, () => Promise.resolve()), {
      name: "TypeError",
      message: /key must be a string: received 1/,
    });
    await assert.rejects(lock.withLock("k", "fn" as never), {
      name: "TypeError",
      message: /fn must be a function: received "fn"/,
    });
    for (const key of ["y\uD800", "y\uDFFF", "\uDC00y"]) {
      let ran = false;
      await assert.rejects(
        lock.withLock(key, () => {
          ran = true;
          return Promise.resolve();
        }),
        { name: "TypeError", message: /key must be a well-formed string .*lone surrogate/ },
      );
      assert.equal(ran, false);
    }
  });

  test("RedisLock.withLock() on a closed backend says the backend is closed, as the backend does", async () => {
    const backend = new RedisCacheBackend({ url: REDIS_URL, prefix: prefixed("closed") });
    const lock = new RedisLock(backend);
    await backend.close();
    const backendError = await backend.get("k").catch((error: Error) => error);
    await assert.rejects(lock.withLock("k", () => Promise.resolve()), (error: Error) => {
      assert.ok(error instanceof CacheError);
      assert.equal(error.message, 'Cannot acquire RedisLock "k": the backend is closed');
      assert.match(String(backendError), /: the backend is closed$/);
      return true;
    });
    // Closed while a caller waits for its turn: the same words.
    const open = new RedisCacheBackend({ url: REDIS_URL, prefix: prefixed("closing") });
    const held = new RedisLock(open);
    // The first holder is let go once it holds the lock: a fixed pause raced the connection under load, and a holder
    // never let go kept its lease renewals (and so this process) going.
    const first = hold(held, "k");
    const second = held.withLock("k", () => Promise.resolve());
    (await first.holding)();
    const closing = open.close();
    await first.done;
    await assert.rejects(second, {
      name: "CacheError",
      message: 'Cannot acquire RedisLock "k": the backend is closed',
    });
    await closing;
  });

  test("RedisLock: a held lock survives the backend's clear(), so a second acquirer still waits", async () => {
    const prefix = prefixed("clear");
    await using backend = new RedisCacheBackend({ url: REDIS_URL, prefix });
    const first = new RedisLock(backend);
    const second = new RedisLock(backend, { waitTimeout: 300, retryInterval: 20 });
    await backend.set("data", new Uint8Array([1]), 60);
    let secondRan = false;
    await first.withLock("k", async () => {
      await backend.clear();
      assert.equal(await backend.get("data"), undefined, "clear() deleted the cache's keys");
      assert.equal(await raw.exists(lockKey(`${prefix}lock:k`)), 1, "but not the lock");
      await assert.rejects(
        second.withLock("k", () => {
          secondRan = true;
          return Promise.resolve();
        }),
        /within 300 ms: another caller holds it/,
      );
    });
    assert.equal(secondRan, false);
    assert.equal(await second.withLock("k", () => Promise.resolve("free")), "free");
  });

  test("RedisLock waiters of one process give up after waitTimeout in their queue, and the queue goes on", async () => {
    const lock = new RedisLock(raw, { prefix: prefixed("queue"), waitTimeout: 150 });
    const order: string[] = [];
    const held = hold(lock, "k", () => order.push("1"));
    const letGo = await held.holding;
    const started = performance.now();
    const late = lock.withLock("k", () => Promise.resolve(order.push("late")));
    await assert.rejects(late, /Cannot acquire RedisLock "k" within 150 ms/);
    const waited = performance.now() - started;
    assert.ok(waited >= 140 && waited < 1_000, `gave up after ${Math.round(waited)} ms`);
    letGo();
    await held.done;
    assert.equal(await lock.withLock("k", () => Promise.resolve("next")), "next");
    assert.deepEqual(order, ["1"]);
  });
});

describe("RedisLock on a private server", { skip: redisServerSkip() }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(() => server.stop());

  test("RedisLock: an acquire that timed out while Redis stalled leaves no lock once Redis answers again", async () => {
    await using backend = new RedisCacheBackend({ url: server.url, prefix: "ghost:", timeout: 300 });
    await backend.connect();
    const lock = new RedisLock(backend, { lease: 10_000 });
    server.pause(true);
    try {
      await assert.rejects(lock.withLock("k", () => Promise.resolve()), /Cannot acquire RedisLock "k": .*timed out/);
      await sleep(50);
    } finally {
      server.pause(false);
    }
    // The SET NX ran when the server resumed; without the release queued behind it the lock would be held by
    // nobody for the whole 10 s lease.
    const other = new RedisLock(backend, { waitTimeout: 3_000, retryInterval: 20 });
    const started = performance.now();
    assert.equal(await other.withLock("k", () => Promise.resolve("mine")), "mine");
    const waited = performance.now() - started;
    assert.ok(waited < 1_500, `the next caller waited ${Math.round(waited)} ms for a lock nobody held`);
  });

  test("RedisLock: on a Redis frozen while fn runs, the release does not hold the caller; the lock goes at thaw", async () => {
    const timeout = 1_000;
    await using backend = new RedisCacheBackend({ url: server.url, prefix: "frozen-release:", timeout });
    await backend.connect();
    const lock = new RedisLock(backend, { lease: 300 }); // renewals every 100 ms, all sent to the frozen server
    let ready = 0;
    try {
      const value = await lock.withLock("k", async () => {
        server.pause(true);
        await sleep(250);
        ready = performance.now();
        return "v";
      });
      const held = performance.now() - ready;
      assert.equal(value, "v");
      // Before: the caller waited for the release's reply, i.e. the backend's whole timeout.
      assert.ok(
        held < 300,
        `the caller got its value ${Math.round(held)} ms after fn returned (timeout ${timeout} ms)`,
      );
    } finally {
      server.pause(false);
    }
    const other = new RedisLock(backend, { waitTimeout: 3_000, retryInterval: 20 });
    assert.equal(await other.withLock("k", () => Promise.resolve("next")), "next");
  });

  test("getOrSet with a RedisLock on a Redis that freezes under it returns within one timeout of its value", async () => {
    const timeout = 1_000;
    await using backend = new RedisCacheBackend({ url: server.url, prefix: "frozen-getorset:", timeout });
    await backend.connect();
    const lock = new RedisLock(backend);
    const cache = new TTLCache<string>({ backend, serializer: new JsonSerializer() });
    let ready = 0;
    try {
      const value = await cache.getOrSet("k", async () => {
        server.pause(true);
        await sleep(250);
        ready = performance.now();
        return "v";
      }, { lock });
      const held = performance.now() - ready;
      assert.equal(value, "v");
      // The write after the computation may take one timeout (it fails open); the release no longer adds another.
      assert.ok(held < timeout + 500, `returned ${Math.round(held)} ms after the value was ready (timeout ${timeout})`);
    } finally {
      server.pause(false);
      await cache.close();
    }
  });
});
