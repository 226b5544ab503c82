import type { FactoryContext, GetOrSetOptions, SetOptions } from "./ttl_cache_options.ts";
import { keyMaker as defaultKeyMaker } from "./make_key.ts";
import { describe } from "./_validate.ts";
import type { KeyOf, Settings, Wrappable } from "./_cached_settings.ts";
import { collect, consume, drain, type StreamSource } from "./_cached_stream.ts";
import { methodNamespace } from "./_cached_name.ts";
import type { CacheInfo } from "./types.ts";

// The cached function itself: the scope of its entries (its namespace, or the cache with its tag), the key of a
// call, each call's getOrSet(), and the helpers (cacheClear, keyFor, invalidate, refresh, withSignal, collect).

/** What a cached function uses of its TTLCache: a unit does not import the facade, so its shape is restated. */
export interface CacheView {
  namespace(name: string): CacheView;
  getOrSet(
    key: string,
    factory: (context: FactoryContext<unknown>) => unknown,
    options?: GetOrSetOptions,
  ): Promise<unknown>;
  set(key: string, value: unknown, options?: SetOptions): Promise<void>;
  delete(key: string): Promise<void>;
  deleteTags(tags: readonly string[]): Promise<void>;
  clear(): Promise<void>;
  cacheInfo(): CacheInfo;
}

// The tag of the entries a function stores under explicit keys (`key`,
// `keyMaker`): what its cacheClear() deletes, since those keys live outside
// its namespace.
const FUNCTION_TAG = "cachet:fn:";
// The prototype of async generator functions, which cached() turns into streams.
const ASYNC_GENERATOR_FUNCTION = Object.getPrototypeOf(async function* () {});

interface Scope {
  // Where the entries live: the cache itself for explicit keys, else the function's namespace.
  readonly view: CacheView;
  readonly keyOf: KeyOf;
  // The tag of every entry stored under an explicit key.
  readonly tag: string | undefined;
  // What a call without per-call tags or signal passes to getOrSet().
  readonly options: GetOrSetOptions;
}

/**
 * Wraps `fn`, storing its results in `cache`. `name` is the namespace; for a
 * method without the name option it is found on the first call (or when an
 * instance is made), from the class that owns `method`.
 *
 * @returns The cached function, with its helpers.
 */
export function wrap(
  fn: Wrappable,
  settings: Settings<unknown>,
  cache: CacheView,
  name: string | undefined,
  method?: string,
): Wrappable {
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
  const checked = (key: unknown): string => {
    if (typeof key !== "string") {
      throw new TypeError(
        `Cannot call ${label}: ${settings.keySource} must return a string (or a Promise of one): ` +
          `received ${describe(key)}`,
      );
    }
    return key;
  };
  // The key of a call, then `then(scope, key, self, args, signal)`: synchronously when the key is. The call's own
  // values are passed on, so a `then` made once serves every call (the hit path makes no closure for it).
  const withKey = <R>(
    self: unknown,
    args: unknown[],
    signal: AbortSignal | undefined,
    then: (scope: Scope, key: string, self: unknown, args: unknown[], signal: AbortSignal | undefined) => R,
  ): R | Promise<R> => {
    const at = scopeOf(self);
    const key = at.keyOf(self, args);
    return typeof key === "string"
      ? then(at, key, self, args, signal)
      : Promise.resolve(key).then((resolved) => then(at, checked(resolved), self, args, signal));
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

  const lookup = (at: Scope, key: string, self: unknown, args: unknown[], signal: AbortSignal | undefined) => {
    const factory = skip === undefined ? () => run.apply(self, args) : async (context: FactoryContext<unknown>) => {
      const value = await run.apply(self, args);
      if (skip(value)) context.skip();
      return value;
    };
    return at.view.getOrSet(key, factory, optionsFor(at, self, args, signal));
  };
  const call = (self: unknown, args: unknown[], signal: AbortSignal | undefined): Promise<unknown> => {
    try {
      return Promise.resolve(withKey(self, args, signal, lookup));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  // What a stream call's consumptions use of this function (see _cached_stream.ts).
  const source: StreamSource = {
    run,
    skip,
    label,
    keyOf: (self, args) => scopeOf(self).keyOf(self, args),
    checked,
    getOrSet(self, args, key, factory, signal) {
      const at = scopeOf(self);
      return at.view.getOrSet(key, factory, optionsFor(at, self, args, signal));
    },
  };

  // A stream call returns an async generator: it starts when first iterated.
  const wrapper = stream
    ? function (this: unknown, ...args: unknown[]): AsyncIterable<unknown> {
      return consume(source, this, args, undefined);
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
      await withKey(this, args, undefined, (at, key) => at.view.delete(key));
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
          return consume(source, this, args, signal);
        }
        : function (this: unknown, ...args: unknown[]): Promise<unknown> {
          return call(this, args, signal);
        };
    },
  };
  if (!stream) return Object.assign(wrapper, helpers);
  return Object.assign(wrapper, helpers, {
    collect(this: unknown, ...args: unknown[]): Promise<unknown[]> {
      return collect(source, this, args);
    },
  });
}
