import { TTLCache } from "./ttl_cache.ts";
import { getNow, getUncounted } from "./ttl_cache.ts";
import { keyMaker as defaultKeyMaker } from "./make_key.ts";
import { KeyLock } from "./_key_lock.ts";
import { checkBoolean, checkFunction, checkOptions, checkString, describe, optionNames } from "./_validate.ts";
import type { CacheLock } from "./cache_lock.ts";
import type { CacheInfo } from "./types.ts";

/** Any function `cached` can wrap. */
export type AnyFunction = (...args: never[]) => unknown;

/** Options of {@linkcode cached}. */
export interface CachedOptions {
  /**
   * Builds the cache key of a call, synchronously or asynchronously. It
   * receives the wrapped function, the arguments and `this`, and its string is
   * used as the key as it is (no namespace is added). Use it for arguments the
   * default encoding rejects, or for per-instance keys of methods.
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
   * Single flight on a miss: `true` runs the function once per key at a time
   * in this process (calls waiting on the same key re-check the cache, then
   * run the function themselves if it is still missing, for example after an
   * error); a {@linkcode CacheLock} (such as a distributed lock) is taken
   * around the re-check, the call and the store instead.
   *
   * @default {false}
   */
  lock?: boolean | CacheLock;
  /**
   * The namespace of the default keys.
   *
   * @default {the function's name; for a method, `Class#method` (or `Class.method` when static)}
   */
  name?: string;
}

/** What {@linkcode cached} adds to a wrapped function. */
export interface CachedHelpers {
  /**
   * Reads the statistics of the underlying cache (shared by every function
   * cached in it).
   *
   * @returns A snapshot, see {@linkcode TTLCache.cacheInfo}.
   */
  cacheInfo(): CacheInfo;
  /**
   * Clears the whole underlying cache, as in grelmicro.
   *
   * @returns A Promise that settles when the backend is cleared.
   */
  cacheClear(): Promise<void>;
}

/**
 * A function wrapped by {@linkcode cached}: same parameters and `this`, always
 * returns a Promise.
 *
 * @typeParam F The wrapped function.
 */
export type CachedFunction<F extends AnyFunction> =
  & ((this: ThisParameterType<F>, ...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>)
  & CachedHelpers;

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

const CACHED_OPTIONS = optionNames<CachedOptions>({ keyMaker: true, skip: true, typed: true, lock: true, name: true });

const CREATE = "Cannot create cached function";
const MISS: unique symbol = Symbol("cachet.miss");

interface Settings {
  readonly cache: TTLCache<unknown>;
  readonly keyMaker: CachedOptions["keyMaker"];
  readonly skip: CachedOptions["skip"];
  readonly typed: boolean;
  readonly lock: CacheLock | true | undefined;
  readonly name: string | undefined;
}

/**
 * Memoizes a sync or async function (or method) in a {@linkcode TTLCache}.
 *
 * The result of `cached(cache, options)` wraps a function
 * (`cached(cache)(fetchUser)`) or decorates a method (`@cached(cache)`). The
 * wrapped function always returns a Promise, keeps the original's `name` and
 * `length`, and has `cacheInfo()` and `cacheClear()` (which clears the whole
 * cache).
 *
 * Every result is stored, including `undefined`, `null`, `0`, `""` and
 * `false` (when the serializer can encode it), unless `skip(result)` says
 * otherwise. Errors are never stored: they reach the caller. A result the
 * serializer cannot encode reaches the caller as the serializer's
 * `TypeError`, and nothing is stored.
 *
 * Default keys are `<name>:<canonical encoding of the arguments>` (see
 * {@linkcode makeKey}): equal arguments give equal keys, different ones
 * different keys. For a method, `this` is not part of the key: the namespace
 * is `Class#method`, shared by all instances; give `keyMaker` (which receives
 * `this`) for per-instance keys.
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
 * const load = cached(cache, { lock: true, skip: (user) => user === null })(
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
  const { keyMaker, skip, typed = false, lock = false, name } = options;
  checkFunction(CREATE, "keyMaker", keyMaker);
  checkFunction(CREATE, "skip", skip);
  checkBoolean(CREATE, "typed", typed);
  if (
    typeof lock !== "boolean" &&
    (lock === null || typeof lock !== "object" || typeof (lock as CacheLock).withLock !== "function")
  ) {
    throw new TypeError(
      `${CREATE}: lock must be a boolean or a CacheLock (an object with a withLock(key, fn) method): received ${
        describe(lock)
      }`,
    );
  }
  checkString(CREATE, "name", name);
  if (name === "") throw new RangeError(`${CREATE}: name must be a non-empty string: received ""`);
  return { cache, keyMaker, skip, typed, lock: lock === false ? undefined : lock, name };
}

// `name` is the namespace; for a method without the name option it is found
// on the first call, from the class that owns `method`.
function wrap(fn: AnyFunction, settings: Settings, name: string | undefined, method?: string): AnyFunction {
  const { cache, keyMaker, skip, typed } = settings;
  const lock = settings.lock === true ? new KeyLock() : settings.lock;
  const call = fn as (this: unknown, ...args: unknown[]) => unknown;
  let keyOf = name === undefined ? undefined : defaultKeyMaker(name, typed);

  const compute = async (key: string, self: unknown, args: unknown[]): Promise<unknown> => {
    const value = await call.apply(self, args);
    if (skip === undefined || !skip(value)) await cache.set(key, value);
    return value;
  };
  const recheck = async (key: string, self: unknown, args: unknown[]): Promise<unknown> => {
    const value = await getUncounted(cache, key, MISS);
    return value === MISS ? compute(key, self, args) : value;
  };
  const miss = (key: string, self: unknown, args: unknown[]): Promise<unknown> =>
    lock === undefined ? compute(key, self, args) : lock.withLock(key, () => recheck(key, self, args));
  // A hit read synchronously is handed back without an async frame or a `then`.
  const lookup = (key: string, self: unknown, args: unknown[]): Promise<unknown> => {
    const value = getNow(cache, key, MISS);
    if (value instanceof Promise) return value.then((found) => found === MISS ? miss(key, self, args) : found);
    return value === MISS ? miss(key, self, args) : Promise.resolve(value);
  };
  const lookupLater = async (pending: PromiseLike<string>, self: unknown, args: unknown[]): Promise<unknown> => {
    const key = await pending;
    if (typeof key !== "string") {
      throw new TypeError(
        `Cannot call ${
          fn.name || "the cached function"
        }: keyMaker must return a string (or a Promise of one): received ${describe(key)}`,
      );
    }
    return lookup(key, self, args);
  };

  const wrapper = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    try {
      const key = keyMaker !== undefined
        ? keyMaker(fn, args, this)
        : (keyOf ??= defaultKeyMaker(methodNamespace(this, wrapper, method as string), typed))(args);
      return typeof key === "string" ? lookup(key, this, args) : lookupLater(key, this, args);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  Object.defineProperty(wrapper, "name", { value: fn.name, configurable: true });
  Object.defineProperty(wrapper, "length", { value: fn.length, configurable: true });
  return Object.assign(wrapper, {
    cacheInfo: (): CacheInfo => cache.cacheInfo(),
    cacheClear: (): Promise<void> => cache.clear(),
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
