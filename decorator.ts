import { TTLCache } from "./ttl_cache.ts";
import type { FactoryContext, GetOrSetOptions, ReadThroughOptions, SetOptions } from "./ttl_cache_options.ts";
import { compileTemplate, keyMaker as defaultKeyMaker } from "./make_key.ts";
import { isProcessLocal, privateBackend } from "./default_backend.ts";
import { valueCodec } from "./_value_codec.ts";
import {
  checkBoolean,
  checkCount,
  checkFunction,
  checkLock,
  checkOptions,
  checkString,
  checkTags,
  checkTtl,
  describe,
  optionNames,
  typeName,
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
   * a list whose items may be templates like `key`'s (`["users",
   * "user:{0}"]`), or a function of the call's arguments (called with `this`)
   * returning one (for example `(id) => [\`user:${id}\`]`).
   *
   * @default {[]}
   */
  tags?: readonly string[] | ((...args: never[]) => readonly string[]);
  /**
   * The cache key of a call, used as is (not inside the function's namespace):
   * `cache.get(key)`, `cache.set(key, v)` and `cache.delete(key)` reach the
   * same entry. A template whose placeholders name a positional argument and
   * dotted fields of it, or `this` for methods (`"user:{0}"`,
   * `"order:{0.id}"`, `"repo:{this.region}:{0}"`; `{{` and `}}` are literal
   * braces; each placeholder must reach a string, number, bigint or boolean),
   * or a function of the arguments, called with `this`, returning the key.
   * The entries carry the tag `cachet:fn:<name>`, which `cacheClear()`
   * deletes. Not together with `keyMaker`.
   *
   * @default {`<name>:<canonical encoding of the arguments>` inside the namespace `<name>`}
   */
  key?: string | ((...args: never[]) => string | PromiseLike<string>);
  /**
   * Builds the cache key of a call, synchronously or asynchronously. It
   * receives the wrapped function, the arguments and `this`; its string is the
   * cache's key as is, as with `key` (which it excludes). Use it for arguments
   * the default encoding rejects, or for per-instance keys of methods.
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
   * `TTLCache.namespace()`), and the prefix of its default keys; with `key`
   * or `keyMaker`, it names the tag `cacheClear()` deletes. Required on a
   * backend other processes share (anything but the memory backend): a
   * function's own name is not stable across builds (a bundler may rename
   * `getUser` to `getUser2`).
   *
   * @default {the function's name; for a method, `Class#method` (or `Class.method` when static); memory backends only}
   */
  name?: string;
}

/**
 * Options of a private cache, `cached({ ttl: 30, maxSize: 100 })`: those of
 * {@linkcode CachedOptions} (whose `ttl` is then the private cache's), plus
 * its size bound. A private cache lives in memory (whatever default backend
 * is registered) and holds one function's entries; a hit decodes a copy of
 * the stored result (values JSON knows, plus `undefined`, `NaN`, `±Infinity`,
 * `-0`, `bigint`, `Date`, `Map`, `Set` and `Uint8Array`; class instances come
 * back as plain objects of their fields).
 *
 * @example Memoizing without building a cache
 * ```ts
 * import assert from "node:assert/strict";
 * import { cached, type PrivateCacheOptions } from "@cachet/cachet";
 *
 * const options: PrivateCacheOptions = { ttl: 30, maxSize: 100 };
 * const parse = cached(options)((text: string) => text.split(","));
 * assert.deepEqual(await parse("a,b"), ["a", "b"]);
 * assert.deepEqual(await parse("a,b"), ["a", "b"]);
 * assert.equal(parse.cacheInfo().hits, 1);
 * await parse.cacheClear();
 * assert.equal(parse.cacheInfo().currSize, 0);
 * ```
 */
export interface PrivateCacheOptions extends CachedOptions {
  /**
   * The most entries kept, least recently used first out; `0` for no bound.
   *
   * @default {0}
   */
  maxSize?: number;
}

/**
 * What {@linkcode cached} adds to a wrapped function.
 *
 * @typeParam F The wrapped function.
 */
export interface CachedHelpers<F extends AnyFunction = AnyFunction> {
  /**
   * Reads the statistics of the underlying cache (shared by every function
   * cached in it; a private cache's are the function's own).
   *
   * @returns A snapshot, see {@linkcode TTLCache.cacheInfo}.
   */
  cacheInfo(): CacheInfo;
  /**
   * Removes this function's entries, and nothing else, in O(1): with default
   * keys its namespace is cleared (see `TTLCache.namespace()`); with `key` or
   * `keyMaker`, the tag its entries carry is deleted (`deleteTags`).
   *
   * @returns A Promise that settles once they are gone, for every process sharing the backend.
   */
  cacheClear(): Promise<void>;
  /**
   * The key a call with these arguments uses: with `key` or `keyMaker`, the
   * cache's key; else the key inside the function's namespace. A string when
   * no digest is needed (encodings up to 128 characters) and the key is not
   * made asynchronously, else a Promise of one: long encodings are hashed with
   * Web Crypto's SHA-256, which is asynchronous. Call it with
   * `.call(instance, …)` when the key reads `this`.
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
   * Runs the function, stores its result under the call's key (unless `skip`
   * says not to; with the function's `ttl` and `tags`) and returns it. It
   * never reads the cache first, and concurrent refreshes each run the
   * function. When the function fails, the error reaches the caller and the
   * cache is left as it was; when the store fails, its `CacheError` does.
   *
   * @param args The call's arguments.
   * @returns The fresh result.
   * @throws {TypeError} When an argument has no stable encoding.
   * @throws {CacheError} When the backend fails.
   */
  refresh(this: ThisParameterType<F>, ...args: Parameters<F>): Promise<Awaited<ReturnType<F>>>;
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
 * A cached async generator function: each call returns an `AsyncIterable` of
 * the items, live from the generator on a miss, replayed from the cache on a
 * hit.
 *
 * @typeParam This The type of `this`.
 * @typeParam Args The parameters.
 * @typeParam Item The items.
 *
 * @example Streaming pages, the first caller live
 * ```ts
 * import assert from "node:assert/strict";
 * import { cached, type CachedStream } from "@cachet/cachet";
 *
 * const pages: CachedStream<unknown, [string], string[]> = cached({ ttl: 60 })(
 *   async function* pages(query: string) {
 *     yield [`${query} 1`, `${query} 2`];
 *     yield [`${query} 3`];
 *   },
 * );
 * const seen: string[][] = [];
 * for await (const page of pages("tea")) seen.push(page);
 * assert.deepEqual(seen, [["tea 1", "tea 2"], ["tea 3"]]);
 * assert.deepEqual(await pages.refresh("tea"), seen);
 * ```
 */
export type CachedStream<This, Args extends unknown[], Item> =
  & ((this: This, ...args: Args) => AsyncIterable<Item>)
  & Omit<CachedHelpers<(this: This, ...args: Args) => Promise<Item[]>>, "withSignal">
  & CachedStreamHelpers<This, Args, Item>;

/**
 * What {@linkcode cached} adds to an async generator function besides the
 * {@linkcode CachedHelpers} (whose `refresh()` returns the whole sequence).
 *
 * @typeParam This The type of `this`.
 * @typeParam Args The parameters.
 * @typeParam Item The items.
 *
 * @example Collecting a cached stream
 * ```ts
 * import assert from "node:assert/strict";
 * import { cached } from "@cachet/cachet";
 *
 * let runs = 0;
 * const digits = cached({ ttl: 60 })(async function* digits(n: number) {
 *   runs++;
 *   for (let i = 0; i < n; i++) yield i;
 * });
 * assert.deepEqual(await digits.collect(3), [0, 1, 2]);
 * assert.deepEqual(await digits.collect(3), [0, 1, 2]);
 * assert.equal(runs, 1);
 * ```
 */
export interface CachedStreamHelpers<This, Args extends unknown[], Item> {
  /**
   * Reads the whole sequence of a call (from the cache, or computing it).
   *
   * @param args The call's arguments.
   * @returns The items.
   * @throws {TypeError} When an argument has no stable encoding.
   */
  collect(this: This, ...args: Args): Promise<Item[]>;
  /**
   * Returns the stream bound to an `AbortSignal`: a call through it stops
   * waiting for a computation it does not drive when the signal aborts.
   *
   * @param signal The signal.
   * @returns The stream function, with the same parameters.
   * @throws {TypeError} When `signal` is not an `AbortSignal`.
   */
  withSignal(signal: AbortSignal): (this: This, ...args: Args) => AsyncIterable<Item>;
}

/**
 * What {@linkcode cached} returns: a function wrapper that is also a standard
 * (TC39) method decorator.
 */
export interface Cached {
  /**
   * Decorates an async generator method (`@cached(cache) async *items(id) {}`):
   * its calls return the items, replayed from the cache on a hit.
   *
   * @param method The method.
   * @param context The decorator context.
   * @returns The cached method (typed as the method; its helpers are those of {@linkcode CachedStream}).
   * @throws {TypeError} When used on a private or symbol-named method without the `name` option.
   */
  <This, Args extends unknown[], Item, Return, Next>(
    method: (this: This, ...args: Args) => AsyncGenerator<Item, Return, Next>,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => AsyncGenerator<Item, Return, Next>>,
  ): (this: This, ...args: Args) => AsyncGenerator<Item, Return, Next>;
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
  /**
   * Wraps an async generator function: see {@linkcode CachedStream}.
   *
   * @param fn The async generator function.
   * @returns The cached stream function.
   * @throws {TypeError} When it has no name and no `name` option was given.
   */
  <This, Args extends unknown[], Item>(
    fn: (this: This, ...args: Args) => AsyncGenerator<Item, unknown, undefined>,
  ): CachedStream<This, Args, Item>;
  /**
   * Wraps a sync or async function.
   *
   * @param fn The function; it needs a name unless the `name` option is given.
   * @returns The cached function.
   * @throws {TypeError} When `fn` is not a function, or has no name and no `name` option was given.
   */
  <F extends AnyFunction>(fn: F): CachedFunction<F>;
}

const CACHED_OPTIONS = optionNames<CachedOptions>({
  key: true,
  keyMaker: true,
  skip: true,
  typed: true,
  lock: true,
  name: true,
  ttl: true,
  tags: true,
  ...READ_THROUGH_NAMES,
});
const PRIVATE_OPTIONS = [...CACHED_OPTIONS, "maxSize"];

const CREATE = "Cannot create cached function";
const READ_THROUGH_KEYS = Object.keys(READ_THROUGH_NAMES) as (keyof ReadThroughOptions)[];
// The tag of the entries a function stores under explicit keys (`key`,
// `keyMaker`): what its cacheClear() deletes, since those keys live outside
// its namespace.
const FUNCTION_TAG = "cachet:fn:";
// The prototype of async generator functions, which cached() turns into streams.
const ASYNC_GENERATOR_FUNCTION = Object.getPrototypeOf(async function* () {});

type KeyOf = (self: unknown, args: unknown[]) => string | PromiseLike<string>;

interface Settings {
  // undefined: a private cache, made for each function wrapped.
  readonly cache: TTLCache<unknown> | undefined;
  readonly maxSize: number;
  // An explicit key (`key` or `keyMaker`): the cache's key as is.
  readonly keyOf: ((fn: AnyFunction) => KeyOf) | undefined;
  readonly keySource: "key" | "keyMaker" | "the key template";
  readonly skip: CachedOptions["skip"];
  readonly typed: boolean;
  readonly name: string | undefined;
  readonly tags: ((self: unknown, args: unknown[]) => readonly string[]) | undefined;
  // What every call passes to getOrSet(): frozen, so it is validated once.
  readonly call: GetOrSetOptions;
}

/**
 * Memoizes a sync or async function (or method, or async generator) in a
 * {@linkcode TTLCache}.
 *
 * The result of `cached(cache, options)` wraps a function
 * (`cached(cache)(fetchUser)`) or decorates a method (`@cached(cache)`). The
 * wrapped function always returns a Promise (an `AsyncIterable` for an async
 * generator function, see below), keeps the original's `name` and `length`,
 * and has the {@linkcode CachedHelpers}: `cacheInfo()`, `cacheClear()` (this
 * function's entries only), `keyFor()`, `invalidate()`, `refresh()` and
 * `withSignal()`. Each call is `getOrSet()`, so everything `getOrSet()` does
 * (single flight, grace, fail-open, timeouts, early refresh, events) applies.
 *
 * Every result is stored, including `undefined`, `null`, `0`, `""` and
 * `false` (when the serializer can encode it), unless `skip(result)` says
 * otherwise. Errors are never stored: they reach the caller. A result the
 * serializer cannot encode reaches the caller as the serializer's
 * `TypeError`, and nothing is stored.
 *
 * Keys: with `key` (a template such as `"user:{0}"`, or a function) or
 * `keyMaker`, the key is the cache's key as is, so `cache.get(key)`,
 * `cache.set(key, v)` and `cache.delete(key)` reach the entry. Without them,
 * keys are `<name>:<canonical encoding of the arguments>` (see
 * {@linkcode makeKey}) inside the namespace `<name>`. On a backend other
 * processes share (anything but the memory backend), `name` is required: a
 * function's own name changes when a bundler renames it.
 *
 * Streams: an async generator function's calls return an `AsyncIterable` of
 * its items; the first caller gets them live while they are recorded, a
 * completed sequence is stored as an array, and later (or concurrent) callers
 * replay it. An error, or a consumer that stops early, stores nothing.
 *
 * Private caches: `cached({ ttl: 30, maxSize: 100 })(fn)` makes an in-memory
 * cache for `fn` alone, whose hits are copies of the stored result.
 *
 * @param cache Where results are stored: a cache (or a namespace view of one), or the options of a private cache.
 * @param options Options, see {@linkcode CachedOptions}.
 * @returns A function wrapper that is also a method decorator.
 * @throws {TypeError} When `cache` is neither a `TTLCache` nor an options object, or an option is unknown, has the
 * wrong type, or a key template is malformed.
 * @throws {RangeError} When `name` or `key` is an empty string, or `maxSize` is out of range.
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
 * @example Keys the cache shares: templates and tags
 * ```ts
 * import assert from "node:assert/strict";
 * import { cached, TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ serializer: new JsonSerializer() });
 * let loads = 0;
 * const getUser = cached(cache, { name: "getUser", key: "user:{0}", tags: ["users", "team:{1}"] })(
 *   async function getUser(id: number, team: string) {
 *     loads++;
 *     return { id, team };
 *   },
 * );
 * await getUser(1, "core");
 * assert.deepEqual(await cache.get("user:1"), { id: 1, team: "core" });
 * await cache.delete("user:1"); // from anywhere: the function's key is the cache's key
 * await getUser(1, "core");
 * await cache.deleteTags(["team:core"]);
 * await getUser(1, "core");
 * assert.equal(loads, 3);
 * ```
 *
 * @example Refresh on demand
 * ```ts
 * import assert from "node:assert/strict";
 * import { cached, TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ serializer: new JsonSerializer() });
 * let version = 0;
 * const report = cached(cache, { name: "report" })(() => ++version);
 * assert.equal(await report(), 1);
 * assert.equal(await report.refresh(), 2); // runs the function and stores its result
 * assert.equal(await report(), 2);
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
 *
 * @example Caching a stream
 * ```ts
 * import assert from "node:assert/strict";
 * import { cached, TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ serializer: new JsonSerializer() });
 * let runs = 0;
 * const lines = cached(cache, { name: "lines", key: "lines:{0}" })(async function* lines(n: number) {
 *   runs++;
 *   for (let i = 1; i <= n; i++) yield `line ${i}`;
 * });
 * const live: string[] = [];
 * for await (const line of lines(2)) live.push(line); // items arrive as the generator yields them
 * assert.deepEqual(live, ["line 1", "line 2"]);
 * assert.deepEqual(await cache.get("lines:2"), ["line 1", "line 2"]); // stored as an array
 * assert.deepEqual(await lines.collect(2), ["line 1", "line 2"]); // replayed
 * assert.equal(runs, 1);
 * ```
 *
 * @example A private cache
 * ```ts
 * import assert from "node:assert/strict";
 * import { cached } from "@cachet/cachet";
 *
 * const settings = cached({ ttl: 30, maxSize: 100 })(function settings(team: string) {
 *   return { team, flags: ["beta"] };
 * });
 * const first = await settings("core");
 * first.flags.push("mutated");
 * assert.deepEqual(await settings("core"), { team: "core", flags: ["beta"] }); // a copy of what was stored
 * assert.equal(settings.cacheInfo().maxSize, 100);
 * ```
 */
export function cached<T>(cache: TTLCache<T>, options?: CachedOptions): Cached;
/**
 * Memoizes a function in a private in-memory cache made for it.
 *
 * @param options The options of the private cache and of the function, see {@linkcode PrivateCacheOptions}.
 * @returns A function wrapper that is also a method decorator.
 * @throws {TypeError} When an option is unknown or has the wrong type.
 * @throws {RangeError} When a number is out of range.
 */
export function cached(options: PrivateCacheOptions): Cached;
export function cached<T>(cache: TTLCache<T> | PrivateCacheOptions, options?: CachedOptions): Cached {
  const settings = checkSettings(cache as TTLCache<unknown> | PrivateCacheOptions, options);
  return function cachedDecorator(fn: AnyFunction, context?: ClassMethodDecoratorContext) {
    if (typeof fn !== "function") throw new TypeError(`${CREATE}: fn must be a function: received ${describe(fn)}`);
    const store = settings.cache ?? new TTLCache<unknown>({
      ttl: settings.call.ttl,
      maxSize: settings.maxSize,
      backend: privateBackend(),
      serializer: valueCodec,
    });
    const shared = settings.cache !== undefined && !isProcessLocal(settings.cache.backend);
    if (context === undefined) {
      // A private cache holds one function's entries: its keys cannot collide with another's.
      const name = settings.name ?? (fn.name || (settings.cache === undefined ? "fn" : ""));
      if (name === "") {
        throw new TypeError(
          `${CREATE}: the function has no name; pass the name option, so that its keys cannot collide with another function's`,
        );
      }
      if (shared && settings.name === undefined) throw new TypeError(unstableName(name, store));
      return wrap(fn, settings, store, name);
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
    if (shared && settings.name === undefined) {
      throw new TypeError(unstableName(`Class#${String(context.name)}`, store));
    }
    return wrap(fn, settings, store, settings.name, context.name as string);
  } as Cached;
}

function unstableName(name: string, cache: TTLCache<unknown>): string {
  return `${CREATE} ${name}: pass the name option (cached(cache, { name: "${name}" })): its entries live in ` +
    `${typeName(cache.backend)}, which other processes read, and a function's own name is not stable across builds ` +
    `(bundlers and minifiers rename functions: getUser may become getUser2), so two builds would stop sharing entries`;
}

function checkSettings(cache: TTLCache<unknown> | PrivateCacheOptions, given: CachedOptions | undefined): Settings {
  let options: CachedOptions;
  let maxSize = 0;
  let shared: TTLCache<unknown> | undefined;
  if (cache instanceof TTLCache) {
    shared = cache;
    options = given === undefined ? {} : given;
    checkOptions(CREATE, options, CACHED_OPTIONS);
  } else if (
    cache !== null && typeof cache === "object" && !Array.isArray(cache) &&
    [Object.prototype, null].includes(Object.getPrototypeOf(cache)) && given === undefined
  ) {
    checkOptions(CREATE, cache, PRIVATE_OPTIONS);
    ({ maxSize = 0, ...options } = cache as PrivateCacheOptions);
    checkCount(CREATE, "maxSize", maxSize);
  } else {
    throw new TypeError(
      `${CREATE}: pass a TTLCache (cached(cache, options)) or the options of a private cache ` +
        `(cached({ ttl: 30, maxSize: 100 })): received ${describe(cache)}${
          given === undefined ? "" : ` and ${describe(given)}`
        }`,
    );
  }
  const { key, keyMaker, skip, typed = false, lock = true, name, ttl, tags } = options;
  checkFunction(CREATE, "keyMaker", keyMaker);
  checkFunction(CREATE, "skip", skip);
  checkBoolean(CREATE, "typed", typed);
  checkLock(CREATE, lock);
  checkString(CREATE, "name", name);
  if (name === "") throw new RangeError(`${CREATE}: name must be a non-empty string: received ""`);
  const maxTtl = shared?.maxTtl ?? Infinity;
  checkReadThrough(CREATE, options, undefined, maxTtl);
  const call: Record<string, unknown> = { lock };
  if (ttl !== undefined) call.ttl = checkTtl(CREATE, "ttl", ttl, maxTtl === Infinity ? undefined : maxTtl);
  for (const name of READ_THROUGH_KEYS) if (options[name] !== undefined) call[name] = options[name];
  const tagsOf = checkTagsOption(tags);
  if (Array.isArray(tagsOf)) call.tags = tagsOf;
  return {
    cache: shared,
    maxSize,
    keyOf: checkKeyOption(key, keyMaker),
    keySource: keyMaker !== undefined ? "keyMaker" : typeof key === "function" ? "key" : "the key template",
    skip,
    typed,
    name,
    tags: typeof tagsOf === "function" ? tagsOf : undefined,
    // Frozen, so getOrSet() checks it once.
    call: Object.freeze(call) as GetOrSetOptions,
  };
}

function checkKeyOption(key: CachedOptions["key"], keyMaker: CachedOptions["keyMaker"]): Settings["keyOf"] {
  if (key !== undefined && keyMaker !== undefined) {
    throw new TypeError(
      `${CREATE}: pass key or keyMaker, not both (key is a template such as "user:{0}" or (...args) => string; ` +
        "keyMaker receives (fn, args, thisArg))",
    );
  }
  if (keyMaker !== undefined) return (fn) => (self, args) => keyMaker(fn, args, self);
  if (key === undefined) return undefined;
  if (typeof key === "function") {
    return () => (self, args) => (key as (...args: unknown[]) => string).apply(self, args);
  }
  if (typeof key !== "string") {
    throw new TypeError(
      `${CREATE}: key must be a template string ("user:{0}") or a function of the arguments returning the key: ` +
        `received ${describe(key)}`,
    );
  }
  if (key === "") throw new RangeError(`${CREATE}: key must be a non-empty template: received ""`);
  const template = compileTemplate(CREATE, `key template ${JSON.stringify(key)}`, key);
  return () => template;
}

function checkTagsOption(tags: CachedOptions["tags"]): Settings["tags"] | readonly string[] {
  if (tags === undefined) return undefined;
  if (typeof tags === "function") {
    const of = tags as (...args: unknown[]) => readonly string[];
    return (self, args) => of.apply(self, args);
  }
  if (!Array.isArray(tags)) {
    throw new TypeError(
      `${CREATE}: tags must be an array of strings (or templates such as "user:{0}") or a function of the ` +
        `arguments returning one: received ${describe(tags)}`,
    );
  }
  const parts = checkTags(CREATE, tags).map((tag) =>
    tag.includes("{") || tag.includes("}") ? compileTemplate(CREATE, `tag template ${JSON.stringify(tag)}`, tag) : tag
  );
  // Fixed tags go into the frozen options of every call instead.
  if (parts.every((part) => typeof part === "string")) return Object.freeze([...parts as string[]]);
  return (self, args) => parts.map((part) => typeof part === "string" ? part : part(self, args));
}

interface Scope {
  // Where the entries live: the cache itself for explicit keys, else the function's namespace.
  readonly view: TTLCache<unknown>;
  readonly keyOf: KeyOf;
  // The tag of every entry stored under an explicit key.
  readonly tag: string | undefined;
  // What a call without per-call tags or signal passes to getOrSet().
  readonly options: GetOrSetOptions;
}

// A stream consumer that stopped early: the computation it drove stores nothing.
class Abandoned extends Error {}

// `name` is the namespace; for a method without the name option it is found
// on the first call (or when an instance is made), from the class that owns `method`.
function wrap(
  fn: AnyFunction,
  settings: Settings,
  cache: TTLCache<unknown>,
  name: string | undefined,
  method?: string,
): AnyFunction {
  const { skip, typed, call: callOptions, tags } = settings;
  const run = fn as (this: unknown, ...args: unknown[]) => unknown;
  const stream = Object.getPrototypeOf(fn) === ASYNC_GENERATOR_FUNCTION;
  const explicit = settings.keyOf?.(fn);
  const label = fn.name || "the cached function";
  let scope: Scope | undefined;
  const scopeOf = (self: unknown): Scope => {
    if (scope !== undefined) return scope;
    const namespace = name ?? methodNamespace(self, wrapper, method as string);
    if (explicit !== undefined) {
      const tag = FUNCTION_TAG + namespace;
      // Frozen, so getOrSet() checks it once.
      const options = Object.freeze({ ...callOptions, tags: Object.freeze([...callOptions.tags ?? [], tag]) });
      return scope = { view: cache, keyOf: explicit, tag, options };
    }
    const keyOf = defaultKeyMaker(namespace, typed);
    return scope = {
      view: cache.namespace(namespace),
      keyOf: (_self, args) => keyOf(args),
      tag: undefined,
      options: callOptions,
    };
  };
  const checked = (key: string): string => {
    if (typeof key !== "string") {
      throw new TypeError(
        `Cannot call ${label}: ${settings.keySource} must return a string (or a Promise of one): ` +
          `received ${describe(key)}`,
      );
    }
    return key;
  };
  // The key of a call, then `then(scope, key)`: synchronously when the key is.
  const withKey = <R>(self: unknown, args: unknown[], then: (scope: Scope, key: string) => R): R | Promise<R> => {
    const at = scopeOf(self);
    const key = at.keyOf(self, args);
    return typeof key === "string"
      ? then(at, key)
      : Promise.resolve(key).then((resolved) => then(at, checked(resolved)));
  };
  const tagsOf = (at: Scope, self: unknown, args: unknown[]): readonly string[] | undefined => {
    if (tags === undefined) return at.options.tags;
    const own = tags(self, args);
    // Not a list: getOrSet() and set() reject it, naming it.
    return at.tag === undefined || !Array.isArray(own) ? own : [...own, at.tag];
  };
  const optionsFor = (at: Scope, self: unknown, args: unknown[], signal: AbortSignal | undefined): GetOrSetOptions =>
    tags === undefined && signal === undefined ? at.options : {
      ...at.options,
      ...(tags === undefined ? {} : { tags: tagsOf(at, self, args) }),
      ...(signal ? { signal } : {}),
    };
  const store = (at: Scope, key: string, self: unknown, args: unknown[], value: unknown): Promise<void> => {
    const options: SetOptions = {};
    if (callOptions.ttl !== undefined) options.ttl = callOptions.ttl;
    if (callOptions.grace !== undefined) options.grace = callOptions.grace;
    const all = tagsOf(at, self, args);
    if (all !== undefined) options.tags = all;
    return at.view.set(key, value, options);
  };

  const call = (self: unknown, args: unknown[], signal: AbortSignal | undefined): Promise<unknown> => {
    try {
      return Promise.resolve(withKey(self, args, (at, key) => {
        checked(key);
        const factory = skip === undefined ? () => run.apply(self, args) : async (context: FactoryContext<unknown>) => {
          const value = await run.apply(self, args);
          if (skip(value)) context.skip();
          return value;
        };
        return at.view.getOrSet(key, factory, optionsFor(at, self, args, signal));
      }));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  // Collects a whole stream, for refresh() and computations nobody consumes (early refresh).
  const drain = async (generator: AsyncGenerator<unknown>): Promise<unknown[]> => {
    const items: unknown[] = [];
    for await (const item of generator) items.push(item);
    return items;
  };
  const kept = (items: unknown[], context: FactoryContext<unknown>): unknown[] => {
    if (skip?.(items)) context.skip();
    return items;
  };

  // One consumption of a stream call: replays a stored (or concurrently
  // computed) sequence, or, when getOrSet() asks this call to compute, drives
  // the generator itself, handing each item on as it is recorded.
  async function* consume(self: unknown, args: unknown[], signal: AbortSignal | undefined): AsyncGenerator<unknown> {
    const at = scopeOf(self);
    const key = checked(await at.keyOf(self, args));
    for (;;) {
      let driving:
        | { generator: AsyncGenerator<unknown>; done: (items: unknown[] | Abandoned | Error) => void }
        | undefined;
      let waiting = true;
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const factory = (context: FactoryContext<unknown>) => {
        const generator = run.apply(self, args) as AsyncGenerator<unknown>;
        // With a stale sequence at hand (early refresh, stale-while-revalidate, grace), or no consumer
        // waiting, the generator is collected alone: a caller is then served the stale sequence at once, or
        // the fresh one when it completes, never a fresh stream it may have to abandon for the stale one.
        if (!waiting || context.stale !== undefined) return drain(generator).then((items) => kept(items, context));
        waiting = false;
        return new Promise<unknown[]>((resolve, reject) => {
          driving = {
            generator,
            done: (outcome) => outcome instanceof Error ? reject(outcome) : resolve(kept(outcome, context)),
          };
          wake();
        });
      };
      const outcome = at.view.getOrSet(key, factory, optionsFor(at, self, args, signal)).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      const first = await Promise.race([outcome, woken.then(() => undefined)]);
      waiting = false;
      if (driving === undefined) {
        const settled = first ?? await outcome;
        if ("error" in settled) {
          // The consumer driving the computation stopped early: compute again.
          if (settled.error instanceof Abandoned) continue;
          throw settled.error;
        }
        yield* settled.value as unknown[];
        return;
      }
      const { generator, done } = driving;
      const items: unknown[] = [];
      let finished = false;
      try {
        for (;;) {
          let step: IteratorResult<unknown>;
          try {
            step = await generator.next();
          } catch (error) {
            finished = true;
            done(error instanceof Error ? error : new Error(String(error), { cause: error }));
            const settled = await outcome;
            // Failed before its first item: grace may serve the stale sequence.
            if (items.length === 0 && "value" in settled) {
              yield* settled.value as unknown[];
              return;
            }
            throw error;
          }
          if (step.done) break;
          items.push(step.value);
          yield step.value;
        }
        finished = true;
        done(items);
        const settled = await outcome;
        if ("error" in settled) throw settled.error;
        return;
      } finally {
        if (!finished) {
          // The consumer stopped early (break, or threw): close the generator, store nothing.
          done(new Abandoned(`the consumer of ${label} stopped early`));
          await generator.return(undefined);
        }
      }
    }
  }

  // A stream call returns an async generator: it starts when first iterated.
  const wrapper = stream
    ? function (this: unknown, ...args: unknown[]): AsyncIterable<unknown> {
      return consume(this, args, undefined);
    }
    : function (this: unknown, ...args: unknown[]): Promise<unknown> {
      return call(this, args, undefined);
    };
  Object.defineProperty(wrapper, "name", { value: fn.name, configurable: true });
  Object.defineProperty(wrapper, "length", { value: fn.length, configurable: true });
  const helpers = {
    cacheInfo: (): CacheInfo => cache.cacheInfo(),
    cacheClear(this: unknown): Promise<void> {
      try {
        // A private cache holds this function's entries alone: clearing it is exact.
        if (settings.cache === undefined) return cache.clear();
        const at = scopeOf(this);
        return at.tag === undefined ? at.view.clear() : at.view.deleteTags([at.tag]);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    keyFor(this: unknown, ...args: unknown[]): string | Promise<string> {
      const key = scopeOf(this).keyOf(this, args);
      return typeof key === "string" ? key : Promise.resolve(key).then(checked);
    },
    async invalidate(this: unknown, ...args: unknown[]): Promise<void> {
      await withKey(this, args, (at, key) => at.view.delete(checked(key)));
    },
    async refresh(this: unknown, ...args: unknown[]): Promise<unknown> {
      const at = scopeOf(this);
      const key = checked(await at.keyOf(this, args));
      const produced = run.apply(this, args);
      const value = stream ? await drain(produced as AsyncGenerator<unknown>) : await produced;
      if (skip?.(value)) return value;
      await store(at, key, this, args, value);
      return value;
    },
    withSignal(signal: AbortSignal) {
      if (!(signal instanceof AbortSignal)) {
        throw new TypeError(`Cannot bind ${label}: signal must be an AbortSignal: received ${describe(signal)}`);
      }
      return stream
        ? function (this: unknown, ...args: unknown[]): AsyncIterable<unknown> {
          return consume(this, args, signal);
        }
        : function (this: unknown, ...args: unknown[]): Promise<unknown> {
          return call(this, args, signal);
        };
    },
  };
  if (!stream) return Object.assign(wrapper, helpers);
  return Object.assign(wrapper, helpers, {
    async collect(this: unknown, ...args: unknown[]): Promise<unknown[]> {
      const items: unknown[] = [];
      for await (const item of consume(this, args, undefined)) items.push(item);
      return items;
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
