// The connection a RedisCacheBackend or a RedisBus made from options creates:
// where it connects (the url option, or the REDIS_* environment variables,
// checked up front so a typo fails at construction with a message that names
// the fault and never the password), the ioredis client with cachet's
// defaults and command deadlines, and how it closes.
import { Redis } from "ioredis";
import type { RedisOptions as IORedisOptions } from "ioredis";
import { type CacheError, CacheSettingsValidationError } from "../../errors.ts";
import { checkDuration, describe } from "../../_validate.ts";
import { settlesWithin } from "../../_deadline.ts";
import { readEnv } from "../_env.ts";
import { boundCommands, Calls, Deadlines } from "./_command_deadline.ts";
import { endClient, wrapError } from "./_client.ts";

/** The options of an ioredis `Redis` client (`tls`, `username`, `connectionName`, `retryStrategy`, …). */
export type RedisOptions = IORedisOptions;

/** The default of `timeout`, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 1_000;
// Reconnect attempts at most this far apart: a cache comes back (and a bus hears invalidations again) within a
// quarter second of the server, and an attempt to a loopback or LAN server costs next to nothing.
const MAX_RECONNECT_DELAY_MS = 250;
// ioredis options that say where to connect, standing in for the url.
const DIRECT_KEYS = ["host", "port", "path", "sentinels"] as const;

/** A URL for ioredis, or the parts read from REDIS_HOST and its companions. */
export type RedisTarget = string | { host?: string; port?: number; db?: number; password?: string };

/**
 * Hides the password of a URL before it goes into an error message: all up to
 * the last "@", since a password may hold "@", ":" or "/" unescaped.
 */
function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, "$1***@");
}

function invalid(context: string, message: string): CacheSettingsValidationError {
  return new CacheSettingsValidationError(`${context}: ${message}`);
}

function checkUrl(context: string, name: string, value: string, fix: string): string {
  const shown = describe(redact(value));
  if (!/^rediss?:\/\//i.test(value)) {
    throw invalid(
      context,
      `${name} must be a redis:// or rediss:// URL such as redis://localhost:6379/0: received ${shown}; ${fix}`,
    );
  }
  // The authority without the user:password@ part, which is cut up to the last "@" so that no piece of a
  // password (which may hold ":", "/" or "@") is ever read as the port.
  const authority = value.replace(/^rediss?:\/\//i, "").replace(/^.*@/s, "").replace(/[/?#].*$/s, "");
  const port = /^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/s.exec(authority)?.[1];
  if (port !== undefined && port !== "" && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65_535)) {
    throw invalid(
      context,
      `the port in ${name} must be an integer from 1 to 65535 (as in redis://localhost:6379/0): received ` +
        `${describe(port)} in ${shown}; ${fix}`,
    );
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    // Reported below.
  }
  if (parsed === undefined || parsed.hostname === "") {
    throw invalid(
      context,
      `${name} must be a URL with a host, such as redis://localhost:6379/0: received ${shown}; ${fix}`,
    );
  }
  const db = decodeURIComponent(parsed.pathname.slice(1));
  if (db !== "" && !/^\d+$/.test(db)) {
    throw invalid(
      context,
      `the database in ${name} must be a non-negative integer (the path, as in redis://localhost:6379/0): ` +
        `received ${describe(db)}; ${fix}`,
    );
  }
  return value;
}

/** The default `envPrefix`: the variables read are `REDIS_URL`, `REDIS_HOST`, … */
export const DEFAULT_ENV_PREFIX = "REDIS_";

/** Checks an `envPrefix` option: the start of an environment variable name, such as `"CACHE_REDIS_"`. */
export function checkEnvPrefix(context: string, envPrefix: unknown): string {
  if (envPrefix === undefined) return DEFAULT_ENV_PREFIX;
  if (typeof envPrefix !== "string") {
    throw new TypeError(`${context}: envPrefix must be a string: received ${describe(envPrefix)}`);
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(envPrefix)) {
    throw new TypeError(
      `${context}: envPrefix must be letters, digits and underscores, not starting with a digit (as in ` +
        `"CACHE_REDIS_", which reads CACHE_REDIS_URL): received ${describe(envPrefix)}`,
    );
  }
  return envPrefix;
}

/**
 * The server to connect to: the `url` option when given, else
 * `<envPrefix>URL`, else `<envPrefix>HOST` with `<envPrefix>PORT`,
 * `<envPrefix>DB` and `<envPrefix>PASSWORD` (`REDIS_URL`, … by default).
 *
 * @throws {TypeError} When `url` is not a string.
 * @throws {CacheSettingsValidationError} When the URL or the environment is missing or invalid.
 */
export function resolveTarget(context: string, url: unknown, envPrefix: string = DEFAULT_ENV_PREFIX): RedisTarget {
  if (url !== undefined) {
    if (typeof url !== "string") {
      throw new TypeError(`${context}: url must be a string: received ${describe(url)}`);
    }
    return checkUrl(context, "url", url, "fix the url option");
  }
  const [URL_, HOST, PORT, DB, PASSWORD] = ["URL", "HOST", "PORT", "DB", "PASSWORD"].map((name) => envPrefix + name);
  // An empty variable counts as unset. (On Deno, ioredis itself needs --allow-env to load.)
  const env = (name: string): string | undefined => readEnv(name) || undefined;
  const envUrl = env(URL_);
  const host = env(HOST);
  if (envUrl !== undefined && host !== undefined) {
    throw invalid(
      context,
      `both ${URL_} and ${HOST} are set; unset one of them: ${URL_} alone, or ${HOST} ` +
        `with ${PORT}, ${DB} and ${PASSWORD}`,
    );
  }
  if (envUrl !== undefined) return checkUrl(context, URL_, envUrl, `fix the ${URL_} environment variable`);
  if (host === undefined) {
    throw invalid(
      context,
      `no Redis server configured; pass the url option, or set ${URL_} (for example ` +
        `redis://localhost:6379/0), or ${HOST} with optional ${PORT} (6379), ${DB} (0) and ${PASSWORD}`,
    );
  }
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env(name);
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!(value >= min && value <= max)) {
      throw invalid(
        context,
        `${name} must be an integer from ${min} to ${max}: received ${describe(raw)}; fix or unset it ` +
          `(default ${fallback})`,
      );
    }
    return value;
  };
  const port = integer(PORT, 6379, 1, 65_535);
  const db = integer(DB, 0, 0, Number.MAX_SAFE_INTEGER);
  const password = env(PASSWORD);
  return password === undefined ? { host, port, db } : { host, port, db, password };
}

/** Checks a `timeout` option (milliseconds); the default when `undefined`. */
export function checkTimeout(context: string, timeout: unknown): number {
  return timeout === undefined ? DEFAULT_TIMEOUT_MS : Math.ceil(checkDuration(context, "timeout", timeout));
}

/**
 * An ioredis client created from options, with cachet's defaults: lazy
 * connect, auto-pipelining, queued commands rejected at every failed
 * reconnect attempt, and every call bounded by `timeoutMs`.
 */
export class Connection {
  /** The client. */
  readonly client: Redis;
  /** The bound of each call and of `close()`, in milliseconds. */
  readonly timeoutMs: number;
  /** The last failed connection attempt since the client was last ready, to explain the next failure. */
  lastError: Error | undefined;
  // Bounded by the connection's own deadlines unless ioredis' commandTimeout was asked for.
  readonly #calls: Calls;
  readonly #tls: boolean;
  #wasReady = false;
  // Set when the server refused the database: every command then fails with it.
  #refused: Error | undefined;

  /**
   * @throws {CacheSettingsValidationError} When the URL or the environment variables are missing or invalid.
   */
  constructor(
    context: string,
    url: unknown,
    timeoutMs: number,
    ioredisOptions: RedisOptions,
    envPrefix: string = DEFAULT_ENV_PREFIX,
  ) {
    this.timeoutMs = timeoutMs;
    const defaults: RedisOptions = {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      // Commands issued in the same tick share one write to the socket: more
      // throughput with many concurrent callers.
      enableAutoPipelining: true,
      // Reject queued commands at every failed reconnect attempt instead of
      // holding them until the server returns.
      maxRetriesPerRequest: 0,
      retryStrategy: (times: number) => Math.min(times * 50, MAX_RECONNECT_DELAY_MS),
      // ioredis' timer that destroys a socket disconnect() could not end: with a socket already gone (a client
      // waiting to reconnect) its 2 s default kept the process alive after close(), which bounds the wait itself.
      disconnectTimeout: 0,
    };
    const direct = url === undefined && DIRECT_KEYS.some((key) => ioredisOptions[key] !== undefined);
    if (envPrefix !== DEFAULT_ENV_PREFIX && (url !== undefined || direct)) {
      const given = url !== undefined
        ? "url"
        : DIRECT_KEYS.filter((key) => ioredisOptions[key] !== undefined).join(", ");
      throw new TypeError(
        `${context}: envPrefix has no effect with ${given}, which name the server themselves: pass one or the other`,
      );
    }
    const target = direct ? {} : resolveTarget(context, url, envPrefix);
    const redis = typeof target === "string"
      ? new Redis(target, { ...defaults, ...ioredisOptions })
      : new Redis({ ...defaults, ...target, ...ioredisOptions });
    this.#tls = (typeof target === "string" && /^rediss:/i.test(target)) || ioredisOptions.tls !== undefined;
    redis.on("ready", () => {
      this.#wasReady = true;
    });
    // Without a listener ioredis logs every failed reconnect attempt; keep the
    // last one to explain the next command failure instead.
    redis.on("error", (error: Error) => {
      this.lastError = error;
      // ioredis reports a refused SELECT (a db the server does not have) as an event only, then goes on in db 0.
      const command = (error as { command?: { name?: string; args?: unknown[] } }).command;
      if (command?.name === "select") {
        this.#refused ??= new Error(
          `the server refused database ${String(command.args?.[0])} (${error.message}); use a database from 0 to ` +
            "the server's databases setting minus 1 (16 databases by default), in the url or REDIS_DB",
          { cause: error },
        );
      }
    });
    // Every command fails once the database was refused, those queued while connecting included (ioredis flushes
    // them through sendCommand right after the SELECT's reply), so nothing is ever written to database 0 instead.
    const send = redis.sendCommand;
    redis.sendCommand = (command, stream) => {
      if (this.#refused !== undefined) {
        command.reject(this.#refused);
        return command.promise;
      }
      return send.call(redis, command, stream);
    };
    redis.on("ready", () => {
      this.lastError = undefined;
    });
    // A command timeout without ioredis' timer per command (unless the caller asked for ioredis' own).
    let deadlines: Deadlines | undefined;
    if (ioredisOptions.commandTimeout === undefined) {
      deadlines = new Deadlines(timeoutMs);
      boundCommands(redis, deadlines);
    }
    this.#calls = new Calls(deadlines);
    this.client = redis;
  }

  /** A `CacheError` for `error`, with the last connection error and a hint when one applies. */
  failure(context: string, error: unknown): CacheError {
    return wrapError(context, error, this.lastError, this.#hint(error));
  }

  #hint(error: unknown): string | undefined {
    // TLS against a plain server: the server waits for a command line, the handshake never ends, and all the
    // client sees is a timeout.
    const timedOut = /timed out|ETIMEDOUT/.test(`${(error as Error)?.message} ${this.lastError?.message}`);
    if (this.#tls && !this.#wasReady && timedOut) {
      return "the TLS handshake did not complete: is the server TLS-enabled? (rediss:// and the tls option need a " +
        "TLS port; use redis:// for a plain server)";
    }
    return undefined;
  }

  /** Whether a call made now is a lone one (see Calls.lone). */
  get lone(): boolean {
    return this.#calls.lone;
  }

  /** Settles like `reply`, or (when `bounded`) fails with a timeout first. */
  track<T>(reply: Promise<T>, bounded = true): Promise<T> {
    return this.#calls.track(reply, bounded);
  }

  /**
   * Answers the calls made before (even in the same tick), then ends the
   * connection with `QUIT`; at most `timeoutMs`, past which the socket is
   * dropped. At once when the client waits to reconnect: the server is
   * unreachable, and nothing is left to flush.
   */
  async close(): Promise<void> {
    const client = this.client;
    const deadline = performance.now() + this.timeoutMs;
    const left = () => Math.max(0, deadline - performance.now());
    if (client.status !== "reconnecting" && client.status !== "end") {
      // With auto-pipelining a call made just before may still wait in the client, and QUIT would overtake it.
      await settlesWithin(this.#calls.idle(), left());
      if (client.status === "ready") await settlesWithin(client.quit(), left());
    }
    await endClient(client, left());
  }
}
