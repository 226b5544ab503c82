import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Cluster, Redis } from "ioredis";
import { type BatchRow, CHUNK, deleteMany, getMany, keySlot, setMany } from "../backends/redis/_batch.ts";
import {
  countWrites,
  deletePrefix,
  rawClient,
  REDIS_URL,
  type RedisCluster,
  type RedisServer,
  redisServerSkip,
  sharedRedisSkip,
  sleep,
  startRedisCluster,
  startRedisServer,
  uniquePrefix,
} from "./_redis_server.ts";

const skip = await sharedRedisSkip();

/** A value unique to `i`, binary (0x00, 0xff, bytes that are not UTF-8) and of varying length, some empty. */
function valueOf(i: number): Uint8Array {
  const length = i % 7 === 0 ? 0 : 1 + (i % 37);
  const out = new Uint8Array(length + 4);
  new DataView(out.buffer).setUint32(0, i);
  for (let j = 0; j < length; j++) out[4 + j] = (i * 31 + j * 17) & 0xff;
  out[4] = length > 0 ? 0xff : out[4];
  // Half are views into a larger buffer, so only the view's bytes may be sent.
  if (i % 2 === 0) return out;
  const padded = new Uint8Array(out.length + 8).fill(0xaa);
  padded.set(out, 4);
  return padded.subarray(4, 4 + out.length);
}

const rowsFor = (keys: readonly string[], ms = 60_000, from = 0): BatchRow[] =>
  keys.map((key, i) => ({ key, value: valueOf(from + i), ms }));

/** Counts the commands the client sends (pipelined ones included) and the keys of each, by name. */
function countCommands(client: Redis | Cluster): { names: string[]; argCounts: number[]; restore(): void } {
  const seen = { names: [] as string[], argCounts: [] as number[] };
  const original = client.sendCommand;
  // deno-lint-ignore no-explicit-any
  (client as any).sendCommand = function (command: { name: string; args: unknown[] }, ...rest: unknown[]) {
    seen.names.push(command.name);
    seen.argCounts.push(command.args.length);
    // deno-lint-ignore no-explicit-any
    return (original as any).call(this, command, ...rest);
  };
  return {
    ...seen,
    restore() {
      client.sendCommand = original;
    },
  };
}

function assertPlainView(value: Uint8Array | undefined): void {
  assert.ok(value !== undefined);
  assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype, "a plain Uint8Array, not a Buffer");
}

/** A batch read of keys MGET must measure in bytes (UTF-8), keys too long to keep, repeats, and over 1,024 others. */
async function keyShapes(client: Redis | Cluster, cleanup: (prefix: string) => Promise<void>): Promise<void> {
  const prefix = uniquePrefix("batch-shapes");
  try {
    const odd = [`${prefix}clé`, `${prefix}鍵🔑`, `${prefix}${"é".repeat(200)}`, `${prefix}${"x".repeat(300)}`];
    const many = Array.from({ length: 1_100 }, (_, i) => `${prefix}m${i}`);
    const keys = [...odd, ...many];
    await setMany(client, rowsFor(keys));
    // Twice: the second read sends the bulk strings kept by the first (and by the clear when over 1,024).
    for (let round = 0; round < 2; round++) {
      const asked = [...odd, odd[1], `${prefix}absent-é`, ...odd];
      const got = await getMany(client, asked);
      const expected = [0, 1, 2, 3, 1, -1, 0, 1, 2, 3];
      for (const [i, at] of expected.entries()) {
        assert.deepEqual(got[i] && [...got[i]!], at === -1 ? undefined : [...valueOf(at)], `${round}: value ${i}`);
      }
      const all = await getMany(client, keys);
      for (const [i, value] of all.entries()) assert.deepEqual([...value!], [...valueOf(i)], `${round}: key ${i}`);
    }
  } finally {
    await cleanup(prefix);
  }
}

/** The tests every client kind must pass; `client()` is called once the suite's before() hook has run. */
function batchSuite(client: () => Redis | Cluster, cleanup: (prefix: string) => Promise<void>): void {
  test("round trip over keys in many slots: order kept, misses undefined, bytes exact, deletes targeted", async () => {
    const prefix = uniquePrefix("batch");
    try {
      const keys = Array.from({ length: 300 }, (_, i) => `${prefix}k${i}`);
      // Over 100 slots whatever the random prefix (300 such keys hit 200 to 300 slots in 20,000 draws; a bound of 250
      // failed 0.8% of them).
      assert.ok(new Set(keys.map((k) => keySlot(k))).size > 100, "the keys spread over many slots");
      await setMany(client(), rowsFor(keys));

      // Asked in a scrambled order, with absent keys and a repeated key among them.
      const order = [...keys.keys()].sort((a, b) => ((a * 7919) % 300) - ((b * 7919) % 300));
      const asked: string[] = [];
      const expected: (Uint8Array | undefined)[] = [];
      for (const [n, i] of order.entries()) {
        asked.push(keys[i]);
        expected.push(valueOf(i));
        if (n % 10 === 0) {
          asked.push(`${prefix}absent${n}`);
          expected.push(undefined);
        }
      }
      asked.push(keys[5]);
      expected.push(valueOf(5));
      const got = await getMany(client(), asked);
      assert.equal(got.length, asked.length);
      for (let i = 0; i < got.length; i++) {
        assert.deepEqual(got[i] && [...got[i]!], expected[i] && [...expected[i]!], `value ${i} (${asked[i]})`);
        if (expected[i] !== undefined) assertPlainView(got[i]);
      }
      assert.equal(got.filter((v) => v?.length === 4).length, keys.filter((_, i) => i % 7 === 0).length);

      // Deleting every third key (and some absent keys) leaves the others.
      const doomed = keys.filter((_, i) => i % 3 === 0);
      await deleteMany(client(), [...doomed, `${prefix}never-set`]);
      const after = await getMany(client(), keys);
      for (const [i, value] of after.entries()) {
        if (i % 3 === 0) assert.equal(value, undefined, `key ${i} deleted`);
        else assert.deepEqual([...value!], [...valueOf(i)], `key ${i} kept`);
      }
    } finally {
      await cleanup(prefix);
    }
  });

  test("setMany honours each row's PX and a later row for the same key wins", async () => {
    const prefix = uniquePrefix("batch-ttl");
    try {
      const rows: BatchRow[] = [
        ...Array.from({ length: 20 }, (_, i) => ({ key: `${prefix}long${i}`, value: valueOf(i), ms: 600_000 })),
        ...Array.from({ length: 20 }, (_, i) => ({ key: `${prefix}mid${i}`, value: valueOf(i), ms: 30_000 })),
        ...Array.from({ length: 20 }, (_, i) => ({ key: `${prefix}short${i}`, value: valueOf(i), ms: 80 })),
        { key: `${prefix}dup`, value: valueOf(1), ms: 600_000 },
        { key: `${prefix}dup`, value: valueOf(2), ms: 30_000 },
      ];
      await setMany(client(), rows);
      for (const row of rows.slice(0, 40)) {
        const pttl = await client().pttl(row.key);
        assert.ok(pttl > row.ms - 5_000 && pttl <= row.ms, `PTTL of ${row.key} is ${pttl}, set ${row.ms}`);
      }
      const dupTtl = await client().pttl(`${prefix}dup`);
      assert.ok(dupTtl > 25_000 && dupTtl <= 30_000, `the later row's PX: ${dupTtl}`);
      assert.deepEqual([...(await getMany(client(), [`${prefix}dup`]))[0]!], [...valueOf(2)]);
      await sleep(200);
      const shorts = await getMany(client(), rows.slice(40, 60).map((r) => r.key));
      assert.deepEqual(shorts, Array(20).fill(undefined), "80 ms entries expired");
      const longs = await getMany(client(), rows.slice(0, 20).map((r) => r.key));
      assert.ok(longs.every((v) => v !== undefined));
    } finally {
      await cleanup(prefix);
    }
  });

  test(`5,000 keys in one call go out in commands of at most ${CHUNK} keys`, async () => {
    const prefix = uniquePrefix("batch-big");
    // Half share a hash tag (one slot on a cluster), so chunking is exercised there too.
    const keys = Array.from({ length: 5_000 }, (_, i) => i % 2 ? `${prefix}{tag}k${i}` : `${prefix}k${i}`);
    const spy = countCommands(client());
    try {
      await setMany(client(), rowsFor(keys));
      const got = await getMany(client(), keys);
      for (const [i, value] of got.entries()) assert.deepEqual([...value!], [...valueOf(i)], `key ${i}`);
      await deleteMany(client(), keys);
      assert.deepEqual(await getMany(client(), keys), Array(5_000).fill(undefined));
      for (const [name, calls] of [["mget", 2], ["unlink", 1]] as const) {
        const sizes = spy.argCounts.filter((_, i) => spy.names[i] === name);
        assert.ok(sizes.length >= calls * Math.ceil(5_000 / CHUNK), `${name} split: ${sizes.length} commands`);
        assert.ok(Math.max(...sizes) <= CHUNK, `${name} of at most ${CHUNK} keys: ${Math.max(...sizes)}`);
        assert.equal(sizes.reduce((a, b) => a + b, 0), calls * 5_000, `${name} covered each key once per call`);
      }
      assert.equal(spy.names.filter((n) => n === "set").length, 5_000);
    } finally {
      spy.restore();
      await cleanup(prefix);
    }
  });

  test("keys of every shape read back: multi-byte UTF-8, over 128 chars, repeated, more than 1,024 distinct", async () => {
    await keyShapes(client(), cleanup);
  });

  test("empty lists are no-ops that send nothing", async () => {
    await client().ping();
    const spy = countCommands(client());
    try {
      assert.deepEqual(await getMany(client(), []), []);
      await setMany(client(), []);
      await deleteMany(client(), []);
      assert.deepEqual(spy.names, []);
    } finally {
      spy.restore();
    }
  });
}

describe("Redis batch operations on the shared server", { skip }, () => {
  let client: Redis;
  before(() => {
    client = rawClient();
  });
  after(() => client.quit());
  batchSuite(() => client, (prefix) => deletePrefix(client, prefix));
});

describe("Redis batch operations on an auto-pipelining client (the shared server)", { skip }, () => {
  test("getMany is sent at once, yet never overtakes commands still waiting in the auto-pipeline", async () => {
    const prefix = uniquePrefix("autopipe");
    const client = new Redis(REDIS_URL, { lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 0 });
    const prefixed = new Redis(REDIS_URL, {
      lazyConnect: true,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 0,
      keyPrefix: `${prefix}p:`,
    });
    try {
      await client.ping();
      await prefixed.ping();
      // Nothing queued: the MGET goes out in this tick, outside any pipeline.
      const seen = countCommands(client);
      const first = getMany(client, [`${prefix}a`, `${prefix}b`]);
      assert.deepEqual(seen.names, ["mget"]);
      seen.restore();
      assert.deepEqual(await first, [undefined, undefined]);
      // A SET made just before, not awaited, waits in the auto-pipeline: the batch read must see it.
      const written = client.set(`${prefix}a`, "1");
      const values = await getMany(client, [`${prefix}a`, `${prefix}b`]);
      await written;
      assert.deepEqual(values.map((v) => v && Buffer.from(v).toString()), ["1", undefined]);
      // The client's own keyPrefix applies to a batch sent at once too.
      await client.set(`${prefix}p:c`, "2");
      const viaPrefix = await getMany(prefixed, ["c", "a"]);
      assert.deepEqual(viaPrefix.map((v) => v && Buffer.from(v).toString()), ["2", undefined]);
    } finally {
      await deletePrefix(client, prefix);
      client.disconnect();
      prefixed.disconnect();
    }
  });
});

describe("Redis batch operations on an auto-pipelining client with a keyPrefix (the shared server)", { skip }, () => {
  test("keys of every shape read back", async () => {
    const prefix = uniquePrefix("autopipe-prefix");
    const client = new Redis(REDIS_URL, {
      lazyConnect: true,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 0,
      keyPrefix: `${prefix}ké:`,
    });
    const plain = rawClient();
    try {
      await keyShapes(client, () => deletePrefix(plain, prefix));
      // The client's keyPrefix (multi-byte too) is in front of every key MGET sent.
      await client.set("one", "1");
      assert.equal(await plain.get(`${prefix}ké:one`), "1");
      assert.deepEqual((await getMany(client, ["one"])).map((v) => v && Buffer.from(v).toString()), ["1"]);
    } finally {
      await deletePrefix(plain, prefix);
      client.disconnect();
      plain.disconnect();
    }
  });
});

describe("Redis batch operations on a private server", { skip: redisServerSkip() }, () => {
  let server: RedisServer;
  let client: Redis;
  before(async () => {
    server = await startRedisServer();
    client = rawClient(server.url);
    await client.ping();
  });
  after(async () => {
    client.disconnect();
    await server.stop();
  });

  const callsOf = async (name: string): Promise<number> => {
    const match = new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(await client.info("commandstats"));
    return match ? Number(match[1]) : 0;
  };

  test("a standalone batch of 100 keys is one write and one command (MGET, UNLINK) or one pipeline", async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `one-trip:k${i}`);
    const writes = countWrites(client);
    const measure = async (name: string, op: () => Promise<unknown>): Promise<[writes: number, calls: number]> => {
      const before = await callsOf(name);
      const written = writes.count;
      await op();
      const sent = writes.count - written;
      return [sent, (await callsOf(name)) - before];
    };
    try {
      assert.deepEqual(await measure("set", () => setMany(client, rowsFor(keys))), [1, 100]);
      let values: (Uint8Array | undefined)[] = [];
      assert.deepEqual(await measure("mget", async () => (values = await getMany(client, keys))), [1, 1]);
      assert.ok(values.every((v, i) => Buffer.from(v!).equals(Buffer.from(valueOf(i)))));
      assert.deepEqual(await measure("unlink", () => deleteMany(client, keys)), [1, 1]);
      assert.equal(await client.exists(keys), 0);
    } finally {
      writes.restore();
    }
  });

  test("an error reply rejects with the ioredis error, from a pipeline and from a lone SET", async () => {
    await setMany(client, rowsFor(["oom:kept"]));
    await client.config("SET", "maxmemory-policy", "noeviction");
    await client.config("SET", "maxmemory", "1");
    try {
      await assert.rejects(setMany(client, rowsFor(["oom:a", "oom:b", "oom:c"])), (error: Error) => {
        assert.equal(error.name, "ReplyError");
        assert.match(error.message, /^OOM /);
        return true;
      });
      await assert.rejects(setMany(client, rowsFor(["oom:d"])), /^ReplyError: OOM /);
      // Reads and deletes are still allowed at the memory limit.
      const got = await getMany(client, ["oom:kept", "oom:a"]);
      assert.deepEqual([got[0] && [...got[0]], got[1]], [[...valueOf(0)], undefined]);
      await deleteMany(client, ["oom:kept"]);
    } finally {
      await client.config("SET", "maxmemory", "0");
    }
  });

  test("a server that is down rejects every batch operation with the client's error", async () => {
    const doomed = await startRedisServer();
    const down = new Redis(doomed.url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
    down.on("error", () => {});
    try {
      await setMany(down, rowsFor(["a", "b"]));
      await doomed.kill();
      for (
        const op of [
          () => getMany(down, ["a", "b"]),
          () => setMany(down, rowsFor(["a", "b"])),
          () => setMany(down, rowsFor(["a"])),
          () => deleteMany(down, ["a", "b"]),
        ]
      ) {
        await assert.rejects(op(), (error: Error) => error instanceof Error && error.message.length > 0);
      }
    } finally {
      down.disconnect();
      await doomed.stop();
    }
  });
});

describe("Redis batch operations on a Redis Cluster", { skip: redisServerSkip() }, () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startRedisCluster();
  });
  after(() => cluster?.stop());

  batchSuite(() => cluster.client, async (prefix) => {
    // Private servers: each test's keys are deleted, but nothing else lives there.
    for (const node of cluster.client.nodes("master")) {
      const keys = await node.keys(`${prefix}*`);
      for (const key of keys) await node.unlink(key);
    }
  });

  test("keySlot agrees with CLUSTER KEYSLOT, hash tags and UTF-8 included", async () => {
    const samples = [
      "",
      "a",
      "foo",
      "{user1000}.following",
      "{user1000}.followers",
      "foo{}{bar}",
      "foo{{bar}}zap",
      "foo{bar}{zap}",
      "{",
      "}",
      "{}",
      "a{b",
      "a}b{c}",
      "é{ü}",
      "日本語",
      "emoji 🎉 {🎉}",
      "\u0000\u0001{\u00ff}",
    ];
    for (let i = 0; i < 300; i++) {
      samples.push(
        Array.from(
          { length: i % 40 },
          (_, j) => String.fromCodePoint([65, 123, 125, 233, 0x65e5, 0x1f600][(i * j + j) % 6] + (j % 3)),
        )
          .join(""),
      );
    }
    const node = cluster.client.nodes("master")[0] ?? (await cluster.client.ping(), cluster.client.nodes("master")[0]);
    for (const key of samples) {
      assert.equal(keySlot(key), await node.cluster("KEYSLOT", key), `slot of ${JSON.stringify(key)}`);
    }
  });

  test("the split is needed: raw MGET over several slots fails with CROSSSLOT, getMany does not", async () => {
    const prefix = uniquePrefix("crossslot");
    const keys = [`${prefix}a`, `${prefix}b`, `${prefix}c`];
    assert.ok(new Set(keys.map((k) => keySlot(k))).size > 1);
    await assert.rejects(cluster.client.mgetBuffer(keys), /CROSSSLOT/);
    await setMany(cluster.client, rowsFor(keys));
    assert.equal((await getMany(cluster.client, keys)).filter((v) => v !== undefined).length, 3);
    await deleteMany(cluster.client, keys);
    assert.equal(await cluster.client.exists(keys[0]), 0);
  });

  test("keys are grouped by the slot of the key ioredis sends, with the client's keyPrefix", async () => {
    // With keyPrefix "…x{", the key "7}k123" is sent as "…x{7}k123", whose slot is that of "7": 50 slots in all,
    // where the keys alone would spread over thousands, and a group made from those would mix real slots.
    const prefixed = new Cluster([{ host: "127.0.0.1", port: cluster.servers[0].port }], {
      lazyConnect: true,
      keyPrefix: `${uniquePrefix("kp")}x{`,
    });
    prefixed.on("error", () => {});
    try {
      const keys = Array.from({ length: 3_000 }, (_, i) => `${i % 50}}k${i}`);
      await setMany(prefixed, rowsFor(keys));
      const got = await getMany(prefixed, keys);
      assert.ok(got.every((v, i) => v !== undefined && Buffer.from(v).equals(Buffer.from(valueOf(i)))));
      await deleteMany(prefixed, keys);
      assert.ok((await getMany(prefixed, keys)).every((v) => v === undefined));
    } finally {
      prefixed.disconnect();
    }
  });
});
