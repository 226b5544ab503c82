// The Redis wing with a client of ioredis 6 (the peer range's other major), installed as the dev dependency
// `ioredis-6`. ioredis 6 speaks RESP3 by default, where replies and pushes differ from RESP2's: the rest of the suite
// runs on ioredis 5. Shared server, own prefixes only.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis as Redis6 } from "ioredis-6";
import { TTLCache } from "../mod.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { RedisBus, RedisCacheBackend, RedisTracking } from "../backends/redis/mod.ts";
import type { BusSubscriber } from "../bus.ts";
import { deletePrefix, rawClient, REDIS_URL, sharedRedisSkip, sleep, uniquePrefix } from "./_redis_server.ts";

const skip = await sharedRedisSkip();
const TIMEOUT = 1_000;

/** Polls `test` every 2 ms until it holds, at most `ms`. */
async function until(test: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out (${ms} ms) waiting for ${what}`);
    await sleep(2);
  }
}

describe("the Redis wing with an ioredis 6 client (RESP3)", { skip }, () => {
  let prefix: string;
  let client: Redis6;
  const plain = rawClient();
  before(async () => {
    prefix = uniquePrefix("ioredis6");
    client = new Redis6(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on("error", () => {});
    await client.ping();
    // What makes these tests worth having: the connection speaks RESP3.
    const hello = await client.call("HELLO") as unknown[];
    assert.equal(hello[hello.indexOf("proto") + 1], 3, "ioredis 6 negotiated RESP3");
  });
  after(async () => {
    await deletePrefix(plain, prefix);
    client.disconnect();
    plain.disconnect();
  });

  it("a backend and a cache over it read and write, in batches and tagged", async () => {
    const backend = new RedisCacheBackend({ client, prefix: `${prefix}c:` });
    const cache = new TTLCache<unknown>({ ttl: 60, backend, serializer: new JsonSerializer() });
    await cache.set("a", { n: 1 }, { tags: ["t"] });
    await cache.setMany([{ key: "b", value: [2] }, { key: "c", value: "3" }]);
    assert.deepEqual(await cache.getMany(["a", "b", "c", "d"]), [{ n: 1 }, [2], "3", undefined]);
    assert.deepEqual(await cache.get("a"), { n: 1 });
    await cache.deleteTags(["t"]);
    assert.equal(await cache.get("a"), undefined);
    const raw = new TTLCache<Uint8Array>({ ttl: 60, backend });
    await raw.set("bytes", new Uint8Array([0, 255, 7]));
    assert.deepEqual([...(await raw.get("bytes"))!], [0, 255, 7]);
    assert.ok((await plain.pttl(`${prefix}c:bytes`)) > 50_000, "the TTL was sent");
    await backend.close();
  });

  it("RedisTracking comes up and evicts an l1 copy when another client writes the key", async () => {
    const backend = new RedisCacheBackend({ client, prefix: `${prefix}t:` });
    const tracking = new RedisTracking(backend, { timeout: TIMEOUT, checkInterval: 200 });
    const cache = new TTLCache<unknown>({
      ttl: 60,
      backend,
      bus: tracking,
      l1: { maxSize: 100 },
      serializer: new JsonSerializer(),
    });
    try {
      await tracking.subscribed();
      assert.ok(tracking.connected, "tracking is up");
      await cache.set("k", 1);
      assert.equal(await cache.get("k"), 1);
      // Someone else overwrites the entry (its bytes are another cache's encoding of 2): l1 must let go of 1.
      const otherBackend = new RedisCacheBackend({ url: REDIS_URL, prefix: `${prefix}t:` });
      const other = new TTLCache<unknown>({ ttl: 60, backend: otherBackend, serializer: new JsonSerializer() });
      await other.set("k", 2);
      await until(async () => (await cache.get("k")) === 2, "the l1 copy to be evicted");
      // Still healthy after a health check (CLIENT TRACKINGINFO read as RESP2 on the tracking connections).
      await sleep(450);
      assert.ok(tracking.connected, "tracking is still up after its health checks");
      await other.close();
      await otherBackend.close();
    } finally {
      await cache.close();
      await tracking.close();
      await backend.close();
    }
  });

  it("RedisBus carries messages between two backends' buses", async () => {
    const channel = `${prefix}bus`;
    const backend = new RedisCacheBackend({ client, prefix: `${prefix}b:` });
    const a = new RedisBus(backend, { channel });
    const otherBackend = new RedisCacheBackend({ url: REDIS_URL, prefix: `${prefix}b:` });
    const b = new RedisBus(otherBackend, { channel });
    const got: number[][] = [];
    const subscriber: BusSubscriber = { message: (bytes) => void got.push([...bytes]), down() {}, up() {} };
    b.subscribe(subscriber);
    try {
      await b.subscribed();
      await a.publish(new Uint8Array([4, 2]));
      await until(() => got.length === 1, "the message");
      assert.deepEqual(got, [[4, 2]]);
    } finally {
      await a.close();
      await b.close();
      await backend.close();
      await otherBackend.close();
    }
  });
});
