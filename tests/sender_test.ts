import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { Sender } from "../backends/redis/_sender.ts";
import { Calls } from "../backends/redis/_command_deadline.ts";
import { RedisCacheBackend } from "../backends/redis/mod.ts";
import { countWrites, deletePrefix, rawClient, REDIS_URL, sharedRedisSkip, uniquePrefix } from "./_redis_server.ts";

const skip = await sharedRedisSkip();

const text = (value: Buffer | null) => value?.toString();

/** A Sender whose owner's calls are tracked as RedisCacheBackend tracks them (from when sent). */
function tracked(client: Redis): { sender: Sender; track<T>(reply: Promise<T>): Promise<T> } {
  const calls = new Calls(undefined);
  return { sender: new Sender(client, () => calls.lone), track: (reply) => calls.track(reply, false) };
}

const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("Sender on an auto-pipelining client (the shared server)", { skip }, () => {
  let prefix: string;
  let client: Redis;
  let plain: Redis;
  before(async () => {
    prefix = uniquePrefix("sender");
    client = new Redis(REDIS_URL, { lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 0 });
    plain = rawClient();
    await client.ping();
  });
  after(async () => {
    await deletePrefix(plain, prefix);
    client.disconnect();
    plain.disconnect();
  });

  test("a lone get or set is written at once, not held for the auto-pipeline", async () => {
    const { sender, track } = tracked(client);
    const writes = countWrites(client);
    try {
      const set = track(sender.set(`${prefix}lone`, Buffer.from("v"), 60_000));
      assert.equal(writes.count, 1, "the SET was written in the call");
      await set;
      // The call that just settled was the only one: its caller calling again is still a lone caller.
      const got = track(sender.getBuffer(`${prefix}lone`));
      assert.equal(writes.count, 2, "the GET was written in the call");
      assert.equal(text(await got), "v");
      // Through the client itself, the same GET waits for the auto-pipeline.
      const held = client.getBuffer(`${prefix}lone`);
      assert.equal(writes.count, 2);
      assert.equal(text(await held), "v");
    } finally {
      writes.restore();
    }
  });

  test("of many calls made together, the first is written at once and the rest in one pipeline", async () => {
    const { sender, track } = tracked(client);
    const keys = Array.from({ length: 50 }, (_, i) => `${prefix}many${i}`);
    await Promise.all(keys.map((key, i) => plain.set(key, `v${i}`)));
    const writes = countWrites(client);
    try {
      const replies = keys.map((key) => track(sender.getBuffer(key)));
      assert.equal(writes.count, 1, "only the first went out in the turn");
      assert.deepEqual((await Promise.all(replies)).map(text), keys.map((_, i) => `v${i}`));
      assert.equal(writes.count, 2, "the other 49 shared one write");
      // Right after many settled together, their callers are likely to call again together: pipelined.
      const again = track(sender.getBuffer(keys[0]));
      assert.equal(writes.count, 2, "held for the auto-pipeline");
      assert.equal(text(await again), "v0");
      assert.equal(writes.count, 3);
      // In a later turn, with none in flight, a call is a lone one again.
      await nextTurn();
      const next = track(sender.getBuffer(keys[1]));
      assert.equal(writes.count, 4, "written in the call");
      assert.equal(text(await next), "v1");
    } finally {
      writes.restore();
    }
  });

  test("no command overtakes one made before it and still waiting in the auto-pipeline", async () => {
    const { sender } = tracked(client);
    // A write through the client waits in the auto-pipeline: the read after it must wait there too, and see it.
    const written = client.set(`${prefix}order`, "1");
    const read = sender.getBuffer(`${prefix}order`);
    assert.equal(text(await read), "1");
    await written;
    // A write sent at once, then a read through the client: the read comes after it.
    const direct = sender.set(`${prefix}order`, Buffer.from("2"), 60_000);
    const after = client.getBuffer(`${prefix}order`);
    assert.equal(text(await after), "2");
    await direct;
  });

  test("a string keyPrefix of the client applies to a command sent at once", async () => {
    const prefixed = new Redis(REDIS_URL, {
      lazyConnect: true,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 0,
      keyPrefix: `${prefix}pré:`,
    });
    try {
      await prefixed.ping();
      const { sender } = tracked(prefixed);
      await sender.set("k", Buffer.from("3"), 60_000);
      assert.equal(await plain.get(`${prefix}pré:k`), "3");
      assert.ok((await plain.pttl(`${prefix}pré:k`)) > 50_000, "PX was sent");
      assert.equal(text(await sender.getBuffer("k")), "3");
    } finally {
      prefixed.disconnect();
    }
  });

  test("without an owner's calls to count (a client passed in), the client's own methods", async () => {
    const sender = new Sender(client);
    const writes = countWrites(client);
    try {
      const set = sender.set(`${prefix}own`, Buffer.from("5"), 60_000);
      assert.equal(writes.count, 0, "held for the auto-pipeline, as the client is configured");
      await set;
      assert.equal(text(await sender.getBuffer(`${prefix}own`)), "5");
    } finally {
      writes.restore();
    }
    const { sender: onPlain } = tracked(plain);
    await onPlain.set(`${prefix}plain`, Buffer.from("4"), 60_000);
    assert.equal(text(await onPlain.getBuffer(`${prefix}plain`)), "4");
    assert.equal(text(await onPlain.getBuffer(`${prefix}absent`)), undefined);
  });

  test("RedisCacheBackend writes a lone get or set at once, and concurrent ones in one more write", async () => {
    const backend = new RedisCacheBackend({ url: REDIS_URL, prefix: `${prefix}backend:` });
    try {
      await backend.connect();
      const writes = countWrites(backend.client as Redis);
      try {
        const set = backend.set("k", new Uint8Array([7]), 60);
        assert.equal(writes.count, 1);
        await set;
        const gets = Array.from({ length: 20 }, () => backend.get("k"));
        assert.equal(writes.count, 2, "the first get went out at once");
        assert.deepEqual((await Promise.all(gets)).map((v) => v && [...v]), Array(20).fill([7]));
        assert.equal(writes.count, 3, "the other 19 shared one write");
      } finally {
        writes.restore();
      }
    } finally {
      await backend.close();
    }
  });
});
