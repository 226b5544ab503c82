// PostgresCacheBackend against the machine's PostgreSQL (127.0.0.1:5432): the published conformance cases, a
// TTLCache suite over it, bad input, and faults (a refused port, a frozen link). Each run uses tables of its own and
// drops them at the end.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import postgres from "postgres";
import { PostgresCacheBackend, postgresCacheDdl } from "../backends/postgres.ts";
import type { PostgresClient } from "../backends/postgres.ts";
import { CacheError, CacheSettingsValidationError } from "../errors.ts";
import { TTLCache } from "../ttl_cache.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { backendConformance } from "./_backend_conformance.ts";
import { dropTables, freePort, PG_URL, rawSql, requirePostgres, startProxy, uniqueTable } from "./_postgres.ts";

const bytes = (...values: number[]) => new Uint8Array(values);
const tables = new Set<string>();
const table = (name: string) => {
  const created = uniqueTable(name);
  tables.add(created);
  return created;
};
const shared = table("shared");
let sql: PostgresClient;

before(async () => {
  sql = rawSql();
  await requirePostgres(sql);
});
after(async () => {
  await dropTables(sql, tables);
  await sql.end();
});

async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

backendConformance("PostgresCacheBackend", {
  create: () => new PostgresCacheBackend({ url: PG_URL, table: shared, prefix: crypto.randomUUID() }),
  dispose: async (backend) => {
    await backend.clear();
    await (backend as PostgresCacheBackend).close();
  },
});

describe("PostgresCacheBackend options", () => {
  const create = (options: unknown) => () => new PostgresCacheBackend(options as never);

  test("a table that is not a plain lowercase identifier is a TypeError naming table, before any query", () => {
    const hostile = [
      'x"; DROP TABLE users; --',
      "cache'); DROP TABLE users; --",
      "",
      "Cache",
      "1cache",
      "a.b.c",
      "a..b",
      ".a",
      "a b",
      "caché",
      "a-b",
      "a\0b",
      "x".repeat(49),
      42,
      null,
    ];
    for (const name of hostile) {
      assert.throws(create({ url: PG_URL, table: name }), (error: Error) => {
        assert.ok(error instanceof TypeError, `table ${JSON.stringify(name)}: ${error}`);
        assert.match(error.message, /^Cannot create PostgresCacheBackend: table must be a lowercase SQL identifier/);
        return true;
      });
      if (typeof name === "string") assert.throws(() => postgresCacheDdl(name), TypeError);
    }
    for (const name of ["cachet_cache", "_c1", "public.my_cache", "x".repeat(48)]) {
      assert.equal(new PostgresCacheBackend({ url: PG_URL, table: name }).table, name);
    }
  });

  test("other bad options are named with what is allowed; the options object is left alone", () => {
    const cases: [unknown, new (...args: never[]) => Error, RegExp][] = [
      [undefined, TypeError, /options must be an object with a url or a client/],
      [{}, TypeError, /pass url .* or client/],
      [{ url: PG_URL, tabel: "x" }, TypeError, /unknown option "tabel" \(did you mean table\?\)/],
      [{ url: 5432 }, TypeError, /url must be a string: received 5432/],
      [{ url: "mysql://root:s3cret@db/app" }, CacheSettingsValidationError, /postgres:\/\/ or postgresql:\/\/ URL/],
      [{ url: "postgres://root:s3cret@[::1" }, CacheSettingsValidationError, /url must be a valid URL/],
      [
        { url: "postgres://root:s3cret@db:port/app" },
        CacheSettingsValidationError,
        /received "postgres:\/\/\*\*\*@db:port/,
      ],
      [{ url: PG_URL, client: rawSql() }, TypeError, /client cannot be combined with url/],
      [{ client: { query() {} } }, TypeError, /client must be a client of the postgres driver/],
      [{ url: PG_URL, timeout: 0 }, RangeError, /timeout must be a finite number > 0 \(milliseconds\): received 0/],
      [{ url: PG_URL, timeout: "5s" }, TypeError, /timeout must be a finite number/],
      [{ url: PG_URL, cleanupInterval: -1 }, RangeError, /cleanupInterval must be a finite number >= 0 \(seconds\)/],
      [{ url: PG_URL, cleanupInterval: Infinity }, RangeError, /cleanupInterval/],
      [{ url: PG_URL, unlogged: "yes" }, TypeError, /unlogged must be a boolean/],
      [{ url: PG_URL, prefix: 7 }, TypeError, /prefix must be a string/],
      [{ url: PG_URL, prefix: "a\uD800" }, TypeError, /prefix must be a well-formed string/],
      [{ url: PG_URL, prefix: "é".repeat(501) }, RangeError, /prefix must be at most 1000 bytes in UTF-8/],
    ];
    for (const [options, type, message] of cases) {
      assert.throws(create(options), (error: Error) => {
        assert.ok(error instanceof type, `${JSON.stringify(options)}: ${error}`);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /s3cret/);
        return true;
      });
    }
    const options = Object.freeze({ url: PG_URL, prefix: "p", timeout: 100, cleanupInterval: 0, unlogged: true });
    assert.equal(new PostgresCacheBackend(options).prefix, "p");
  });

  test("bad arguments are refused before any query; a value or batch over 128 MiB writes nothing", async () => {
    await using backend = new PostgresCacheBackend({ url: PG_URL, table: shared, prefix: crypto.randomUUID() });
    await backend.set("k", bytes(1), 60);
    const calls: [() => Promise<unknown>, ErrorConstructor, RegExp][] = [
      [() => backend.get(1 as never), TypeError, /key must be a string/],
      [() => backend.get("\uDC00"), TypeError, /well-formed/],
      [() => backend.set("k", [1] as never, 60), TypeError, /value must be a Uint8Array: received an array/],
      [() => backend.set("k", bytes(1), 0), RangeError, /ttl must be a finite number > 0 \(seconds\)/],
      [() => backend.set("k", bytes(1), 1e13), RangeError, /ttl must be at most 9007199254740.991 seconds/],
      [() => backend.getMany("k" as never), TypeError, /keys must be an array/],
      [() => backend.deleteMany([1] as never), TypeError, /key must be a string/],
      [() => backend.setMany([{ key: "k", value: bytes(2), ttl: 60 }, null] as never), TypeError, /each entry/],
      [() => backend.setMany([{ key: "k", value: bytes(2), ttl: NaN }]), RangeError, /ttl/],
      [() => backend.set("k", new Uint8Array(128 * 1024 * 1024), 60), RangeError, /at most 134217728 bytes/],
      [
        () =>
          backend.setMany([
            { key: "k", value: bytes(2), ttl: 60 },
            { key: "big1", value: new Uint8Array(64 * 1024 * 1024), ttl: 60 },
            { key: "big2", value: new Uint8Array(64 * 1024 * 1024), ttl: 60 },
          ]),
        RangeError,
        /split the batch/,
      ],
    ];
    for (const [call, type, message] of calls) {
      await assert.rejects(call, (error: Error) => {
        assert.ok(error instanceof type, `${call}: ${error}`);
        assert.match(error.message, message);
        return true;
      });
    }
    assert.deepEqual(await backend.getMany(["k", "big1", "big2"]), [bytes(1), undefined, undefined]);
    const large = new Uint8Array(65_536 * 16);
    for (let at = 0; at < large.length; at += 65_536) crypto.getRandomValues(large.subarray(at, at + 65_536));
    await backend.set("large", large, 60);
    assert.deepEqual(await backend.get("large"), large, "a 1 MiB value round-trips byte for byte");
  });
});

describe("PostgresCacheBackend storage", () => {
  test("creates its table on first use with the documented DDL (index on expires_at, UNLOGGED on request)", async () => {
    const logged = table("ddl");
    const unlogged = table("ddl_u");
    await using a = new PostgresCacheBackend({ url: PG_URL, table: logged });
    await using b = new PostgresCacheBackend({ url: PG_URL, table: unlogged, unlogged: true });
    assert.equal((await sql.unsafe("SELECT to_regclass($1) AS t", [logged]))[0].t, null, "no table before first use");
    await a.set("k", bytes(1), 60);
    await b.connect();
    const kinds = await sql.unsafe(
      "SELECT relname, relpersistence FROM pg_class WHERE relname = ANY($1::text[]) ORDER BY relname",
      [`{${logged},${unlogged}}`],
    );
    assert.deepEqual(kinds.map((row) => row.relpersistence), ["p", "u"]);
    const columns = await sql.unsafe(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
      [logged],
    );
    assert.deepEqual(columns.map((row) => `${row.column_name} ${row.data_type}`), [
      "prefix bytea",
      "key_hash bytea",
      "key bytea",
      "value bytea",
      "expires_at timestamp with time zone",
    ]);
    const indexes = await sql.unsafe("SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname", [
      logged,
    ]);
    assert.deepEqual(indexes.map((row) => row.indexdef.replace(/ ON \S+/, " ON t")), [
      `CREATE INDEX ${logged}_expires_at ON t USING btree (expires_at)`,
      `CREATE UNIQUE INDEX ${logged}_pkey ON t USING btree (prefix, key_hash)`,
    ]);
    assert.deepEqual(postgresCacheDdl(logged), [
      `CREATE TABLE IF NOT EXISTS "${logged}" (prefix bytea NOT NULL, key_hash bytea NOT NULL, key bytea NOT NULL, ` +
      "value bytea NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (prefix, key_hash))",
      `CREATE INDEX IF NOT EXISTS "${logged}_expires_at" ON "${logged}" (expires_at)`,
    ]);
  });

  test("ten backends creating one table at once all succeed", async () => {
    const name = table("race");
    const backends = Array.from({ length: 10 }, () => new PostgresCacheBackend({ url: PG_URL, table: name }));
    try {
      await Promise.all(backends.map((backend, i) => backend.set(`k${i}`, bytes(i), 60)));
      assert.deepEqual(await backends[0].getMany(["k0", "k9"]), [bytes(0), bytes(9)]);
    } finally {
      await Promise.all(backends.map((backend) => backend.close()));
    }
  });

  test("keys with quotes, NUL, %, _, \\, emoji and 10 KB keys round-trip exactly and never collide", async () => {
    await using backend = new PostgresCacheBackend({ url: PG_URL, table: shared, prefix: crypto.randomUUID() });
    const long = "k".repeat(10_240);
    const random = Array.from({ length: 10_240 }, () => String.fromCharCode(33 + Math.floor(Math.random() * 90)))
      .join("");
    const keys = [
      "'",
      "''",
      '"',
      "'; DROP TABLE x; --",
      "\0",
      "\0\0",
      "a\0b",
      "a\0c",
      "%",
      "_",
      "a%",
      "a_",
      "ab",
      "\\",
      "\\\\",
      "\\x00",
      "🔑",
      "🔑🔑",
      "\uFFFD",
      long,
      `${long.slice(1)}j`,
      random,
      `${random}\0`,
    ];
    for (const [i, key] of keys.entries()) await backend.set(key, bytes(i, 255 - i), 60);
    for (const [i, key] of keys.entries()) assert.deepEqual(await backend.get(key), bytes(i, 255 - i), `key ${i}`);
    assert.deepEqual(await backend.getMany([...keys, "a", "%%"]), [
      ...keys.map((_, i) => bytes(i, 255 - i)),
      undefined,
      undefined,
    ]);
    await backend.deleteMany(["%", "\0", long]);
    const after = await backend.getMany(keys);
    keys.forEach((key, i) => {
      const gone = key === "%" || key === "\0" || key === long;
      assert.deepEqual(after[i], gone ? undefined : bytes(i, 255 - i), `key ${i} after deleteMany`);
    });
    const stored = await sql.unsafe(`SELECT key FROM ${shared} WHERE prefix = $1`, [Buffer.from(backend.prefix)]);
    assert.equal(stored.length, keys.length - 3, "one row per key");
  });

  test("prefixes are scopes of their own: clear() removes exactly its prefix's rows, whatever the characters", async () => {
    const base = crypto.randomUUID();
    const prefixes = ["", "a", "ab", "a%", "a_", "a\\", "a\0", "a:", "a:b"].map((p) => `${base}${p}`);
    const backends = prefixes.map((prefix) => new PostgresCacheBackend({ url: PG_URL, table: shared, prefix }));
    try {
      for (const [i, backend] of backends.entries()) {
        await backend.setMany([{ key: "k", value: bytes(i), ttl: 60 }, { key: "b", value: bytes(i, 1), ttl: 60 }]);
      }
      await backends[1].clear(); // "a": not "ab", "a%", "a_", … nor the base
      for (const [i, backend] of backends.entries()) {
        assert.deepEqual(await backend.getMany(["k", "b"]), i === 1 ? [undefined, undefined] : [bytes(i), bytes(i, 1)]);
      }
      for (const backend of backends) await backend.clear();
      const left = await sql.unsafe(`SELECT count(*)::int AS n FROM ${shared} WHERE prefix = ANY($1::bytea[])`, [
        `{${prefixes.map((p) => `"\\\\x${Buffer.from(p).toString("hex")}"`).join(",")}}`,
      ]);
      assert.equal(left[0].n, 0);
    } finally {
      await Promise.all(backends.map((backend) => backend.close()));
    }
  });

  test("clear() of 25,000 rows deletes them all, 10,000 per statement", async () => {
    const prefix = crypto.randomUUID();
    await using backend = new PostgresCacheBackend({ url: PG_URL, table: shared, prefix });
    await using neighbour = new PostgresCacheBackend({ url: PG_URL, table: shared, prefix: `${prefix}x` });
    await backend.setMany(Array.from({ length: 25_000 }, (_, i) => ({ key: `k${i}`, value: bytes(1), ttl: 60 })));
    await neighbour.set("k1", bytes(2), 60);
    await backend.clear();
    const count = async (p: string) =>
      (await sql.unsafe(`SELECT count(*)::int AS n FROM ${shared} WHERE prefix = $1`, [Buffer.from(p)]))[0].n;
    assert.equal(await count(prefix), 0);
    assert.deepEqual(await neighbour.get("k1"), bytes(2));
    await neighbour.clear();
  });

  test("an expired row is never returned, and the cleanup removes it in batches", async () => {
    const name = table("cleanup");
    await using backend = new PostgresCacheBackend({ url: PG_URL, table: name, cleanupInterval: 0 });
    await backend.setMany(Array.from({ length: 2_500 }, (_, i) => ({ key: `e${i}`, value: bytes(1), ttl: 0.05 })));
    await backend.set("live", bytes(2), 60);
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(await backend.get("e0"), undefined);
    assert.deepEqual(await backend.getMany(["e1", "live"]), [undefined, bytes(2)]);
    assert.equal((await sql.unsafe(`SELECT count(*)::int AS n FROM ${name}`))[0].n, 2_501, "expired rows still there");
    assert.equal(await backend.removeExpired(), 2_500);
    assert.equal((await sql.unsafe(`SELECT count(*)::int AS n FROM ${name}`))[0].n, 1);

    await using timed = new PostgresCacheBackend({ url: PG_URL, table: name, cleanupInterval: 0.2 });
    await timed.set("soon", bytes(3), 0.05);
    const deadline = Date.now() + 10_000;
    while ((await sql.unsafe(`SELECT count(*)::int AS n FROM ${name}`))[0].n > 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal((await sql.unsafe(`SELECT count(*)::int AS n FROM ${name}`))[0].n, 1, "the timer's cleanup ran");
  });

  test("a TTL is ceil(ttl × 1000) ms after removing float noise, counted on the server's clock", async () => {
    const sent: unknown[][] = [];
    const client = postgres(PG_URL, {
      onnotice: () => {},
      fetch_types: false,
      debug: (_connection: number, query: string, parameters: unknown[]) => {
        if (query.startsWith("INSERT")) sent.push(parameters);
      },
    }) as unknown as PostgresClient;
    const prefix = crypto.randomUUID();
    const backend = new PostgresCacheBackend({ client, table: shared, prefix });
    try {
      const ttls = [2.007, 0.0011, 30, 1.0001, 0.5];
      for (const ttl of ttls) {
        const [before] = await sql.unsafe("SELECT clock_timestamp() AS t");
        await backend.set("k", bytes(1), ttl);
        const [row] = await sql.unsafe(
          `SELECT (extract(epoch FROM expires_at - $2::timestamptz) * 1000)::float8 AS ms FROM ${shared} ` +
            "WHERE prefix = $1",
          [Buffer.from(prefix), before.t],
        );
        const expected = Math.max(1, Math.ceil(Math.round(ttl * 1e6) / 1e3));
        // The statement's now() is a little after `before`: well under a second here.
        assert.ok(row.ms >= expected && row.ms < expected + 1_000, `ttl ${ttl}: expires ${row.ms} ms after`);
      }
      assert.deepEqual(sent.map((parameters) => Number(parameters[3])), [2007, 2, 30000, 1001, 500]);
      await backend.set("max", bytes(9), 9007199254740.991);
      assert.deepEqual(await backend.get("max"), bytes(9));
      await backend.clear();
    } finally {
      await backend.close();
      await client.end();
    }
  });

  test("each batch call is one statement", async () => {
    const statements: string[] = [];
    const client = postgres(PG_URL, {
      onnotice: () => {},
      fetch_types: false,
      debug: (_connection: number, query: string) => statements.push(query),
    }) as unknown as PostgresClient;
    const backend = new PostgresCacheBackend({ client, table: shared, prefix: crypto.randomUUID() });
    try {
      await backend.connect();
      statements.length = 0;
      const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
      await backend.setMany(keys.map((key) => ({ key, value: bytes(1), ttl: 60 })));
      await backend.getMany(keys);
      await backend.deleteMany(keys);
      assert.deepEqual(statements.map((s) => s.split(" ")[0]), ["INSERT", "SELECT", "DELETE"]);
      await backend.clear();
      await backend.close();
      assert.deepEqual((await client.unsafe("SELECT 1 AS one"))[0], { one: 1 }, "a borrowed client stays open");
    } finally {
      await client.end();
    }
  });
});

describe("PostgresCacheBackend faults", () => {
  test("a refused connection fails at once with a CacheError; read-through fails open", async () => {
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/test`;
    await using backend = new PostgresCacheBackend({ url, timeout: 2_000 });
    for (
      const call of [
        (): Promise<unknown> => backend.get("k"),
        () => backend.set("k", bytes(1), 60),
        () => backend.getMany(["k"]),
      ]
    ) {
      const { ms, error } = await timed(call());
      assert.ok(error instanceof CacheError, String(error));
      assert.match((error as Error).message, /^Cannot (get from|set in) PostgresCacheBackend: .*ECONNREFUSED/);
      assert.ok(ms < 1_500, `failed after ${ms} ms`);
    }
    const cache = new TTLCache<number>({ backend, serializer: new JsonSerializer<number>() });
    const { ms, value } = await timed(cache.getOrSet("k", () => 42));
    assert.equal(value, 42);
    assert.ok(ms < 1_500, `getOrSet took ${ms} ms`);
  });

  test("a frozen server fails every call with a CacheError within timeout, and the backend recovers", async () => {
    const proxy = await startProxy();
    const backend = new PostgresCacheBackend({
      url: proxy.url,
      table: shared,
      prefix: crypto.randomUUID(),
      timeout: 500,
    });
    try {
      await backend.set("k", bytes(1), 60);
      proxy.freeze();
      const calls = await Promise.all([
        timed(backend.get("k")),
        timed(backend.set("k", bytes(2), 60)),
        timed(backend.getMany(["k", "j"])),
        timed(backend.clear()),
      ]);
      for (const { ms, error } of calls) {
        assert.ok(error instanceof CacheError, String(error));
        assert.match((error as Error).message, /did not answer within 500 ms/);
        assert.ok(ms >= 400 && ms < 2_500, `failed after ${ms} ms`);
      }
      proxy.thaw();
      // The timed-out set and clear may still run once the link thaws ("maybe applied"): check with a fresh key.
      const deadline = Date.now() + 10_000;
      let value: Uint8Array | undefined;
      while (Date.now() < deadline) {
        value = await backend.set("after", bytes(3), 60).then(() => backend.get("after")).catch(() => undefined);
        if (value !== undefined) break;
      }
      assert.deepEqual(value, bytes(3), "writes and reads work again after the freeze");
      await backend.clear();
    } finally {
      proxy.thaw();
      const { ms } = await timed(backend.close());
      assert.ok(ms < 2_000, `close() took ${ms} ms`);
      await proxy.close();
    }
  });

  test("a server that dies: calls fail with a CacheError within timeout, at once while another call probes it; the backend works again once it is back", async () => {
    const proxy = await startProxy();
    const prefix = crypto.randomUUID();
    const backend = new PostgresCacheBackend({ url: proxy.url, table: shared, prefix, timeout: 2_000 });
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => backend.set(`k${i}`, bytes(i), 60)));
      await proxy.kill();
      // The driver finds its connections dead one call at a time; one may sit on a dead connection until the deadline.
      for (let i = 0; i < 6; i++) {
        const call: Promise<unknown> = i % 2 === 0 ? backend.get("k1") : backend.set("k1", bytes(9), 60);
        const { ms, error } = await timed(call);
        assert.ok(error instanceof CacheError, String(error));
        assert.ok(ms < 3_000, `call ${i} failed after ${ms} ms`);
      }
      const start = performance.now();
      const burst = await Promise.allSettled(Array.from({ length: 50 }, () => backend.get("k1")));
      const fast = performance.now() - start;
      assert.ok(burst.every((result) => result.status === "rejected" && result.reason instanceof CacheError));
      assert.ok(fast < 3_000, `a burst of 50 calls took ${fast} ms`);
      const cache = new TTLCache<number>({ backend, serializer: new JsonSerializer<number>() });
      const served = await timed(cache.getOrSet("computed", () => 7));
      assert.equal(served.value, 7);
      assert.ok(served.ms < 3_000, `getOrSet took ${served.ms} ms`);
      await proxy.restart();
      const deadline = Date.now() + 10_000;
      let value: Uint8Array | undefined;
      while (value === undefined && Date.now() < deadline) {
        // A call refused at once settles in a microtask: wait between tries, or the loop would starve the timers.
        await new Promise((resolve) => setTimeout(resolve, 50));
        value = await backend.get("k1").catch(() => undefined);
      }
      assert.deepEqual(value, bytes(1), "the same backend reads again once the server is back");
      await backend.clear();
    } finally {
      await backend.close();
      await proxy.close();
    }
  });

  test("a server that accepts and never answers: the first call fails within timeout", async () => {
    const proxy = await startProxy();
    proxy.freeze();
    const backend = new PostgresCacheBackend({ url: proxy.url, timeout: 400 });
    try {
      const { ms, error } = await timed(backend.get("k"));
      assert.ok(error instanceof CacheError, String(error));
      assert.ok(ms < 2_000, `failed after ${ms} ms`);
    } finally {
      const { ms } = await timed(backend.close());
      assert.ok(ms < 2_000, `close() took ${ms} ms`);
      await proxy.close();
    }
  });

  test("after close() every call is a CacheError; close() twice is fine", async () => {
    const backend = new PostgresCacheBackend({ url: PG_URL, table: shared, prefix: crypto.randomUUID() });
    await backend.set("k", bytes(1), 60);
    await backend.delete("k");
    await backend.close();
    await backend.close();
    assert.equal(backend.closed, true);
    await assert.rejects(
      backend.get("k"),
      (error: Error) => error instanceof CacheError && /closed/.test(error.message),
    );
    await assert.rejects(backend.setMany([{ key: "k", value: bytes(1), ttl: 1 }]), CacheError);
    await assert.rejects(backend.clear(), CacheError);
  });
});

describe("TTLCache over PostgresCacheBackend", () => {
  const open: PostgresCacheBackend[] = [];
  const backend = (prefix: string, name = shared) => {
    const made = new PostgresCacheBackend({ url: PG_URL, table: name, prefix });
    open.push(made);
    return made;
  };
  const json = (over: PostgresCacheBackend) =>
    new TTLCache<unknown>({ backend: over, serializer: new JsonSerializer() });
  after(async () => {
    for (const made of open) {
      await made.clear().catch(() => {});
      await made.close();
    }
  });

  test("two instances over one table see each other's writes, tags, namespaces and batches", async () => {
    const prefix = crypto.randomUUID();
    const one = json(backend(prefix));
    const two = json(backend(prefix));
    await one.set("user:1", { name: "Ada" }, { tags: ["users"] });
    await one.namespace("team").set("1", { name: "core" }, { tags: ["teams"] });
    await one.setMany([{ key: "a", value: 1 }, { key: "b", value: 2, tags: ["users"] }]);
    assert.deepEqual(await two.get("user:1"), { name: "Ada" });
    assert.deepEqual(await two.getMany(["a", "b", "c"]), [1, 2, undefined]);
    await two.deleteTags(["users"]);
    assert.deepEqual(await one.getMany(["user:1", "a", "b"]), [undefined, 1, undefined]);
    assert.deepEqual(await one.namespace("team").get("1"), { name: "core" });
    await two.namespace("team").clear();
    assert.equal(await one.namespace("team").get("1"), undefined);
    await two.deleteMany(["a"]);
    assert.equal(await one.get("a"), undefined);
  });

  test("another prefix on the same table sees none of it", async () => {
    const mine = json(backend(crypto.randomUUID()));
    const theirs = json(backend(crypto.randomUUID()));
    await mine.set("k", "mine", { tags: ["t"] });
    await theirs.set("k", "theirs", { tags: ["t"] });
    await theirs.deleteTags(["t"]);
    await theirs.clear();
    assert.equal(await mine.get("k"), "mine");
  });

  // Over this pooled backend some callers' reads answer after the first computation has landed: they must join it.
  test("getOrSet: 200 concurrent cold callers share one computation (10 rounds)", async () => {
    const cache = json(backend(crypto.randomUUID()));
    const counts: number[] = [];
    for (let round = 0; round < 10; round++) {
      let calls = 0;
      const results = await Promise.all(
        Array.from({ length: 200 }, () => cache.getOrSet(`cold${round}`, () => ({ round, call: ++calls }))),
      );
      counts.push(calls);
      for (const result of results) assert.deepEqual(result, { round, call: 1 });
    }
    assert.deepEqual(counts, Array(10).fill(1), "factory calls per round");
  });
});
