/**
 * A PostgreSQL backend on the [`postgres`](https://github.com/porsager/postgres)
 * driver, for services that already run Postgres and would rather not add
 * Redis for a shared cache. Server-side only (Deno, Node, Bun).
 *
 * @example Caching in Postgres under a prefix
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 * import { PostgresCacheBackend } from "@cachet/cachet/postgres";
 *
 * await using backend = new PostgresCacheBackend({
 *   url: "postgres://postgres@127.0.0.1:5432/test",
 *   prefix: `docs:${crypto.randomUUID()}`,
 * });
 * const cache = new TTLCache({ backend, serializer: new JsonSerializer() });
 * await cache.set("user:1", { name: "Ada" }, 30);
 * assert.deepEqual(await cache.get("user:1"), { name: "Ada" });
 * await backend.clear();
 * ```
 *
 * @module
 */
import { unrefTimer } from "../_unref.ts";
import { Buffer } from "node:buffer";
import postgres from "postgres";
import type { Sql } from "postgres";
import { CacheError, CacheSettingsValidationError } from "../errors.ts";
import { checkBoolean, checkFinite, checkKey, checkOptions, checkString, checkTtl, describe } from "../_validate.ts";
import { beforeDeadline, settlesWithin } from "../_deadline.ts";
import type { BackendEntry, CacheBackend } from "../types.ts";

/**
 * A client of the `postgres` driver (`postgres(url, options)`), borrowed by {@linkcode PostgresCacheBackend}, with
 * or without custom `types`.
 */
// deno-lint-ignore ban-types -- the driver's own type of a client with any custom types; the backend uses none.
export type PostgresClient = Sql<{}>;

/** Options of {@linkcode PostgresCacheBackend}: a `url` or a `client`, not both. */
export interface PostgresCacheBackendOptions {
  /**
   * A `postgres://` or `postgresql://` URL, for example
   * `postgres://user:password@localhost:5432/app`. Required unless `client`
   * is given.
   *
   * @default {undefined}
   */
  url?: string;
  /**
   * A client of the `postgres` driver to use instead of creating one. It is
   * borrowed: `close()` leaves it open, and its own options decide the pool
   * size, `connect_timeout` and `statement_timeout`. Cannot be combined with `url`.
   *
   * @default {undefined}
   */
  client?: PostgresClient;
  /**
   * Scopes this backend's rows: it is stored in a column of its own, so
   * caches sharing the table with other prefixes stay apart (no prefix is
   * ever inside another: `"a"` does not see `"ab"`'s rows) and `clear()`
   * deletes only this prefix's rows. Any well-formed string of at most 1,000
   * UTF-8 bytes; `""` is a scope like any other.
   *
   * @default {""}
   */
  prefix?: string;
  /**
   * The table, created on first use if absent: a lowercase SQL identifier
   * (`a`–`z`, digits, `_`, not starting with a digit, at most 48
   * characters), optionally schema-qualified (`cache.entries`).
   *
   * @default {"cachet_cache"}
   */
  table?: string;
  /**
   * Seconds between two removals of expired rows (of every prefix), in
   * batches of 1,000 rows; `0` turns it off (expired rows are never
   * returned either way). The timer is unref'd: it does not keep the process
   * alive.
   *
   * @default {60}
   */
  cleanupInterval?: number;
  /**
   * Milliseconds after which any call (connecting and creating the table
   * included) fails with a `CacheError`. It is also the connection's
   * `connect_timeout` and `statement_timeout` when the backend creates the
   * client. `close()` takes at most this long.
   *
   * @default {5000}
   */
  timeout?: number;
  /**
   * Creates the table `UNLOGGED`: faster writes (no write-ahead log), but
   * the table is emptied after a crash and is not replicated to standbys.
   * It applies only when the backend creates the table.
   *
   * @default {false}
   */
  unlogged?: boolean;
}

const CREATE = "Cannot create PostgresCacheBackend";
const KNOWN_OPTIONS = ["url", "client", "prefix", "table", "cleanupInterval", "timeout", "unlogged"];
const DEFAULT_TABLE = "cachet_cache";
const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_CLEANUP_SECONDS = 60;
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,47}$/;
const MAX_PREFIX_BYTES = 1_000;
const DELETE_BATCH = 1_000;
const CLEAR_BATCH = 10_000;
// The driver sends bytea as hex text (twice the bytes), and Postgres caps a message at 1 GB; a JS string caps near
// 512 M characters. 128 MiB of keys and values per call stays well under both.
const MAX_CALL_BYTES = 128 * 1024 * 1024;
const MAX_TTL_SECONDS = `${Math.floor(Number.MAX_SAFE_INTEGER / 1000)}.${Number.MAX_SAFE_INTEGER % 1000}`;
const UPSERT = "ON CONFLICT (prefix, key_hash) DO UPDATE SET key = EXCLUDED.key, value = EXCLUDED.value, " +
  "expires_at = EXCLUDED.expires_at";

/**
 * The statements that create a table named `table`: what the backend runs on
 * first use (under an advisory lock), and what a hand-run migration needs.
 *
 * @param table The table name, as the `table` option.
 * @param unlogged Whether to create it `UNLOGGED`.
 * @returns The SQL statements, in order.
 * @throws {TypeError} When `table` is not a valid name (see {@linkcode PostgresCacheBackendOptions.table}).
 *
 * @example Printing the DDL for a migration
 * ```ts
 * import assert from "node:assert/strict";
 * import { postgresCacheDdl } from "@cachet/cachet/postgres";
 *
 * const [table, index] = postgresCacheDdl("cachet_cache");
 * assert(table.startsWith('CREATE TABLE IF NOT EXISTS "cachet_cache"'));
 * assert(index.includes("(expires_at)"));
 * ```
 */
export function postgresCacheDdl(table: string = DEFAULT_TABLE, unlogged = false): string[] {
  const context = "Cannot make the PostgresCacheBackend DDL";
  const parts = checkTable(context, table);
  checkBoolean(context, "unlogged", unlogged);
  const name = quote(parts);
  // An index lives in its table's schema: its name takes no schema.
  const index = quote([`${parts.at(-1)}_expires_at`]);
  return [
    `CREATE ${unlogged ? "UNLOGGED " : ""}TABLE IF NOT EXISTS ${name} (` +
    "prefix bytea NOT NULL, key_hash bytea NOT NULL, key bytea NOT NULL, value bytea NOT NULL, " +
    "expires_at timestamptz NOT NULL, PRIMARY KEY (prefix, key_hash))",
    `CREATE INDEX IF NOT EXISTS ${index} ON ${name} (expires_at)`,
  ];
}

interface Statements {
  lock: string;
  get: string;
  set: string;
  delete: string;
  getMany: string;
  setMany: string;
  deleteMany: string;
  clear: string;
  cleanup: string;
}

function statements(table: string): Statements {
  const t = quote(table.split("."));
  const match = "prefix = $1 AND key_hash = sha256($2) AND key = $2";
  return {
    lock: `SELECT pg_advisory_xact_lock(hashtext($1))`,
    get: `SELECT value FROM ${t} WHERE ${match} AND expires_at > now()`,
    set: `INSERT INTO ${t} (prefix, key_hash, key, value, expires_at) ` +
      `VALUES ($1, sha256($2), $2, $3, now() + $4::float8 * interval '1 millisecond') ${UPSERT}`,
    delete: `DELETE FROM ${t} WHERE ${match}`,
    getMany: `SELECT q.i::int AS i, t.value FROM unnest($2::bytea[]) WITH ORDINALITY AS q(key, i) ` +
      `JOIN ${t} t ON t.prefix = $1 AND t.key_hash = sha256(q.key) AND t.key = q.key AND t.expires_at > now()`,
    setMany: `INSERT INTO ${t} (prefix, key_hash, key, value, expires_at) ` +
      `SELECT $1, sha256(q.key), q.key, q.value, now() + q.ms * interval '1 millisecond' ` +
      `FROM unnest($2::bytea[], $3::bytea[], $4::float8[]) AS q(key, value, ms) ${UPSERT}`,
    deleteMany: `DELETE FROM ${t} t USING unnest($2::bytea[]) AS q(key) ` +
      `WHERE t.prefix = $1 AND t.key_hash = sha256(q.key) AND t.key = q.key`,
    // By primary key rather than ctid: a row updated meanwhile moves, and a batch that missed it would end the loop.
    clear: `DELETE FROM ${t} WHERE prefix = $1 AND key_hash = ANY(ARRAY(` +
      `SELECT key_hash FROM ${t} WHERE prefix = $1 LIMIT ${CLEAR_BATCH}))`,
    cleanup: `DELETE FROM ${t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${t} WHERE expires_at <= now() ` +
      `LIMIT ${DELETE_BATCH} FOR UPDATE SKIP LOCKED))`,
  };
}

type Row = { value: Buffer; i?: number };

/**
 * Stores bytes in one PostgreSQL table, as `bytea`: keys (UTF-8, NUL
 * included) and values byte for byte, scoped by a prefix column, with an
 * expiry checked by the server's clock on every read, so an expired row is
 * never returned, and removed in batches every `cleanupInterval`.
 *
 * The table (see {@linkcode postgresCacheDdl}) is created on first use.
 * `get`, `set`, `delete` and each batch method is one statement, one round
 * trip. Every call fails with a `CacheError` within `timeout`; after a
 * connection failure, until a call succeeds, one call at a time tries the
 * server and the others fail at once, so a read-through cache falls back to
 * computing without waiting.
 *
 * A backend that created its client keeps the process alive while
 * connections are open (the driver closes idle ones only on `close()`):
 * call `close()` or use `await using`.
 *
 * @example Borrowing an existing client
 * ```ts
 * import assert from "node:assert/strict";
 * import postgres from "postgres";
 * import { PostgresCacheBackend } from "@cachet/cachet/postgres";
 *
 * const sql = postgres("postgres://postgres@127.0.0.1:5432/test", { onnotice: () => {} });
 * const backend = new PostgresCacheBackend({ client: sql, prefix: `docs:${crypto.randomUUID()}` });
 * await backend.set("k", new Uint8Array([1, 2, 3]), 0.5);
 * assert((await backend.get("k"))?.length === 3);
 * await backend.clear();
 * await backend.close(); // the borrowed client stays open
 * await sql.end();
 * ```
 */
export class PostgresCacheBackend implements CacheBackend, AsyncDisposable {
  readonly #sql: PostgresClient;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #prefixBytes: Buffer;
  readonly #table: string;
  readonly #unlogged: boolean;
  readonly #timeoutMs: number;
  readonly #cleanupMs: number;
  readonly #statements: Statements;
  #ready = false;
  #creating: Promise<void> | undefined;
  #closed = false;
  #cleanupTimer: ReturnType<typeof setInterval> | undefined;
  #cleaning: Promise<void> | undefined;
  // The calls in flight, for close(); and who waits for them to settle.
  #pending = 0;
  #idle: (() => void)[] = [];
  // The last connection failure, until a call succeeds; whether a call is trying the server meanwhile.
  #down: Error | undefined;
  #probing = false;

  /**
   * Creates a backend; it connects and creates its table on first use.
   *
   * @param options Options, see {@linkcode PostgresCacheBackendOptions}.
   * @throws {TypeError} When an option has the wrong type or an unknown name, `table` is not a valid identifier,
   * neither or both of `url` and `client` are given, or `prefix` is ill-formed (a lone surrogate).
   * @throws {RangeError} When `timeout` is not a finite number > 0, `cleanupInterval` is negative, or `prefix` is
   * longer than 1,000 UTF-8 bytes.
   * @throws {CacheSettingsValidationError} When `url` is not a postgres:// or postgresql:// URL.
   */
  constructor(options: PostgresCacheBackendOptions) {
    checkOptions(CREATE, options, KNOWN_OPTIONS);
    if (options === undefined) {
      throw new TypeError(`${CREATE}: options must be an object with a url or a client: received undefined`);
    }
    const {
      url,
      client,
      prefix = "",
      table = DEFAULT_TABLE,
      cleanupInterval = DEFAULT_CLEANUP_SECONDS,
      timeout,
      unlogged = false,
    } = options;
    checkString(CREATE, "prefix", prefix);
    this.#prefixBytes = Buffer.from(prefix, "utf8");
    if (this.#prefixBytes.length > MAX_PREFIX_BYTES) {
      throw new RangeError(
        `${CREATE}: prefix must be at most ${MAX_PREFIX_BYTES} bytes in UTF-8: received ` +
          `${describe(prefix)} (${this.#prefixBytes.length} bytes)`,
      );
    }
    this.#prefix = prefix;
    checkTable(CREATE, table);
    this.#table = table;
    checkBoolean(CREATE, "unlogged", unlogged);
    this.#unlogged = unlogged;
    this.#cleanupMs = checkFinite(CREATE, "cleanupInterval", cleanupInterval, "seconds", 0, true) * 1000;
    this.#timeoutMs = timeout === undefined
      ? DEFAULT_TIMEOUT_MS
      : Math.ceil(checkFinite(CREATE, "timeout", timeout, "milliseconds"));
    this.#statements = statements(table);
    if (client !== undefined) {
      if (url !== undefined) {
        throw new TypeError(`${CREATE}: client cannot be combined with url: configure the client you pass instead`);
      }
      if (typeof client !== "function" || typeof (client as { unsafe?: unknown }).unsafe !== "function") {
        throw new TypeError(
          `${CREATE}: client must be a client of the postgres driver (postgres(url)): received ${describe(client)}`,
        );
      }
      this.#sql = client;
      this.#owned = false;
      return;
    }
    if (url === undefined) {
      throw new TypeError(
        `${CREATE}: pass url (such as postgres://user:password@localhost:5432/app) or client (a postgres driver client)`,
      );
    }
    const options_ = {
      connect_timeout: this.#timeoutMs / 1000,
      // The statements name their types; the driver's start-up type query would cost a round trip per connection.
      fetch_types: false,
      // "relation already exists, skipping" from CREATE ... IF NOT EXISTS is no news.
      onnotice: ignore,
      connection: { application_name: "cachet", statement_timeout: this.#timeoutMs },
      // The driver waits before reconnecting a connection that failed, up to 20 s after a few failures: a call given
      // to it once the server is back would wait that long. At most 1 s, as for Redis.
      backoff: (retries: number) => Math.min(retries * 0.1, 1),
    };
    const checked = checkUrl(url);
    try {
      this.#sql = postgres(checked, options_) as unknown as PostgresClient;
    } catch (error) {
      throw new CacheSettingsValidationError(
        `${CREATE}: url must be a valid URL such as postgres://user:password@localhost:5432/app (the driver cannot ` +
          `parse it; see the cause): received ${describe(redact(checked))}`,
        { cause: error },
      );
    }
    this.#owned = true;
  }

  /** The prefix scoping this backend's rows. */
  get prefix(): string {
    return this.#prefix;
  }

  /** The table name. */
  get table(): string {
    return this.#table;
  }

  /** The `postgres` driver client in use (created or borrowed). */
  get client(): PostgresClient {
    return this.#sql;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Connects and creates the table now rather than on first use, to fail early.
   *
   * @throws {CacheError} When the server cannot be reached or the table cannot be created within `timeout`, or
   * the backend is closed.
   */
  async connect(): Promise<void> {
    await this.#query("Cannot connect PostgresCacheBackend", "SELECT 1", []);
  }

  /**
   * Reads the bytes under `key`, unless they have expired.
   *
   * @param key The key.
   * @returns The bytes, or `undefined` when missing or expired.
   * @throws {TypeError} When `key` is not a string, or is ill-formed (a lone surrogate).
   * @throws {CacheError} When Postgres fails or does not answer within `timeout`, or the backend is closed.
   */
  get(key: string): Promise<Uint8Array | undefined> {
    const context = "Cannot get from PostgresCacheBackend";
    let params: unknown[];
    try {
      params = [this.#prefixBytes, keyBytes(context, key)];
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#query(context, this.#statements.get, params).then(firstValue);
  }

  /**
   * Stores `value` under `key` for ms = ceil(ttl × 1000) milliseconds (at
   * least 1), after rounding ttl to whole microseconds so that float noise
   * (2.007 × 1000 = 2007.0000000000002) never adds a millisecond; the expiry
   * is counted on the server's clock.
   *
   * @param key The key.
   * @param value The bytes.
   * @param ttl Seconds to live, a finite number > 0, at most 9007199254740.991.
   * @throws {TypeError} When an argument has the wrong type, or `key` is ill-formed (a lone surrogate).
   * @throws {RangeError} When `ttl` is out of range, or the key and value hold more than 128 MiB.
   * @throws {CacheError} When Postgres fails or does not answer within `timeout`, or the backend is closed.
   */
  set(key: string, value: Uint8Array, ttl: number): Promise<void> {
    const context = "Cannot set in PostgresCacheBackend";
    let params: unknown[];
    try {
      const k = keyBytes(context, key);
      checkValue(context, value);
      checkSize(context, k.length + value.length);
      params = [this.#prefixBytes, k, value, msOf(context, ttl)];
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#query(context, this.#statements.set, params).then(ignore);
  }

  /**
   * Deletes `key`; a no-op when absent.
   *
   * @param key The key.
   * @throws {TypeError} When `key` is not a string, or is ill-formed (a lone surrogate).
   * @throws {CacheError} When Postgres fails or does not answer within `timeout`, or the backend is closed.
   */
  async delete(key: string): Promise<void> {
    const context = "Cannot delete from PostgresCacheBackend";
    await this.#query(context, this.#statements.delete, [this.#prefixBytes, keyBytes(context, key)]);
  }

  /**
   * Reads several keys with one statement.
   *
   * @param keys The keys.
   * @returns The bytes of each key, aligned with `keys` (`undefined` where missing or expired).
   * @throws {TypeError} When `keys` is not an array of well-formed strings.
   * @throws {RangeError} When the keys hold more than 128 MiB.
   * @throws {CacheError} When Postgres fails or does not answer within `timeout`, or the backend is closed.
   */
  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    const context = "Cannot get from PostgresCacheBackend";
    const list = keyList(context, keys);
    const result: (Uint8Array | undefined)[] = new Array(keys.length).fill(undefined);
    if (keys.length === 0) return result;
    const rows = await this.#query(context, this.#statements.getMany, [this.#prefixBytes, list]);
    for (const row of rows) result[row.i! - 1] = toBytes(row.value);
    return result;
  }

  /**
   * Stores several entries with one statement, atomically; for a key given
   * twice the later entry wins.
   *
   * @param entries The entries, each with its own TTL in seconds.
   * @throws {TypeError} When a field has the wrong type (nothing is sent then).
   * @throws {RangeError} When a `ttl` is out of range, or the keys and values hold more than 128 MiB (nothing is
   * sent then).
   * @throws {CacheError} When Postgres fails or does not answer within `timeout`, or the backend is closed.
   */
  async setMany(entries: readonly BackendEntry[]): Promise<void> {
    const context = "Cannot set in PostgresCacheBackend";
    if (!Array.isArray(entries)) {
      throw new TypeError(`${context}: entries must be an array: received ${describe(entries)}`);
    }
    // One INSERT cannot update a row twice: keep each key's last entry.
    const last = new Map<string, { key: Buffer; value: Uint8Array; ms: number }>();
    let size = 0;
    for (const entry of entries) {
      if (entry === null || typeof entry !== "object") {
        throw new TypeError(
          `${context}: each entry must be an object { key, value, ttl }: received ${describe(entry)}`,
        );
      }
      const { key, value, ttl } = entry;
      const k = keyBytes(context, key);
      checkValue(context, value);
      size += k.length + value.length;
      last.delete(key);
      last.set(key, { key: k, value, ms: msOf(context, ttl) });
    }
    checkSize(context, size);
    if (last.size === 0) return;
    const rows = [...last.values()];
    await this.#query(context, this.#statements.setMany, [
      this.#prefixBytes,
      byteaArray(rows.map((row) => row.key)),
      byteaArray(rows.map((row) => row.value)),
      `{${rows.map((row) => row.ms).join(",")}}`,
    ]);
  }

  /**
   * Deletes several keys with one statement.
   *
   * @param keys The keys; absent ones are ignored.
   * @throws {TypeError} When `keys` is not an array of well-formed strings.
   * @throws {RangeError} When the keys hold more than 128 MiB.
   * @throws {CacheError} When Postgres fails or does not answer within `timeout`, or the backend is closed.
   */
  async deleteMany(keys: readonly string[]): Promise<void> {
    const context = "Cannot delete from PostgresCacheBackend";
    const list = keyList(context, keys);
    if (keys.length === 0) return;
    await this.#query(context, this.#statements.deleteMany, [this.#prefixBytes, list]);
  }

  /**
   * Deletes every row of this backend's prefix, in batches of 10,000 rows
   * (each bounded by `timeout`, not the whole `clear()`). Rows of other
   * prefixes are never touched: the prefix is compared whole, in its column.
   *
   * @throws {CacheError} When Postgres fails or does not answer within `timeout`, or the backend is closed.
   */
  async clear(): Promise<void> {
    const context = "Cannot clear PostgresCacheBackend";
    let count: number;
    do {
      count = (await this.#query(context, this.#statements.clear, [this.#prefixBytes])).count;
    } while (count >= CLEAR_BATCH);
  }

  /**
   * Removes expired rows of every prefix now, in batches of 1,000 rows, as
   * the `cleanupInterval` timer does.
   *
   * @returns The number of rows removed.
   * @throws {CacheError} When Postgres fails or does not answer within `timeout`, or the backend is closed.
   */
  async removeExpired(): Promise<number> {
    const context = "Cannot remove expired rows of PostgresCacheBackend";
    let total = 0;
    let count: number;
    do {
      count = (await this.#query(context, this.#statements.cleanup, [])).count;
      total += count;
    } while (count >= DELETE_BATCH && !this.#closed);
    return total;
  }

  /**
   * Stops the cleanup timer and closes the client this backend created,
   * letting the calls made before finish, within `timeout`. A borrowed
   * `client` stays open. Later calls are no-ops; using the backend afterwards
   * throws a `CacheError`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#cleanupTimer !== undefined) clearInterval(this.#cleanupTimer);
    if (!this.#owned) return;
    const idle = this.#pending === 0 ? undefined : new Promise<void>((resolve) => this.#idle.push(resolve));
    if (idle !== undefined) await settlesWithin(idle, this.#timeoutMs);
    // Every call has settled or failed at its deadline: nothing is left to wait for. (Given a timeout, the driver
    // would wait for it in full on a connection that failed to connect.)
    await settlesWithin(this.#sql.end({ timeout: 0 }), 1_000);
  }

  /** Closes the backend at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // Runs one statement (creating the table first, once), failing with a CacheError within the timeout.
  #query(context: string, text: string, params: unknown[]): Promise<Row[] & { count: number }> {
    if (this.#closed) return Promise.reject(new CacheError(`${context}: the backend is closed`));
    // While the server is known to be unreachable, one call at a time tries it; the others fail at once, so a
    // fail-open caller computes without waiting (the driver may hold a call on a dead connection until the deadline).
    const down = this.#down;
    if (down !== undefined) {
      if (this.#probing) {
        return Promise.reject(
          new CacheError(`${context}: Postgres is unreachable (${down.message}); retrying`, { cause: down }),
        );
      }
      this.#probing = true;
    }
    const probe = down !== undefined;
    const run = () =>
      this.#sql.unsafe(text, params as never[], { prepare: true }) as unknown as Promise<Row[] & { count: number }>;
    const work = this.#ready ? run() : this.#create().then(run);
    this.#pending++;
    return beforeDeadline(
      work,
      this.#timeoutMs,
      () => new CacheError(`${context}: Postgres did not answer within ${this.#timeoutMs} ms (timeout)`),
    ).then(
      (rows) => {
        this.#settled(probe);
        this.#down = undefined;
        return rows;
      },
      (error) => {
        this.#settled(probe);
        if (unreachable(error)) this.#down = error as Error;
        return Promise.reject(wrap(context, error));
      },
    );
  }

  #settled(probe: boolean): void {
    if (probe) this.#probing = false;
    if (--this.#pending > 0 || this.#idle.length === 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  #create(): Promise<void> {
    this.#creating ??= this.#sql.begin(async (tx) => {
      // Two processes creating the table at once would collide in the catalog: one at a time.
      await tx.unsafe(this.#statements.lock, [`cachet:${this.#table}`]);
      for (const statement of postgresCacheDdl(this.#table, this.#unlogged)) await tx.unsafe(statement);
    }).then(() => {
      this.#ready = true;
      this.#startCleanup();
    }, (error) => {
      // Retried by the next call: the server may be back by then.
      this.#creating = undefined;
      throw error;
    });
    return this.#creating;
  }

  #startCleanup(): void {
    if (this.#cleanupMs === 0 || this.#closed || this.#cleanupTimer !== undefined) return;
    this.#cleanupTimer = setInterval(() => {
      if (this.#cleaning !== undefined || this.#closed) return;
      // A failed run is retried at the next tick; expired rows are never returned meanwhile.
      this.#cleaning = this.removeExpired().then(ignore, ignore).finally(() => {
        this.#cleaning = undefined;
      });
    }, this.#cleanupMs);
    unrefTimer(this.#cleanupTimer);
  }
}

function ignore(): void {}

function quote(parts: readonly string[]): string {
  return parts.map((part) => `"${part}"`).join(".");
}

function checkTable(context: string, table: unknown): string[] {
  const parts = typeof table === "string" ? table.split(".") : [];
  if (parts.length === 0 || parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new TypeError(
      `${context}: table must be a lowercase SQL identifier (a-z, 0-9 and _, not starting with a digit, at most 48 ` +
        `characters), optionally schema-qualified as schema.table: received ${describe(table)}`,
    );
  }
  return parts;
}

function checkUrl(url: unknown): string {
  if (typeof url !== "string") throw new TypeError(`${CREATE}: url must be a string: received ${describe(url)}`);
  if (!/^postgres(?:ql)?:\/\/./i.test(url)) {
    const shown = describe(redact(url));
    throw new CacheSettingsValidationError(
      `${CREATE}: url must be a postgres:// or postgresql:// URL such as postgres://user:password@localhost:5432/app: ` +
        `received ${shown}`,
    );
  }
  return url;
}

// Everything up to the last "@" may be a password.
function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, "$1***@");
}

function keyBytes(context: string, key: string): Buffer {
  checkKey(context, key);
  return Buffer.from(key, "utf8");
}

function keyList(context: string, keys: readonly string[]): string {
  if (!Array.isArray(keys)) throw new TypeError(`${context}: keys must be an array: received ${describe(keys)}`);
  const list = keys.map((key) => keyBytes(context, key));
  checkSize(context, list.reduce((sum, key) => sum + key.length, 0));
  return byteaArray(list);
}

function checkValue(context: string, value: unknown): void {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${context}: value must be a Uint8Array: received ${describe(value)}`);
  }
}

function checkSize(context: string, bytes: number): void {
  if (bytes > MAX_CALL_BYTES) {
    throw new RangeError(
      `${context}: the keys and values of one call must hold at most ${MAX_CALL_BYTES} bytes (128 MiB): received ` +
        `${bytes} bytes; store smaller values, or split the batch`,
    );
  }
}

// A bytea[] literal, {"\\x0a0b",...}: one text parameter, whatever the driver makes of arrays.
function byteaArray(values: readonly Uint8Array[]): string {
  let text = "{";
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    text += `${i === 0 ? "" : ","}"\\\\x${
      Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")
    }"`;
  }
  return `${text}}`;
}

// Milliseconds of a TTL in seconds: ceil(ttl × 1000) after rounding to whole microseconds, so float noise
// (2.007 × 1000 = 2007.0000000000002) never adds a millisecond.
function msOf(context: string, ttl: number): number {
  checkTtl(context, "ttl", ttl);
  const ms = Math.max(1, Math.ceil(Math.round(ttl * 1e6) / 1e3));
  if (ms > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `${context}: ttl must be at most ${MAX_TTL_SECONDS} seconds (2^53 - 1 ms, the longest expiry sent exactly): ` +
        `received ${describe(ttl)}`,
    );
  }
  return ms;
}

function toBytes(value: Buffer): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function firstValue(rows: Row[]): Uint8Array | undefined {
  return rows.length === 0 ? undefined : toBytes(rows[0].value);
}

// The driver's codes for a server it cannot reach or lost, and the server's own for shutting down or starting up.
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "57P01",
  "57P02",
  "57P03",
]);

function unreachable(error: unknown): boolean {
  return error instanceof Error && UNREACHABLE.has((error as { code?: unknown }).code as string);
}

function wrap(context: string, error: unknown): CacheError {
  if (error instanceof CacheError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CacheError(`${context}: ${message}`, { cause: error });
}
