import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { RedisCacheBackend } from "../backends/redis/mod.ts";
import { CacheError } from "../errors.ts";
import { TTLCache } from "../ttl_cache.ts";
import { cached } from "../decorator.ts";
import {
  freePort,
  type RedisServer,
  redisServerSkip,
  runtimeCommand,
  sleep,
  startRedisServer,
} from "./_redis_server.ts";

const TIMEOUT = 500;
// Each failure must arrive within the timeout plus scheduling slack on a loaded 2-core machine.
const BOUND = TIMEOUT + 1_000;
// How late a call may settle after its timeout: the check runs every tenth of the timeout, plus timer lateness on a
// loaded machine. A call timed from when ioredis sends it (behind an auto-pipeline) would be up to TIMEOUT late.
const TIMEOUT_SLACK = 200;
const bytes = (...values: number[]) => new Uint8Array(values);

/** Awaits `promise`, which must reject with a CacheError (cause attached) within BOUND ms. */
async function failsFast(promise: Promise<unknown>, what: string): Promise<CacheError> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((resolve) => (timer = setTimeout(() => resolve("hung"), BOUND * 3)));
  const outcome = await Promise.race([promise.then(() => "resolved", (error: unknown) => error), hung]);
  clearTimeout(timer);
  const elapsed = performance.now() - started;
  assert.notEqual(outcome, "hung", `${what} still pending after ${BOUND * 3} ms`);
  assert.ok(outcome instanceof CacheError, `${what}: expected a CacheError, got ${String(outcome)}`);
  assert.ok(outcome.cause !== undefined, `${what}: the CacheError carries the cause`);
  assert.ok(elapsed <= BOUND, `${what} took ${Math.round(elapsed)} ms, bound ${BOUND} ms`);
  return outcome;
}

/** Retries `op` until it succeeds, for up to `ms` milliseconds. */
async function eventually<T>(op: () => Promise<T>, ms: number): Promise<T> {
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

describe("RedisCacheBackend faults", { skip: redisServerSkip() }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(() => server.stop());

  test("RedisCacheBackend fails within the timeout when the server is down at start", async () => {
    const port = await freePort();
    await using backend = new RedisCacheBackend({
      url: `redis://127.0.0.1:${port}`,
      prefix: "down:",
      timeout: TIMEOUT,
    });
    const error = await failsFast(backend.connect(), "connect()");
    assert.match(error.message, /Cannot connect RedisCacheBackend: the Redis server is unreachable .*ECONNREFUSED/);
    await failsFast(backend.get("k"), "get()");
    await failsFast(backend.set("k", bytes(1), 1), "set()");
    await failsFast(backend.delete("k"), "delete()");
    await failsFast(backend.clear(), "clear()");
  });

  test("RedisCacheBackend fails within the timeout when the server stops answering, and recovers", async () => {
    await using backend = new RedisCacheBackend({ url: server.url, prefix: "pause:", timeout: TIMEOUT });
    await backend.set("k", bytes(1), 60);
    server.pause(true);
    try {
      const error = await failsFast(backend.get("k"), "get() on a frozen server");
      assert.match(error.message, /timed out/);
    } finally {
      server.pause(false);
    }
    assert.deepEqual([...(await eventually(() => backend.get("k"), 3000))!], [1]);
  });

  test("RedisCacheBackend's timeout also bounds raw and pipelined commands of its client, and not before its time", async () => {
    await using backend = new RedisCacheBackend({ url: server.url, prefix: "pause-raw:", timeout: TIMEOUT });
    const client = backend.client as Redis;
    await backend.connect();
    server.pause(true);
    try {
      const started = performance.now();
      const settled = (promise: Promise<unknown>) =>
        promise.then(() => "resolved", (error: unknown) => error).then((outcome) => ({
          outcome,
          elapsed: performance.now() - started,
        }));
      const [raw, pipelined, cache] = await Promise.all([
        settled(client.get("pause-raw:a")),
        settled(client.pipeline().get("pause-raw:b").exec().then((results) => Promise.reject(results?.[0]?.[0]))),
        settled(backend.get("c")),
      ]);
      for (const [what, { outcome, elapsed }] of Object.entries({ raw, pipelined, cache })) {
        assert.match(String((outcome as Error)?.message), /timed out/, `${what}: ${String(outcome)}`);
        // A command shares its deadline with those issued in the same tick (a tenth of the timeout).
        assert.ok(elapsed >= TIMEOUT * 0.9 - 2, `${what} timed out after ${Math.round(elapsed)} ms, before its time`);
        assert.ok(elapsed <= BOUND, `${what} took ${Math.round(elapsed)} ms, bound ${BOUND} ms`);
      }
      assert.ok(cache.outcome instanceof CacheError);
    } finally {
      server.pause(false);
    }
    assert.equal(await eventually(() => client.ping(), 3000), "PONG");
  });

  test("RedisCacheBackend times each call from when it was made, even queued behind an auto-pipeline in flight", async () => {
    // Under load, ioredis sends an auto-pipeline only once the one in flight has its replies: timed from sending,
    // a call made while a frozen server holds the first pipeline would wait up to twice the timeout.
    await using backend = new RedisCacheBackend({ url: server.url, prefix: "waves:", timeout: TIMEOUT });
    await backend.connect();
    server.pause(true);
    const outcomes: Promise<{ error: unknown; elapsed: number }>[] = [];
    try {
      for (let wave = 0; wave < 4; wave++) {
        for (let i = 0; i < 50; i++) {
          const started = performance.now();
          const call = i === 0
            ? backend.set(`w${wave}`, bytes(wave), 60)
            : i === 1
            ? backend.delete("x")
            : backend.get(`k${i}`);
          outcomes.push(call.then(
            () => ({ error: undefined, elapsed: performance.now() - started }),
            (error: unknown) => ({ error, elapsed: performance.now() - started }),
          ));
        }
        await sleep(TIMEOUT / 5);
      }
      const settled = await Promise.all(outcomes);
      const tick = TIMEOUT / 10;
      for (const [i, { error, elapsed }] of settled.entries()) {
        assert.ok(error instanceof CacheError && /timed out/.test(error.message), `call ${i}: ${String(error)}`);
        assert.ok(elapsed >= TIMEOUT - tick - 2, `call ${i} failed after ${Math.round(elapsed)} ms, before its time`);
        assert.ok(
          elapsed <= TIMEOUT + TIMEOUT_SLACK,
          `call ${i} took ${Math.round(elapsed)} ms, bound ${TIMEOUT + TIMEOUT_SLACK}`,
        );
      }
    } finally {
      server.pause(false);
    }
    assert.deepEqual([...(await eventually(() => backend.get("missing").then(() => bytes(1)), 3000))], [1]);
  });

  test("RedisCacheBackend rejects with CacheError when the server dies mid-run, then recovers after a restart", async () => {
    await using backend = new RedisCacheBackend({ url: server.url, prefix: "crash:", timeout: TIMEOUT });
    const cache = new TTLCache({ backend });
    await cache.set("k", bytes(1), 60);
    assert.deepEqual([...(await cache.get("k"))!], [1]);

    await server.kill();
    const pending: Promise<unknown>[] = Array.from({ length: 20 }, (_, i) => backend.get(`k${i}`));
    pending.push(backend.set("k", bytes(2), 60), backend.delete("k"), backend.clear());
    await Promise.all(pending.map((p, i) => failsFast(p, `operation ${i} after the crash`)));
    await failsFast(cache.get("k"), "TTLCache.get() after the crash");
    await failsFast(cache.set("k", bytes(3), 60), "TTLCache.set() after the crash");
    const load = cached(cache, { name: "load", failOpen: false })(() => bytes(9)); // fail-open: redis_read_through_test.ts
    await failsFast(load(), "a cached() function after the crash");

    await server.restart();
    await eventually(() => backend.set("k", bytes(4), 60), 5000);
    assert.deepEqual([...(await backend.get("k"))!], [4], "the same backend works again");
    await cache.set("k2", bytes(5), 60);
    assert.deepEqual([...(await cache.get("k2"))!], [5]);
    assert.deepEqual([...await load()], [9]);
  });

  test("while its client waits to reconnect, the backend fails at once, and a fail-open getOrSet computes at once", async () => {
    // The default timeout: without the fast path each call waited for the next reconnect attempt (up to ~1.9 s).
    await using backend = new RedisCacheBackend({ url: server.url, prefix: "fast:" });
    const cache = new TTLCache({ backend });
    await cache.set("k", bytes(1), 60);
    await server.kill();
    try {
      await assert.rejects(backend.get("k"), CacheError);
      await eventually(() => backend.client.status === "reconnecting" ? Promise.resolve() : Promise.reject(), 3000);
      // Waiting for a reconnect attempt (at most 1 s apart) would take U(0, 1 s) a call, so the median of 7 calls
      // stays under 100 ms by chance with a probability of about 0.3%, while a loaded machine's stray 200 ms call (Bun,
      // 214 ms) does not move the median. Every call also stays well under the reconnect interval plus connecting.
      const took: number[] = [];
      for (let i = 0; i < 7; i++) {
        const started = performance.now();
        await assert.rejects(backend.get(`k${i}`), /the Redis server is unreachable/);
        assert.deepEqual([...await cache.getOrSet(`c${i}`, () => bytes(i))], [i]);
        took.push(performance.now() - started);
        await sleep(150);
      }
      const sorted = took.toSorted((a, b) => a - b);
      const shown = took.map(Math.round).join(", ");
      assert.ok(sorted[3] < 100, `median ${Math.round(sorted[3])} ms over 100 ms: ${shown}`);
      assert.ok(sorted[6] < 1_000, `a call took ${Math.round(sorted[6])} ms: ${shown}`);
    } finally {
      await server.restart();
    }
    await eventually(() => backend.set("k", bytes(2), 60), 5000);
    assert.deepEqual([...(await backend.get("k"))!], [2], "it recovers");
  });

  test("RedisCacheBackend explains an unreachable server without ioredis' maxRetriesPerRequest wording", async () => {
    await using backend = new RedisCacheBackend({ url: `redis://127.0.0.1:${await freePort()}`, timeout: TIMEOUT });
    const error = await failsFast(backend.get("k"), "get()");
    const chain: string[] = [];
    for (let e: unknown = error; e instanceof Error; e = e.cause) chain.push(e.message);
    assert.match(chain[0], /^Cannot get from RedisCacheBackend: the Redis server is unreachable/);
    assert.match(chain[1], /^the Redis server is unreachable: connect ECONNREFUSED/);
    assert.ok(!chain.some((m) => /maxRetriesPerRequest|max retries/i.test(m)), chain.join(" <- "));
  });

  test("RedisCacheBackend: rediss:// against a plain server says the TLS handshake did not complete", async () => {
    await using backend = new RedisCacheBackend({ url: server.url.replace("redis:", "rediss:"), timeout: TIMEOUT });
    const error = await failsFast(backend.get("k"), "get()");
    assert.match(error.message, /the TLS handshake did not complete: is the server TLS-enabled\?/);
    // A plain URL to a server that is down gets no such hint.
    await using plain = new RedisCacheBackend({ url: `redis://127.0.0.1:${await freePort()}`, timeout: TIMEOUT });
    assert.doesNotMatch((await failsFast(plain.get("k"), "get()")).message, /TLS/);
  });

  test("RedisCacheBackend.close() does not hang while the server is down", async () => {
    const backend = new RedisCacheBackend({ url: server.url, prefix: "close:", timeout: TIMEOUT });
    await backend.connect();
    await server.kill();
    try {
      await failsFast(backend.get("k"), "get()");
      const started = performance.now();
      await backend.close();
      assert.ok(performance.now() - started < BOUND);
      await assert.rejects(backend.get("k"), /closed/);
    } finally {
      await server.restart();
    }
  });
});

describe("close() of the Redis backend and buses under faults", { skip: redisServerSkip() }, () => {
  /** Runs _redis_close_child.ts against a server of its own; returns close()'s duration and the ms to exit after. */
  async function closeInChild(mode: "kill" | "freeze", timeout: number) {
    const server = await startRedisServer();
    try {
      const { command, args } = runtimeCommand(fileURLToPath(new URL("./_redis_close_child.ts", import.meta.url)));
      const child = spawn(command, [...args, server.url, mode, String(timeout)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      let reported = 0;
      child.stdout!.on("data", (chunk) => {
        out += chunk;
        if (reported === 0 && out.includes("closeMs")) reported = performance.now();
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      // Starting a runtime takes a while on a loaded machine: time from the moment it reports close().
      for (let i = 0; i < 600 && reported === 0 && child.exitCode === null; i++) await sleep(50);
      assert.ok(reported > 0, `the child reported close(): ${out}`);
      const code = await Promise.race([exited, sleep(3_000).then(() => "hung")]);
      const exitMs = performance.now() - reported;
      if (code === "hung") child.kill("SIGKILL");
      assert.equal(code, 0, `the child exited by itself after close() (${out.trim()})`);
      return { ...JSON.parse(out.trim().split("\n").at(-1)!) as { closeMs: number }, exitMs };
    } finally {
      server.pause(false);
      await server.stop();
    }
  }

  test("with the server killed, close() of the backend and of both buses returns at once and the process exits", async () => {
    const timeout = 3_000;
    const { closeMs, exitMs } = await closeInChild("kill", timeout);
    // Before: the bus waited its whole timeout for an "end" event that never came, then ioredis' 2 s disconnect timer
    // kept the process alive.
    assert.ok(closeMs < 1_000, `close() took ${closeMs} ms with nothing to flush (timeout ${timeout} ms)`);
    assert.ok(exitMs < 1_500, `the process exited ${Math.round(exitMs)} ms after close()`);
  });

  test("with the server frozen, close() returns within the timeout and the process exits", async () => {
    const timeout = 1_000;
    const { closeMs, exitMs } = await closeInChild("freeze", timeout);
    assert.ok(closeMs < timeout + 700, `close() took ${closeMs} ms, timeout ${timeout} ms`);
    assert.ok(exitMs < 1_500, `the process exited ${Math.round(exitMs)} ms after close()`);
  });
});
