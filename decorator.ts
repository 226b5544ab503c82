import { TTLCache } from "./ttl_cache.ts";
import type { ReadThroughOptions } from "./ttl_cache_options.ts";
import { isProcessLocal, privateBackend } from "./default_backend.ts";
import { valueCodec } from "./_value_codec.ts";
import { describe, optionNames } from "./_validate.ts";
import { READ_THROUGH_NAMES } from "./_read_through.ts";
import { CREATE, privateSettings, type Settings, sharedSettings } from "./_cached_settings.ts";
import { unstableName } from "./_cached_name.ts";
import { wrap } from "./_cached_wrapper.ts";
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

// Every option's name, checked by tsc against the documented types; _cached_settings.ts checks their values.
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
  const settings: Settings<TTLCache<unknown>> = cache instanceof TTLCache
    ? sharedSettings(cache as TTLCache<unknown>, options, CACHED_OPTIONS)
    : privateSettings(cache, options, PRIVATE_OPTIONS);
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
      if (shared && settings.name === undefined) throw new TypeError(unstableName(name, store.backend));
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
      throw new TypeError(unstableName(`Class#${String(context.name)}`, store.backend));
    }
    return wrap(fn, settings, store, settings.name, context.name as string);
  } as Cached;
}
