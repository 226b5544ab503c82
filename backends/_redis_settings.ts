// Where RedisCacheBackend connects: the url option, or the REDIS_* environment
// variables, checked up front so a typo fails at construction with a message
// that names the fault and never the password.
import { CacheSettingsValidationError } from "../errors.ts";
import { describe } from "../_validate.ts";
import { readEnv } from "./_env.ts";

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

/**
 * The server to connect to: the `url` option when given, else `REDIS_URL`,
 * else `REDIS_HOST` with `REDIS_PORT`, `REDIS_DB` and `REDIS_PASSWORD`.
 *
 * @throws {TypeError} When `url` is not a string.
 * @throws {CacheSettingsValidationError} When the URL or the environment is missing or invalid.
 */
export function resolveTarget(context: string, url: unknown): RedisTarget {
  if (url !== undefined) {
    if (typeof url !== "string") {
      throw new TypeError(`${context}: url must be a string: received ${describe(url)}`);
    }
    return checkUrl(context, "url", url, "fix the url option");
  }
  // An empty variable counts as unset. (On Deno, ioredis itself needs --allow-env to load.)
  const env = (name: string): string | undefined => readEnv(name) || undefined;
  const envUrl = env("REDIS_URL");
  const host = env("REDIS_HOST");
  if (envUrl !== undefined && host !== undefined) {
    throw invalid(
      context,
      "both REDIS_URL and REDIS_HOST are set; unset one of them: REDIS_URL alone, or REDIS_HOST " +
        "with REDIS_PORT, REDIS_DB and REDIS_PASSWORD",
    );
  }
  if (envUrl !== undefined) return checkUrl(context, "REDIS_URL", envUrl, "fix the REDIS_URL environment variable");
  if (host === undefined) {
    throw invalid(
      context,
      "no Redis server configured; pass the url option, or set REDIS_URL (for example " +
        "redis://localhost:6379/0), or REDIS_HOST with optional REDIS_PORT (6379), REDIS_DB (0) and REDIS_PASSWORD",
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
  const port = integer("REDIS_PORT", 6379, 1, 65_535);
  const db = integer("REDIS_DB", 0, 0, Number.MAX_SAFE_INTEGER);
  const password = env("REDIS_PASSWORD");
  return password === undefined ? { host, port, db } : { host, port, db, password };
}
