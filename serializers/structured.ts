/**
 * A serializer for the values the structured clone algorithm copies: `Date`,
 * `RegExp`, `Map`, `Set`, `bigint`, `undefined`, `NaN`, `±Infinity`, `-0`,
 * `ArrayBuffer`, typed arrays, `DataView`, `Error`, and shared or cyclic
 * references, encoded as compact MessagePack with msgpackr.
 *
 * @example Caching rich values
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { StructuredSerializer } from "@cachet/cachet/structured";
 *
 * const cache = new TTLCache({ serializer: new StructuredSerializer() });
 * await cache.set("session", { seen: new Set(["a"]), at: new Date(0), bytes: new Uint8Array([1]) });
 * const session = (await cache.get("session")) as { seen: Set<string>; at: Date };
 * assert(session.seen.has("a") && session.at.getTime() === 0);
 * ```
 *
 * @module
 */
// "msgpackr/pack" is msgpackr's pure-JS entry on every runtime (no native addon, no node: import).
import { Packr } from "msgpackr/pack";
import { CacheError } from "../errors.ts";
import { typeName } from "../_validate.ts";
import type { CacheSerializer } from "../types.ts";
import { checkMsgpack } from "./_msgpack_guard.ts";
import { where } from "./_where.ts";

// Records (useRecords) are what tells a plain object apart from a Map and what
// lets cyclic objects decode; mapsAsObjects: false makes MessagePack maps Maps.
// The instances are private: msgpackr's extension table is process-global, so
// nothing here registers extensions; the fix-ups below cover what its built-ins
// miss (-0, lone surrogates, an Error without a cause). useToJSON: false keeps
// every value on the path that inspect() checked.
const OPTIONS = {
  structuredClone: true,
  moreTypes: true,
  useToJSON: false,
  useRecords: true,
  mapsAsObjects: false,
  copyBuffers: true,
} as const;
const packr = new Packr(OPTIONS);
// A Packr decodes too ("msgpackr/pack" exports no Unpackr in browsers); a second
// instance keeps decoding from touching the encoder's record state.
const unpackr = new Packr(OPTIONS);

// The typed arrays msgpackr's typed array extension knows (Float16Array is not one).
const TYPED_ARRAYS: ReadonlySet<unknown> = new Set([
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
].map((type) => type.prototype));
const LEAVES: ReadonlySet<unknown> = new Set([Date.prototype, RegExp.prototype, ArrayBuffer.prototype]);
const BOXED = [String, Number, Boolean, BigInt, Symbol].map((type) => type.prototype);

// What msgpackr's built-ins lose, recorded while validating and restored after
// decoding: `slots` is a flat list of (container, key, replacement) triples,
// container null meaning the root: replacement 0 for a -0 (msgpackr writes -0
// as 0, so 0 is the marker) and the UTF-16 code units of a string with lone
// surrogates (which UTF-8 stores as U+FFFD); `causeless` lists the errors that
// have no own `cause`.
interface Fixups {
  slots: unknown[];
  causeless: Error[];
}

function codeUnits(text: string): Uint16Array {
  const units = new Uint16Array(text.length);
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
  return units;
}

function fromCodeUnits(units: Uint16Array): string {
  let text = "";
  for (let i = 0; i < units.length; i += 8192) text += String.fromCharCode(...units.subarray(i, i + 8192));
  return text;
}

// Throws a TypeError for anything structured clone cannot copy (or msgpackr
// cannot round-trip) and collects the fix-ups; returns undefined when none.
function inspect(root: unknown): Fixups | undefined {
  const seen = new Set<object>();
  let fixups: Fixups | undefined;
  const reject = (what: string, container: object | null | undefined, key: unknown, hint: string): never => {
    throw new TypeError(`Cannot serialize ${what}${where(root, container, key)}: structured clone ${hint}`);
  };
  // container undefined: a Map key or Set member, which cannot be patched after decoding.
  const patch = (container: object | null | undefined, key: unknown, value: unknown, what: string) => {
    if (container === undefined) {
      reject(what, container, key, "copies it, but this format cannot as a Map key or Set member");
    }
    (fixups ??= { slots: [], causeless: [] }).slots.push(container, key, value);
  };
  const visit = (value: unknown, container: object | null | undefined, key: unknown): void => {
    switch (typeof value) {
      case "number":
        if (value === 0 && 1 / value < 0 && container !== undefined) patch(container, key, 0, "-0");
        return;
      case "string":
        if (!value.isWellFormed()) patch(container, key, codeUnits(value), "a string with a lone surrogate");
        return;
      case "boolean":
      case "bigint":
      case "undefined":
        return;
      case "symbol":
        return reject("symbol", container, key, "cannot copy symbols");
      case "function":
        return reject(`function ${value.name || "(anonymous)"}`, container, key, "cannot copy functions");
    }
    if (value === null || seen.has(value as object)) return;
    const object = value as object;
    seen.add(object);
    const proto = Object.getPrototypeOf(object);
    if (proto === Object.prototype || proto === null) {
      for (const name of Object.keys(object)) {
        // msgpackr renames a "__proto__" key (so that it never sets a prototype); refuse rather than corrupt.
        if (name === "__proto__") {
          reject('an object with an own "__proto__" key', container, key, "copies it, but this format cannot");
        }
        if (!name.isWellFormed()) {
          reject("a key with a lone surrogate", object, name, "copies it, but this format cannot");
        }
        visit((object as Record<string, unknown>)[name], object, name);
      }
    } else if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) visit(object[i], object, i);
    } else if (proto === Map.prototype) {
      for (const [k, v] of object as Map<unknown, unknown>) {
        visit(k, undefined, key);
        visit(v, object, k);
      }
    } else if (proto === Set.prototype) {
      for (const v of object as Set<unknown>) visit(v, undefined, key);
    } else if (LEAVES.has(proto) || TYPED_ARRAYS.has(proto) || object instanceof Uint8Array) {
      return; // Uint8Array subclasses (Node's Buffer) come back as Uint8Array, as with structuredClone
    } else if (object instanceof Error) {
      if (Object.hasOwn(object, "cause")) visit(object.cause, object, "cause");
      else (fixups ??= { slots: [], causeless: [] }).causeless.push(object);
      if (object instanceof AggregateError) visit(object.errors, undefined, "errors");
    } else if (BOXED.includes(proto)) {
      reject(
        `a boxed primitive (${typeName(object)})`,
        container,
        key,
        "copies it, but this format cannot; store the primitive",
      );
    } else {
      reject(typeName(object), container, key, "cannot copy it (only plain objects, arrays and built-in value types)");
    }
  };
  visit(root, null, undefined);
  return fixups;
}

// Hostile fix-ups can only turn a stored 0 into -0 and a stored string into
// another string, in slots that exist, and delete an undefined error cause.
function restore(stored: unknown, replacement: unknown): unknown {
  if (replacement === 0 && stored === 0) return -0;
  if (replacement instanceof Uint16Array && typeof stored === "string") return fromCodeUnits(replacement);
  throw new Error("invalid fix-up");
}

function applyFixups(root: unknown, slots: unknown, causeless: unknown): unknown {
  if (!Array.isArray(slots) || slots.length % 3 !== 0 || !Array.isArray(causeless)) throw new Error("invalid fix-ups");
  for (let i = 0; i < slots.length; i += 3) {
    const [container, key, replacement] = [slots[i], slots[i + 1], slots[i + 2]];
    if (container === null) root = restore(root, replacement);
    else if (container instanceof Map && container.has(key)) {
      container.set(key, restore(container.get(key), replacement));
    } else if (
      typeof container === "object" && (typeof key === "string" || typeof key === "number") &&
      Object.hasOwn(container as object, key)
    ) {
      (container as Record<string, unknown>)[key] = restore((container as Record<string, unknown>)[key], replacement);
    } else throw new Error("invalid fix-up");
  }
  for (const error of causeless) {
    if (!(error instanceof Error) || !Object.hasOwn(error, "cause") || error.cause !== undefined) {
      throw new Error("invalid cause fix-up");
    }
    delete error.cause;
  }
  return root;
}

/**
 * Encodes the values structured clone copies as MessagePack, keeping types,
 * `-0`, and shared and cyclic references. Decoding checks the bytes first and
 * accepts only what `dumps` writes; it never runs code taken from the bytes,
 * never sets a prototype, and stays linear in the size of the input.
 *
 * Differences from `structuredClone`: holes in arrays read back as
 * `undefined`; extra properties on arrays, errors and typed arrays are not
 * kept, nor an error's `stack`; two views of one `ArrayBuffer` come back with
 * separate copies of their bytes; lone surrogates in an error's message or
 * name, or a RegExp's source, become U+FFFD; `Float16Array`, `Blob`, `File`,
 * boxed primitives, objects with an own `__proto__` key, and lone surrogates
 * in object keys, `Map` keys and `Set` members are refused with a `TypeError`.
 * An error keeps its `name` even when it is not a built-in one, and an
 * `AggregateError` keeps `errors`.
 *
 * @typeParam T The type of the values; nothing checks it on read.
 *
 * @example Round trip of a cyclic value
 * ```ts
 * import assert from "node:assert/strict";
 * import { StructuredSerializer } from "@cachet/cachet/structured";
 *
 * const structured = new StructuredSerializer();
 * const node: { next?: unknown; when: Date; tags: Map<string, bigint> } = { when: new Date(0), tags: new Map([["n", 1n]]) };
 * node.next = node;
 * const copy = structured.loads(structured.dumps(node)) as typeof node;
 * assert(copy.next === copy && copy.tags.get("n") === 1n);
 * ```
 */
export class StructuredSerializer<T = unknown> implements CacheSerializer<T> {
  /**
   * Encodes a value.
   *
   * @param value A value structured clone can copy.
   * @returns MessagePack bytes (a standalone `Uint8Array`).
   * @throws {TypeError} When the value holds something structured clone cannot copy (a function, a symbol, a
   * `WeakMap`, a `Promise`, a class instance, …), naming its type and the key where it sits.
   */
  dumps(value: T): Uint8Array {
    const fixups = inspect(value);
    const packed = packr.pack(fixups ? [value, fixups.slots, fixups.causeless] : [value]);
    // A copy: msgpackr returns a view of a shared 8 KiB+ buffer, which a cache would keep alive.
    return new Uint8Array(packed);
  }

  /**
   * Decodes bytes written by {@linkcode StructuredSerializer.dumps}. Keys such
   * as `__proto__` stay plain data (or `Map` keys); no constructor other than
   * the built-in value types runs.
   *
   * @param data The bytes, untrusted.
   * @returns The decoded value.
   * @throws {TypeError} When `data` is not a `Uint8Array`.
   * @throws {CacheError} When the bytes are not a value this serializer wrote (with the cause attached).
   */
  loads(data: Uint8Array): T {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`Cannot decode structured data: data must be a Uint8Array: received ${typeName(data)}`);
    }
    try {
      checkMsgpack(data);
      const envelope = unpackr.unpack(data);
      if (!Array.isArray(envelope) || (envelope.length !== 1 && envelope.length !== 3)) {
        throw new Error("not a StructuredSerializer envelope");
      }
      return (envelope.length === 1 ? envelope[0] : applyFixups(envelope[0], envelope[1], envelope[2])) as T;
    } catch (cause) {
      throw new CacheError(`Cannot decode structured data: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    }
  }
}
