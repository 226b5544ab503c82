import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import { RedisBus, RedisCacheBackend } from "../backends/redis/mod.ts";
import type { BusSubscriber } from "../bus.ts";
import { CacheError } from "../errors.ts";
import {
  type RedisCluster,
  type RedisServer,
  redisServerSkip,
  runtimeCommand,
  sleep,
  startRedisCluster,
  startRedisServer,
} from "./_redis_server.ts";

const TIMEOUT = 500;
// A failure must come within the timeout plus scheduling slack on a loaded 2-core machine.
const BOUND = TIMEOUT + 1_000;
const channelName = (): string => `cachet-test:bus:${crypto.randomUUID()}`;

/** A subscriber that records what it is told, in order. */
function recorder() {
  const log: string[] = [];
  const messages: number[][] = [];
  const waiters: { test: () => boolean; resolve: () => void }[] = [];
  const wake = () => {
    for (const w of [...waiters]) {
      if (w.test()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const subscriber: BusSubscriber = {
    message(bytes) {
      assert(bytes instanceof Uint8Array);
      messages.push([...bytes]);
      log.push(`message ${bytes.length}`);
      wake();
    },
    down() {
      log.push("down");
      wake();
    },
    up() {
      log.push("up");
      wake();
    },
  };
  /** Waits (at most `ms`) until `test` holds. */
  const until = (test: () => boolean, what: string, ms = 10_000): Promise<void> => {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; log: ${log}`)), ms);
      waiters.push({
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  };
  return { subscriber, log, messages, until };
}

/** Publishes until it succeeds (the bus may still be subscribing again), for up to 10 s. */
async function publishSoon(bus: RedisBus, message: Uint8Array): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    try {
      return await bus.publish(message);
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

describe("RedisBus", { skip: redisServerSkip() }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(() => server.stop());

  it("delivers between two buses on two connections, all 256 byte values intact, to every subscriber", async () => {
    const channel = channelName();
    await using a = new RedisBus({ url: server.url, channel, timeout: TIMEOUT });
    await using b = new RedisBus({ url: server.url, channel, timeout: TIMEOUT });
    const atA = recorder();
    const atB = recorder();
    const atB2 = recorder();
    a.subscribe(atA.subscriber);
    b.subscribe(atB.subscriber);
    b.subscribe(atB2.subscriber);
    await Promise.all([a.subscribed(), b.subscribed()]);
    assert.equal(a.connected && b.connected, true);
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    await a.publish(all.subarray(0, 256));
    await b.publish(new Uint8Array([1, 2, 3]).subarray(1));
    for (const r of [atA, atB, atB2]) await r.until(() => r.messages.length === 2, "two messages");
    for (const r of [atA, atB, atB2]) assert.deepEqual(r.messages, [[...all], [2, 3]]);
    assert.deepEqual(atA.log.filter((e) => !e.startsWith("message")), [], "no down() or up()");
  });

  it("stops delivering after unsubscribe and after close(); publish and subscribe then fail", async () => {
    const channel = channelName();
    const a = new RedisBus({ url: server.url, channel, timeout: TIMEOUT });
    await using b = new RedisBus({ url: server.url, channel, timeout: TIMEOUT });
    const gone = recorder();
    const atA = recorder();
    const atB = recorder();
    const stop = a.subscribe(gone.subscriber);
    a.subscribe(atA.subscriber);
    b.subscribe(atB.subscriber);
    await Promise.all([a.subscribed(), b.subscribed()]);
    stop();
    stop();
    await b.publish(new Uint8Array([1]));
    await atB.until(() => atB.messages.length === 1, "the first message at b");
    await atA.until(() => atA.messages.length === 1, "the first message at a");
    await a.close();
    await a.close();
    assert.equal(a.closed, true);
    await b.publish(new Uint8Array([2]));
    await atB.until(() => atB.messages.length === 2, "the second message at b");
    await sleep(100);
    assert.deepEqual(gone.messages, []);
    assert.deepEqual(atA.messages, [[1]]);
    await assert.rejects(a.publish(new Uint8Array([3])), CacheError);
    assert.throws(() => a.subscribe(recorder().subscriber), CacheError);
  });

  it("reports down() then up() when the server is killed and restarted, publish failing meanwhile", async () => {
    const channel = channelName();
    await using bus = new RedisBus({ url: server.url, channel, timeout: TIMEOUT });
    await using other = new RedisBus({ url: server.url, channel, timeout: TIMEOUT });
    const seen = recorder();
    bus.subscribe(seen.subscriber);
    await bus.subscribed();
    await server.kill();
    await seen.until(() => seen.log.includes("down"), "down()");
    assert.equal(bus.connected, false);
    const started = performance.now();
    await assert.rejects(bus.publish(new Uint8Array([1])), (error: unknown) => {
      assert(error instanceof CacheError);
      assert.match(error.message, /^Cannot publish on RedisBus: the subscriber connection is down/);
      return true;
    });
    // The other bus never subscribed, so it tries Redis and gives up within its timeout.
    await assert.rejects(other.publish(new Uint8Array([1])), CacheError);
    assert.ok(performance.now() - started <= BOUND, `publish while down took ${performance.now() - started} ms`);
    await server.restart();
    await seen.until(() => seen.log.includes("up"), "up()");
    assert.deepEqual(seen.log, ["down", "up"]);
    // up() comes after the SUBSCRIBE reply: a message published now is delivered.
    await publishSoon(other, new Uint8Array([9]));
    await seen.until(() => seen.messages.length === 1, "a message after up()");
    assert.deepEqual(seen.log, ["down", "up", "message 1"]);
  });

  it("reports down() then up() when only its subscriber connection is killed (CLIENT KILL TYPE pubsub)", async () => {
    const channel = channelName();
    await using bus = new RedisBus({ url: server.url, channel, timeout: TIMEOUT });
    const seen = recorder();
    bus.subscribe(seen.subscriber);
    await bus.subscribed();
    await using admin = new RedisCacheBackend({ url: server.url, timeout: TIMEOUT });
    const killed = await (admin.client as Redis).call("CLIENT", "KILL", "TYPE", "pubsub");
    assert.ok(Number(killed) >= 1);
    await seen.until(() => seen.log.length >= 2, "down() and up()");
    assert.deepEqual(seen.log, ["down", "up"]);
    assert.equal(bus.connected, true);
    await bus.publish(new Uint8Array([7, 7]));
    await seen.until(() => seen.messages.length === 1, "a message after up()");
    assert.deepEqual(seen.messages, [[7, 7]]);
  });

  it("reports down() when the server is unreachable at start, and up() once it answers", async () => {
    await server.kill();
    try {
      await using bus = new RedisBus({ url: server.url, channel: channelName(), timeout: TIMEOUT });
      const seen = recorder();
      bus.subscribe(seen.subscriber);
      await bus.subscribed();
      assert.deepEqual(seen.log, ["down"]);
      const started = performance.now();
      await assert.rejects(bus.publish(new Uint8Array([1])), CacheError);
      assert.ok(performance.now() - started <= BOUND);
      await server.restart();
      await seen.until(() => seen.log.includes("up"), "up()");
      assert.deepEqual(seen.log, ["down", "up"]);
      await publishSoon(bus, new Uint8Array([4]));
      await seen.until(() => seen.messages.length === 1, "a message after up()");
    } finally {
      await server.restart().catch(() => {});
    }
  });

  it("fails publish with a CacheError within the timeout when the server stops answering", async () => {
    const channel = channelName();
    await using bus = new RedisBus({ url: server.url, channel, timeout: TIMEOUT });
    await bus.publish(new Uint8Array([1]));
    server.pause(true);
    try {
      const started = performance.now();
      await assert.rejects(bus.publish(new Uint8Array([2])), (error: unknown) => {
        assert(error instanceof CacheError && error.cause !== undefined);
        return true;
      });
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= TIMEOUT - 150 && elapsed <= BOUND, `publish failed after ${Math.round(elapsed)} ms`);
    } finally {
      server.pause(false);
    }
  });

  it("made from a backend: publishes on its client, subscribes on a duplicate, channel named after its prefix", async () => {
    const prefix = `cachet-test:${crypto.randomUUID()}:`;
    await using backend = new RedisCacheBackend({ url: server.url, prefix, timeout: TIMEOUT });
    await using bus = new RedisBus(backend);
    await using peer = new RedisBus({ url: server.url, channel: `cachet:bus:${prefix}`, timeout: TIMEOUT });
    assert.equal(bus.channel, `cachet:bus:${prefix}`);
    const seen = recorder();
    bus.subscribe(seen.subscriber);
    await bus.subscribed();
    await peer.publish(new Uint8Array([5]));
    await bus.publish(new Uint8Array([6]));
    await seen.until(() => seen.messages.length === 2, "two messages");
    assert.deepEqual(seen.messages, [[5], [6]]);
    await bus.close();
    assert.equal(backend.closed, false, "closing the bus leaves the backend open");
    await backend.set("k", new Uint8Array([1]), 5);
    assert.deepEqual(await backend.get("k"), new Uint8Array([1]));
    await backend.delete("k");
    const custom = new RedisBus(backend, { channel: "custom", timeout: 100 });
    assert.equal(custom.channel, "custom");
    await backend.close();
    await assert.rejects(custom.publish(new Uint8Array([1])), /the backend it publishes through is closed/);
    await custom.close();
  });

  it("made from a backend: the default channel differs per prefix and per database, so they never cross-evict", async () => {
    const prefix = `cachet-test:${crypto.randomUUID()}:`;
    const made = [`${server.url}/0`, `${server.url}/3`, `${server.url}/13`].map((url) =>
      new RedisCacheBackend({ url, prefix, timeout: TIMEOUT })
    );
    const other = new RedisCacheBackend({ url: server.url, prefix: `${prefix}2:`, timeout: TIMEOUT });
    const channels = [...made, other].map((backend) => new RedisBus(backend).channel);
    assert.deepEqual(channels, [
      `cachet:bus:${prefix}`,
      `cachet:bus@3:${prefix}`,
      `cachet:bus@13:${prefix}`,
      `cachet:bus:${prefix}2:`,
    ]);
    // A bus on db 3 does not hear one on db 0 with the same prefix (pub/sub channels span the databases).
    await using zero = new RedisBus(made[0]);
    await using three = new RedisBus(made[1]);
    const seen = recorder();
    three.subscribe(seen.subscriber);
    await three.subscribed();
    await zero.publish(new Uint8Array([1]));
    await three.publish(new Uint8Array([2]));
    await seen.until(() => seen.messages.length === 1, "its own message");
    await sleep(100);
    assert.deepEqual(seen.messages, [[2]]);
    for (const backend of [...made, other]) await backend.close();
  });

  it("refuses bad options with a TypeError or RangeError", async () => {
    const create = /^Cannot create RedisBus: /;
    const fails = (fn: () => unknown, type: typeof TypeError) =>
      assert.throws(fn, (error: unknown) => error instanceof type && create.test((error as Error).message));
    fails(() => new RedisBus({ url: server.url, chanel: "x" } as unknown as object), TypeError);
    fails(() => new RedisBus({ url: server.url, channel: 1 as unknown as string }), TypeError);
    fails(() => new RedisBus({ url: server.url, channel: "\uD800" }), TypeError);
    fails(() => new RedisBus({ url: server.url, timeout: -1 }), RangeError);
    fails(() => new RedisBus({ url: server.url, timeout: 30 * 86_400_000 }), RangeError); // over 2^31 - 1 ms
    fails(() => new RedisBus({ url: server.url, timeout: "1" as unknown as number }), TypeError);
    fails(() => new RedisBus({ url: 42 as unknown as string }), TypeError);
    fails(() => new RedisBus(null as unknown as object), TypeError);
    fails(() => new RedisBus({ url: server.url }, { channel: "x" }), TypeError);
    assert.throws(() => new RedisBus({ url: "http://127.0.0.1" }), /Cannot create RedisBus: url must be a redis/);
    await using backend = new RedisCacheBackend({ url: server.url, timeout: TIMEOUT });
    fails(() => new RedisBus(backend, { url: server.url } as unknown as object), TypeError);
    await using bus = new RedisBus({ url: server.url, timeout: TIMEOUT });
    assert.throws(() => bus.subscribe({ message() {} } as unknown as BusSubscriber), /missing down, up/);
    await assert.rejects(bus.publish("x" as unknown as Uint8Array), TypeError);
  });

  it("lets the process exit within 2 s after close()", async () => {
    const { command, args } = runtimeCommand(fileURLToPath(new URL("./_redis_bus_child.ts", import.meta.url)));
    const child = spawn(command, [...args, server.url, channelName()], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (chunk) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // Starting a runtime takes a while on a loaded machine: time from the moment it reports close().
    for (let i = 0; i < 300 && !out.includes("closed") && child.exitCode === null; i++) await sleep(50);
    assert.match(out, /closed/);
    const code = await Promise.race([exited, sleep(2_000).then(() => "hung")]);
    if (code === "hung") child.kill("SIGKILL");
    assert.equal(code, 0, "the child exited within 2 s of close()");
  });
});

describe("RedisBus on a Redis Cluster", { skip: redisServerSkip() }, () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startRedisCluster(3);
  });
  after(() => cluster.stop());

  it("delivers between buses connected through different nodes", async () => {
    const channel = channelName();
    const buses = cluster.servers.map((s) =>
      new RedisBus({ url: `redis://127.0.0.1:${s.port}`, channel, timeout: 2_000 })
    );
    try {
      // Plain clients on different nodes stand for a cluster's pub/sub: PUBLISH reaches every node.
      const clusterBackend = new RedisCacheBackend({ client: cluster.client, prefix: "bus:" });
      const viaCluster = new RedisBus(clusterBackend, { channel, timeout: 2_000 });
      const seen = [...buses, viaCluster].map((bus) => {
        const r = recorder();
        bus.subscribe(r.subscriber);
        return r;
      });
      await Promise.all([...buses, viaCluster].map((bus) => bus.subscribed()));
      assert.ok([...buses, viaCluster].every((bus) => bus.connected));
      await buses[0].publish(new Uint8Array([1]));
      await buses[2].publish(new Uint8Array([2]));
      await viaCluster.publish(new Uint8Array([3]));
      for (const r of seen) await r.until(() => r.messages.length === 3, "three messages");
      for (const r of seen) assert.deepEqual(r.messages.map((m) => m[0]).sort(), [1, 2, 3]);
      await viaCluster.close();
    } finally {
      await Promise.all(buses.map((bus) => bus.close()));
    }
  });
});
