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
