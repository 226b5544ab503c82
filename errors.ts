/**
 * Error classes thrown by cachet.
 *
 * @module
 */

/**
 * The root of every error cachet throws for cache and backend failures.
 *
 * Catch `CacheError` to handle any cache failure; wrapped failures carry the
 * original error as `cause`.
 *
 * @example Catching a cache failure
 * ```ts
 * import assert from "node:assert/strict";
 * import { CacheError } from "@cachet/cachet";
 *
 * const error = new CacheError("Cannot reach the backend", { cause: new Error("ECONNREFUSED") });
 * assert(error instanceof Error && error.name === "CacheError");
 * ```
 */
export class CacheError extends Error {
  /**
   * Creates a cache error.
   *
   * @param message What failed and why.
   * @param options Standard error options; pass `cause` when wrapping an error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CacheError";
  }
}

/**
 * Thrown when cache settings (for example a backend's URL or environment
 * variables) are invalid.
 *
 * @example Telling a settings error apart
 * ```ts
 * import assert from "node:assert/strict";
 * import { CacheError, CacheSettingsValidationError } from "@cachet/cachet";
 *
 * const error = new CacheSettingsValidationError("REDIS_PORT must be a number: received \"abc\"");
 * assert(error instanceof CacheError && error.name === "CacheSettingsValidationError");
 * ```
 */
export class CacheSettingsValidationError extends CacheError {
  /**
   * Creates a settings validation error.
   *
   * @param message Which setting is wrong, the rule, and how to fix it.
   * @param options Standard error options; pass `cause` when wrapping an error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CacheSettingsValidationError";
  }
}

/**
 * Thrown when a computation of `getOrSet()` or `cached()` runs longer than its
 * `hardTimeout` and no stale value can be served instead. The computation's
 * `signal` is aborted with this error.
 *
 * @example Telling a timeout apart
 * ```ts
 * import assert from "node:assert/strict";
 * import { CacheError, CacheTimeoutError } from "@cachet/cachet";
 *
 * const error = new CacheTimeoutError("Cannot compute \"k\" within 100 ms");
 * assert(error instanceof CacheError);
 * assert.equal(error.name, "CacheTimeoutError");
 * ```
 */
export class CacheTimeoutError extends CacheError {
  /**
   * Creates a timeout error.
   *
   * @param message What timed out, and after how long.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CacheTimeoutError";
  }
}
