import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { RedisCacheBackend, RedisLock } from "../backends/redis.ts";
import { CacheError } from "../errors.ts";
import {
  deletePrefix,
  rawClient,
  REDIS_URL,
  runtimeCommand,
  sharedRedisSkip,
  sleep,
  uniquePrefix,
} from "./_redis_server.ts";

const skip = await sharedRedisSkip();

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
    await raw.set(`${prefix}lock:busy`, "someone-else", "PX", 10_000);
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
    assert.equal(await raw.get(`${prefix}lock:busy`), "someone-else", "the holder's lock is untouched");
  });

  test("RedisLock never releases a lock another holder took after its lease ran out", async () => {
    const prefix = prefixed("foreign");
    const lock = new RedisLock(raw, { prefix });
    await lock.withLock("k", async () => {
      // As if this holder's lease expired and another process acquired the lock.
      await raw.set(`${prefix}k`, "next-holder", "PX", 10_000);
    });
    assert.equal(await raw.get(`${prefix}k`), "next-holder");
  });

  test("RedisLock renews the lease while fn runs longer than it", async () => {
    const prefix = prefixed("lease");
    const lock = new RedisLock(raw, { prefix, lease: 150 });
    const other = new RedisLock(raw, { prefix, waitTimeout: 0 });
    await lock.withLock("k", async () => {
      await sleep(450);
      assert.ok(await raw.pttl(`${prefix}k`) > 0, "still held after three leases");
      await assert.rejects(other.withLock("k", () => Promise.resolve()), CacheError);
    });
    assert.equal(await raw.exists(`${prefix}k`), 0, "released at the end");
    assert.equal(await other.withLock("k", () => Promise.resolve("free")), "free");
  });

  test("RedisLock releases the lock when fn rejects and passes the error on", async () => {
    const prefix = prefixed("reject");
    const lock = new RedisLock(raw, { prefix });
    await assert.rejects(lock.withLock("k", () => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(await raw.exists(`${prefix}k`), 0);
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
    ];
    for (const [redis, options, name, message] of cases) {
      assert.throws(() => new RedisLock(redis as never, options as never), { name, message });
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
  });
});
