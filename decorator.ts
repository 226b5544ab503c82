import { TTLCache } from "./ttl_cache.ts";
import type { FactoryContext, GetOrSetOptions, ReadThroughOptions } from "./ttl_cache_options.ts";
import { keyMaker as defaultKeyMaker } from "./make_key.ts";
import {
  checkBoolean,
  checkFunction,
  checkLock,
  checkOptions,
  checkString,
  checkTags,
  checkTtl,
  describe,
  optionNames,
} from "./_validate.ts";
import { checkReadThrough, READ_THROUGH_NAMES } from "./_read_through.ts";
import type { CacheLock } from "./cache_lock.ts";
import type { CacheInfo } from "./types.ts";

/** Any function `cached` can wrap. */
export type AnyFunction = (...args: never[]) => unknown;

/**
 * Options of {@linkcode cached}. The read-through options (`grace`,
 * `failOpen`, `timeout`, `hardTimeout`, `staleWhileRevalidate`,
 * `earlyRefresh`) default to the cache's, as in `getOrSet()`.
 */
export interface CachedOptions extends ReadThroughOptions {
  /**
   * Seconds to live of this function's results.
   *
   * @default {the cache's ttl}
   */
  ttl?: number;
  /**
   * Tags of this function's results, so `cache.deleteTags()` can drop them:
   * a list, or a function of the call's arguments returning one (for
   * example `(id) => [\`user:${id}\`]`).
   *
   * @default {[]}
   */
  tags?: readonly string[] | ((...args: never[]) => readonly string[]);
  /**
   * Builds the cache key of a call, synchronously or asynchronously. It
   * receives the wrapped function, the arguments and `this`; its string is the
   * key inside the function's namespace. Use it for arguments the default
   * encoding rejects, or for per-instance keys of methods.
   *
   * @default {`<name>:<canonical encoding of the arguments>`, see makeKey()}
   */
  keyMaker?: (fn: AnyFunction, args: readonly unknown[], thisArg: unknown) => string | PromiseLike<string>;
  /**
   * Told each computed result; when it returns `true` the result is returned
   * but not stored.
   *
   * @default {undefined}
   */
  skip?: (result: unknown) => boolean;
  /**
   * Also give different keys to objects with equal fields but different
   * classes (primitives of different types always get different keys).
   *
   * @default {false}
   */
  typed?: boolean;
  /**
   * Single flight on a miss, as in `getOrSet()`: `true` runs the function once
   * per key at a time in this process and every call waiting on it gets its
   * outcome; a {@linkcode CacheLock} (such as `RedisLock`) also makes it once
   * across processes; `false` lets every call compute.
   *
   * @default {true}
   */
  lock?: boolean | CacheLock;
  /**
   * The function's namespace: where its entries live (see
   * `TTLCache.namespace()`), and the prefix of its default keys.
   *
   * @default {the function's name; for a method, `Class#method` (or `Class.method` when static)}
   */
  name?: string;
}

/**
 * What {@linkcode cached} adds to a wrapped function.
 *
 * @typeParam F The wrapped function.
 */
export interface CachedHelpers<F extends AnyFunction = AnyFunction> {
  /**
   * Reads the statistics of the underlying cache (shared by every function
   * cached in it).
   *
   * @returns A snapshot, see {@linkcode TTLCache.cacheInfo}.
   */
  cacheInfo(): CacheInfo;
  /**
   * Removes this function's entries, and nothing else: its namespace is
   * cleared in O(1) (see `TTLCache.namespace()`).
   *
   * @returns A Promise that settles once they are gone, for every process sharing the backend.
   */
  cacheClear(): Promise<void>;
  /**
   * The key a call with these arguments uses, inside the function's
   * namespace. A string when no digest is needed (encodings up to 128
   * characters), else a Promise of one: long encodings are hashed with Web
   * Crypto's SHA-256, which is asynchronous. Call it with `.call(instance, …)`
   * when a `keyMaker` reads `this`.
   *
   * @param args The call's arguments.
   * @returns The key, or a Promise of it.
   * @throws {TypeError} When an argument has no stable encoding.
   */
  keyFor(this: ThisParameterType<F>, ...args: Parameters<F>): string | Promise<string>;
  /**
   * Deletes exactly the entry of a call with these arguments.
   *
   * @param args The call's arguments.
   * @returns A Promise that settles once it is deleted.
   * @throws {TypeError} When an argument has no stable encoding.
   * @throws {CacheError} When the backend fails.
   */
  invalidate(this: ThisParameterType<F>, ...args: Parameters<F>): Promise<void>;
  /**
   * Returns the function bound to an `AbortSignal`: a call through it stops
   * waiting when the signal aborts (rejecting with its reason); the
   * computation itself is abandoned only when every call waiting on it
   * aborted.
   *
   * @param signal The signal.
   * @returns The function, with the same parameters.
   * @throws {TypeError} When `signal` is not an `AbortSignal`.
   */
  withSignal(
    signal: AbortSignal,
  ): (this: ThisParameterType<F>, ...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;
}

/**
 * A function wrapped by {@linkcode cached}: same parameters and `this`, always
 * returns a Promise.
 *
 * @typeParam F The wrapped function.
 */
export type CachedFunction<F extends AnyFunction> =
  & ((this: ThisParameterType<F>, ...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>)
  & CachedHelpers<F>;

/**
 * What {@linkcode cached} returns: a function wrapper that is also a standard
 * (TC39) method decorator.
 */
export interface Cached {
  /**
   * Wraps a sync or async function.
   *
   * @param fn The function; it needs a name unless the `name` option is given.
   * @returns The cached function.
   * @throws {TypeError} When `fn` is not a function, or has no name and no `name` option was given.
   */
  <F extends AnyFunction>(fn: F): CachedFunction<F>;
  /**
   * Decorates an async method (`@cached(cache) async find(id) {}`).
   *
   * @param method The method.
   * @param context The decorator context.
   * @returns The cached method.
   * @throws {TypeError} When used on something else than a method, or on a private or symbol-named method without the `name` option.
   */
  <This, Args extends unknown[], R>(
    method: (this: This, ...args: Args) => Promise<R>,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Promise<R>>,
  ): CachedFunction<(this: This, ...args: Args) => Promise<R>>;
}

const CACHED_OPTIONS = optionNames<CachedOptions>({
  keyMaker: true,
  skip: true,
  typed: true,
  lock: true,
  name: true,
  ttl: true,
  tags: true,
  ...READ_THROUGH_NAMES,
});

const CREATE = "Cannot create cached function";
const READ_THROUGH_KEYS = Object.keys(READ_THROUGH_NAMES) as (keyof ReadThroughOptions)[];

interface Settings {
  readonly cache: TTLCache<unknown>;
  readonly keyMaker: CachedOptions["keyMaker"];
  readonly skip: CachedOptions["skip"];
  readonly typed: boolean;
  readonly name: string | undefined;
  readonly tags: ((...args: unknown[]) => readonly string[]) | undefined;
  // What every call passes to getOrSet(): frozen, so it is validated once.
  readonly call: GetOrSetOptions;
}

/**
 * Memoizes a sync or async function (or method) in a {@linkcode TTLCache}.
 *
 * The result of `cached(cache, options)` wraps a function
 * (`cached(cache)(fetchUser)`) or decorates a method (`@cached(cache)`). The
 * wrapped function always returns a Promise, keeps the original's `name` and
 * `length`, and has the {@linkcode CachedHelpers}: `cacheInfo()`,
 * `cacheClear()` (this function's entries only), `keyFor()`, `invalidate()`
 * and `withSignal()`. Each call is `getOrSet()` in the function's namespace,
 * so everything `getOrSet()` does (single flight, grace, fail-open,
 * timeouts, early refresh, events) applies.
 *
 * Every result is stored, including `undefined`, `null`, `0`, `""` and
 * `false` (when the serializer can encode it), unless `skip(result)` says
 * otherwise. Errors are never stored: they reach the caller. A result the
 * serializer cannot encode reaches the caller as the serializer's
 * `TypeError`, and nothing is stored.
 *
 * Default keys are `<name>:<canonical encoding of the arguments>` (see
 * {@linkcode makeKey}) inside the namespace `<name>`: equal arguments give
 * equal keys, different ones different keys. For a method, `this` is not
 * part of the key: the name is `Class#method`, shared by all instances; give
 * `keyMaker` (which receives `this`) for per-instance keys.
 *
 * @param cache Where results are stored.
 * @param options Options, see {@linkcode CachedOptions}.
 * @returns A function wrapper that is also a method decorator.
 * @throws {TypeError} When `cache` is not a `TTLCache`, or an option is unknown or has the wrong type.
 * @throws {RangeError} When `name` is an empty string.
 *
 * @example Caching a function
 * ```ts
 * import assert from "node:assert/strict";
 * import { cached, TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ ttl: 60, serializer: new JsonSerializer() });
 * let calls = 0;
 * const square = cached(cache)(function square(n: number) {
 *   calls++;
 *   return n * n;
 * });
 * assert((await square(4)) === 16 && (await square(4)) === 16);
 * assert(calls === 1 && square.cacheInfo().hits === 1);
 * assert.equal(square.keyFor(4), "square:[4]");
 * await square.invalidate(4);
 * assert.equal(await square(4), 16);
 * assert.equal(calls, 2);
 * ```
 *
 * @example Per-function TTL and tags
 * ```ts
 * import assert from "node:assert/strict";
 * import { cached, TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ serializer: new JsonSerializer() });
 * let loads = 0;
 * const getUser = cached(cache, { ttl: 300, tags: (id: number) => [`user:${id}`] })(
 *   async function getUser(id: number) {
 *     loads++;
 *     return { id };
 *   },
 * );
 * await getUser(1);
 * await cache.deleteTags(["user:1"]); // after the user changed
 * await getUser(1);
 * assert.equal(loads, 2);
 * ```
 *
 * @example Single flight and skip
 * ```ts
 * import assert from "node:assert/strict";
 * import { cached, TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ serializer: new JsonSerializer() });
 * let calls = 0;
 * const load = cached(cache, { skip: (user) => user === null })(
 *   async function load(id: number) {
 *     calls++;
 *     await new Promise((resolve) => setTimeout(resolve, 10));
 *     return id > 0 ? { id } : null;
 *   },
 * );
 * await Promise.all([load(1), load(1), load(1)]);
 * assert(calls === 1);
 * ```
 */
export function cached<T>(cache: TTLCache<T>, options: CachedOptions = {}): Cached {
  const settings = checkSettings(cache as TTLCache<unknown>, options);
  return function cachedDecorator(fn: AnyFunction, context?: ClassMethodDecoratorContext) {
    if (typeof fn !== "function") throw new TypeError(`${CREATE}: fn must be a function: received ${describe(fn)}`);
    if (context === undefined) {
      const name = settings.name ?? fn.name;
      if (name === "") {
        throw new TypeError(
          `${CREATE}: the function has no name; pass the name option, so that its keys cannot collide with another function's`,
        );
      }
      return wrap(fn, settings, name);
    }
    if (context === null || typeof context !== "object" || context.kind !== "method") {
      const kind = context !== null && typeof context === "object" ? `a ${String(context.kind)}` : describe(context);
      throw new TypeError(`${CREATE}: @cached decorates methods only: received ${kind}`);
    }
    if (settings.name === undefined && (context.private || typeof context.name !== "string")) {
      throw new TypeError(
        `${CREATE}: cannot name the keys of the ${context.private ? "private" : "symbol-named"} method ${
          String(context.name)
        }; pass the name option`,
      );
    }
    return wrap(fn, settings, settings.name, context.name as string);
  } as Cached;
}

function checkSettings(cache: TTLCache<unknown>, options: CachedOptions): Settings {
  if (!(cache instanceof TTLCache)) {
    throw new TypeError(`${CREATE}: cache must be a TTLCache: received ${describe(cache)}`);
  }
  checkOptions(CREATE, options, CACHED_OPTIONS);
  const { keyMaker, skip, typed = false, lock = true, name, ttl, tags } = options;
  checkFunction(CREATE, "keyMaker", keyMaker);
  checkFunction(CREATE, "skip", skip);
  checkBoolean(CREATE, "typed", typed);
  checkLock(CREATE, lock);
  checkString(CREATE, "name", name);
  if (name === "") throw new RangeError(`${CREATE}: name must be a non-empty string: received ""`);
  checkReadThrough(CREATE, options, undefined, cache.maxTtl);
  const call: Record<string, unknown> = { lock };
  if (ttl !== undefined) call.ttl = checkTtl(CREATE, "ttl", ttl, cache.maxTtl);
  for (const key of READ_THROUGH_KEYS) if (options[key] !== undefined) call[key] = options[key];
  if (Array.isArray(tags)) call.tags = Object.freeze([...checkTags(CREATE, tags)]);
  else if (tags !== undefined && typeof tags !== "function") {
    throw new TypeError(
      `${CREATE}: tags must be an array of strings or a function of the arguments returning one: received ${
        describe(tags)
      }`,
    );
  }
  return {
    cache,
    keyMaker,
    skip,
    typed,
    name,
    tags: typeof tags === "function" ? tags as (...args: unknown[]) => readonly string[] : undefined,
    // Frozen, so getOrSet() checks it once.
    call: Object.freeze(call) as GetOrSetOptions,
  };
}

// `name` is the namespace; for a method without the name option it is found
// on the first call (or when an instance is made), from the class that owns `method`.
function wrap(fn: AnyFunction, settings: Settings, name: string | undefined, method?: string): AnyFunction {
  const { cache, keyMaker, skip, typed, call: callOptions, tags } = settings;
  const run = fn as (this: unknown, ...args: unknown[]) => unknown;
  let scope: { view: TTLCache<unknown>; keyOf: (args: readonly unknown[]) => string | Promise<string> } | undefined;
  const scopeOf = (self: unknown) => {
    if (scope !== undefined) return scope;
    const namespace = name ?? methodNamespace(self, wrapper, method as string);
    return scope = { view: cache.namespace(namespace), keyOf: defaultKeyMaker(namespace, typed) };
  };
  const keyOf = (self: unknown, args: unknown[]): string | PromiseLike<string> =>
    keyMaker !== undefined ? keyMaker(fn, args, self) : scopeOf(self).keyOf(args);
  const optionsFor = (args: unknown[], signal: AbortSignal | undefined): GetOrSetOptions =>
    tags === undefined && signal === undefined
      ? callOptions
      : { ...callOptions, ...(tags === undefined ? {} : { tags: tags(...args) }), ...(signal ? { signal } : {}) };

  const lookup = (
    key: string,
    self: unknown,
    args: unknown[],
    signal: AbortSignal | undefined,
  ): Promise<unknown> => {
    if (typeof key !== "string") {
      return Promise.reject(
        new TypeError(
          `Cannot call ${fn.name || "the cached function"}: keyMaker must return a string (or a Promise of one): ` +
            `received ${describe(key)}`,
        ),
      );
    }
    const factory = skip === undefined ? () => run.apply(self, args) : async (context: FactoryContext<unknown>) => {
      const value = await run.apply(self, args);
      if (skip(value)) context.skip();
      return value;
    };
    return scopeOf(self).view.getOrSet(key, factory, optionsFor(args, signal));
  };
  const call = (self: unknown, args: unknown[], signal: AbortSignal | undefined): Promise<unknown> => {
    try {
      const key = keyOf(self, args);
      return typeof key === "string"
        ? lookup(key, self, args, signal)
        : Promise.resolve(key).then((resolved) => lookup(resolved, self, args, signal));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const wrapper = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    return call(this, args, undefined);
  };
  Object.defineProperty(wrapper, "name", { value: fn.name, configurable: true });
  Object.defineProperty(wrapper, "length", { value: fn.length, configurable: true });
  return Object.assign(wrapper, {
    cacheInfo: (): CacheInfo => cache.cacheInfo(),
    cacheClear(this: unknown): Promise<void> {
      try {
        return scopeOf(this).view.clear();
      } catch (error) {
        return Promise.reject(error);
      }
    },
    keyFor(this: unknown, ...args: unknown[]): string | Promise<string> {
      const key = keyOf(this, args);
      return typeof key === "string" ? key : Promise.resolve(key);
    },
    async invalidate(this: unknown, ...args: unknown[]): Promise<void> {
      const key = await keyOf(this, args);
      await scopeOf(this).view.delete(key);
    },
    withSignal(signal: AbortSignal) {
      if (!(signal instanceof AbortSignal)) {
        throw new TypeError(
          `Cannot bind ${fn.name || "the cached function"}: signal must be an AbortSignal: received ${
            describe(signal)
          }`,
        );
      }
      return function (this: unknown, ...args: unknown[]): Promise<unknown> {
        return call(this, args, signal);
      };
    },
  });
}

// `Class#method`, or `Class.method` for a static method, from the object of
// `self`'s prototype chain that owns the decorated method.
function methodNamespace(self: unknown, wrapper: unknown, method: string): string {
  for (
    let owner = self === null || self === undefined ? null : Object(self);
    owner !== null;
    owner = Object.getPrototypeOf(owner)
  ) {
    if (Object.getOwnPropertyDescriptor(owner, method)?.value !== wrapper) continue;
    const isClass = typeof owner === "function";
    const className = isClass ? owner.name : owner.constructor?.name;
    if (typeof className === "string" && className !== "") return `${className}${isClass ? "." : "#"}${method}`;
    break;
  }
  throw new TypeError(
    `Cannot call ${method}: cannot find the named class that defines it from this (${
      describe(self)
    }); call it on an instance of the class, or pass the name option to cached()`,
  );
}
