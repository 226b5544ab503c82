// RedisTracking: an l1 kept coherent by the Redis server's own invalidations (CLIENT TRACKING, BCAST), against
// private redis-server processes (killed, frozen, flushed) and the machine's shared server (own prefixes only).
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { setImmediate } from "node:timers";
import { Cluster, type Redis } from "ioredis";
import { TTLCache } from "../mod.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { RedisCacheBackend, RedisTracking } from "../backends/redis/mod.ts";
import type { BusSubscriber } from "../bus.ts";
import { CacheError } from "../errors.ts";
import {
  deletePrefix,
  freePort,
  rawClient,
  REDIS_URL,
  type RedisServer,
  redisServerSkip,
  sharedRedisSkip,
  sleep,
  startRedisServer,
  uniquePrefix,
} from "./_redis_server.ts";

const LATENCY_BOUND_MS = 50;
const TIMEOUT = 500;

/** A subscriber that logs "down", "up" and the messages (decoded), and waits for a condition. */
function recorder() {
  const log: string[] = [];
  const subscriber: BusSubscriber = {
    message: (bytes) => void log.push(new TextDecoder().decode(bytes)),
    down: () => void log.push("down"),
    up: () => void log.push("up"),
  };
  return { log, subscriber };
}

/** Polls `test` every 2 ms until it holds, at most `ms`. */
async function until(test: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out (${ms} ms) waiting for ${what}`);
    await sleep(2);
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

/** Counts the backend's reads (its get/getMany, patched on the instance). */
function countReads(backend: RedisCacheBackend): { readonly count: number } {
  const counter = { count: 0 };
  const get = backend.get.bind(backend);
  const getMany = backend.getMany.bind(backend);
  backend.get = (key) => (counter.count++, get(key));
  backend.getMany = (keys) => (counter.count++, getMany(keys));
  return counter;
}

/** A tracking cache over `url` and `prefix`, with what it opened. */
async function trackingCache(url: string, prefix: string) {
  const backend = new RedisCacheBackend({ url, prefix, timeout: TIMEOUT });
  const tracking = new RedisTracking(backend, { timeout: TIMEOUT, checkInterval: 200 });
  const cache = new TTLCache<unknown>({
    backend,
    bus: tracking,
    l1: { maxSize: 1_000 },
    serializer: new JsonSerializer(),
  });
  const { log, subscriber } = recorder();
  tracking.subscribe(subscriber);
  await tracking.subscribed();
  assert.ok(tracking.connected, `tracking did not come up: ${log}`);
  return {
    backend,
    tracking,
    cache,
    log,
    async close() {
      await cache.close();
      await tracking.close();
      await backend.close();
    },
  };
}

/**
 * A loopback TCP proxy to `port` whose open connections can be cut silently (bytes dropped both ways, sockets left
 * open), as a middlebox that forgets a connection does; connections opened afterwards pass.
 */
async function startProxy(port: number): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const pairs: { client: Socket; upstream: Socket; cut: boolean }[] = [];
  const server: Server = createServer((client) => {
    const pair = { client, upstream: connect(port, "127.0.0.1"), cut: false };
    pairs.push(pair);
    client.on("data", (chunk) => pair.cut || pair.upstream.write(chunk));
    pair.upstream.on("data", (chunk) => pair.cut || client.write(chunk));
    for (const socket of [client, pair.upstream]) {
      socket.on("error", () => {});
      socket.on("close", () => {
        pair.client.destroy();
        pair.upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      for (const pair of pairs) pair.cut = true;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("RedisTracking: options and arguments", () => {
  const backend = new RedisCacheBackend({ url: "redis://127.0.0.1:1", prefix: "p:", timeout: TIMEOUT });
  after(() => backend.close());

  it("refuses what is not a RedisCacheBackend, unknown options and bad durations", () => {
    assert.throws(
      () => new RedisTracking({} as RedisCacheBackend),
      (e: Error) => e instanceof TypeError && /backend must be a RedisCacheBackend: received/.test(e.message),
    );
    assert.throws(
      () => new RedisTracking(backend, { noloop: true } as never),
      (e: Error) => e instanceof TypeError && /noloop/.test(e.message),
    );
    assert.throws(
      () => new RedisTracking(backend, "x" as never),
      (e: Error) => e instanceof TypeError && /Cannot create RedisTracking/.test(e.message),
    );
    for (
      const [name, value] of [["timeout", -1], ["timeout", NaN], ["checkInterval", 0], [
        "checkInterval",
        2 ** 31,
      ]] as const
    ) {
      assert.throws(
        () => new RedisTracking(backend, { [name]: value }),
        (e: Error) => e instanceof RangeError && e.message.includes(name),
        `${name}: ${value}`,
      );
    }
    assert.throws(
      () => new RedisTracking(backend, { checkInterval: "1" as never }),
      (e: Error) => e instanceof TypeError && /checkInterval/.test(e.message),
    );
  });

  it("says clearly that a Redis Cluster is not supported yet", async () => {
    const client = new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true });
    const clustered = new RedisCacheBackend({ client, prefix: "p:" });
    assert.throws(
      () => new RedisTracking(clustered),
      (e: Error) => e instanceof TypeError && /Redis Cluster backend is not supported yet/.test(e.message),
    );
    client.disconnect();
    await clustered.close();
  });

  it("checks publish() and subscribe() arguments, and refuses subscribe() once closed", async () => {
    const tracking = new RedisTracking(backend, { timeout: TIMEOUT });
    await tracking.publish(new Uint8Array(1));
    await assert.rejects(tracking.publish("x" as never), TypeError);
    assert.throws(() => tracking.subscribe({ message() {} } as never), TypeError);
    await tracking.close();
    assert.ok(tracking.closed);
    assert.throws(() => tracking.subscribe({ message() {}, down() {}, up() {} }), CacheError);
  });
});

describe("RedisTracking against a private redis-server", { skip: redisServerSkip() }, () => {
  let server: RedisServer;
  let admin: Redis;
  before(async () => {
    server = await startRedisServer();
    admin = rawClient(server.url);
  });
  after(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it("is down until tracking is on, then up; messages name the keys and records written under the prefix", async () => {
    const prefix = uniquePrefix("tracking-messages");
    const backend = new RedisCacheBackend({ url: server.url, prefix, timeout: TIMEOUT });
    const tracking = new RedisTracking(backend, { timeout: TIMEOUT });
    const { log, subscriber } = recorder();
    tracking.subscribe(subscriber);
    assert.deepEqual(log, ["down"]);
    assert.equal(tracking.connected, false);
    await tracking.subscribed();
    assert.deepEqual(log, ["down", "up"]);
    await admin.set(`${prefix}a`, "1");
    await admin.set("outside:the:prefix", "1");
    await until(() => log.length >= 4, "the messages");
    await sleep(50);
    const messages = log.slice(2).map((text) => JSON.parse(text));
    assert.deepEqual(messages.map(({ k, r, c, p, v }) => ({ k, r, c, p, v })), [
      { k: ["a"], r: undefined, c: undefined, p: backend.scope, v: 2 },
      { k: undefined, r: ["a"], c: undefined, p: backend.scope, v: 2 },
    ]);
    assert.match(messages[0].s, /^redis-tracking:/);
    await tracking.close();
    await backend.close();
  });

  it(`a raw SET/DEL by another client reaches l1 within ${LATENCY_BOUND_MS} ms p99 under 1,000 reads/s`, async () => {
    const prefix = uniquePrefix("tracking-latency");
    const reader = await trackingCache(server.url, prefix);
    // Bytes a cache would write (the envelope), made by a plain cache under another prefix and copied raw.
    const staging = new RedisCacheBackend({ url: server.url, prefix: uniquePrefix("staging"), timeout: TIMEOUT });
    const plain = new TTLCache<unknown>({ backend: staging, serializer: new JsonSerializer() });
    const WRITES = 150;
    const keys = ["k0", "k1", "k2"];
    const envelopes: Buffer[] = [];
    for (let i = 0; i <= WRITES; i++) {
      await plain.set("v", i, 300);
      envelopes.push((await admin.getBuffer(`${staging.prefix}v`))!);
    }
    const measure = async () => {
      for (const key of keys) await admin.set(`${prefix}${key}`, envelopes[0]);
      const expected = new Map<string, { value: number | undefined; at: number }>();
      const latencies: number[] = [];
      let reads = 0;
      let stop = false;
      const began = Date.now();
      const loop = (async () => {
        while (!stop) {
          for (const key of keys) {
            const value = await reader.cache.get(key) as number | undefined;
            reads++;
            const wanted = expected.get(key);
            if (wanted !== undefined && value === wanted.value) {
              latencies.push(performance.now() - wanted.at);
              expected.delete(key);
            }
          }
          // Lets the socket replies in (l1 hits alone would only run microtasks), at about 2,000 reads/s.
          if (reads > (Date.now() - began) * 2) await sleep(1);
          else await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      for (const key of keys) await until(async () => (await reader.cache.get(key)) === 0, `${key} read once`);
      for (let i = 1; i <= WRITES; i++) {
        const key = keys[i % keys.length];
        const value = i % 5 === 0 ? undefined : i;
        if (value === undefined) await admin.del(`${prefix}${key}`);
        else await admin.set(`${prefix}${key}`, envelopes[i]);
        expected.set(key, { value, at: performance.now() });
        await sleep(10);
      }
      await sleep(200);
      stop = true;
      await loop;
      const rate = reads / ((Date.now() - began) / 1000);
      const missed = [...expected.keys()];
      const sorted = latencies.sort((a, b) => a - b);
      const p50 = percentile(sorted, 0.5);
      const p99 = percentile(sorted, 0.99);
      console.log(
        `raw write -> l1 reader sees it (tracking): n=${sorted.length} p50=${p50.toFixed(1)} ms ` +
          `p99=${p99.toFixed(1)} ms max=${sorted.at(-1)!.toFixed(1)} ms at ${Math.round(rate)} reads/s`,
      );
      return { p99, rate, missed, seen: sorted.length };
    };
    try {
      let result = await measure();
      // One retry of the measurement: a 2-core machine shared with other jobs can stall a process for a while.
      if (result.p99 > LATENCY_BOUND_MS || result.rate < 1_000) {
        console.log("p99 or read rate off the bound: measuring once more");
        result = await measure();
      }
      // Every write was seen (a write later overwritten unseen is replaced by the next one of its key).
      assert.deepEqual(result.missed, []);
      assert.ok(result.seen >= WRITES * 0.9, `${result.seen} of ${WRITES} writes seen`);
      assert.ok(result.rate >= 1_000, `the reader made ${Math.round(result.rate)} reads/s, fewer than 1,000`);
      assert.ok(result.p99 <= LATENCY_BOUND_MS, `p99 ${result.p99} ms > ${LATENCY_BOUND_MS} ms`);
    } finally {
      await reader.close();
      await staging.close();
    }
  });

  it("serves 1,000 gets of an unchanged key from l1 (no backend read)", async () => {
    const reader = await trackingCache(server.url, uniquePrefix("tracking-hits"));
    try {
      await reader.cache.set("k", { n: 1 }, 300);
      assert.deepEqual(await reader.cache.get("k"), { n: 1 });
      // Its own write was reported by the server too: the copy is read again once, then kept.
      await sleep(100);
      assert.deepEqual(await reader.cache.get("k"), { n: 1 });
      const reads = countReads(reader.backend);
      for (let i = 0; i < 1_000; i++) assert.deepEqual(await reader.cache.get("k"), { n: 1 });
      assert.equal(reads.count, 0);
    } finally {
      await reader.close();
    }
  });

  it("a read that raced an invalidation does not fill l1", async () => {
    const prefix = uniquePrefix("tracking-race");
    const reader = await trackingCache(server.url, prefix);
    const writerBackend = new RedisCacheBackend({ url: server.url, prefix, timeout: TIMEOUT });
    const writer = new TTLCache<unknown>({ backend: writerBackend, serializer: new JsonSerializer() });
    try {
      await writer.set("k", 1, 300);
      // The reader's next read gets its reply from the server, then waits until the write is heard.
      let release = () => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      const { backend } = reader;
      const get = backend.get.bind(backend);
      let replied = () => {};
      const hasReply = new Promise<void>((resolve) => (replied = resolve));
      backend.get = async (key) => {
        const bytes = await get(key);
        replied();
        await held;
        return bytes;
      };
      const heard = reader.log.length;
      const racing = reader.cache.get("k");
      await hasReply;
      await writer.set("k", 2, 300);
      await until(() => reader.log.slice(heard).some((m) => m.includes('"k":["k"]')), "the invalidation");
      release();
      // The racing read returns what the server held when it ran; l1 keeps nothing of it.
      assert.equal(await racing, 1);
      backend.get = get;
      assert.equal(await reader.cache.get("k"), 2);
    } finally {
      await reader.close();
      await writer.close();
      await writerBackend.close();
    }
  });

  // The writer takes the l1 generation before its write is sent (EntryStore.write): a later write by another client,
  // heard before this write's reply, stops the writer's fill.
  it("a write that raced another client's later write does not fill the writer's l1", async () => {
    const prefix = uniquePrefix("tracking-write-race");
    const writer = await trackingCache(server.url, prefix);
    try {
      const { backend } = writer;
      const set = backend.set.bind(backend);
      // The writer's SET reaches Redis, then its reply waits until another client's later write has been heard.
      backend.set = async (key, value, ttl) => {
        await set(key, value, ttl);
        const heard = writer.log.length;
        await admin.del(`${prefix}k`);
        await until(() => writer.log.slice(heard).some((m) => m.includes('"k":["k"]')), "the other write");
      };
      await writer.cache.set("k", 1, 300);
      backend.set = set;
      // Redis holds nothing: the writer's l1 must not hold the value its own write put there before.
      assert.equal(await writer.cache.get("k"), undefined);
    } finally {
      await writer.close();
    }
  });

  for (const which of ["subscriber", "control"] as const) {
    it(`CLIENT KILL of the ${which} connection: down, then up with tracking on again, and no stale value after`, async () => {
      const prefix = uniquePrefix(`tracking-kill-${which}`);
      const reader = await trackingCache(server.url, prefix);
      const writerBackend = new RedisCacheBackend({ url: server.url, prefix, timeout: TIMEOUT });
      const writer = new TTLCache<unknown>({ backend: writerBackend, serializer: new JsonSerializer() });
      try {
        await writerBackend.connect();
        await reader.cache.set("k", 1, 300);
        await sleep(50);
        assert.equal(await reader.cache.get("k"), 1);
        const list = String(await admin.call("CLIENT", "LIST"));
        const lines = list.split("\n").filter((line) =>
          which === "subscriber" ? /\bsub=1\b/.test(line) : /\bflags=\S*t/.test(line)
        );
        assert.equal(lines.length, 1, `the ${which} connection in:\n${list}`);
        const id = /^id=(\d+)/.exec(lines[0])![1];
        const ups = reader.log.filter((l) => l === "up").length;
        await admin.client("KILL", "ID", id);
        // Written while tracking is broken (the retry waits 50 ms at least): this invalidation is lost; only
        // dropping l1 on up() saves the reader.
        await writer.set("k", 2, 300);
        assert.equal(reader.log.filter((l) => l === "up").length, ups, "the write came after tracking was back");
        await until(() => reader.log.filter((l) => l === "up").length > ups, "up() again");
        assert.ok(reader.log.includes("down"));
        assert.ok(reader.tracking.connected);
        assert.equal(await reader.cache.get("k"), 2);
        // Tracking is on again with the new redirect: a later write is heard.
        await writer.set("k", 3, 300);
        await until(async () => (await reader.cache.get("k")) === 3, "the write after reconnecting", 2_000);
        const after = String(await admin.call("CLIENT", "LIST"));
        assert.equal(after.split("\n").filter((line) => /\bflags=\S*t/.test(line)).length, 1, after);
      } finally {
        await reader.close();
        await writer.close();
        await writerBackend.close();
      }
    });
  }

  it("a silent cut of its connections is noticed by the health check: down, up again, and the write made meanwhile seen", async () => {
    const prefix = uniquePrefix("tracking-cut");
    const proxy = await startProxy(server.port);
    // The cache reads Redis directly; only the tracking goes through the proxy (same prefix: the same scope).
    const backend = new RedisCacheBackend({ url: server.url, prefix, timeout: TIMEOUT });
    const proxied = new RedisCacheBackend({ url: `redis://127.0.0.1:${proxy.port}`, prefix, timeout: TIMEOUT });
    const tracking = new RedisTracking(proxied, { timeout: TIMEOUT, checkInterval: 200 });
    const cache = new TTLCache<unknown>({
      backend,
      bus: tracking,
      l1: { maxSize: 10 },
      serializer: new JsonSerializer(),
    });
    const { log, subscriber } = recorder();
    tracking.subscribe(subscriber);
    try {
      await tracking.subscribed();
      await cache.set("k", 1, 300);
      await sleep(50);
      assert.equal(await cache.get("k"), 1);
      const reads = countReads(backend);
      assert.equal(await cache.get("k"), 1);
      assert.equal(reads.count, 0, "the copy is in l1");
      proxy.cut();
      const cutAt = performance.now();
      // Another process writes meanwhile: its invalidation is lost with the cut connections.
      const other = new RedisCacheBackend({ url: server.url, prefix, timeout: TIMEOUT });
      await new TTLCache<unknown>({ backend: other, serializer: new JsonSerializer() }).set("k", 2, 300);
      await other.close();
      await until(async () => (await cache.get("k")) === 2, "the write made during the cut", 5_000);
      const took = performance.now() - cutAt;
      assert.ok(log.includes("down") && log.lastIndexOf("up") > log.indexOf("down"), `log: ${log.join(", ")}`);
      assert.ok(took < 200 + TIMEOUT + 1_000, `seen ${Math.round(took)} ms after the cut`);
    } finally {
      await cache.close();
      await tracking.close();
      await backend.close();
      await proxied.close();
      await proxy.close();
    }
  });

  it("FLUSHDB drops every l1 copy", async () => {
    const reader = await trackingCache(server.url, uniquePrefix("tracking-flush"));
    try {
      for (let i = 0; i < 10; i++) await reader.cache.set(`k${i}`, i, 300);
      await sleep(50);
      for (let i = 0; i < 10; i++) assert.equal(await reader.cache.get(`k${i}`), i);
      const messages = reader.log.length;
      await admin.flushdb();
      await until(() => reader.log.slice(messages).some((m) => m.includes('"c":true')), "the flush");
      for (let i = 0; i < 10; i++) assert.equal(await reader.cache.get(`k${i}`), undefined);
    } finally {
      await reader.close();
    }
  });
});

describe("RedisTracking faults on a private redis-server", { skip: redisServerSkip() }, () => {
  it("close() returns promptly when Redis was killed, and when it is frozen", async () => {
    for (const fault of ["kill", "freeze"] as const) {
      const server = await startRedisServer();
      try {
        const backend = new RedisCacheBackend({ url: server.url, prefix: "p:", timeout: TIMEOUT });
        const tracking = new RedisTracking(backend, { timeout: TIMEOUT, checkInterval: 100 });
        const { log, subscriber } = recorder();
        tracking.subscribe(subscriber);
        await tracking.subscribed();
        assert.ok(tracking.connected);
        if (fault === "kill") await server.kill();
        else server.pause(true);
        // Killed: the sockets close; frozen: the health check fails within checkInterval + timeout.
        await until(() => log.includes("down") && log.lastIndexOf("down") > log.indexOf("up"), "down()", 5_000);
        assert.equal(tracking.connected, false);
        const start = performance.now();
        await tracking.close();
        const took = performance.now() - start;
        assert.ok(took < TIMEOUT + 1_000, `close() took ${Math.round(took)} ms`);
        server.pause(false);
        await backend.close();
      } finally {
        await server.stop();
      }
    }
  });

  it("reports down() when the server is unreachable from the start, and close() returns at once", async () => {
    const port = await freePort();
    const backend = new RedisCacheBackend({ url: `redis://127.0.0.1:${port}`, prefix: "p:", timeout: TIMEOUT });
    const tracking = new RedisTracking(backend, { timeout: TIMEOUT });
    const { log, subscriber } = recorder();
    tracking.subscribe(subscriber);
    await tracking.subscribed();
    assert.deepEqual(log, ["down"]);
    assert.equal(tracking.connected, false);
    const start = performance.now();
    await tracking.close();
    assert.ok(performance.now() - start < TIMEOUT, "close() waited");
    await backend.close();
  });
});

describe("RedisTracking on the shared Redis", { skip: await sharedRedisSkip() }, () => {
  it("hears deleteTags and namespace clear() made by a cache with no bus", async () => {
    const prefix = uniquePrefix("tracking-records");
    const reader = await trackingCache(REDIS_URL, prefix);
    const writerBackend = new RedisCacheBackend({ url: REDIS_URL, prefix, timeout: TIMEOUT });
    const writer = new TTLCache<unknown>({ backend: writerBackend, serializer: new JsonSerializer() });
    const admin = rawClient();
    try {
      await writer.set("tagged", 1, { ttl: 300, tags: ["t"] });
      await writer.namespace("ns").set("inner", 2, 300);
      await sleep(50);
      assert.equal(await reader.cache.get("tagged"), 1);
      assert.equal(await reader.cache.namespace("ns").get("inner"), 2);
      const reads = countReads(reader.backend);
      assert.equal(await reader.cache.get("tagged"), 1);
      assert.equal(await reader.cache.namespace("ns").get("inner"), 2);
      assert.equal(reads.count, 0, "both copies are served from l1");
      await writer.deleteTags(["t"]);
      await writer.namespace("ns").clear();
      await until(async () => (await reader.cache.get("tagged")) === undefined, "deleteTags heard", 2_000);
      await until(async () => (await reader.cache.namespace("ns").get("inner")) === undefined, "clear() heard", 2_000);
    } finally {
      await reader.close();
      await writer.close();
      await writerBackend.close();
      await deletePrefix(admin, prefix);
      admin.disconnect();
    }
  });

  it("two caches over one backend in one process hear each other's writes (no NOLOOP)", async () => {
    const prefix = uniquePrefix("tracking-shared-backend");
    const backend = new RedisCacheBackend({ url: REDIS_URL, prefix, timeout: TIMEOUT });
    const tracking = new RedisTracking(backend, { timeout: TIMEOUT });
    const make = () =>
      new TTLCache<unknown>({ backend, bus: tracking, l1: { maxSize: 10 }, serializer: new JsonSerializer() });
    const [a, b] = [make(), make()];
    const admin = rawClient();
    try {
      await tracking.subscribed();
      await a.set("k", 1, 300);
      await sleep(50);
      assert.equal(await b.get("k"), 1);
      await a.set("k", 2, 300);
      await until(async () => (await b.get("k")) === 2, "b hears a's write", 2_000);
    } finally {
      await a.close();
      await b.close();
      await tracking.close();
      await backend.close();
      await deletePrefix(admin, prefix);
      admin.disconnect();
    }
  });
});
