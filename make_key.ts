/**
 * The default cache keys of `cached()`: a namespace plus a canonical,
 * collision-free encoding of the arguments.
 *
 * @module
 */
import { isJsonScalar, isPlainFieldName } from "./_json_scalar.ts";
import { RecordKeys } from "./_record_keys.ts";
import { checkBoolean, checkOptions, describe, optionNames, typeName } from "./_validate.ts";

/** Options of {@linkcode makeKey}. */
export interface MakeKeyOptions {
  /**
   * Also separate objects that have equal fields but different classes
   * (`new Meters(1)` vs `new Feet(1)`, `Buffer` vs `Uint8Array`).
   * Primitives of different types (`1`, `"1"`, `1n`, `true`) always get
   * different keys.
   *
   * @default {false}
   */
  typed?: boolean;
}

const MAKE_KEY_OPTIONS = optionNames<MakeKeyOptions>({ typed: true });
const MAKE = "Cannot make a cache key";

// Encodings up to this many characters are used as they are; longer ones are
// replaced by their SHA-256 digest, so keys stay bounded. Web Crypto's digest
// is asynchronous and costs tens of microseconds on Node, so short keys skip it.
const MAX_PLAIN = 128;
// The keys of one-argument calls a key function keeps, and the longest string argument kept.
const SINGLE_MAX = 256;
const SINGLE_MAX_LENGTH = 64;
// Digests of recent long encodings, so repeated calls with the same long
// arguments skip the digest as well. Bounded in entries and in size.
const DIGESTS_MAX = 512;
const DIGEST_INPUT_MAX = 4096;
const digests = new Map<string, string>();
const utf8 = new TextEncoder();

/**
 * Makes the cache key `cached()` uses by default: `<name>:<encoding>` when the
 * canonical encoding of `args` is at most 128 characters, else
 * `<name>:#<SHA-256 of the encoding, base64url>`. A `:` or `%` in `name` is
 * percent-encoded, so two names never produce the same key.
 *
 * The encoding is deterministic and injective: `1`, `"1"`, `1n` and `true`
 * differ, so do `null` and `undefined`; plain objects are equal whatever their
 * key order, and so are `Map`s and `Set`s whatever their insertion order.
 * Supported: primitives (`-0` is `0`, `NaN` equals `NaN`), arrays, plain
 * objects, `Date`, `Map`, `Set`, typed arrays, `ArrayBuffer`, and class
 * instances with own enumerable fields (encoded by those fields).
 *
 * Use it inside a `keyMaker` to build keys with the same guarantees.
 *
 * @param name The namespace of the keys, a non-empty string.
 * @param args The values to encode.
 * @param options Options, see {@linkcode MakeKeyOptions}.
 * @returns The key.
 * @throws {TypeError} When a value has no stable encoding (a function, a symbol, a cyclic
 * reference, a class instance without own enumerable fields, a `WeakMap`, …), or an option is unknown.
 *
 * @example Equal arguments make equal keys
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeKey } from "@cachet/cachet";
 *
 * const a = await makeKey("search", [{ q: "tea", page: 1 }]);
 * const b = await makeKey("search", [{ page: 1, q: "tea" }]);
 * assert(a === b && a === 'search:[{"page":1,"q":"tea"}]');
 * assert((await makeKey("search", ["1"])) !== (await makeKey("search", [1])));
 * ```
 */
export function makeKey(name: string, args: readonly unknown[], options: MakeKeyOptions = {}): Promise<string> {
  try {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`${MAKE}: name must be a non-empty string: received ${describe(name)}`);
    }
    if (!Array.isArray(args)) throw new TypeError(`${MAKE}: args must be an array: received ${describe(args)}`);
    checkOptions(MAKE, options, MAKE_KEY_OPTIONS);
    const { typed = false } = options ?? {};
    checkBoolean(MAKE, "typed", typed);
    return Promise.resolve(keyMaker(name, typed)(args));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Returns the key function of one namespace: it returns the key itself when no
 * digest is needed (the fast path of a cache hit), else a Promise of it.
 */
export function keyMaker(name: string, typed: boolean): (args: readonly unknown[]) => string | Promise<string> {
  const prefix = `${name.replace(/[%:]/g, (c) => c === "%" ? "%25" : "%3A")}:`;
  // The keys of calls with one number or string argument, which repeat: kept (bounded) instead of encoded again, and
  // the same string each time keeps its hash for the lookups behind it. A Map tells 1 from "1"; 0 and -0, which it
  // does not tell apart, encode alike.
  const single = new Map<unknown, string>();
  // The same for arguments JSON.stringify writes (see jsonArgs), by that text: a new concatenation would be
  // flattened again by the first lookup that hashes it, which costs more than looking up the text here.
  const written = new Map<string, string>();
  // And for one flat object argument, by its field values (no text made on a repeat).
  const records = new RecordKeys(SINGLE_MAX);
  const recordKey = (copy: Record<string, unknown>): string | undefined => {
    const json = jsonArgs([copy]);
    return json !== undefined && json.length <= MAX_PLAIN ? prefix + json : undefined;
  };
  return (args) => {
    let kept: unknown = single;
    // A lone object argument RecordKeys declined (nested, or past its bounds) is left to the encoder: jsonArgs would
    // only inspect it a second time (keys are the same either way).
    let declined = false;
    if (args.length === 1) {
      const arg = args[0];
      if (typeof arg === "number" || (typeof arg === "string" && arg.length <= SINGLE_MAX_LENGTH)) {
        const known = single.get(arg);
        if (known !== undefined) return known;
        kept = arg;
      } else if (typeof arg === "object" && arg !== null) {
        const key = records.keyOf(arg, recordKey);
        if (key !== undefined) return key;
        declined = true;
      }
    }
    const json = declined ? undefined : jsonArgs(args);
    if (json !== undefined && json.length <= MAX_PLAIN && kept === single) {
      let key = written.get(json);
      if (key === undefined) {
        key = prefix + json;
        if (written.size >= SINGLE_MAX) written.clear();
        written.set(json, key);
      }
      return key;
    }
    const encoded = json ?? encodeArgs(args, typed, name);
    if (encoded.length <= MAX_PLAIN) {
      const key = prefix + encoded;
      if (kept !== single) {
        if (single.size >= SINGLE_MAX) single.clear();
        single.set(kept, key);
      }
      return key;
    }
    const known = digests.get(encoded);
    if (known !== undefined) return prefix + known;
    return digest(encoded).then((hash) => {
      if (encoded.length <= DIGEST_INPUT_MAX) {
        if (digests.size >= DIGESTS_MAX) digests.clear();
        digests.set(encoded, hash);
      }
      // "#" never starts an encoding ("[" always does), so hashed and plain keys never collide.
      return prefix + hash;
    });
  };
}

async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(text)));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `#${btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

// Raised inside the encoder; the path to the offending value is collected on the way out.
class Unencodable {
  readonly path: string[] = [];
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

/**
 * Encodes an argument list as `[a,b,…]`.
 *
 * @throws {TypeError} Naming the argument (and the path inside it) that cannot be encoded.
 */
export function encodeArgs(args: readonly unknown[], typed: boolean, name: string): string {
  let out = "[";
  const stack: object[] = [];
  for (let i = 0; i < args.length; i++) {
    if (i > 0) out += ",";
    try {
      out += encode(args[i], typed, stack);
    } catch (error) {
      if (!(error instanceof Unencodable)) throw error;
      throw new TypeError(
        `Cannot make a cache key for ${name}: args[${i}]${error.path.reverse().join("")} ${error.reason}; ` +
          "pass keyMaker to cached() to build the key yourself",
      );
    }
  }
  return `${out}]`;
}

// The arguments as JSON.stringify writes them, when that is exactly
// encodeArgs(args), else undefined: each argument a string, a finite number, a
// boolean, null, or a plain object of those without symbol keys (copied with
// its keys sorted, as the encoding writes them; keys that start with a digit
// and __proto__ are left to the encoder, as an object orders or treats them
// its own way). One flat string made natively: faster to make than the
// encoder's concatenation, and the lookups behind need not flatten it first.
function jsonArgs(args: readonly unknown[]): string | undefined {
  const proto = Object.prototype as { toJSON?: unknown };
  if (proto.toJSON !== undefined || (Array.prototype as { toJSON?: unknown }).toJSON !== undefined) return undefined;
  const copy: unknown[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (isJsonScalar(arg)) copy.push(arg);
    else {
      const sorted = typeof arg === "object" ? sortedRecord(arg as object) : undefined;
      if (sorted === undefined) return undefined;
      copy.push(sorted);
    }
  }
  return JSON.stringify(copy);
}

// A copy of a plain object of scalars with its keys in code unit order (each value read once), else undefined.
function sortedRecord(value: object): object | undefined {
  const proto = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || Object.getOwnPropertySymbols(value).length !== 0) {
    return undefined;
  }
  const keys = Object.keys(value);
  sortKeys(keys);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (!isPlainFieldName(key)) return undefined;
    const item = (value as Record<string, unknown>)[key];
    if (!isJsonScalar(item)) return undefined;
    out[key] = item;
  }
  return out;
}

// The grammar is prefix-free, which makes concatenations injective: every
// value starts with a token that says what it is: "…" (string), a number,
// <digits>n (bigint), null, undefined, true, false, […] (array), {…} (plain
// object or fields of an instance), Date(…), Map{…}, Set[…], <TypedArray>(…),
// ArrayBuffer(…), and in typed mode @"Class" before a non-standard prototype.
function encode(value: unknown, typed: boolean, stack: object[]): string {
  switch (typeof value) {
    case "string":
      // JSON escapes quotes and lone surrogates, so distinct strings stay distinct.
      return JSON.stringify(value);
    case "number":
      return value === 0 ? "0" : String(value);
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "undefined";
    case "bigint":
      return `${value}n`;
    case "object":
      if (value === null) return "null";
      if (stack.includes(value)) throw new Unencodable("is a cyclic reference");
      stack.push(value);
      try {
        return encodeObject(value, typed, stack);
      } finally {
        stack.pop();
      }
    default:
      throw new Unencodable(`is ${describe(value)}, which has no stable encoding`);
  }
}

function encodeObject(value: object, typed: boolean, stack: object[]): string {
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      try {
        out += encode(value[i], typed, stack);
      } catch (error) {
        throw within(error, `[${i}]`);
      }
    }
    return `${brand(typed, value, proto, Array.prototype)}${out}]`;
  }
  if (proto === Object.prototype || proto === null) return encodeFields(value, Object.keys(value), typed, stack);
  if (value instanceof Date) return `${brand(typed, value, proto, Date.prototype)}Date(${value.getTime()})`;
  if (value instanceof Map) {
    const entries: string[] = [];
    for (const [k, v] of value) {
      try {
        entries.push(`${encode(k, typed, stack)}:${encode(v, typed, stack)}`);
      } catch (error) {
        throw within(error, `[map entry ${entries.length}]`);
      }
    }
    return `${brand(typed, value, proto, Map.prototype)}Map{${entries.sort().join(",")}}`;
  }
  if (value instanceof Set) {
    const items: string[] = [];
    for (const item of value) {
      try {
        items.push(encode(item, typed, stack));
      } catch (error) {
        throw within(error, `[set item ${items.length}]`);
      }
    }
    return `${brand(typed, value, proto, Set.prototype)}Set[${items.sort().join(",")}]`;
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    // The standard tag of the view's kind: a Node Buffer is a "Uint8Array".
    const kind = Object.prototype.toString.call(value).slice(8, -1);
    const items = Array.prototype.join.call(value, ",");
    return `${brand(typed, value, proto, standardProto(kind))}${kind}(${items})`;
  }
  if (value instanceof ArrayBuffer) {
    return `${brand(typed, value, proto, ArrayBuffer.prototype)}ArrayBuffer(${new Uint8Array(value).join(",")})`;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) {
    throw new Unencodable(`is ${describe(value)} with no own enumerable fields, so it has no stable encoding`);
  }
  return `${typed ? className(value) : ""}${encodeFields(value, keys, typed, stack)}`;
}

function encodeFields(value: object, keys: string[], typed: boolean, stack: object[]): string {
  for (const symbol of Object.getOwnPropertySymbols(value)) {
    if (Object.prototype.propertyIsEnumerable.call(value, symbol)) {
      throw new Unencodable(`has the symbol-keyed field ${symbol.toString()}, which has no stable encoding`);
    }
  }
  sortKeys(keys);
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (i > 0) out += ",";
    try {
      out += quote(key) + ":" + encode((value as Record<string, unknown>)[key], typed, stack);
    } catch (error) {
      throw within(error, fieldPath(key));
    }
  }
  return `${out}}`;
}

// Sorts in code unit order, as Array.prototype.sort does for strings; the
// few fields of a typical argument object are sorted faster in place, and
// objects written in sorted order are only checked.
function sortKeys(keys: string[]): void {
  if (keys.length > 16) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i];
    let j = i - 1;
    if (keys[j] < key) continue;
    while (j >= 0 && keys[j] > key) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = key;
  }
}

// The JSON forms of recent field names: argument objects repeat a few of them.
const QUOTED_MAX = 1024;
const quoted = new Map<string, string>();

function quote(key: string): string {
  let text = quoted.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (quoted.size >= QUOTED_MAX) quoted.clear();
    quoted.set(key, text);
  }
  return text;
}

// Prefixes the path of an encoding failure with `segment` on its way out.
function within(error: unknown, segment: string): unknown {
  if (error instanceof Unencodable) error.path.push(segment);
  return error;
}

function fieldPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function brand(typed: boolean, value: object, proto: unknown, standard: unknown): string {
  return typed && proto !== standard ? className(value) : "";
}

function className(value: object): string {
  return `@${JSON.stringify(typeName(value))}`;
}

function standardProto(kind: string): unknown {
  const ctor = (globalThis as Record<string, unknown>)[kind] as { prototype?: unknown } | undefined;
  return ctor?.prototype;
}

/** What a compiled key or tag template reads: `this`, or the arguments. */
export type Template = (self: unknown, args: readonly unknown[]) => string;

const PATH_HEAD = /^(?:\d+|this)$/;
const PATH_STEP = /^(?:[A-Za-z_$][\w$]*|\d+)$/;

/**
 * Compiles a key or tag template of `cached()`: `{0}` is the first argument,
 * `{0.id}` a field of it, `{this.region}` a field of `this`; `{{` and `}}`
 * are literal braces. Each placeholder must reach a string, number, bigint or
 * boolean, formatted with `String()`.
 *
 * @param context The start of error messages.
 * @param what What the template is, for messages (`key template "user:{0}"`).
 * @param template The template.
 * @returns The function producing the text of a call.
 * @throws {TypeError} When the template is malformed: an unbalanced brace, an empty or unknown placeholder.
 */
export function compileTemplate(context: string, what: string, template: string): Template {
  const parts: (string | string[])[] = [];
  let literal = "";
  for (let i = 0; i < template.length; i++) {
    const char = template[i];
    if (char === "}") {
      if (template[i + 1] !== "}") {
        throw new TypeError(`${context}: ${what} has an unbalanced "}" at ${i}; write "}}" for a literal brace`);
      }
      literal += "}";
      i++;
    } else if (char !== "{") {
      literal += char;
    } else if (template[i + 1] === "{") {
      literal += "{";
      i++;
    } else {
      const end = template.indexOf("}", i + 1);
      const open = template.indexOf("{", i + 1);
      if (end === -1 || (open !== -1 && open < end)) {
        throw new TypeError(`${context}: ${what} has an unbalanced "{" at ${i}; write "{{" for a literal brace`);
      }
      const body = template.slice(i + 1, end);
      const path = body.split(".");
      if (!PATH_HEAD.test(path[0]) || !path.slice(1).every((step) => PATH_STEP.test(step))) {
        throw new TypeError(
          `${context}: ${what} has the unknown placeholder {${body}}: a placeholder names a positional argument ` +
            `({0}, {1.id}) or this ({this.region}), then fields separated by dots`,
        );
      }
      if (literal !== "") parts.push(literal);
      literal = "";
      parts.push(path);
      i = end;
    }
  }
  if (literal !== "" || parts.length === 0) parts.push(literal);
  return (self, args) => {
    let out = "";
    for (const part of parts) out += typeof part === "string" ? part : fill(what, part, self, args);
    return out;
  };
}

function fill(what: string, path: readonly string[], self: unknown, args: readonly unknown[]): string {
  const head = path[0];
  let value: unknown = head === "this" ? self : args[Number(head)];
  let reached = head === "this" ? "this" : `args[${head}]`;
  for (let i = 1; i < path.length; i++) {
    if (value === null || value === undefined) {
      throw new TypeError(
        `Cannot make a cache key: ${what}: {${path.join(".")}} reads ${path[i]} of ${reached}, which is ${value}`,
      );
    }
    value = (value as Record<string, unknown>)[path[i]];
    reached += `.${path[i]}`;
  }
  switch (typeof value) {
    case "string":
    case "number":
    case "bigint":
    case "boolean":
      return String(value);
  }
  throw new TypeError(
    `Cannot make a cache key: ${what}: {${path.join(".")}} is ${describe(value)}, not a string, number, ` +
      "bigint or boolean; name a field of it, or pass a key function",
  );
}
