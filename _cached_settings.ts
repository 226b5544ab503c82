import type { GetOrSetOptions, ReadThroughOptions } from "./ttl_cache_options.ts";
import { compileTemplate } from "./make_key.ts";
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
} from "./_validate.ts";
import { checkReadThrough, READ_THROUGH_NAMES } from "./_read_through.ts";
import type { CacheLock } from "./cache_lock.ts";

/** The start of every error cached() throws while creating a cached function. */
export const CREATE = "Cannot create cached function";

/** Any function cached() can wrap. */
export type Wrappable = (...args: never[]) => unknown;

/**
 * The options of a cached function: the shape of `CachedOptions`, restated
 * because a unit does not import the facade (decorator.ts, which documents
 * them). decorator.ts passes its own type here, so tsc rejects a property
 * whose type drifts, and it lists every option's name (`names`) checked
 * against its own type, so an option added there reaches this check.
 */
export interface FunctionOptions extends ReadThroughOptions {
  ttl?: number;
  tags?: readonly string[] | ((...args: never[]) => readonly string[]);
  key?: string | ((...args: never[]) => string | PromiseLike<string>);
  keyMaker?: (fn: Wrappable, args: readonly unknown[], thisArg: unknown) => string | PromiseLike<string>;
  skip?: (result: unknown) => boolean;
  typed?: boolean;
  lock?: boolean | CacheLock;
  name?: string;
}

const READ_THROUGH_KEYS = Object.keys(READ_THROUGH_NAMES) as (keyof ReadThroughOptions)[];

/** The key of a call, from `this` and the arguments. */
export type KeyOf = (self: unknown, args: unknown[]) => string | PromiseLike<string>;

/** The checked options of `cached(…)`, shared by every function it wraps. */
export interface Settings<C> {
  /** undefined: a private cache, made for each function wrapped. */
  readonly cache: C | undefined;
  readonly maxSize: number;
  /** An explicit key (`key` or `keyMaker`): the cache's key as is. */
  readonly keyOf: ((fn: Wrappable) => KeyOf) | undefined;
  readonly keySource: "key" | "keyMaker" | "the key template";
  readonly skip: FunctionOptions["skip"];
  readonly typed: boolean;
  readonly name: string | undefined;
  readonly tags: ((self: unknown, args: unknown[]) => readonly string[]) | undefined;
  /** What every call passes to getOrSet(): frozen, so it is validated once. */
  readonly call: GetOrSetOptions;
}

/**
 * Checks `cached(cache, given)`, `cache` being a TTLCache (or a view of one);
 * `names` are those of every option.
 *
 * @throws {TypeError} When an option is unknown or has the wrong type, or a template is malformed.
 * @throws {RangeError} When a value is out of range.
 */
export function sharedSettings<C extends { readonly maxTtl: number }>(
  cache: C,
  given: FunctionOptions | undefined,
  names: readonly string[],
): Settings<C> {
  const options = given === undefined ? {} : given;
  checkOptions(CREATE, options, names);
  return settingsOf(options, cache, 0);
}

/**
 * Checks `cached(options, given)` where `options` is not a TTLCache: the
 * options of a private cache (`names` are theirs), `given` being then
 * undefined.
 *
 * @throws {TypeError} When `options` is not a plain object, `given` is not undefined, or an option is unknown or
 * has the wrong type.
 * @throws {RangeError} When a value is out of range.
 */
export function privateSettings(
  options: unknown,
  given: FunctionOptions | undefined,
  names: readonly string[],
): Settings<never> {
  if (
    options === null || typeof options !== "object" || Array.isArray(options) ||
    ![Object.prototype, null].includes(Object.getPrototypeOf(options)) || given !== undefined
  ) {
    throw new TypeError(
      `${CREATE}: pass a TTLCache (cached(cache, options)) or the options of a private cache ` +
        `(cached({ ttl: 30, maxSize: 100 })): received ${describe(options)}${
          given === undefined ? "" : ` and ${describe(given)}`
        }`,
    );
  }
  checkOptions(CREATE, options, names);
  const { maxSize = 0, ...rest } = options as FunctionOptions & { maxSize?: number };
  checkCount(CREATE, "maxSize", maxSize);
  return settingsOf<never>(rest, undefined, maxSize);
}

function settingsOf<C extends { readonly maxTtl: number }>(
  options: FunctionOptions,
  shared: C | undefined,
  maxSize: number,
): Settings<C> {
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
function checkKeyOption(
  key: FunctionOptions["key"],
  keyMaker: FunctionOptions["keyMaker"],
): Settings<unknown>["keyOf"] {
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

function checkTagsOption(tags: FunctionOptions["tags"]): Settings<unknown>["tags"] | readonly string[] {
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
