// Shared argument checks, so every public entry point words its errors alike:
// "<context>: <name> must be <rule>: received <value>".

/** Renders a received value for an error message without dumping large data. */
export function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
    case "boolean":
      return String(value);
    case "symbol":
      return value.toString();
    case "function":
      return `function ${value.name || "(anonymous)"}`;
    default:
      if (value === null) return "null";
      if (Array.isArray(value)) return "an array";
      return `an object (${typeName(value)})`;
  }
}

/** The constructor name of a value, or its `typeof`. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  const proto = Object.getPrototypeOf(value);
  if (proto === null) return "Object";
  const name = proto.constructor?.name;
  return typeof name === "string" && name !== "" ? name : "Object";
}

/**
 * The largest `maxTtl`, in seconds (100 years): a tag record lives twice as
 * long, and even then its expiry in milliseconds, added to the current time,
 * is a safe integer that every backend (Redis `PX` included) takes exactly.
 */
export const MAX_TTL_LIMIT: number = 100 * 365 * 86400;

/**
 * The shortest TTL, in seconds: 1 ms, the finest expiry a backend keeps (Redis `PX`). A shorter one is a mistake
 * (`1e-9`), not a request for a shorter life.
 */
export const MIN_TTL = 0.001;

/**
 * Checks a TTL in seconds: a finite number > 0, at least {@linkcode MIN_TTL} and, when `maxTtl` is given, at
 * most `maxTtl`, so that milliseconds given by mistake (`60000`) or absurd
 * values (`1e300`, `1e-9`) are refused instead of silently kept, rounded or capped.
 */
export function checkTtl(context: string, name: string, value: unknown, maxTtl?: number): number {
  const seconds = checkFinite(context, name, value, "seconds");
  if (seconds < MIN_TTL) {
    throw new RangeError(
      `${context}: ${name} must be at least ${MIN_TTL} seconds (1 ms, the finest expiry a backend keeps): received ` +
        describe(value),
    );
  }
  if (maxTtl !== undefined && seconds > maxTtl) {
    const hint = seconds / 1000 <= maxTtl ? `; ${name} is in seconds (did you pass milliseconds?)` : "";
    throw new RangeError(
      `${context}: ${name} must be at most maxTtl (${maxTtl} seconds = ${duration(maxTtl)}): received ` +
        `${describe(value)}${hint}; raise maxTtl to allow longer entries`,
    );
  }
  return seconds;
}

/** Checks a `maxTtl` option: a finite number of seconds > 0, at most {@linkcode MAX_TTL_LIMIT}. */
export function checkMaxTtl(context: string, value: unknown): number {
  const seconds = checkFinite(context, "maxTtl", value, "seconds");
  if (seconds > MAX_TTL_LIMIT) {
    throw new RangeError(
      `${context}: maxTtl must be at most ${MAX_TTL_LIMIT} seconds (beyond it a TTL in milliseconds is not exact): ` +
        `received ${describe(value)}`,
    );
  }
  return seconds;
}

const UNITS: readonly [number, string][] = [[86400 * 365, "years"], [86400, "d"], [3600, "h"], [60, "min"]];

/** `43200` -> `"12 h"`: a duration in seconds in its largest whole-ish unit. */
function duration(seconds: number): string {
  for (const [size, unit] of UNITS) {
    if (seconds >= size) return `${Number((seconds / size).toPrecision(3))} ${unit}`;
  }
  return `${Number(seconds.toPrecision(3))} s`;
}

/** Checks a grace period: a finite number of seconds >= 0 and <= `maxTtl`. */
export function checkGrace(context: string, name: string, value: unknown, maxTtl: number): number {
  const seconds = checkFinite(context, name, value, "seconds", 0, true);
  if (seconds > maxTtl) {
    throw new RangeError(
      `${context}: ${name} must be at most maxTtl (${maxTtl} seconds): received ${seconds}; grace is in seconds`,
    );
  }
  return seconds;
}

/**
 * Checks a finite number > `min`, or >= `min` when `inclusive`; `unit` names
 * what it measures in the message.
 */
export function checkFinite(
  context: string,
  name: string,
  value: unknown,
  unit: string,
  min = 0,
  inclusive = false,
): number {
  if (typeof value === "number" && Number.isFinite(value) && (inclusive ? value >= min : value > min)) return value;
  const rule = `${name} must be a finite number ${inclusive ? ">=" : ">"} ${min} (${unit})`;
  const ErrorType = typeof value === "number" ? RangeError : TypeError;
  throw new ErrorType(`${context}: ${rule}: received ${describe(value)}`);
}

/** The longest delay a timer can wait on every runtime (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks a duration in milliseconds that a timer will wait: > 0 (or >= 0) and at most MAX_TIMER_MS. */
export function checkDuration(context: string, name: string, value: unknown, zeroAllowed = false): number {
  const ms = checkFinite(context, name, value, "milliseconds", 0, zeroAllowed);
  if (ms > MAX_TIMER_MS) {
    throw new RangeError(
      `${context}: ${name} must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest a timer can wait: ` +
        `received ${describe(value)}`,
    );
  }
  return ms;
}

/** Checks a count: a non-negative safe integer. */
export function checkCount(context: string, name: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(`${context}: ${name} must be a non-negative integer: received ${describe(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${context}: ${name} must be a non-negative integer: received ${describe(value)}`);
  }
  return value;
}

/**
 * Checks a cache key: a well-formed string. A lone surrogate (`"\uD800"`) is
 * refused everywhere, because a backend that stores UTF-8 (Redis) would turn
 * every lone surrogate into U+FFFD and so merge distinct keys.
 */
export function checkKey(context: string, key: unknown, name = "key"): string {
  if (typeof key !== "string") {
    throw new TypeError(`${context}: ${name} must be a string: received ${describe(key)}`);
  }
  if (!key.isWellFormed()) throw illFormed(context, name, key);
  return key;
}

/** Checks an array of well-formed strings. */
export function checkKeyList(context: string, name: string, value: unknown): readonly string[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${context}: ${name} must be an array of strings: received ${describe(value)}`);
  }
  // The label is built only for a key that fails (a template per key costs a string each on a batch read).
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (typeof item !== "string" || !item.isWellFormed()) checkKey(context, item, `${name}[${i}]`);
  }
  return value;
}

/** Checks a list of tags: non-empty well-formed strings. */
export function checkTags(context: string, value: unknown, room = MAX_RECORDS): readonly string[] {
  const tags = checkKeyList(context, "tags", value);
  if (tags.length > room) {
    throw new RangeError(
      `${context}: tags must hold at most ${room} tags (what one entry's header can carry): received ${tags.length}`,
    );
  }
  tags.forEach((tag, i) => {
    if (tag === "") throw new TypeError(`${context}: tags[${i}] must be a non-empty string: received ""`);
    if (tag.length > MAX_NAME_BYTES / 3 && utf8.encode(tag).length > MAX_NAME_BYTES) {
      throw new RangeError(
        `${context}: tags[${i}] must be at most ${MAX_NAME_BYTES} bytes in UTF-8 (what a tag record's name can ` +
          `hold): received a string of ${utf8.encode(tag).length} bytes`,
      );
    }
  });
  return tags;
}

/** The most records (tags and enclosing namespaces) one entry can carry. */
export const MAX_RECORDS = 0xffff;
// A record's name is stored with a 16-bit length; tag and namespace records add two bytes of their own.
const MAX_NAME_BYTES = 0xffff - 2;
const utf8 = new TextEncoder();

/** Checks that a namespace's record name (`record`, its whole path encoded) fits an entry's header. */
export function checkRecordName(context: string, name: string, record: string): void {
  if (record.length > MAX_NAME_BYTES / 3 && utf8.encode(record).length > 0xffff) {
    throw new RangeError(
      `${context}: name must be short enough for the namespace's path to fit in ${0xffff} bytes of UTF-8: ` +
        `received a string of ${utf8.encode(name).length} bytes`,
    );
  }
}

/** Checks an optional string option (any string, well-formed). */
export function checkString(context: string, name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "string") {
    throw new TypeError(`${context}: ${name} must be a string: received ${describe(value)}`);
  }
  if (!value.isWellFormed()) throw illFormed(context, name, value);
}

function illFormed(context: string, name: string, value: string): TypeError {
  const at = [...value].findIndex((c) => c.length === 1 && c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff);
  return new TypeError(
    `${context}: ${name} must be a well-formed string (no lone surrogate, which UTF-8 backends cannot store ` +
      `distinctly): received ${describe(value)} with a lone surrogate at code point ${at}`,
  );
}

/** Checks an optional boolean option. */
export function checkBoolean(context: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "boolean") {
    throw new TypeError(`${context}: ${name} must be a boolean: received ${describe(value)}`);
  }
}

/** Checks that `value` is an object with the named methods. */
export function checkMethods(context: string, name: string, value: unknown, methods: readonly string[]): void {
  const missing = value !== null && (typeof value === "object" || typeof value === "function")
    ? methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== "function")
    : methods;
  if (missing.length > 0) {
    throw new TypeError(
      `${context}: ${name} must be an object with methods ${methods.join(", ")} (missing ${
        missing.join(", ")
      }): received ${describe(value)}`,
    );
  }
}

// Built-in collections have get/set/delete/clear but ignore ttl and return no Promise.
const COLLECTIONS = [Map, WeakMap, Set, WeakSet] as const;

/**
 * Checks that `value` can be a `CacheBackend`: an object with `get`, `set`,
 * `delete` and `clear` methods, and not a built-in `Map`, `WeakMap`, `Set` or
 * `WeakSet` (a `Map` has the methods, but ignores ttl and returns no Promise).
 * A subclass that overrides `get` is accepted.
 */
export function checkBackend(context: string, name: string, value: unknown): void {
  const collection = COLLECTIONS.find((type) => value instanceof type);
  if (
    collection !== undefined &&
    (value as { get?: unknown }).get === (collection.prototype as { get?: unknown }).get
  ) {
    throw new TypeError(
      `${context}: ${name} must be a CacheBackend, not a ${collection.name} (which ignores ttl and returns no ` +
        `Promise): pass a CacheBackend such as new MemoryCacheBackend() of "@cachet/cachet/memory", whose ` +
        `methods return Promises and honour ttl: received ${describe(value)}`,
    );
  }
  checkMethods(context, name, value, ["get", "set", "delete", "clear"]);
}

/**
 * The names of an options interface, from an object that must list each of
 * them exactly once (the type checker enforces it), for {@linkcode checkOptions}.
 */
export function optionNames<T>(names: { readonly [K in keyof Required<T>]: true }): readonly string[] {
  return Object.freeze(Object.keys(names));
}

/** Checks a `lock` option: a boolean or a CacheLock. */
export function checkLock(context: string, lock: unknown): void {
  if (
    typeof lock !== "boolean" &&
    (lock === null || typeof lock !== "object" || typeof (lock as { withLock?: unknown }).withLock !== "function")
  ) {
    throw new TypeError(
      `${context}: lock must be a boolean or a CacheLock (an object with a withLock(key, fn) method): received ${
        describe(lock)
      }`,
    );
  }
}

/** Checks an optional function-valued option. */
export function checkFunction(context: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`${context}: ${name} must be a function: received ${describe(value)}`);
  }
}

/**
 * Checks that an options argument is a plain object or undefined and, when
 * `known` is given, that it has no other own property: a misspelt option
 * (`maxsize`, `TTL`) is an error naming the nearest valid one, never ignored.
 */
export function checkOptions(context: string, value: unknown, known?: readonly string[]): void {
  if (value === undefined) return;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${context}: options must be an object: received ${describe(value)}`);
  }
  if (known === undefined) return;
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = nearest(key, known);
    throw new TypeError(
      `${context}: unknown option ${JSON.stringify(key)}${near === undefined ? "" : ` (did you mean ${near}?)`}; ` +
        `valid options: ${known.join(", ")}`,
    );
  }
}

/** The candidate closest to `name` (case-insensitive edit distance), if any is close. */
function nearest(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
