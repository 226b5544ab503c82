import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import process from "node:process";
import type { Redis } from "ioredis";
import { RedisBus, RedisCacheBackend, RedisLock } from "../backends/redis/mod.ts";
import { CacheError, CacheSettingsValidationError } from "../errors.ts";
import { TTLCache } from "../ttl_cache.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { backendConformance } from "./_backend_conformance.ts";
import {
  deletePrefix,
  rawClient,
  REDIS_URL,
  type RedisServer,
  redisServerSkip,
  sharedRedisSkip,
  startRedisServer,
  uniquePrefix,
} from "./_redis_server.ts";

const skip = await sharedRedisSkip();
const bytes = (...values: number[]) => new Uint8Array(values);

if (skip) {
  test("RedisCacheBackend conformance", { skip }, () => {});
} else {
  backendConformance("RedisCacheBackend", {
    create: () => new RedisCacheBackend({ url: REDIS_URL, prefix: uniquePrefix("conformance") }),
    dispose: async (backend) => {
      await backend.clear();
      await (backend as RedisCacheBackend).close();
    },
  });
}

/** Records the commands one client sends, seen by the server through MONITOR. */
async function recordCommands(client: Redis, url: string, fn: () => Promise<void>): Promise<string[][]> {
  await client.ping();
  const info = String(await client.call("CLIENT", "INFO"));
  const addr = /addr=(\S+)/.exec(info)![1];
  const watcher = rawClient(url);
  const monitor = await watcher.monitor();
  const seen: string[][] = [];
  const sentinel = `done-${crypto.randomUUID()}`;
  const finished = new Promise<void>((resolve) => {
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      if (source !== addr) return;
      if (args[0].toLowerCase() === "echo" && args[1] === sentinel) resolve();
      else seen.push(args);
    });
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("MONITOR did not report the commands within 10 s")), 10_000);
  });
  try {
    await fn();
    await client.echo(sentinel);
    await Promise.race([finished, stalled]);
  } finally {
    clearTimeout(timer);
    monitor.disconnect();
    watcher.disconnect();
  }
  return seen;
}

describe("RedisCacheBackend", { skip: skip || redisServerSkip() }, () => {
  let raw: Redis;
  // MONITOR runs on a private server: on the shared one, other clients' traffic
  // (a benchmark, a parallel test file) floods the monitor stream.
  let monitored: RedisServer;
  const cleanup: string[] = [];
  before(async () => {
    raw = rawClient();
    monitored = await startRedisServer();
  });
  after(async () => {
    for (const prefix of cleanup) await deletePrefix(raw, prefix);
    raw.disconnect();
    await monitored?.stop();
  });
  const prefixed = (name: string) => {
    const prefix = uniquePrefix(name);
    cleanup.push(prefix);
    return prefix;
  };

  test("RedisCacheBackend applies the prefix to every command and sets PX = ceil(ttl × 1000)", async () => {
    const prefix = prefixed("commands");
    const client = rawClient(monitored.url);
    await using backend = new RedisCacheBackend({ client, prefix });
    try {
      const commands = await recordCommands(client, monitored.url, async () => {
        await backend.set("a", bytes(1), 30);
        await backend.set("b", bytes(2), 0.5);
        await backend.set("c", bytes(3), 0.0011); // ceil: 2 ms (below 0.001 s is a RangeError)
        await backend.set("d", bytes(4), 1.0001);
        await backend.get("a");
        await backend.delete("b");
        await backend.clear();
      });
      const sets = commands.filter((c) => c[0].toLowerCase() === "set");
      assert.deepEqual(sets.map((c) => [c[1], c[3], c[4]]), [
        [`${prefix}a`, "PX", "30000"],
        [`${prefix}b`, "PX", "500"],
        [`${prefix}c`, "PX", "2"],
        [`${prefix}d`, "PX", "1001"],
      ]);
      const names = commands.map((c) => c[0].toLowerCase());
      assert.deepEqual(names.filter((n) => n !== "unlink"), ["set", "set", "set", "set", "get", "scan"]);
      for (const command of commands) {
        if (command[0].toLowerCase() === "scan") {
          assert.deepEqual(command.slice(2, 4), ["MATCH", `${prefix}*`]);
        } else {
          for (const key of command.slice(1, command[0].toLowerCase() === "set" ? 2 : undefined)) {
            assert.ok(key.startsWith(prefix), `${command.join(" ")} lacks the prefix`);
          }
        }
      }
    } finally {
      client.disconnect();
    }
  });

  test("RedisCacheBackend.set() lets Redis expire the key after ceil(ttl × 1000) ms", async () => {
    const prefix = prefixed("pttl");
    await using backend = new RedisCacheBackend({ url: REDIS_URL, prefix });
    await backend.set("long", bytes(1), 30);
    await backend.set("half", bytes(1), 0.5);
    const long = await raw.pttl(`${prefix}long`);
    const half = await raw.pttl(`${prefix}half`);
    assert.ok(long > 29_000 && long <= 30_000, `PTTL ${long}`);
    assert.ok(half > 0 && half <= 500, `PTTL ${half}`);
  });

  test("RedisCacheBackend.set() refuses a ttl longer than 2^53 - 1 ms instead of shortening it", async () => {
    const prefix = prefixed("huge");
    await using backend = new RedisCacheBackend({ url: REDIS_URL, prefix });
    await backend.set("k", bytes(1), 60);
    for (const ttl of [1e300, Number.MAX_VALUE, 9007199254741, 1e13]) {
      await assert.rejects(backend.set("k", bytes(2), ttl), {
        name: "RangeError",
        message: new RegExp(
          `ttl must be at most 9007199254740\\.991 seconds .*: received ${String(ttl).replace("+", "\\+")}`,
        ),
      });
    }
    assert.deepEqual([...(await backend.get("k"))!], [1], "a refused set() changes nothing");
    const pttl = await raw.pttl(`${prefix}k`);
    assert.ok(pttl > 0 && pttl <= 60_000, `PTTL ${pttl}`);
    try {
      // The longest ttl accepted is sent exactly.
      await backend.set("max", bytes(3), 9007199254740.991);
      assert.ok(await raw.pttl(`${prefix}max`) > 9e15, "the maximum ttl is kept");
    } finally {
      // Deleted at once: a run killed before the after() hook must not leave an immortal key.
      await backend.delete("max");
    }
  });

  test("RedisCacheBackend.set() sends PX = the whole milliseconds of the ttl, without float noise", async () => {
    const prefix = prefixed("px-sweep");
    const client = rawClient(monitored.url);
    await using backend = new RedisCacheBackend({ client, prefix });
    // Whole milliseconds as seconds: 1 ms to 100 s in odd steps, and the values float noise pushed up a ms.
    const wholeMs = [2007, 1, 7, 9, 13, 29, 57, 1001, 1003, 4011, 8191, 16_777, 65_537, 99_999, 100_003];
    for (let ms = 1; ms <= 100_000; ms += 97) wholeMs.push(ms);
    try {
      const commands = await recordCommands(client, monitored.url, async () => {
        await Promise.all(wholeMs.map((ms, i) => backend.set(`k${i}`, bytes(1), ms / 1000)));
        await backend.set("sub", bytes(1), 2.0071);
      });
      const px = new Map(commands.filter((c) => c[0].toLowerCase() === "set").map((c) => [c[1], c[4]]));
      const wrong = wholeMs.filter((ms, i) => px.get(`${prefix}k${i}`) !== String(ms));
      assert.deepEqual(wrong.map((ms) => [ms / 1000, px.get(`${prefix}k${wholeMs.indexOf(ms)}`)]), []);
      assert.equal(px.get(`${prefix}sub`), "2008", "a fraction of a millisecond still rounds up");
    } finally {
      await backend.clear();
      client.disconnect();
    }
  });

  test("RedisCacheBackend.get() returns a plain Uint8Array", async () => {
    await using backend = new RedisCacheBackend({ url: REDIS_URL, prefix: prefixed("plain") });
    await backend.set("k", bytes(7, 8), 5);
    const got = await backend.get("k");
    assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype);
    assert.deepEqual([...got!], [7, 8]);
  });

  test("RedisCacheBackend.clear() deletes 1,500 keys with SCAN and batched UNLINKs", async () => {
    const prefix = prefixed("many");
    const client = rawClient(monitored.url);
    await using backend = new RedisCacheBackend({ client, prefix });
    try {
      await Promise.all(Array.from({ length: 1500 }, (_, i) => backend.set(`k${i}`, bytes(i % 256), 60)));
      const commands = await recordCommands(client, monitored.url, () => backend.clear());
      const unlinks = commands.filter((c) => c[0].toLowerCase() === "unlink");
      assert.ok(unlinks.length >= 2, `${unlinks.length} UNLINK commands: clear() should batch`);
      assert.equal(unlinks.reduce((sum, c) => sum + c.length - 1, 0), 1500);
      assert.ok(commands.filter((c) => c[0].toLowerCase() === "scan").length >= 2);
      const [, left] = await client.scan("0", "MATCH", `${prefix}*`, "COUNT", 10_000);
      assert.deepEqual(left, []);
      assert.equal(await backend.get("k0"), undefined);
      assert.equal(await backend.get("k1499"), undefined);
    } finally {
      client.disconnect();
    }
  });

  test("RedisCacheBackend.clear() with no keys sends no UNLINK", async () => {
    const client = rawClient(monitored.url);
    await using backend = new RedisCacheBackend({ client, prefix: prefixed("empty") });
    try {
      const commands = await recordCommands(client, monitored.url, () => backend.clear());
      assert.deepEqual(commands.map((c) => c[0].toLowerCase()), ["scan"]);
    } finally {
      client.disconnect();
    }
  });

  test("RedisCacheBackend prefixes alpha: and beta: are isolated", async () => {
    const base = prefixed("iso");
    await using alpha = new RedisCacheBackend({ url: REDIS_URL, prefix: `${base}alpha:` });
    await using beta = new RedisCacheBackend({ url: REDIS_URL, prefix: `${base}beta:` });
    await alpha.set("k", bytes(1), 60);
    await beta.set("k", bytes(2), 60);
    assert.deepEqual([...(await alpha.get("k"))!], [1]);
    assert.deepEqual([...(await beta.get("k"))!], [2]);
    await alpha.clear();
    assert.equal(await alpha.get("k"), undefined);
    assert.deepEqual([...(await beta.get("k"))!], [2]);
    await beta.delete("k");
    assert.equal(await beta.get("k"), undefined);
  });

  test("RedisCacheBackend.clear() escapes glob characters in the prefix", async () => {
    const base = prefixed("glob");
    // Each neighbour matches the prefix read as an unescaped glob, so a naive clear() would delete it.
    const cases: [string, string][] = [["x*:", "xyz:"], ["x?:", "xy:"], ["[x]:", "x:"], ["x\\:", "x:"]];
    for (const [prefix, neighbour] of cases) {
      await raw.set(`${base}${neighbour}k`, "keep", "PX", 60_000);
      await using backend = new RedisCacheBackend({ url: REDIS_URL, prefix: `${base}${prefix}` });
      await backend.set("k", bytes(1), 60);
      await backend.clear();
      assert.equal(await backend.get("k"), undefined, prefix);
      assert.equal(await raw.get(`${base}${neighbour}k`), "keep", `clear() of ${prefix} deleted ${neighbour}k`);
    }
  });

  test('RedisCacheBackend refuses a prefix another prefix could nest in (no closing ":"), naming the fix', () => {
    for (const prefix of ["app", "tenant1", "a\\", "x:y", ":a"]) {
      assert.throws(() => new RedisCacheBackend({ url: REDIS_URL, prefix }), (error: Error) => {
        assert.ok(error instanceof TypeError, prefix);
        assert.ok(error.message.includes(`prefix must end with ":"`), error.message);
        assert.ok(error.message.includes(`received ${JSON.stringify(prefix)}`), error.message);
        assert.ok(error.message.includes(`pass ${JSON.stringify(`${prefix}:`)}`), error.message);
        return true;
      });
    }
    // The empty prefix and any prefix ending with ":" are taken.
    for (const prefix of ["", ":", "app:", "a\\:"]) new RedisCacheBackend({ url: REDIS_URL, prefix }).close();
  });

  test("RedisCacheBackend: clear() and keys of app:, tenant1: and a\\: never reach app2:, tenant10: and a\\b:", async () => {
    const base = prefixed("nest");
    for (const [mine, other] of [["app:", "app2:"], ["tenant1:", "tenant10:"], ["a\\:", "a\\b:"]]) {
      await using a = new RedisCacheBackend({ url: REDIS_URL, prefix: `${base}${mine}` });
      await using b = new RedisCacheBackend({ url: REDIS_URL, prefix: `${base}${other}` });
      await b.set("secret", bytes(7), 60);
      await a.set("k", bytes(1), 60);
      // What a key of `a` would need to be to land on b's "secret" if the prefixes nested.
      const reach = `${other.slice(mine.length - 1)}secret`;
      assert.equal(await a.get(reach), undefined, `${mine} read ${other}secret through ${reach}`);
      await a.clear();
      assert.equal(await a.get("k"), undefined);
      assert.deepEqual(await b.get("secret"), bytes(7), `clear() of ${mine} deleted ${other}secret`);
    }
  });

  test("RedisCacheBackend.clear() refuses an empty prefix without allowClearAll", async () => {
    const mine = prefixed("bystander");
    await raw.set(`${mine}k`, "keep", "PX", 60_000);
    await using backend = new RedisCacheBackend({ url: REDIS_URL });
    await assert.rejects(backend.clear(), (error: Error) => {
      assert.ok(error instanceof CacheError);
      assert.match(error.message, /prefix is empty.*allowClearAll: true/);
      return true;
    });
    assert.equal(await raw.get(`${mine}k`), "keep");
  });

  describe("on a private server", { skip: redisServerSkip() }, () => {
    let server: RedisServer;
    before(async () => {
      server = await startRedisServer(["--requirepass", "s3cret"]);
    });
    after(() => server.stop());

    test("RedisCacheBackend with an empty prefix and allowClearAll: true wipes the database but not held locks", async () => {
      await using backend = new RedisCacheBackend({
        url: `redis://:s3cret@127.0.0.1:${server.port}/2`,
        allowClearAll: true,
      });
      await backend.set("a", bytes(1), 60);
      await (backend.client as Redis).set("not-ours", "x");
      await new RedisLock(backend).withLock("k", async () => {
        await backend.clear();
        assert.equal(await (backend.client as Redis).dbsize(), 1, "only the lock is left");
        await assert.rejects(new RedisLock(backend, { waitTimeout: 100 }).withLock("k", () => Promise.resolve()));
      });
      assert.equal(await (backend.client as Redis).dbsize(), 0);
    });

    test("RedisCacheBackend: a database the server refuses fails every call, and nothing lands in database 0", async () => {
      const url = `redis://:s3cret@127.0.0.1:${server.port}`;
      await using backend = new RedisCacheBackend({ url: `${url}/99`, prefix: "db99:", timeout: 1_000 });
      // Both made while connecting: the write was queued before the server answered the SELECT.
      const [set, get] = await Promise.allSettled([backend.set("k", bytes(1), 60), backend.get("k")]);
      for (const outcome of [set, get]) {
        assert.equal(outcome.status, "rejected");
        const error = (outcome as PromiseRejectedResult).reason as Error;
        assert.ok(error instanceof CacheError, String(error));
        assert.match(error.message, /^Cannot (set in|get from) RedisCacheBackend: the server refused database 99 /);
      }
      await assert.rejects(backend.connect(), /refused database 99/);
      await assert.rejects(backend.set("k", bytes(1), 60), /refused database 99/);
      const check = rawClient(`${url}/0`);
      try {
        assert.equal(await check.exists("db99:k"), 0, "nothing written to db 0 instead");
      } finally {
        check.disconnect();
      }
    });

    test("RedisCacheBackend reads REDIS_HOST, REDIS_PORT, REDIS_DB and REDIS_PASSWORD", async () => {
      await withEnv({
        REDIS_HOST: "127.0.0.1",
        REDIS_PORT: String(server.port),
        REDIS_DB: "3",
        REDIS_PASSWORD: "s3cret",
      }, async () => {
        await using backend = new RedisCacheBackend({ prefix: "env:" });
        await backend.set("k", bytes(5), 60);
        const check = rawClient(`redis://:s3cret@127.0.0.1:${server.port}/3`);
        try {
          assert.equal(await check.exists("env:k"), 1, "written to db 3 with the password");
        } finally {
          check.disconnect();
        }
      });
    });

    test("RedisCacheBackend takes ioredis host/port options instead of a url, ignoring the environment", async () => {
      await withEnv({ REDIS_URL: "http://ignored", REDIS_HOST: "ignored" }, async () => {
        await using backend = new RedisCacheBackend({
          host: "127.0.0.1",
          port: server.port,
          password: "s3cret",
          db: 4,
          prefix: "direct:",
        });
        await backend.set("k", bytes(6), 60);
        const check = rawClient(`redis://:s3cret@127.0.0.1:${server.port}/4`);
        try {
          assert.equal(await check.exists("direct:k"), 1);
        } finally {
          check.disconnect();
        }
      });
    });

    test("RedisCacheBackend with a wrong password rejects with a CacheError", async () => {
      await using backend = new RedisCacheBackend({ url: `redis://:wrong@127.0.0.1:${server.port}`, timeout: 1000 });
      await assert.rejects(backend.get("k"), (error: Error) => {
        assert.ok(error instanceof CacheError);
        assert.ok(!error.message.includes("wrong"), "never echoes the password");
        return true;
      });
    });
  });

  test("RedisCacheBackend reads REDIS_URL when no url is given", async () => {
    await withEnv({ REDIS_URL }, async () => {
      const prefix = prefixed("env-url");
      await using backend = new RedisCacheBackend({ prefix });
      await backend.set("k", bytes(1), 60);
      assert.equal(await raw.exists(`${prefix}k`), 1);
    });
  });

  test("RedisCacheBackend and RedisBus with envPrefix read CACHE_REDIS_URL, not REDIS_URL", async () => {
    // REDIS_URL points nowhere: only the prefixed variable may be read.
    await withEnv({ REDIS_URL: "redis://127.0.0.1:1", CACHE_REDIS_URL: REDIS_URL }, async () => {
      const prefix = prefixed("env-prefix");
      await using backend = new RedisCacheBackend({ prefix, envPrefix: "CACHE_REDIS_", timeout: 2_000 });
      await backend.set("k", bytes(1), 60);
      assert.equal(await raw.exists(`${prefix}k`), 1);
      await using bus = new RedisBus({ envPrefix: "CACHE_REDIS_", channel: `${prefix}bus`, timeout: 2_000 });
      await bus.publish(new Uint8Array([1]));
    });
    const url = new URL(REDIS_URL);
    await withEnv({
      REDIS_HOST: "127.0.0.1",
      REDIS_PORT: "1",
      APP_CACHE_HOST: url.hostname,
      APP_CACHE_PORT: url.port || "6379",
    }, async () => {
      const prefix = prefixed("env-prefix-host");
      await using backend = new RedisCacheBackend({ prefix, envPrefix: "APP_CACHE_", timeout: 2_000 });
      await backend.set("k", bytes(2), 60);
      assert.equal(await raw.exists(`${prefix}k`), 1);
    });
  });

  test("RedisCacheBackend envPrefix: bad values and variables are named, with the prefix", async () => {
    await withEnv({ CACHE_REDIS_HOST: "127.0.0.1", CACHE_REDIS_PORT: "abc" }, () => {
      assert.throws(() => new RedisCacheBackend({ envPrefix: "CACHE_REDIS_" }), (error: Error) => {
        assert.ok(error instanceof CacheSettingsValidationError);
        assert.match(error.message, /CACHE_REDIS_PORT must be an integer from 1 to 65535: received "abc"/);
        return true;
      });
      return Promise.resolve();
    });
    await withEnv({ REDIS_URL }, () => {
      assert.throws(
        () => new RedisCacheBackend({ envPrefix: "NOPE_" }),
        /no Redis server configured; pass the url option, or set NOPE_URL .* or NOPE_HOST with optional NOPE_PORT/,
      );
      return Promise.resolve();
    });
    const create = /^Cannot create RedisCacheBackend: /;
    for (
      const [options, pattern] of [
        [{ envPrefix: 1 }, /envPrefix must be a string: received 1/],
        [{ envPrefix: "cache-redis" }, /envPrefix must be letters, digits and underscores.*received "cache-redis"/],
        [{ envPrefix: "1X_" }, /envPrefix must be letters/],
        [{ envPrefix: "X_", url: REDIS_URL }, /envPrefix has no effect with url/],
        [{ envPrefix: "X_", host: "127.0.0.1" }, /envPrefix has no effect with host/],
        [{ envPrefix: "X_", client: raw }, /client cannot be combined with envPrefix/],
      ] as const
    ) {
      assert.throws(() => new RedisCacheBackend(options as never), (error: Error) => {
        assert.ok(error instanceof TypeError, `${pattern}: ${error}`);
        assert.match(error.message, create);
        assert.match(error.message, pattern);
        return true;
      });
    }
  });

  test("RedisCacheBackend with only REDIS_HOST defaults to port 6379 and db 0", async () => {
    await withEnv({ REDIS_HOST: "127.0.0.1" }, async () => {
      await using backend = new RedisCacheBackend();
      const options = (backend.client as Redis).options;
      assert.equal(options.host, "127.0.0.1");
      assert.equal(options.port, 6379);
      assert.equal(options.db, 0);
      assert.equal(options.password ?? undefined, undefined);
    });
  });

  test("RedisCacheBackend explains a missing, conflicting or invalid environment without echoing passwords", async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /no Redis server configured; pass the url option, or set REDIS_URL .* or REDIS_HOST/],
      [{ REDIS_URL, REDIS_HOST: "127.0.0.1" }, /both REDIS_URL and REDIS_HOST are set; unset one/],
      [{ REDIS_URL: "http://user:hunter2@127.0.0.1:6379" }, /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
      [{ REDIS_URL: "redis://:hunter2@127.0.0.1:6379/abc" }, /database in REDIS_URL must be a non-negative/],
      [{ REDIS_HOST: "h", REDIS_PORT: "abc", REDIS_PASSWORD: "hunter2" }, /REDIS_PORT must be an integer from 1/],
      [{ REDIS_HOST: "h", REDIS_PORT: "70000" }, /REDIS_PORT must be an integer from 1 to 65535: received "70000"/],
      [{ REDIS_HOST: "h", REDIS_DB: "one", REDIS_PASSWORD: "hunter2" }, /REDIS_DB must be an integer from 0/],
      [
        { REDIS_URL: "redis://:hunter2@127.0.0.1:notaport/0" },
        /the port in REDIS_URL must be an integer from 1 to 65535 .*: received "notaport" in "redis:\/\/\*\*\*@127/,
      ],
      [{ REDIS_URL: "redis://u:hun:ter2@h:0" }, /the port in REDIS_URL .*: received "0"/],
    ];
    for (const [env, message] of cases) {
      await withEnv(env, () => {
        assert.throws(() => new RedisCacheBackend(), (error: Error) => {
          assert.ok(error instanceof CacheSettingsValidationError, error.message);
          assert.match(error.message, message);
          assert.ok(!error.message.includes("hunter2"), `password echoed: ${error.message}`);
          return true;
        });
        return Promise.resolve();
      });
    }
  });

  test("new RedisCacheBackend() rejects bad options, naming the value", () => {
    const client = rawClient();
    try {
      const cases: [unknown, string, RegExp][] = [
        ["redis://x", "TypeError", /options must be an object: received "redis:\/\/x"/],
        [{ url: 6379 }, "TypeError", /url must be a string: received 6379/],
        [{ url: "http://localhost" }, "CacheSettingsValidationError", /url must be a redis:\/\/ or rediss:\/\//],
        [{ url: "redis://:pw@" }, "CacheSettingsValidationError", /received "redis:\/\/\*\*\*@"/],
        [{ url: "localhost:6379" }, "CacheSettingsValidationError", /received "localhost:6379"/],
        [
          { url: "redis://:hunter2@localhost:notaport" },
          "CacheSettingsValidationError",
          /^Cannot create RedisCacheBackend: the port in url must be an integer from 1 to 65535 \(as in redis:\/\/localhost:6379\/0\): received "notaport" in "redis:\/\/\*\*\*@localhost:notaport"; fix the url option$/,
        ],
        [{ url: "redis://h:70000/0" }, "CacheSettingsValidationError", /the port in url .*: received "70000"/],
        [{ url: "redis://p@ss:w/rd@h:6x79" }, "CacheSettingsValidationError", /the port in url .*: received "6x79"/],
        [{ url: "redis://[::1]:65536" }, "CacheSettingsValidationError", /the port in url .*: received "65536"/],
        [{ url: REDIS_URL, prefix: "t\uD800:" }, "TypeError", /prefix must be a well-formed string .*lone surrogate/],
        [{ url: REDIS_URL, prefx: "x:" }, "TypeError", /unknown option "prefx" \(did you mean prefix\?\)/],
        [{ url: REDIS_URL, timeOut: 5 }, "TypeError", /unknown option "timeOut" \(did you mean timeout\?\)/],
        [
          { url: REDIS_URL, connectTimeOut: 5 },
          "TypeError",
          /unknown option "connectTimeOut" \(did you mean connectTimeout\?\)/,
        ],
        [{ url: REDIS_URL, keyPrefix: "x:" }, "TypeError", /unknown option "keyPrefix" \(did you mean prefix\?\)/],
        [{ url: REDIS_URL, allowClearALL: true }, "TypeError", /did you mean allowClearAll\?/],
        [{ url: REDIS_URL, prefix: 1 }, "TypeError", /prefix must be a string: received 1/],
        [{ url: REDIS_URL, timeout: "1s" }, "TypeError", /timeout must be a finite number > 0 .*: received "1s"/],
        [{ url: REDIS_URL, timeout: 0 }, "RangeError", /timeout must be a finite number > 0 .*: received 0/],
        [{ url: REDIS_URL, timeout: 2 ** 31 }, "RangeError", /timeout must be at most 2147483647 ms/],
        [{ url: REDIS_URL, timeout: Infinity }, "RangeError", /received Infinity/],
        [{ url: REDIS_URL, allowClearAll: "yes" }, "TypeError", /allowClearAll must be a boolean: received "yes"/],
        [{ client: {} }, "TypeError", /client \(an ioredis Redis or Cluster\) must be an object with methods/],
        [{ client: "redis://x" }, "TypeError", /client .* received "redis:\/\/x"/],
        [{ client, url: REDIS_URL }, "TypeError", /client cannot be combined with url/],
        [
          { client, timeout: 5, lazyConnect: false },
          "TypeError",
          /client cannot be combined with timeout, lazyConnect/,
        ],
      ];
      for (const [options, name, message] of cases) {
        assert.throws(() => new RedisCacheBackend(options as never), (error: Error) => {
          assert.equal(error.name, name, error.message);
          assert.match(error.message, message);
          assert.ok(!error.message.includes("hunter2") && !error.message.includes("ss:w/rd"), error.message);
          return true;
        }, JSON.stringify(options));
      }
      // ioredis' own option names pass, whether or not ioredis has a default for them.
      const backend = new RedisCacheBackend({
        url: REDIS_URL,
        connectionName: "cachet-test",
        keepAlive: 1000,
        tls: undefined,
        username: undefined,
        enableAutoPipelining: false,
        retryStrategy: () => null,
      });
      void backend.close();
    } finally {
      client.disconnect();
    }
  });

  test("RedisCacheBackend rejects bad arguments with named errors and writes nothing", async () => {
    const prefix = prefixed("args");
    await using backend = new RedisCacheBackend({ url: REDIS_URL, prefix });
    await backend.set("k", bytes(1), 60);
    await assert.rejects(backend.get(1 as never), { name: "TypeError", message: /key must be a string: received 1/ });
    await assert.rejects(backend.set("k", "v" as never, 1), {
      name: "TypeError",
      message: /value must be a Uint8Array: received "v"/,
    });
    for (const ttl of [0, -1, NaN, Infinity]) {
      await assert.rejects(backend.set("k", bytes(2), ttl), { name: "RangeError", message: /ttl must be/ });
    }
    await assert.rejects(backend.delete(null as never), { name: "TypeError" });
    assert.deepEqual([...(await backend.get("k"))!], [1], "failed writes change nothing");
  });

  test("RedisCacheBackend refuses keys with a lone surrogate, which UTF-8 would merge, and stores nothing", async () => {
    const prefix = prefixed("surrogate");
    await using backend = new RedisCacheBackend({ url: REDIS_URL, prefix });
    // Both would reach Redis as "y\uFFFD": the key a well-formed "y\uFFFD" has.
    await backend.set("y\uFFFD", bytes(1), 60);
    const message = /key must be a well-formed string .*lone surrogate at code point 1/;
    for (const key of ["y\uD800", "y\uDFFF"]) {
      await assert.rejects(backend.set(key, bytes(2), 60), { name: "TypeError", message });
      await assert.rejects(backend.get(key), { name: "TypeError", message });
      await assert.rejects(backend.delete(key), { name: "TypeError", message });
    }
    assert.deepEqual([...(await backend.get("y\uFFFD"))!], [1], "the well-formed key's entry is untouched");
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, found] = await raw.scanBuffer(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next.toString();
      keys.push(...found.map((key) => key.toString()));
    } while (cursor !== "0");
    assert.deepEqual(keys, [`${prefix}y\uFFFD`]);
    assert.deepEqual([...(await raw.getBuffer(Buffer.from(`${prefix}y\uFFFD`)))!], [1]);
  });

  test("RedisCacheBackend.close() answers the calls made just before it, even in the same tick", async () => {
    const prefix = prefixed("drain");
    await raw.set(`${prefix}k`, "v", "PX", 60_000);
    for (const connected of [false, true]) {
      const backend = new RedisCacheBackend({ url: REDIS_URL, prefix });
      if (connected) await backend.connect();
      const got = backend.get("k");
      const set = backend.set(`written-${connected}`, bytes(3), 60);
      const deleted = backend.delete("absent");
      const closed = backend.close();
      assert.deepEqual([...(await got)!], [...Buffer.from("v")], `connected first: ${connected}`);
      await set;
      await deleted;
      await closed;
      assert.equal((backend.client as Redis).status, "end");
      assert.equal(await raw.exists(`${prefix}written-${connected}`), 1);
      await assert.rejects(backend.get("k"), /the backend is closed/);
    }
  });

  test("RedisCacheBackend closes what it owns, keeps a borrowed client open, and fails once closed", async () => {
    const client = rawClient();
    try {
      const borrowed = new RedisCacheBackend({ client, prefix: prefixed("borrowed") });
      await borrowed.set("k", bytes(1), 60);
      await borrowed.close();
      assert.equal(client.status, "ready", "a borrowed client stays open");
      await assert.rejects(borrowed.get("k"), { name: "CacheError", message: /get .*: the backend is closed/ });

      let owned: RedisCacheBackend;
      {
        await using backend = new RedisCacheBackend({ url: REDIS_URL, prefix: prefixed("owned") });
        owned = backend;
        await backend.connect();
        assert.equal((backend.client as Redis).status, "ready");
      }
      assert.equal(owned.closed, true);
      assert.equal((owned.client as Redis).status, "end");
      for (const op of [() => owned.set("k", bytes(1), 1), () => owned.delete("k"), () => owned.clear()]) {
        await assert.rejects(op(), (error: Error) => error instanceof CacheError && /closed/.test(error.message));
      }
      await assert.rejects(owned.connect(), CacheError);
      await owned.close();
    } finally {
      client.disconnect();
    }
  });

  test("RedisCacheBackend serves a TTLCache shared by two instances", async () => {
    const prefix = prefixed("shared");
    await using one = new RedisCacheBackend({ url: REDIS_URL, prefix });
    await using two = new RedisCacheBackend({ url: REDIS_URL, prefix });
    const writer = new TTLCache({ backend: one, serializer: new JsonSerializer() });
    const reader = new TTLCache({ backend: two, serializer: new JsonSerializer() });
    await writer.set("user:1", { name: "Ada" }, 30);
    assert.deepEqual(await reader.get("user:1"), { name: "Ada" });
  });
});

/** Runs `fn` with exactly the given REDIS_* variables set, restoring them afterwards. */
async function withEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const names = [
    ...new Set(["REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_PASSWORD", ...Object.keys(vars)]),
  ];
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  try {
    for (const name of names) {
      if (vars[name] === undefined) delete process.env[name];
      else process.env[name] = vars[name];
    }
    await fn();
  } finally {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
}
