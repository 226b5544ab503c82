/**
 * A SQLite backend on the runtime's own SQLite: `node:sqlite` on Node 22.5+
 * and Deno, `bun:sqlite` on Bun. In memory by default; on a file, a cache
 * that survives restarts and is shared by the processes of one machine.
 * Server-side only.
 *
 * @example Caching in a SQLite file
 * ```ts
 * import assert from "node:assert/strict";
 * import { rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 * import { SqliteCacheBackend } from "@cachet/cachet/sqlite";
 *
 * const path = join(tmpdir(), `cachet-docs-${crypto.randomUUID()}.db`);
 * {
 *   await using backend = new SqliteCacheBackend({ path, prefix: "app:" });
 *   const cache = new TTLCache({ backend, serializer: new JsonSerializer() });
 *   await cache.set("user:1", { name: "Ada" }, 30);
 *   assert.deepEqual(await cache.get("user:1"), { name: "Ada" });
 * }
 * for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
 * ```
 *
 * @module
 */
import { unrefTimer } from "../_unref.ts";
import { CacheError } from "../errors.ts";
import { checkFinite, checkKey, checkMethods, checkOptions, checkString, describe, optionNames } from "../_validate.ts";
import type { BackendEntry, CacheBackend } from "../types.ts";

/**
 * The part of a SQLite database the backend uses: what both a `node:sqlite`
 * `DatabaseSync` and a `bun:sqlite` `Database` offer.
 */
export interface SqliteDatabase {
  /**
   * Compiles one SQL statement.
   *
   * @param sql The statement.
   * @returns The prepared statement.
   */
  prepare(sql: string): SqliteStatement;
  /**
   * Runs one or more SQL statements without results.
   *
   * @param sql The statements.
   */
  exec(sql: string): unknown;
  /** Closes the database. */
  close(): unknown;
}

/** The part of a prepared statement the backend uses (`node:sqlite` `StatementSync`, `bun:sqlite` `Statement`). */
export interface SqliteStatement {
  /**
   * Runs the statement and returns its first row.
   *
   * @param params The bound parameters.
   * @returns The row, or `undefined` (`null` on Bun) when there is none.
   */
  get(...params: SqliteValue[]): unknown;
  /**
   * Runs the statement for its effect.
   *
   * @param params The bound parameters.
   * @returns What the driver reports, including `changes`.
   */
  run(...params: SqliteValue[]): unknown;
}

/** A value bound to a statement parameter. */
export type SqliteValue = string | number | Uint8Array | null;

/** Options of {@linkcode SqliteCacheBackend}. */
export interface SqliteCacheBackendOptions {
  /**
   * The database file, created when missing; `":memory:"` keeps the cache in
   * this backend alone. A file is opened in WAL mode with a busy timeout of
   * 5 s, so several processes can share it. Cannot be combined with `database`.
   *
   * @default {":memory:"}
   */
  path?: string;
  /**
   * The cache's scope in the table: rows are stored with it in a column of
   * their own, so caches with different prefixes never see each other's keys
   * and `clear()` deletes exactly this prefix's rows (`"a"` and `"ab"` are
   * unrelated, `""` is a prefix like any other).
   *
   * @default {""}
   */
  prefix?: string;
  /**
   * The table's name: letters, digits and `_`, not starting with a digit or
   * `sqlite_`, at most 63 characters. Created when missing, with an index
   * named `<table>_expires_at`.
   *
   * @default {"cachet_cache"}
   */
  table?: string;
  /**
   * Seconds between two removals of expired rows (of every prefix in the
   * table, 1,000 rows per statement); `0` disables them (expired rows are
   * never returned anyway, and {@linkcode SqliteCacheBackend.cleanup} removes
   * them on demand). The timer does not keep the process alive.
   *
   * @default {60}
   */
  cleanupInterval?: number;
  /**
   * An open database to use instead of opening `path`: a `node:sqlite`
   * `DatabaseSync` or a `bun:sqlite` `Database`. It is borrowed: `close()`
   * leaves it open, and its pragmas (journal mode, busy timeout) are left as
   * they are.
   *
   * @default {undefined}
   */
  database?: SqliteDatabase;
}

const SQLITE_OPTIONS = optionNames<SqliteCacheBackendOptions>({
  path: true,
  prefix: true,
  table: true,
  cleanupInterval: true,
  database: true,
});

const CREATE = "Cannot create SqliteCacheBackend";
const DEFAULT_TABLE = "cachet_cache";
const DEFAULT_CLEANUP_SECONDS = 60;
const BUSY_TIMEOUT_MS = 5_000;
const CLEANUP_BATCH = 1_000;
// A plain name (quoted in SQL all the same, so keywords work), never one of SQLite's own sqlite_ tables.
const IDENTIFIER = /^(?!sqlite_)[A-Za-z_][A-Za-z0-9_]{0,62}$/i;
// Beyond this the expiry in milliseconds is no longer an exact JS number.
const MAX_TTL_SECONDS = Number.MAX_SAFE_INTEGER / 1000;

interface Statements {
  db: SqliteDatabase;
  inTransaction: () => boolean;
  get: SqliteStatement;
  set: SqliteStatement;
  delete: SqliteStatement;
  clear: SqliteStatement;
  cleanup: SqliteStatement;
}

interface Runtime {
  Bun?: unknown;
  Deno?: unknown;
  process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown };
}

/**
 * Stores bytes in one SQLite table, keys and prefix as UTF-8 BLOBs (exact
 * bytes: a NUL, quote, `%` or `_` is data), values as BLOBs, and the expiry
 * in milliseconds of wall-clock time, so processes sharing a file agree on it.
 * An expired row is never returned; a timer removes expired rows every
 * `cleanupInterval` seconds, unref'd, so an open backend does not keep the
 * process alive. The DDL, for users who migrate by hand:
 *
 * ```sql
 * CREATE TABLE IF NOT EXISTS cachet_cache (
 *   prefix BLOB NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, expires_at INTEGER NOT NULL,
 *   PRIMARY KEY (prefix, key));
 * CREATE INDEX IF NOT EXISTS cachet_cache_expires_at ON cachet_cache (expires_at);
 * ```
 *
 * SQLite calls are synchronous: each method runs its statement at once and
 * returns a settled Promise. Batch methods run in one transaction. In WAL
 * mode reads never wait for a writer; on a file another process is writing,
 * a write waits for the lock (blocking the event loop) for at most the 5 s
 * busy timeout, then fails with a `CacheError`.
 * The constructor loads the runtime's driver (`bun:sqlite` on Bun, else
 * `node:sqlite`) and opens the database: on Node older than 22.5, or a file
 * that cannot be opened, it throws a `CacheError`.
 *
 * @example Storing and reading bytes in memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { SqliteCacheBackend } from "@cachet/cachet/sqlite";
 *
 * await using backend = new SqliteCacheBackend();
 * await backend.set("k", new Uint8Array([1, 2, 3]), 60);
 * assert.deepEqual(await backend.get("k"), new Uint8Array([1, 2, 3]));
 * ```
 */
export class SqliteCacheBackend implements CacheBackend, AsyncDisposable {
  #path: string;
  #prefix: string;
  #table: string;
  #owned: boolean;
  #closed = false;
  #statements: Statements;
  #timer: ReturnType<typeof setInterval> | undefined;
  #cleaning = false;

  /**
   * Creates a backend and opens its database (creating the file and the table when missing).
   *
   * @param options Options, see {@linkcode SqliteCacheBackendOptions}.
   * @throws {TypeError} When an option has the wrong type or an unknown name, `table` is not a plain identifier,
   * or `path` is combined with `database`.
   * @throws {RangeError} When `cleanupInterval` is negative or not finite.
   * @throws {CacheError} On Node older than 22.5, which has no `node:sqlite`; when the database cannot be opened
   * or the table cannot be set up.
   */
  constructor(options: SqliteCacheBackendOptions = {}) {
    checkOptions(CREATE, options, SQLITE_OPTIONS);
    const { path, prefix = "", table = DEFAULT_TABLE, cleanupInterval = DEFAULT_CLEANUP_SECONDS, database } = options;
    checkString(CREATE, "path", path);
    if (path === "") throw new TypeError(`${CREATE}: path must be a file path or ":memory:": received ""`);
    checkString(CREATE, "prefix", prefix);
    if (typeof table !== "string" || !IDENTIFIER.test(table)) {
      throw new TypeError(
        `${CREATE}: table must be an identifier (letters, digits and _, not starting with a digit or sqlite_, at ` +
          `most 63 characters): received ${describe(table)}`,
      );
    }
    const cleanupSeconds = checkFinite(CREATE, "cleanupInterval", cleanupInterval, "seconds", 0, true);
    if (cleanupSeconds * 1000 > 2 ** 31 - 1) {
      throw new RangeError(
        `${CREATE}: cleanupInterval must be at most ${Math.floor((2 ** 31 - 1) / 1000)} seconds: received ` +
          describe(cleanupInterval),
      );
    }
    if (database !== undefined) {
      if (path !== undefined) {
        throw new TypeError(`${CREATE}: path cannot be combined with database: open the file you pass instead`);
      }
      checkMethods(CREATE, "database (a node:sqlite DatabaseSync or bun:sqlite Database)", database, [
        "prepare",
        "exec",
        "close",
      ]);
    }
    this.#path = path ?? ":memory:";
    this.#prefix = prefix;
    this.#table = table;
    this.#owned = database === undefined;
    this.#statements = database === undefined ? open(this.#path, table) : setUp(database, table, CREATE);
    if (cleanupSeconds > 0) {
      this.#timer = setInterval(() => void this.cleanup().catch(() => {}), cleanupSeconds * 1000);
      unrefTimer(this.#timer);
    }
  }

  /** The database path (`":memory:"` by default, and for a borrowed database, whose path is not known). */
  get path(): string {
    return this.#path;
  }

  /** The prefix this backend's rows carry. */
  get prefix(): string {
    return this.#prefix;
  }

  /** The table name. */
  get table(): string {
    return this.#table;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Reads the bytes under `key`.
   *
   * @param key The key.
   * @returns The bytes, or `undefined` when missing or expired.
   * @throws {TypeError} When `key` is not a well-formed string.
   * @throws {CacheError} When SQLite fails or the backend is closed.
   */
  get(key: string): Promise<Uint8Array | undefined> {
    const context = "Cannot get from SqliteCacheBackend";
    // The hot path: not async (no extra ticks), no closure.
    let row: unknown;
    try {
      checkKey(context, key);
      row = this.#open(context).get.get(this.#prefix, key, Date.now());
    } catch (error) {
      return Promise.reject(error instanceof TypeError || error instanceof CacheError ? error : failed(context, error));
    }
    return Promise.resolve(valueOf(row));
  }

  /**
   * Stores `value` under `key` until ceil(ttl × 1000) milliseconds from now
   * (after rounding away float noise below a microsecond).
   *
   * @param key The key.
   * @param value The bytes.
   * @param ttl Seconds to live, a finite number > 0, at most 9007199254740.991.
   * @throws {TypeError} When an argument has the wrong type.
   * @throws {RangeError} When `ttl` is not a finite number > 0, or longer than the maximum.
   * @throws {CacheError} When SQLite fails or the backend is closed.
   */
  set(key: string, value: Uint8Array, ttl: number): Promise<void> {
    const context = "Cannot set in SqliteCacheBackend";
    try {
      const row = rowOf(context, key, value, ttl);
      const set = this.#open(context).set;
      this.#run(context, () => set.run(this.#prefix, row.key, row.value, Date.now() + row.ms));
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  /**
   * Deletes `key`; a no-op when absent.
   *
   * @param key The key.
   * @throws {TypeError} When `key` is not a well-formed string.
   * @throws {CacheError} When SQLite fails or the backend is closed.
   */
  delete(key: string): Promise<void> {
    const context = "Cannot delete from SqliteCacheBackend";
    return settle(() => {
      checkKey(context, key);
      const statements = this.#open(context);
      this.#run(context, () => statements.delete.run(this.#prefix, key));
    });
  }

  /**
   * Reads several keys in one read transaction (one consistent snapshot).
   *
   * @param keys The keys.
   * @returns The bytes of each key, aligned with `keys`.
   * @throws {TypeError} When `keys` is not an array of well-formed strings.
   * @throws {CacheError} When SQLite fails or the backend is closed.
   */
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    const context = "Cannot get from SqliteCacheBackend";
    return settle(() => {
      const encoded = checkKeys(context, keys);
      const statements = this.#open(context);
      if (encoded.length === 0) return [];
      return this.#transaction(context, statements, "BEGIN", () => {
        const now = Date.now();
        return encoded.map((key) => valueOf(statements.get.get(this.#prefix, key, now)));
      });
    });
  }

  /**
   * Stores several entries in one transaction: all of them, or none when
   * SQLite fails.
   *
   * @param entries The entries, each with its own TTL in seconds.
   * @throws {TypeError} When a field has the wrong type (nothing is stored then).
   * @throws {RangeError} When a `ttl` is out of range (nothing is stored then).
   * @throws {CacheError} When SQLite fails or the backend is closed.
   */
  setMany(entries: readonly BackendEntry[]): Promise<void> {
    const context = "Cannot set in SqliteCacheBackend";
    return settle(() => {
      if (!Array.isArray(entries)) {
        throw new TypeError(`${context}: entries must be an array: received ${describe(entries)}`);
      }
      const rows = entries.map((entry) => rowOf(context, entry?.key, entry?.value, entry?.ttl));
      const statements = this.#open(context);
      if (rows.length === 0) return;
      this.#transaction(context, statements, "BEGIN IMMEDIATE", () => {
        const now = Date.now();
        for (const row of rows) statements.set.run(this.#prefix, row.key, row.value, now + row.ms);
      });
    });
  }

  /**
   * Deletes several keys in one transaction; absent ones are ignored.
   *
   * @param keys The keys.
   * @throws {TypeError} When `keys` is not an array of well-formed strings.
   * @throws {CacheError} When SQLite fails or the backend is closed.
   */
  deleteMany(keys: readonly string[]): Promise<void> {
    const context = "Cannot delete from SqliteCacheBackend";
    return settle(() => {
      const encoded = checkKeys(context, keys);
      const statements = this.#open(context);
      if (encoded.length === 0) return;
      this.#transaction(context, statements, "BEGIN IMMEDIATE", () => {
        for (const key of encoded) statements.delete.run(this.#prefix, key);
      });
    });
  }

  /**
   * Deletes every row of this backend's prefix, and no other, in one statement.
   *
   * @throws {CacheError} When SQLite fails or the backend is closed.
   */
  clear(): Promise<void> {
    const context = "Cannot clear SqliteCacheBackend";
    return settle(() => {
      const statements = this.#open(context);
      this.#run(context, () => statements.clear.run(this.#prefix));
    });
  }

  /**
   * Removes expired rows of every prefix in the table, 1,000 per statement
   * (each its own short write transaction, with a macrotask between them so
   * other work runs), as the `cleanupInterval` timer does. Runs once at a time:
   * a call during a running cleanup resolves to 0 at once.
   *
   * @returns The number of rows removed.
   * @throws {CacheError} When SQLite fails or the backend is closed.
   */
  async cleanup(): Promise<number> {
    const context = "Cannot clean up SqliteCacheBackend";
    const statements = this.#open(context);
    if (this.#cleaning) return 0;
    this.#cleaning = true;
    try {
      let removed = 0;
      while (!this.#closed) {
        const changes = this.#run(context, () => changesOf(statements.cleanup.run(Date.now(), CLEANUP_BATCH)));
        removed += changes;
        if (changes < CLEANUP_BATCH) break;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return removed;
    } finally {
      this.#cleaning = false;
    }
  }

  /**
   * Stops the cleanup timer and closes the database this backend opened (a
   * borrowed `database` stays open). Later calls are no-ops; using the
   * backend afterwards throws a `CacheError`.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    return settle(() => {
      if (this.#owned) this.#statements.db.close();
    });
  }

  /** Closes the backend, so `await using` releases the database at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #open(context: string): Statements {
    if (this.#closed) throw new CacheError(`${context}: the backend is closed`);
    return this.#statements;
  }

  #run<T>(context: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw failed(context, error);
    }
  }

  #transaction<T>(context: string, statements: Statements, begin: string, fn: () => T): T {
    // Inside a transaction of the borrowed database's owner, run as part of it.
    if (statements.inTransaction()) return this.#run(context, fn);
    return this.#run(context, () => {
      statements.db.exec(begin);
      try {
        const result = fn();
        statements.db.exec("COMMIT");
        return result;
      } catch (error) {
        if (statements.inTransaction()) statements.db.exec("ROLLBACK");
        throw error;
      }
    });
  }
}

interface Row {
  key: string;
  value: Uint8Array;
  ms: number;
}

/** Runs `fn` now; its result or error as a settled Promise. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

function rowOf(context: string, key: unknown, value: unknown, ttl: unknown): Row {
  checkKey(context, key);
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${context}: value must be a Uint8Array: received ${describe(value)}`);
  }
  const seconds = checkFinite(context, "ttl", ttl, "seconds");
  if (seconds > MAX_TTL_SECONDS) {
    throw new RangeError(`${context}: ttl must be at most ${MAX_TTL_SECONDS} seconds: received ${describe(ttl)}`);
  }
  // Whole microseconds first, so 2.007 s is 2007 ms, not 2008.
  const ms = Math.max(1, Math.ceil(Math.round(seconds * 1e6) / 1e3));
  return { key: key as string, value, ms };
}

function checkKeys(context: string, keys: unknown): readonly string[] {
  if (!Array.isArray(keys)) throw new TypeError(`${context}: keys must be an array: received ${describe(keys)}`);
  keys.forEach((key, i) => checkKey(context, key, `keys[${i}]`));
  return keys;
}

function valueOf(row: unknown): Uint8Array | undefined {
  if (row === undefined || row === null) return undefined;
  const value = (row as { value: unknown }).value;
  // A zero-length BLOB may come back as NULL.
  if (value === null) return new Uint8Array(0);
  return value instanceof Uint8Array ? value : undefined;
}

function changesOf(result: unknown): number {
  const changes = (result as { changes?: number | bigint } | undefined)?.changes;
  return Number(changes ?? 0);
}

function failed(context: string, error: unknown): CacheError {
  return new CacheError(`${context}: ${messageOf(error)}`, { cause: error });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Driver = new (path: string) => SqliteDatabase;

// The runtime's own driver, loaded synchronously (process.getBuiltinModule: Node 20.16+, Deno, Bun), so the module
// loads on every runtime and no dynamic import names "bun:sqlite" where it cannot resolve.
function driver(): Driver {
  const runtime = globalThis as Runtime;
  const load = runtime.process?.getBuiltinModule;
  if (runtime.Bun !== undefined) {
    const bun = load?.("bun:sqlite") as { Database?: Driver } | undefined;
    if (bun?.Database !== undefined) return bun.Database;
  } else {
    const node = load?.("node:sqlite") as { DatabaseSync?: Driver } | undefined;
    if (node?.DatabaseSync !== undefined) return node.DatabaseSync;
  }
  const version = runtime.process?.versions?.node;
  throw new CacheError(
    `${CREATE}: SQLite needs Node >= 22.5 (node:sqlite; 22.5 to 22.12 with --experimental-sqlite), Deno or Bun` +
      (runtime.Bun === undefined && runtime.Deno === undefined && version !== undefined
        ? `: this is Node ${version}`
        : ": this runtime has none"),
  );
}

function open(path: string, table: string): Statements {
  const Database = driver();
  let db: SqliteDatabase;
  try {
    db = new Database(path);
  } catch (error) {
    throw new CacheError(`${CREATE}: cannot open ${JSON.stringify(path)}: ${messageOf(error)}`, { cause: error });
  }
  try {
    // busy_timeout first: switching to WAL takes a lock another process may hold.
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
    return prepare(db, table);
  } catch (error) {
    db.close();
    throw new CacheError(`${CREATE}: cannot set up ${JSON.stringify(path)}: ${messageOf(error)}`, { cause: error });
  }
}

function setUp(db: SqliteDatabase, table: string, context: string): Statements {
  try {
    return prepare(db, table);
  } catch (error) {
    throw new CacheError(`${context}: cannot set up table ${table}: ${messageOf(error)}`, { cause: error });
  }
}

function prepare(db: SqliteDatabase, table: string): Statements {
  // Quoted, so a valid name that is also a keyword ("order") works; the check on `table` rules out quotes.
  const t = `"${table}"`;
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${t} (prefix BLOB NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, ` +
      `expires_at INTEGER NOT NULL, PRIMARY KEY (prefix, key)); ` +
      `CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON ${t} (expires_at)`,
  );
  const flags = db as { isTransaction?: boolean; inTransaction?: boolean };
  // Prefix and key are bound as strings and stored as the bytes of their UTF-8 text: the driver encodes them in
  // native code (on Node, encoding with TextEncoder and binding a Uint8Array costs more than the query), and a BLOB
  // compares byte for byte, NULs included.
  const blob = "CAST(? AS BLOB)";
  return {
    db,
    // node:sqlite names it isTransaction, bun:sqlite inTransaction.
    inTransaction: () => flags.isTransaction ?? flags.inTransaction ?? false,
    get: db.prepare(`SELECT value FROM ${t} WHERE prefix = ${blob} AND key = ${blob} AND expires_at > ?`),
    set: db.prepare(`INSERT OR REPLACE INTO ${t} (prefix, key, value, expires_at) VALUES (${blob}, ${blob}, ?, ?)`),
    delete: db.prepare(`DELETE FROM ${t} WHERE prefix = ${blob} AND key = ${blob}`),
    clear: db.prepare(`DELETE FROM ${t} WHERE prefix = ${blob}`),
    cleanup: db.prepare(`DELETE FROM ${t} WHERE rowid IN (SELECT rowid FROM ${t} WHERE expires_at <= ? LIMIT ?)`),
  };
}
