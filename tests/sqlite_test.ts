// SqliteCacheBackend on the runtime's own SQLite (node:sqlite on Node 24 and Deno, bun:sqlite on Bun): the published
// conformance cases in memory and on a shared file, a TTLCache suite over two backends on one file (as two processes),
// expiry and cleanup, and bad input. Every temporary file is deleted in after().
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteCacheBackend, type SqliteDatabase } from "../backends/sqlite.ts";
import { CacheError } from "../errors.ts";
import { TTLCache } from "../ttl_cache.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { backendConformance } from "./_backend_conformance.ts";

const dir = mkdtempSync(join(tmpdir(), "cachet-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tempFile = () => join(dir, `cache-${++files}.db`);
const bytes = (...values: number[]) => new Uint8Array(values);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const close = (backend: unknown) => (backend as SqliteCacheBackend).close();

// A second connection to a file, as another process would have, for checks on the raw rows.
async function rawDatabase(path: string): Promise<SqliteDatabase> {
  if ((globalThis as { Bun?: unknown }).Bun !== undefined) {
    const name = "bun:sqlite";
    const { Database } = await import(name) as { Database: new (path: string) => SqliteDatabase };
    return new Database(path);
  }
  const { DatabaseSync } = await import("node:sqlite");
  return new DatabaseSync(path) as unknown as SqliteDatabase;
}

function count(db: SqliteDatabase, table = "cachet_cache"): number {
  return Number((db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number | bigint }).n);
}

backendConformance("SqliteCacheBackend (memory)", {
  create: () => new SqliteCacheBackend({ cleanupInterval: 0 }),
  dispose: close,
});

const sharedFile = tempFile();
let cases = 0;
backendConformance("SqliteCacheBackend (file)", {
  create: () => new SqliteCacheBackend({ path: sharedFile, prefix: `case-${++cases}:` }),
  dispose: async (backend) => {
    await backend.clear();
    await close(backend);
  },
});

function jsonCache(backend: SqliteCacheBackend): TTLCache<unknown> {
  return new TTLCache({ backend, serializer: new JsonSerializer() });
}

describe("SqliteCacheBackend under TTLCache, two backends on one file", () => {
  test("each sees the other's writes, deletes, tag invalidations and namespace clears", async () => {
    const path = tempFile();
    await using a = new SqliteCacheBackend({ path, prefix: "app:" });
    await using b = new SqliteCacheBackend({ path, prefix: "app:" });
    const one = jsonCache(a);
    const two = jsonCache(b);

    await one.set("user:1", { name: "Ada" }, { ttl: 60, tags: ["users"] });
    await one.set("post:1", { title: "Hi" }, { ttl: 60, tags: ["posts"] });
    assert.deepEqual(await two.get("user:1"), { name: "Ada" });
    await two.deleteTags(["users"]);
    assert.equal(await one.get("user:1"), undefined, "a tag invalidated through the other backend");
    assert.deepEqual(await one.get("post:1"), { title: "Hi" }, "other tags untouched");

    await one.setMany([{ key: "x", value: 1 }, { key: "y", value: 2, tags: ["posts"] }]);
    assert.deepEqual(await two.getMany(["x", "y", "z"]), [1, 2, undefined]);
    await two.deleteMany(["x"]);
    assert.deepEqual(await one.getMany(["x", "y"]), [undefined, 2]);

    const nsOne = one.namespace("tenant-1");
    const nested = nsOne.namespace("sub");
    await nsOne.set("k", "in tenant 1", 60);
    await nested.set("k", "nested", 60);
    await one.namespace("tenant-2").set("k", "in tenant 2", 60);
    assert.equal(await two.namespace("tenant-1").get("k"), "in tenant 1");
    await two.namespace("tenant-1").clear();
    assert.equal(await nsOne.get("k"), undefined);
    assert.equal(await nested.get("k"), undefined, "a nested namespace is cleared with its parent");
    assert.equal(await one.namespace("tenant-2").get("k"), "in tenant 2", "a sibling is untouched");
    assert.deepEqual(await one.get("post:1"), { title: "Hi" }, "the root is untouched");
  });

  test("getOrSet: 200 concurrent cold callers share one factory call", async () => {
    const path = tempFile();
    await using backend = new SqliteCacheBackend({ path });
    const cache = jsonCache(backend);
    let calls = 0;
    const results = await Promise.all(Array.from({ length: 200 }, () =>
      cache.getOrSet("hot", async () => {
        calls++;
        await sleep(20);
        return { n: 42 };
      }, { ttl: 60 })));
    assert.equal(calls, 1);
    assert.ok(results.every((value) => (value as { n: number }).n === 42));
    // The value is in the file: a second backend (another process) reads it without computing.
    await using other = new SqliteCacheBackend({ path });
    assert.deepEqual(await jsonCache(other).getOrSet("hot", () => ({ n: 0 })), { n: 42 });
  });

  test("prefixes keep caches apart on one file, and clear() removes exactly its own prefix", async () => {
    const path = tempFile();
    // "a" is a prefix of "ab" as a string; as a column value they are unrelated.
    await using a = new SqliteCacheBackend({ path, prefix: "a" });
    await using ab = new SqliteCacheBackend({ path, prefix: "ab" });
    await using empty = new SqliteCacheBackend({ path, prefix: "" });
    await a.set("bc", bytes(1), 60);
    await ab.set("c", bytes(2), 60);
    await empty.set("abc", bytes(3), 60);
    assert.deepEqual(await a.get("bc"), bytes(1));
    assert.deepEqual(await ab.get("c"), bytes(2));
    assert.deepEqual(await empty.get("abc"), bytes(3));
    assert.equal(await a.get("c"), undefined);
    await a.clear();
    assert.equal(await a.get("bc"), undefined);
    assert.deepEqual(await ab.get("c"), bytes(2), "clear() of prefix a spares prefix ab");
    assert.deepEqual(await empty.get("abc"), bytes(3), "and the empty prefix");
    await empty.clear();
    assert.deepEqual(await ab.get("c"), bytes(2), "clear() of the empty prefix spares the others");
  });

  test("a file backend in another process sees this one's writes", async () => {
    const path = tempFile();
    await using backend = new SqliteCacheBackend({ path, prefix: "p:" });
    await backend.set("from parent", bytes(7, 8), 60);
    const script = join(dir, "child.ts");
    const module = new URL("../backends/sqlite.ts", import.meta.url).href;
    writeFileSync(
      script,
      `import { SqliteCacheBackend } from ${JSON.stringify(module)};\n` +
        `const b = new SqliteCacheBackend({ path: ${JSON.stringify(path)}, prefix: "p:" });\n` +
        `const got = await b.get("from parent");\n` +
        `await b.set("from child", new Uint8Array([9]), 60);\n` +
        `await b.close();\n` +
        `console.log(JSON.stringify(got ? [...got] : null));\n`,
    );
    const runtime = globalThis as { Bun?: unknown; Deno?: unknown; process?: { execPath: string } };
    const args = runtime.Deno !== undefined ? ["run", "-A", script] : [script];
    const child = spawnSync(runtime.process!.execPath, args, { encoding: "utf8", timeout: 30_000 });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), "[7,8]");
    assert.deepEqual(await backend.get("from child"), bytes(9));
  });
});

describe("SqliteCacheBackend and another process's lock", () => {
  test("a file is in WAL mode: reads go on while another connection holds the write lock", async () => {
    const path = tempFile();
    await using backend = new SqliteCacheBackend({ path });
    await backend.set("k", bytes(1), 60);
    const raw = await rawDatabase(path);
    try {
      assert.equal((raw.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
      raw.exec("BEGIN IMMEDIATE");
      assert.deepEqual(await backend.get("k"), bytes(1));
      assert.deepEqual(await backend.getMany(["k"]), [bytes(1)]);
      raw.exec("ROLLBACK");
    } finally {
      raw.close();
    }
  });

  test("a write waits for the lock for the 5 s busy timeout, then fails with a CacheError", async () => {
    const path = tempFile();
    await using backend = new SqliteCacheBackend({ path });
    const raw = await rawDatabase(path);
    try {
      raw.exec("BEGIN IMMEDIATE");
      const started = performance.now();
      await assert.rejects(backend.set("k", bytes(1), 60), (error: unknown) => {
        assert.ok(error instanceof CacheError, String(error));
        assert.match(error.message, /^Cannot set in SqliteCacheBackend: .*locked/);
        assert.ok(error.cause instanceof Error);
        return true;
      });
      const waited = performance.now() - started;
      assert.ok(waited >= 4_500 && waited < 20_000, `waited ${Math.round(waited)} ms`);
      raw.exec("ROLLBACK");
      await backend.set("k", bytes(2), 60);
      assert.deepEqual(await backend.get("k"), bytes(2), "works again once the lock is released");
    } finally {
      raw.close();
    }
  });

  test("a batch refused by a lock writes nothing (one transaction)", async () => {
    const path = tempFile();
    const borrowed = await rawDatabase(path);
    const raw = await rawDatabase(path);
    try {
      // A borrowed database keeps its own pragmas: a short busy timeout keeps this test fast.
      borrowed.exec("PRAGMA busy_timeout = 50");
      await using backend = new SqliteCacheBackend({ database: borrowed });
      await backend.set("a", bytes(1), 60);
      raw.exec("BEGIN IMMEDIATE");
      await assert.rejects(
        backend.setMany([{ key: "a", value: bytes(9), ttl: 60 }, { key: "b", value: bytes(9), ttl: 60 }]),
        CacheError,
      );
      await assert.rejects(backend.deleteMany(["a"]), CacheError);
      raw.exec("ROLLBACK");
      assert.deepEqual(await backend.getMany(["a", "b"]), [bytes(1), undefined]);
    } finally {
      raw.close();
      borrowed.close();
    }
  });
});

describe("SqliteCacheBackend expiry and cleanup", () => {
  test("an expired row is never returned, even before cleanup removes it", async () => {
    const path = tempFile();
    await using backend = new SqliteCacheBackend({ path, cleanupInterval: 0 });
    await backend.set("short", bytes(1), 0.05);
    await backend.setMany([{ key: "m", value: bytes(2), ttl: 0.05 }]);
    await sleep(120);
    assert.equal(await backend.get("short"), undefined);
    assert.deepEqual(await backend.getMany(["short", "m"]), [undefined, undefined]);
    const raw = await rawDatabase(path);
    try {
      assert.equal(count(raw), 2, "the rows are still there: only the read checks expiry");
    } finally {
      raw.close();
    }
  });

  test("cleanup() removes expired rows of every prefix in batches, and only expired rows", async () => {
    const path = tempFile();
    await using a = new SqliteCacheBackend({ path, prefix: "a", cleanupInterval: 0 });
    await using b = new SqliteCacheBackend({ path, prefix: "b", cleanupInterval: 0 });
    const entries = (ttl: number) =>
      Array.from({ length: 1_200 }, (_, i) => ({ key: `k${i}`, value: bytes(i % 256), ttl }));
    await a.setMany(entries(0.05));
    await b.setMany(entries(0.05));
    await b.set("live", bytes(1), 60);
    await sleep(120);
    assert.equal(await a.cleanup(), 2_400, "more than one batch of 1,000");
    assert.deepEqual(await b.get("live"), bytes(1));
    const raw = await rawDatabase(path);
    try {
      assert.equal(count(raw), 1);
    } finally {
      raw.close();
    }
  });

  test("the cleanupInterval timer removes expired rows, and does not keep the process alive", async () => {
    const path = tempFile();
    await using backend = new SqliteCacheBackend({ path, cleanupInterval: 0.1 });
    await backend.set("gone", bytes(1), 0.05);
    await backend.set("kept", bytes(2), 60);
    const raw = await rawDatabase(path);
    try {
      const deadline = Date.now() + 10_000;
      while (count(raw) > 1 && Date.now() < deadline) await sleep(50);
      assert.equal(count(raw), 1);
    } finally {
      raw.close();
    }
    // An open backend with a timer in a child process: the process exits by itself.
    const script = join(dir, "alive.ts");
    const module = new URL("../backends/sqlite.ts", import.meta.url).href;
    writeFileSync(
      script,
      `import { SqliteCacheBackend } from ${JSON.stringify(module)};\n` +
        `const b = new SqliteCacheBackend({ path: ${JSON.stringify(path)}, cleanupInterval: 1 });\n` +
        `await b.set("k", new Uint8Array([1]), 60);\nconsole.log("done");\n`,
    );
    const runtime = globalThis as { Deno?: unknown; process?: { execPath: string } };
    const args = runtime.Deno !== undefined ? ["run", "-A", script] : [script];
    const child = spawnSync(runtime.process!.execPath, args, { encoding: "utf8", timeout: 20_000 });
    assert.equal(child.error, undefined, "the child exited by itself");
    assert.equal(child.status, 0, child.stderr);
  });
});

describe("SqliteCacheBackend keys and bad input", () => {
  const hostile = [
    "\0",
    "\0\0",
    "\0a",
    "a\0",
    "a",
    "A",
    "'",
    "''",
    '"',
    "';DROP TABLE cachet_cache;--",
    "%",
    "_",
    "a%",
    "a_",
    "\\",
    "🔑",
    "e\u0301",
    "é",
    "x".repeat(10_240),
    "x".repeat(10_241),
    "",
  ];

  test("keys with NUL, quotes, %, _, emoji and 10 KB round-trip exactly and never collide", async () => {
    const path = tempFile();
    await using backend = new SqliteCacheBackend({ path, prefix: "\0'%_" });
    await backend.setMany(hostile.map((key, i) => ({ key, value: bytes(i), ttl: 60 })));
    assert.deepEqual(await backend.getMany(hostile), hostile.map((_, i) => bytes(i)));
    for (const [i, key] of hostile.entries()) assert.deepEqual(await backend.get(key), bytes(i), JSON.stringify(key));
    await backend.delete("\0");
    assert.equal(await backend.get("\0"), undefined);
    assert.deepEqual(await backend.get("\0\0"), bytes(1), "deleting \\0 spares \\0\\0");
    await using neighbour = new SqliteCacheBackend({ path, prefix: "\0'%" });
    await neighbour.set("_a", bytes(99), 60);
    await backend.clear();
    assert.deepEqual(await neighbour.get("_a"), bytes(99), "clear() of one prefix spares a prefix of it");
  });

  test("keys and the prefix are stored as the exact UTF-8 bytes of the strings, NULs included", async () => {
    const db = await rawDatabase(":memory:");
    try {
      await using backend = new SqliteCacheBackend({ database: db, prefix: "p\0" });
      await backend.set("\0é🔑\0", bytes(1), 60);
      const row = db.prepare("SELECT hex(prefix) AS p, hex(key) AS k, typeof(key) AS t FROM cachet_cache").get() as {
        p: string;
        k: string;
        t: string;
      };
      assert.deepEqual({ ...row }, { p: "7000", k: "00C3A9F09F949100", t: "blob" });
    } finally {
      db.close();
    }
  });

  test("values: every byte, empty, a subarray view and 1 MB round-trip", async () => {
    await using backend = new SqliteCacheBackend();
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    await backend.set("all", all, 60);
    await backend.set("empty", new Uint8Array(0), 60);
    await backend.set("view", all.subarray(10, 13), 60);
    const big = new Uint8Array(1 << 20).map((_, i) => i * 7);
    await backend.set("big", big, 60);
    assert.deepEqual(await backend.get("all"), all);
    assert.deepEqual(await backend.get("empty"), new Uint8Array(0));
    assert.deepEqual(await backend.get("view"), bytes(10, 11, 12));
    assert.deepEqual(await backend.get("big"), big);
  });

  test("hostile or invalid table names are a TypeError naming table; valid ones (even keywords) work", async () => {
    for (
      const table of [
        "",
        "a b",
        'x"; DROP TABLE t; --',
        "t;",
        "1abc",
        "sqlite_master",
        "SQLITE_x",
        "ta\0ble",
        "x".repeat(64),
        "é",
        42,
        null,
      ]
    ) {
      assert.throws(() => new SqliteCacheBackend({ table: table as string }), (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /^Cannot create SqliteCacheBackend: table must be an identifier .*: received /);
        return true;
      });
    }
    await using keyword = new SqliteCacheBackend({ table: "order" });
    await keyword.set("k", bytes(1), 60);
    assert.deepEqual(await keyword.get("k"), bytes(1));
  });

  test("a custom table sits beside others in one file", async () => {
    const path = tempFile();
    await using a = new SqliteCacheBackend({ path, table: "one" });
    await using b = new SqliteCacheBackend({ path, table: "two" });
    await a.set("k", bytes(1), 60);
    assert.equal(await b.get("k"), undefined);
    await b.clear();
    assert.deepEqual(await a.get("k"), bytes(1));
  });

  test("options and arguments of the wrong kind get clear errors", async () => {
    const create = (options: unknown) => () => new SqliteCacheBackend(options as never);
    assert.throws(create({ tabel: "x" }), {
      name: "TypeError",
      message: /^Cannot create SqliteCacheBackend: unknown option "tabel" \(did you mean table\?\)/,
    });
    assert.throws(create({ path: 1 }), { name: "TypeError", message: /path must be a string: received 1/ });
    assert.throws(create({ path: "" }), { name: "TypeError", message: /path must be a file path/ });
    assert.throws(create({ prefix: "\uD800" }), { name: "TypeError", message: /prefix must be a well-formed string/ });
    assert.throws(create({ cleanupInterval: -1 }), {
      name: "RangeError",
      message: "Cannot create SqliteCacheBackend: cleanupInterval must be a finite number >= 0 (seconds): received -1",
    });
    assert.throws(create({ cleanupInterval: "60" }), { name: "TypeError", message: /cleanupInterval must be/ });
    assert.throws(create({ cleanupInterval: 1e10 }), {
      name: "RangeError",
      message: /cleanupInterval must be at most/,
    });
    assert.throws(create({ database: {} }), {
      name: "TypeError",
      message: /database .* must be an object with methods/,
    });
    assert.throws(create("x.db"), { name: "TypeError", message: /options must be an object/ });

    await using backend = new SqliteCacheBackend();
    await assert.rejects(backend.get(1 as never), { name: "TypeError", message: /key must be a string: received 1/ });
    await assert.rejects(backend.get("\uDC00"), { name: "TypeError", message: /lone surrogate/ });
    await assert.rejects(backend.set("k", "v" as never, 1), {
      name: "TypeError",
      message: /value must be a Uint8Array/,
    });
    for (const ttl of [0, -1, Infinity, NaN, 1e16]) {
      await assert.rejects(backend.set("k", bytes(1), ttl), { name: "RangeError" }, String(ttl));
    }
    await assert.rejects(backend.set("k", bytes(1), "1" as never), { name: "TypeError" });
    await assert.rejects(backend.getMany("k" as never), { name: "TypeError", message: /keys must be an array/ });
    await assert.rejects(backend.getMany(["a", 2 as never]), {
      name: "TypeError",
      message: /keys\[1\] must be a string/,
    });
    await assert.rejects(
      backend.setMany([{ key: "ok", value: bytes(1), ttl: 60 }, { key: "bad", value: bytes(1), ttl: -1 }]),
      { name: "RangeError" },
    );
    assert.equal(await backend.get("ok"), undefined, "nothing of a refused batch is stored");
  });

  test("ttl is rounded up to whole milliseconds without float noise", async () => {
    const db = await rawDatabase(":memory:");
    try {
      await using backend = new SqliteCacheBackend({ database: db });
      const before = Date.now();
      await backend.set("k", bytes(1), 2.007);
      const row = db.prepare("SELECT expires_at AS e FROM cachet_cache").get() as { e: number };
      const ms = Number(row.e) - before;
      assert.ok(ms >= 2007 && ms < 2007 + 1000, `expiry ${ms} ms after the call`);
      assert.equal(Number(row.e) % 1, 0);
    } finally {
      db.close();
    }
  });

  test("a batch SQLite refuses midway is rolled back: nothing half-written", async () => {
    const db = await rawDatabase(":memory:");
    try {
      await using backend = new SqliteCacheBackend({ database: db });
      await backend.set("a", bytes(1), 60);
      // A trigger stands in for a limit the database enforces (a too-large BLOB, a full disk).
      db.exec(
        "CREATE TRIGGER refuse BEFORE INSERT ON cachet_cache WHEN NEW.value = X'FF' " +
          "BEGIN SELECT RAISE(ABORT, 'refused by the database'); END",
      );
      await assert.rejects(
        backend.setMany([
          { key: "a", value: bytes(2), ttl: 60 },
          { key: "b", value: bytes(3), ttl: 60 },
          { key: "c", value: bytes(0xff), ttl: 60 },
        ]),
        (error: unknown) => {
          assert.ok(error instanceof CacheError, String(error));
          assert.match(error.message, /^Cannot set in SqliteCacheBackend: .*refused by the database/);
          return true;
        },
      );
      assert.deepEqual(await backend.getMany(["a", "b", "c"]), [bytes(1), undefined, undefined]);
      await assert.rejects(backend.set("c", bytes(0xff), 60), CacheError);
      await backend.setMany([{ key: "b", value: bytes(3), ttl: 60 }]);
      assert.deepEqual(await backend.get("b"), bytes(3), "the backend works on after a refused batch");
    } finally {
      db.close();
    }
  });

  test("a borrowed database stays open after close(); the backend refuses calls once closed", async () => {
    const db = await rawDatabase(":memory:");
    const backend = new SqliteCacheBackend({ database: db, prefix: "b:" });
    await backend.set("k", bytes(1), 60);
    await backend.close();
    await backend.close();
    assert.equal(backend.closed, true);
    assert.equal(count(db), 1, "the borrowed database is still usable");
    db.close();
    await assert.rejects(backend.get("k"), {
      name: "CacheError",
      message: "Cannot get from SqliteCacheBackend: the backend is closed",
    });
    await assert.rejects(backend.setMany([]), CacheError);
    assert.throws(() => new SqliteCacheBackend({ database: db, path: "x.db" }), {
      name: "TypeError",
      message: /path cannot be combined with database/,
    });
  });

  test("a file that cannot be opened is a CacheError from the constructor, naming the path", () => {
    const path = join(dir, "missing-dir", "x.db");
    assert.throws(() => new SqliteCacheBackend({ path }), (error: unknown) => {
      assert.ok(error instanceof CacheError, String(error));
      assert.match(error.message, /^Cannot create SqliteCacheBackend: cannot open ".*missing-dir\/x\.db": /);
      assert.ok(error.cause !== undefined);
      return true;
    });
  });

  test("a table of another shape is a CacheError, not silent misuse", async () => {
    const db = await rawDatabase(":memory:");
    try {
      db.exec("CREATE TABLE cachet_cache (id INTEGER PRIMARY KEY)");
      assert.throws(() => new SqliteCacheBackend({ database: db }), {
        name: "CacheError",
        message: /^Cannot create SqliteCacheBackend: cannot set up table cachet_cache: /,
      });
    } finally {
      db.close();
    }
  });
});

// The system `node` here is Node 20, which has no node:sqlite: the module must load and the constructor must say why.
const system = spawnSync("node", ["--version"], { encoding: "utf8" });
const systemVersion = system.status === 0 ? system.stdout.trim() : "";
const oldNode = /^v(\d+)\.(\d+)/.exec(systemVersion);
const isOld = oldNode !== null && (Number(oldNode[1]) < 22 || (Number(oldNode[1]) === 22 && Number(oldNode[2]) < 5));
describe(
  "SqliteCacheBackend on Node < 22.5",
  { skip: isOld ? false : `no old Node on PATH (${systemVersion})` },
  () => {
    test("the module loads and the constructor throws a CacheError naming Node >= 22.5", async () => {
      const { build } = await import("esbuild");
      const out = join(dir, "sqlite.mjs");
      await build({
        entryPoints: [new URL("../backends/sqlite.ts", import.meta.url).pathname],
        bundle: true,
        format: "esm",
        platform: "node",
        outfile: out,
        logLevel: "silent",
      });
      const script = join(dir, "old.mjs");
      writeFileSync(
        script,
        `import { SqliteCacheBackend } from ${JSON.stringify(out)};\n` +
          `try { new SqliteCacheBackend(); console.log("no error"); }\n` +
          `catch (e) { console.log(e.name + ": " + e.message); }\n`,
      );
      const child = spawnSync("node", [script], { encoding: "utf8", timeout: 20_000 });
      assert.equal(child.status, 0, child.stderr);
      assert.match(
        child.stdout.trim(),
        /^CacheError: Cannot create SqliteCacheBackend: SQLite needs Node >= 22\.5 .*: this is Node 20\./,
      );
    });
  },
);
