// The serializer of the private caches `cached({ ttl, maxSize })` makes. The
// core imports no serializer (backends and serializers depend on the core,
// never the reverse), yet a private cache must hand out copies: a hit returns
// a value equal to the result, never the object a caller may have mutated.
// Decoding bytes is what makes that copy, so this is a small tagged-JSON codec
// for what structuredClone copies and JSON alone loses: undefined, NaN,
// ±Infinity, -0, bigint, Date, Map, Set and Uint8Array (class instances keep
// their own enumerable fields, as structuredClone does).
import { describe } from "./_validate.ts";
import type { CacheSerializer } from "./types.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

// Every array in the JSON is a tag, so a stored value never passes for one:
// ["a", items], ["u"], ["n", "NaN"], ["i", "12"], ["d", ms], ["m", [k, v, …]],
// ["s", items], ["b", bytes]. Plain objects, strings, finite numbers, booleans
// and null are themselves.
type Tagged = null | boolean | number | string | Tagged[] | { [key: string]: Tagged };

function encode(value: unknown, stack: object[]): Tagged {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0) ? value : ["n", String(value === 0 ? "-0" : value)];
    case "undefined":
      return ["u"];
    case "bigint":
      return ["i", String(value)];
    case "object": {
      if (value === null) return null;
      if (stack.includes(value)) throw new TypeError("Cannot store a cyclic value in a private cache");
      stack.push(value);
      try {
        if (Array.isArray(value)) return ["a", value.map((item) => encode(item, stack))];
        if (value instanceof Date) return ["d", value.getTime()];
        if (value instanceof Map) {
          const pairs: Tagged[] = [];
          for (const [k, v] of value) pairs.push(encode(k, stack), encode(v, stack));
          return ["m", pairs];
        }
        if (value instanceof Set) return ["s", [...value].map((item) => encode(item, stack))];
        if (value instanceof Uint8Array) return ["b", Array.from(value)];
        const out: { [key: string]: Tagged } = {};
        for (const key of Object.keys(value)) field(out, key, encode((value as Record<string, unknown>)[key], stack));
        return out;
      } finally {
        stack.pop();
      }
    }
    default:
      throw new TypeError(`Cannot store ${describe(value)} in a private cache: it cannot be copied`);
  }
}

// Defines rather than assigns, so an own "__proto__" field stays a field.
function field(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function decode(tagged: Tagged): unknown {
  if (tagged === null || typeof tagged !== "object") return tagged;
  if (!Array.isArray(tagged)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(tagged)) {
      // An own "__proto__" field stays a field.
      Object.defineProperty(out, key, {
        value: decode(tagged[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  const [tag, body] = tagged as [string, Tagged];
  switch (tag) {
    case "a":
      return (body as Tagged[]).map(decode);
    case "u":
      return undefined;
    case "n":
      return Number(body);
    case "i":
      return BigInt(body as string);
    case "d":
      return new Date(body as number);
    case "m": {
      const pairs = body as Tagged[];
      const map = new Map();
      for (let i = 0; i < pairs.length; i += 2) map.set(decode(pairs[i]), decode(pairs[i + 1]));
      return map;
    }
    case "s":
      return new Set((body as Tagged[]).map(decode));
    default:
      return new Uint8Array(body as number[]);
  }
}

/** Encodes what a private cache stores; every decode is a fresh copy. */
export const valueCodec: CacheSerializer<unknown> = {
  dumps: (value) => utf8.encode(JSON.stringify(encode(value, []))),
  loads: (bytes) => decode(JSON.parse(text.decode(bytes))),
};
