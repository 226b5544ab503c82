import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { makeKey } from "../mod.ts";
import { encodeArgs, keyMaker } from "../make_key.ts";
import { Feet, Meters } from "./_units.ts";

const key = (args: unknown[], typed = false) => makeKey("f", args, { typed });

class Opaque {
  #secret = 1;
  get secret(): number {
    return this.#secret;
  }
}

const nullProto = Object.assign(Object.create(null), { a: 1 });

// Pairs that must share a key: equal structured inputs.
const EQUAL: [string, unknown[], unknown[]][] = [
  ["object key order", [{ a: 1, b: [2, { c: 3, d: 4 }] }], [{ b: [2, { d: 4, c: 3 }], a: 1 }]],
  ["-0 and 0", [-0], [0]],
  ["NaN and NaN", [NaN], [NaN]],
  ["null-prototype and plain objects", [nullProto], [{ a: 1 }]],
  ["Map insertion order", [new Map<unknown, unknown>([[1, "a"], ["1", "b"]])], [
    new Map<unknown, unknown>([["1", "b"], [1, "a"]]),
  ]],
  ["Set insertion order", [new Set([3, 1, 2])], [new Set([2, 3, 1])]],
  ["equal dates", [new Date(1_700_000_000_000)], [new Date(1_700_000_000_000)]],
  ["equal bytes", [new Uint8Array([1, 2, 3])], [Uint8Array.of(1, 2, 3)]],
  ["a byte view and a copy", [new Uint8Array([9, 1, 2, 3]).subarray(1)], [new Uint8Array([1, 2, 3])]],
  ["instances of two classes, untyped", [new Meters(1)], [new Feet(1)]],
  ["an instance and a plain object, untyped", [new Meters(1)], [{ value: 1 }]],
  ["a sparse array and undefined", [[, 1]], [[undefined, 1]]],
];

// Pairs that must get different keys.
const DIFFERENT: [string, unknown[], unknown[], boolean?][] = [
  ["1 and '1'", [1], ["1"]],
  ["1 and 1n", [1], [1n]],
  ["1 and true", [1], [true]],
  ["'true' and true", ["true"], [true]],
  ["null and undefined", [null], [undefined]],
  ["'null' and null", ["null"], [null]],
  ["'undefined' and undefined", ["undefined"], [undefined]],
  ["no argument and undefined", [], [undefined]],
  ["two arguments and one array", [1, 2], [[1, 2]]],
  ["strings that contain separators", ["a,b"], ["a", "b"]],
  ["strings with quotes", ['a","b'], ["a", "b"]],
  ["different lone surrogates", ["\ud800"], ["\ud801"]],
  ["an array and an object with index keys", [[1]], [{ 0: 1 }]],
  ["a Map and a plain object", [new Map([["a", 1]])], [{ a: 1 }]],
  ["a Set and an array", [new Set([1])], [[1]]],
  ["a date and its time", [new Date(0)], [0]],
  ["Uint8Array and Int8Array", [new Uint8Array([1])], [new Int8Array([1])]],
  ["bytes and an array of numbers", [new Uint8Array([1])], [[1]]],
  ["a Map key and a Map value", [new Map([[1, 2]])], [new Map([[2, 1]])]],
  ["nested and flat", [[[1], 2]], [[1, [2]]]],
  ["an undefined field and a missing one", [{ a: undefined }], [{}]],
  ["instances of two classes, typed", [new Meters(1)], [new Feet(1)], true],
  ["an instance and a plain object, typed", [new Meters(1)], [{ value: 1 }], true],
  ["Buffer-like subclass and Uint8Array, typed", [new (class Bytes extends Uint8Array {})([1])], [
    new Uint8Array([1]),
  ], true],
  ["long arguments that differ at the end", ["x".repeat(300) + "a"], ["x".repeat(300) + "b"]],
];

describe("makeKey", () => {
  for (const [name, a, b] of EQUAL) {
    test(`makeKey() gives equal keys: ${name}`, async () => {
      assert.equal(await key(a), await key(b));
    });
  }
  for (const [name, a, b, typed = false] of DIFFERENT) {
    test(`makeKey() gives different keys: ${name}`, async () => {
      assert.notEqual(await key(a, typed), await key(b, typed));
    });
  }

  test("makeKey() uses short encodings as they are and hashes long ones to base64url SHA-256", async () => {
    assert.equal(await makeKey("getUser", [1, "a", null]), 'getUser:[1,"a",null]');
    const long = await makeKey("getUser", ["x".repeat(200)]);
    assert.match(long, /^getUser:#[A-Za-z0-9_-]{43}$/);
    assert.equal(await makeKey("getUser", ["x".repeat(200)]), long, "the digest is deterministic");
    // The bound: 128 characters of encoding stay readable, 129 are hashed.
    assert.equal(await makeKey("f", ["x".repeat(124)]), `f:["${"x".repeat(124)}"]`);
    assert.match(await makeKey("f", ["x".repeat(125)]), /^f:#/);
  });

  test("makeKey() keeps namespaces apart, whatever characters they contain", async () => {
    assert.equal(await makeKey("a:b", [1]), "a%3Ab:[1]");
    assert.notEqual(await makeKey("a:b", [1]), await makeKey("a", ["b", 1]));
    assert.notEqual(await makeKey("a%3Ab", [1]), await makeKey("a:b", [1]));
    assert.notEqual(await makeKey("a", ["x".repeat(200)]), await makeKey("b", ["x".repeat(200)]));
  });

  test("makeKey() separates class instances only when typed", async () => {
    assert.equal(await key([new Meters(2)], true), 'f:[@"Meters"{"value":2}]');
    assert.equal(await key([{ value: 2 }], true), 'f:[{"value":2}]', "plain objects carry no class");
    assert.equal(await key([1, 1n, "1"], true), await key([1, 1n, "1"]), "typed changes nothing for primitives");
  });

  test("makeKey() rejects values without a stable encoding, naming the argument and suggesting keyMaker", async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cases: [unknown[], RegExp][] = [
      [[() => 1], /args\[0\] is function \(anonymous\)/],
      [[1, Symbol("s")], /args\[1\] is Symbol\(s\)/],
      [[1, { user: { onDone: function done() {} } }], /args\[1\]\.user\.onDone is function done/],
      [[[0, [1, cyclic]]], /args\[0\]\[1\]\[1\]\.self is a cyclic reference/],
      [[new Opaque()], /args\[0\] is an object \(Opaque\) with no own enumerable fields/],
      [[new WeakMap()], /args\[0\] is an object \(WeakMap\)/],
      [[Promise.resolve(1)], /args\[0\] is an object \(Promise\)/],
      [[{ [Symbol("k")]: 1 }], /args\[0\] has the symbol-keyed field Symbol\(k\)/],
      [[new Map([[1, () => 1]])], /args\[0\]\[map entry 0\] is function/],
      [[{ "a b": [() => 1] }], /args\[0\]\["a b"\]\[0\] is function/],
    ];
    for (const [args, message] of cases) {
      await assert.rejects(key(args), (error: Error) => {
        assert.equal(error.name, "TypeError");
        assert.match(error.message, /^Cannot make a cache key for f: /);
        assert.match(error.message, message);
        assert.match(error.message, /pass keyMaker to cached\(\) to build the key yourself$/);
        return true;
      });
    }
    // Shared references are not cycles.
    const shared = { a: 1 };
    assert.equal(await key([shared, [shared, shared]]), 'f:[{"a":1},[{"a":1},{"a":1}]]');
  });

  test("makeKey() rejects bad arguments", async () => {
    await assert.rejects(makeKey("", []), {
      name: "TypeError",
      message: /name must be a non-empty string: received ""/,
    });
    await assert.rejects(makeKey(1 as never, []), { message: /name must be a non-empty string: received 1/ });
    await assert.rejects(makeKey("f", "ab" as never), { message: /args must be an array: received "ab"/ });
    await assert.rejects(makeKey("f", [], null as never), { message: /options must be an object: received null/ });
    await assert.rejects(makeKey("f", [], { typed: 1 as never }), { message: /typed must be a boolean: received 1/ });
  });

  test("makeKey(): equal structured inputs give equal keys (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.boolean(), async (value, typed) => {
        // A deep copy with every object's keys in reverse order.
        const reorder = (v: unknown): unknown =>
          Array.isArray(v)
            ? v.map(reorder)
            : v !== null && typeof v === "object"
            ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reorder(x)]))
            : v;
        assert.equal(await key([value], typed), await key([reorder(value)], typed));
      }),
      { numRuns: 300 },
    );
  });

  test("makeKey(): arguments of scalars and flat objects get the encoder's key, whichever way it is made (property)", async () => {
    const scalar = fc.oneof(
      fc.string(),
      fc.constantFrom("\ud800", 'a"b', "\\", "", "__proto__"),
      fc.double(),
      fc.constantFrom(-0, NaN, Infinity, 1e21, 2 ** 53),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
    );
    const fieldName = fc.oneof(fc.string(), fc.constantFrom("__proto__", "10", "9", "1a", "", "toJSON", "constructor"));
    const record = fc.tuple(fc.array(fc.tuple(fieldName, scalar), { maxLength: 6 }), fc.boolean()).map(
      ([fields, bare]) => {
        const out: Record<string, unknown> = bare ? Object.create(null) : {};
        for (const [name, value] of fields) {
          Object.defineProperty(out, name, { value, enumerable: true, writable: true });
        }
        return out;
      },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(scalar, record), { maxLength: 4 }), fc.boolean(), async (args, typed) => {
        const encoded = encodeArgs(args, typed, "f");
        fc.pre(encoded.length <= 128);
        // Twice: the second call may be answered from what the first one wrote.
        for (let i = 0; i < 2; i++) assert.equal(await key(args, typed), `f:${encoded}`);
      }),
      { numRuns: 1_000 },
    );
  });

  test("keyMaker(): one flat object argument of a few shapes, keyed by its values, gets the encoder's key (property)", async () => {
    // One key function, as a cached function has: its kept keys (by shape and values) are reused across runs.
    const keyOf = keyMaker("f", false);
    const scalar = fc.oneof(
      fc.constantFrom(0, -0, 1, "1", "", "0", true, "true", null, "null", 1.5, 2 ** 53, "é\ud800"),
      fc.integer({ min: -3, max: 3 }),
      fc.string({ maxLength: 3 }),
    );
    const fields = fc.constantFrom(["a"], ["b", "a"], ["a", "b"], ["a", "c"], ["team", "page", "q"], [
      "x",
      "y",
      "z",
      "w",
    ]);
    await fc.assert(
      fc.property(fields, fc.array(scalar, { minLength: 4, maxLength: 4 }), (names, values) => {
        const arg = Object.fromEntries(names.map((name, i) => [name, values[i]]));
        const expected = `f:${encodeArgs([arg], false, "f")}`;
        for (let i = 0; i < 2; i++) assert.equal(keyOf([arg]), expected);
      }),
      { numRuns: 3_000 },
    );
  });

  test("makeKey() reads a getter of a flat argument once, and refuses symbol-keyed fields as before", async () => {
    let reads = 0;
    const arg = {
      b: 1,
      get a() {
        return ++reads;
      },
    };
    assert.equal(await key([arg]), 'f:[{"a":1,"b":1}]');
    assert.equal(reads, 1);
    await assert.rejects(key([{ a: 1, [Symbol("s")]: 2 }]), /has the symbol-keyed field Symbol\(s\)/);
  });

  test("makeKey() with a toJSON on Object.prototype keys arguments as without it", async () => {
    const before = await key([{ b: 1, a: "x" }, 2]);
    const proto = Object.prototype as { toJSON?: unknown };
    proto.toJSON = () => "same";
    try {
      assert.equal(await key([{ b: 1, a: "x" }, 2]), before);
      assert.notEqual(await key([{ b: 1, a: "y" }, 2]), before);
    } finally {
      delete proto.toJSON;
    }
  });

  test("makeKey(): different JSON values give different keys (property)", async () => {
    // JSON.stringify with sorted keys identifies a JSON value up to key order.
    const canonical = (v: unknown): string =>
      JSON.stringify(
        v,
        (_k, x) =>
          x !== null && typeof x === "object" && !Array.isArray(x)
            ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]))
            : Object.is(x, -0)
            ? 0
            : x,
      );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.jsonValue(), { maxLength: 3 }),
        fc.array(fc.jsonValue(), { maxLength: 3 }),
        async (a, b) => {
          fc.pre(canonical(a) !== canonical(b));
          assert.notEqual(await key(a), await key(b));
        },
      ),
      { numRuns: 300 },
    );
  });
});

test("makeKey() rejects an unknown option, naming the nearest valid one", async () => {
  await assert.rejects(makeKey("f", [], { typd: true } as never), {
    name: "TypeError",
    message: 'Cannot make a cache key: unknown option "typd" (did you mean typed?); valid options: typed',
  });
});
