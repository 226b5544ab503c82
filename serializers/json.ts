/**
 * A serializer for JSON-native values (objects, arrays, strings, finite
 * numbers, booleans, `null`).
 *
 * @example Caching JSON values
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache<{ id: number }>({ serializer: new JsonSerializer() });
 * await cache.set("user:1", { id: 1 });
 * assert((await cache.get("user:1"))?.id === 1);
 * ```
 *
 * @module
 */
import { CacheError } from "../errors.ts";
import { typeName } from "../_validate.ts";
import { where } from "./_where.ts";
import type { CacheSerializer } from "../types.ts";
import { DUMPS_WITH_ROOM } from "../_dumps_with_room.ts";
import { COPY, LOADS_AT, LOADS_PACKED } from "../_loads_at.ts";
import { isJsonScalar } from "../_json_scalar.ts";

/** A value that {@linkcode JsonSerializer} can store. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue | undefined };

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// Objects that JSON.stringify turns into `{}` or loses silently.
const LOSSY = [Map, Set, WeakMap, WeakSet, RegExp, ArrayBuffer, Error, Promise] as const;
// Boxed primitives, which JSON.stringify unboxes after the replacer has seen them.
const BOXED: readonly unknown[] = [Number.prototype, String.prototype, Boolean.prototype];

// Thrown by the replacer, which knows the holder and key of a refused value;
// dumps() turns it into a TypeError naming the path from the root.
class Refused {
  readonly holder: unknown;
  readonly key: string;
  readonly what: string;
  readonly hint: string;
  constructor(holder: unknown, key: string, what: string, hint: string) {
    this.holder = holder;
    this.key = key;
    this.what = what;
    this.hint = hint;
  }
}

function lossless(this: unknown, key: string, value: unknown): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (Number.isFinite(value)) return value;
      throw new Refused(this, key, String(value), "JSON has no non-finite numbers; use StructuredSerializer");
    case "object": {
      if (value === null) return value;
      if (ArrayBuffer.isView(value) || LOSSY.some((type) => value instanceof type)) {
        throw new Refused(this, key, typeName(value), "it would not round-trip; use StructuredSerializer");
      }
      // JSON.stringify drops symbol keys: the state of framework objects (an HTTP request) often lives there.
      const symbol = Object.getOwnPropertySymbols(value).find((s) =>
        Object.prototype.propertyIsEnumerable.call(value, s)
      );
      if (symbol !== undefined) {
        throw new Refused(
          this,
          key,
          typeName(value),
          `its symbol-keyed field ${symbol.toString()} would be lost (JSON keeps only string keys); ` +
            "store the fields you need as a plain object",
        );
      }
      // A class instance whose state is private or native (a fetch Request on Node and Bun) would be stored as {}.
      const proto = Object.getPrototypeOf(value);
      if (
        proto !== Object.prototype && proto !== null && !Array.isArray(value) && !BOXED.includes(proto) &&
        Object.keys(value).length === 0
      ) {
        throw new Refused(
          this,
          key,
          typeName(value),
          "it has no own enumerable fields, so it would be stored as {}; store the fields you need as a plain object",
        );
      }
      return value;
    }
    case "undefined":
      // An undefined property is simply absent in JSON, as in JSON.stringify;
      // anywhere else it would turn into null or vanish.
      if (key !== "" && this !== null && typeof this === "object" && !Array.isArray(this)) return value;
      throw new Refused(
        this,
        key,
        "undefined",
        "use null or StructuredSerializer, or in cached() pass skip: (result) => result === undefined to not store it",
      );
    default:
      throw new Refused(this, key, typeof value, "only JSON-native values are allowed");
  }
}

// The TypeError dumps() throws for what the replacer refused, or for a value
// JSON.stringify itself gives up on (a RangeError: nested too deeply, too large).
function unserializable(root: unknown, error: unknown): unknown {
  if (error instanceof Refused) {
    // The key "" of JSON.stringify's wrapper object is the root itself.
    const atRoot = error.key === "" && (error.holder as Record<string, unknown>)?.[""] === root;
    return new TypeError(
      `Cannot serialize ${error.what} as JSON${where(root, atRoot ? null : error.holder, error.key)}: ${error.hint}`,
    );
  }
  if (error instanceof RangeError) {
    return new TypeError(
      `Cannot serialize the value as JSON: it is nested too deeply or too large for JSON.stringify (${error.message})`,
      { cause: error },
    );
  }
  // Each engine words its own cycle error ("Converting circular structure", "cyclic structures"): look for the cycle.
  const back = error instanceof TypeError ? cycle(root) : undefined;
  if (back !== undefined) {
    return new TypeError(
      `Cannot encode with JsonSerializer: the value has a cycle${where(root, back.holder, back.key)}, which JSON ` +
        "cannot represent; use StructuredSerializer from @cachet/cachet/structured (npm: cachet/structured), " +
        "which keeps cycles and shared references",
      { cause: error },
    );
  }
  return error;
}

// The first entry (depth first) that refers back to an object enclosing it; searched only after JSON.stringify
// failed, within a bound of visits.
function cycle(root: unknown): { holder: object; key: string } | undefined {
  const ancestors = new Set<object>();
  let visits = 0;
  const visit = (value: object): { holder: object; key: string } | undefined => {
    if (++visits > 100_000) return undefined;
    ancestors.add(value);
    for (const [key, item] of Object.entries(value)) {
      if (item === null || typeof item !== "object") continue;
      if (ancestors.has(item)) return { holder: value, key };
      const found = visit(item);
      if (found !== undefined) return found;
    }
    ancestors.delete(value);
    return undefined;
  };
  return root !== null && typeof root === "object" ? visit(root) : undefined;
}

// True when JSON.stringify(value) is lossless without the checking replacer
// (which costs more than the encoding itself): only strings, finite numbers,
// booleans, null, arrays and plain objects without toJSON, at most 32 levels
// deep. Anything else (and cycles) takes the checked path, which names the problem.
function plain(value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null) return isJsonScalar(value);
  if (depth > 32) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!plainItem(value[i], depth)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || (value as { toJSON?: unknown }).toJSON !== undefined) {
    return false;
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined && !plainItem(item, depth)) return false;
  }
  return true;
}

// plain() of a field or an element: a scalar is settled here, without the recursive call V8 will not inline. (plain()
// itself starting with this dispatch for every value measured ~120 instructions more per 80-byte record.)
function plainItem(item: unknown, depth: number): boolean {
  return typeof item === "object" && item !== null ? plain(item, depth + 1) : isJsonScalar(item);
}

// Short texts are encoded into this buffer and copied out: much faster than
// encode() for small values, and V8 keeps arrays of up to 64 bytes on its heap.
const scratch = new Uint8Array(4096);

// The part of scratch after the last `room` asked for, where text is encoded:
// a header's room is one of a few sizes, so the view is rarely made again.
let tail = scratch;
let tailRoom = 0;

// The UTF-8 of `text` after `room` free bytes (zeros when made for a long text; the caller writes over them).
function utf8(text: string, room: number): Uint8Array {
  // A UTF-16 code unit takes at most 3 bytes in UTF-8.
  if (text.length > (scratch.length - room) / 3) {
    const bytes = encoder.encode(text);
    if (room === 0) return bytes;
    const out = new Uint8Array(room + bytes.length);
    out.set(bytes, room);
    return out;
  }
  if (room !== tailRoom) {
    tail = scratch.subarray(room);
    tailRoom = room;
  }
  // One copy out of scratch, room included: a fresh array with the text copied into it costs two more views.
  return scratch.slice(0, room + encoder.encodeInto(text, tail).written);
}

function parse<T>(data: Uint8Array, at: number): T {
  try {
    return JSON.parse(text(data, at));
  } catch (cause) {
    throw undecodable(cause);
  }
}

function undecodable(cause: unknown): CacheError {
  return new CacheError(`Cannot decode JSON: ${(cause as Error).message}`, { cause });
}

// The value of bytes packed in a string (char codes from `from` on), when they are ASCII: ASCII decodes to itself
// under UTF-8, so the text is the string's tail, with no array made and nothing decoded. Undefined for anything else.
function parsePacked<T>(packed: string, from: number): T | undefined {
  for (let i = from; i < packed.length; i++) if (packed.charCodeAt(i) > 0x7f) return undefined;
  try {
    return JSON.parse(packed.slice(from));
  } catch (cause) {
    throw undecodable(cause);
  }
}

// JSON.stringify without the checking replacer when the value needs none.
function stringify(value: unknown): string {
  if (plain(value, 0)) return JSON.stringify(value);
  try {
    return JSON.stringify(value, lossless);
  } catch (error) {
    throw unserializable(value, error);
  }
}

// Node's and Bun's Buffer decode UTF-8 natively from a range of any
// Uint8Array: no view of the range and none of TextDecoder's argument checks
// (half the cost of decoding a payload of 100 bytes). Looked up by name: the
// serializer names no runtime; elsewhere TextDecoder does it.
const utf8Slice = (globalThis as { Buffer?: { prototype?: { utf8Slice?: unknown } } }).Buffer?.prototype?.utf8Slice as
  | ((this: Uint8Array, start: number, end: number) => string)
  | undefined;

// The text of `data` from `at`, decoded as strictly as the fatal decoder
// (which also keeps a BOM, for JSON.parse to refuse).
function text(data: Uint8Array, at: number): string {
  // V8 keeps an array of up to 64 bytes on its heap and moves it to a buffer of its own when native code (or a view)
  // needs one, which costs five times the decoding: short ASCII is decoded here, from a copy (a copy stays on the
  // heap). ASCII decodes the same under UTF-8; anything else goes to the fatal decoder.
  if (data.length <= 64) {
    const short = at === 0 ? data : data.slice(at);
    for (let i = 0; i < short.length; i++) if (short[i] > 0x7f) return decoder.decode(short);
    return String.fromCharCode.apply(null, short as unknown as number[]);
  }
  if (utf8Slice !== undefined) {
    const decoded = utf8Slice.call(data, at, data.length);
    // Invalid UTF-8 comes out as U+FFFD here, where the fatal decoder throws: any U+FFFD goes to the fatal decoder
    // (which returns the same text when the bytes held a real one).
    if (decoded.indexOf("\uFFFD") === -1) return decoded;
  }
  return decoder.decode(at === 0 ? data : data.subarray(at));
}

// A copy of a value JSON.parse made: plain objects, arrays and primitives, so
// a structural copy is what parsing the same text again would give (keys in
// the same order, `__proto__` an own property), three times cheaper than
// parsing for small values. Deeper than COPY_DEPTH, it gives up (TOO_DEEP),
// so a deeply nested value cannot overflow the stack.
const COPY_DEPTH = 64;
const TOO_DEEP = Symbol("too deep");
const EMPTY = {};

function copyParsed(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth > COPY_DEPTH) throw TOO_DEEP;
  if (Array.isArray(value)) {
    // A copy of the array's length (push would leave spare room), then its objects copied in place.
    const out = value.slice();
    for (let i = 0; i < out.length; i++) {
      const item = out[i];
      if (typeof item === "object" && item !== null) out[i] = copyParsed(item, depth + 1);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  // for-in sees only own keys here: copy() checked that Object.prototype has no enumerable ones.
  for (const key in value) {
    const item = copyParsed((value as Record<string, unknown>)[key], depth + 1);
    if (key === "__proto__") {
      Object.defineProperty(out, key, { value: item, writable: true, enumerable: true, configurable: true });
    } else out[key] = item;
  }
  return out;
}

/**
 * Encodes values as UTF-8 JSON. The type parameter only declares what you
 * store; nothing validates it on read (use `SchemaSerializer` for that).
 * `Date` values become ISO 8601 strings and are
 * read back as strings. Values JSON cannot represent faithfully (`bigint`,
 * functions, symbols, `undefined` outside an object property, `NaN`,
 * `±Infinity`, `Map`, `Set`, typed arrays, …) throw a `TypeError` instead of
 * being silently corrupted.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const json = new JsonSerializer();
 * const bytes = json.dumps({ a: [1, "two", null] });
 * assert(JSON.stringify(json.loads(bytes)) === '{"a":[1,"two",null]}');
 * ```
 */
export class JsonSerializer<T = JsonValue> implements CacheSerializer<T> {
  /**
   * Encodes a value as JSON bytes.
   *
   * @param value A JSON-native value.
   * @returns UTF-8 JSON.
   * @throws {TypeError} When the value (or a nested one) has no faithful JSON form (the message names its path), is
   * cyclic, or is nested too deeply for `JSON.stringify`.
   */
  dumps(value: T): Uint8Array {
    return utf8(stringify(value), 0);
  }

  /**
   * TTLCache's fast path (see _dumps_with_room.ts).
   *
   * @ignore
   */
  [DUMPS_WITH_ROOM](value: T, room: number): Uint8Array | undefined {
    if (this.dumps !== JsonSerializer.prototype.dumps) return undefined;
    return utf8(stringify(value), room);
  }

  /**
   * Decodes JSON bytes. `__proto__` keys become plain own properties, never a
   * prototype.
   *
   * @param data UTF-8 JSON bytes, untrusted.
   * @returns The decoded value.
   * @throws {CacheError} When the bytes are not valid UTF-8 JSON (with the cause attached).
   */
  loads(data: Uint8Array): T {
    return parse(data, 0);
  }

  /**
   * TTLCache's fast path (see _loads_at.ts).
   *
   * @ignore
   */
  [LOADS_AT](bytes: Uint8Array, at: number): T | undefined {
    if (this.loads !== JsonSerializer.prototype.loads) return undefined;
    return parse(bytes, at);
  }

  /**
   * TTLCache's fast path (see _loads_at.ts).
   *
   * @ignore
   */
  [LOADS_PACKED](packed: string, from: number): T | undefined {
    if (this.loads !== JsonSerializer.prototype.loads) return undefined;
    return parsePacked(packed, from);
  }

  /**
   * TTLCache's fast path (see _loads_at.ts).
   *
   * @ignore
   */
  [COPY](value: T): T | undefined {
    if (this.loads !== JsonSerializer.prototype.loads) return undefined;
    // An enumerable property on Object.prototype (polluted) would show in for-in: decode instead.
    for (const _ in EMPTY) return undefined;
    try {
      return copyParsed(value, 0) as T;
    } catch (error) {
      if (error === TOO_DEEP) return undefined;
      throw error;
    }
  }
}
