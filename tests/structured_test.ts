import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CacheError } from "../errors.ts";
import { TTLCache } from "../ttl_cache.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { StructuredSerializer } from "../serializers/structured.ts";

const structured = new StructuredSerializer();
const roundTrip = <T>(value: T): T => structured.loads(structured.dumps(value)) as T;

// Hand-written MessagePack: msgpackr's "d4 72 <id> <keys>" defines a record (an
// object shape), and 0x40 + id then reads one object of that shape.
const bytes = (...parts: (number | number[] | string)[]): Uint8Array =>
  new Uint8Array(
    parts.flatMap((part) => typeof part === "string" ? [0xa0 + part.length, ...new TextEncoder().encode(part)] : part),
  );
// Our envelope is an array whose first item is the value.
const envelope = (...value: (number | number[] | string)[]) => bytes(0x91, ...value);

function assertCacheError(data: Uint8Array, message?: RegExp): CacheError {
  let caught: unknown;
  try {
    structured.loads(data);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CacheError, `expected a CacheError, got ${caught}`);
  assert.match(caught.message, /^Cannot decode structured data: /);
  assert.ok(caught.cause !== undefined);
  if (message) assert.match(caught.message, message);
  return caught;
}

function assertPristinePrototypes() {
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).filter((k) => /polluted|pwned/.test(k)), []);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((globalThis as Record<string, unknown>).pwned, undefined);
}

describe("StructuredSerializer", () => {
  const date = new Date(Date.UTC(2026, 10, 25, 10, 0, 0, 123));
  const cases: [string, unknown][] = [
    ["null", null],
    ["undefined", undefined],
    ["true", true],
    ["integer", 42],
    ["large integer", 2 ** 53],
    ["negative integer", -70000],
    ["float", 0.1],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["-Infinity", -Infinity],
    ["-0", -0],
    ["string", "ünïcødé 🔑"],
    ["long string", "x".repeat(70_000)],
    ["bigint 0", 0n],
    ["bigint int64", -(2n ** 63n)],
    ["bigint uint64", 2n ** 64n - 1n],
    ["bigint huge", -(3n ** 200n)],
    ["Date", date],
    ["Date before 1970", new Date(-1e12)],
    ["RegExp", /a+(b)?/giu],
    ["Map", new Map<unknown, unknown>([[1, "one"], ["k", { v: 1 }], [{ o: 1 }, [2]]])],
    ["Set", new Set<unknown>([1, "a", { b: 2 }])],
    ["ArrayBuffer", new Uint8Array([1, 2, 3]).buffer],
    ["Uint8Array", new Uint8Array([0, 255])],
    ["Uint8ClampedArray", new Uint8ClampedArray([9])],
    ["Int8Array", new Int8Array([-1])],
    ["Int16Array", new Int16Array([-300])],
    ["Uint16Array", new Uint16Array([65535])],
    ["Int32Array", new Int32Array([-1e9])],
    ["Uint32Array", new Uint32Array([4e9])],
    ["Float32Array", new Float32Array([0.5, -0])],
    ["Float64Array", new Float64Array([Math.PI, NaN])],
    ["BigInt64Array", new BigInt64Array([-5n])],
    ["BigUint64Array", new BigUint64Array([5n])],
    ["DataView", new DataView(new Uint8Array([7, 8]).buffer)],
    ["empty object", {}],
    ["object with undefined", { a: undefined }],
    ["object with numeric keys", { 1: "a", b: 2 }],
    ["empty array", []],
    ["nested", { a: [1, { b: new Map([["c", new Set([date])]]) }] }],
    ["combination", {
      when: date,
      tags: new Set(["x"]),
      counts: new Map([["n", 10n]]),
      blob: new Uint8Array([1]),
      list: [undefined, NaN, -0, null],
      re: /x/g,
    }],
    ["many object shapes", Array.from({ length: 200 }, (_, i) => ({ [`k${i}`]: i, [`j${i % 7}`]: i }))],
  ];
  for (const [name, value] of cases) {
    test(`StructuredSerializer round-trips ${name}`, () => {
      assert.deepStrictEqual(roundTrip(value), value);
    });
  }

  test("StructuredSerializer round-trips invalid Date", () => {
    // Apart from the cases above: Node 20's deepStrictEqual tells two invalid Dates apart (NaN !== NaN).
    const copy = roundTrip(new Date(NaN));
    assert.ok(copy instanceof Date && Number.isNaN(copy.getTime()));
  });

  test("StructuredSerializer keeps -0 in objects, arrays, Map values, an error cause and at the root", () => {
    const value = { a: -0, list: [0, -0], map: new Map([["z", -0]]), error: new Error("e", { cause: -0 }) };
    const copy = roundTrip(value);
    assert.ok(Object.is(copy.a, -0) && Object.is(copy.list[1], -0) && Object.is(copy.list[0], 0));
    assert.ok(Object.is(copy.map.get("z"), -0));
    assert.ok(Object.is(copy.error.cause, -0));
    assert.ok(Object.is(roundTrip(-0), -0));
  });

  test("StructuredSerializer keeps an Error's name, message and cause, and no cause when there was none", () => {
    const error = new TypeError("outer", { cause: new RangeError("inner") });
    const copy = roundTrip(error);
    assert.ok(copy instanceof TypeError);
    assert.equal(copy.message, "outer");
    assert.ok(copy.cause instanceof RangeError && copy.cause.message === "inner");
    assert.equal(Object.hasOwn(copy.cause, "cause"), false);
    const custom = new Error("custom");
    custom.name = "MyError";
    assert.equal(roundTrip(custom).name, "MyError");
    const aggregate = roundTrip(new AggregateError([new Error("a")], "many"));
    assert.ok(aggregate instanceof AggregateError && aggregate.errors[0].message === "a");
  });

  test("StructuredSerializer keeps shared and cyclic references", () => {
    const shared = { s: 1 };
    const cyclic: Record<string, unknown> = { shared, again: shared };
    cyclic.self = cyclic;
    const map = new Map<string, unknown>();
    map.set("me", map);
    const set = new Set<unknown>();
    set.add(set);
    const list: unknown[] = [];
    list.push(list, cyclic);
    const copy = roundTrip({ cyclic, map, set, list });
    assert.equal(copy.cyclic.self, copy.cyclic);
    assert.equal(copy.cyclic.shared, copy.cyclic.again);
    assert.equal(copy.map.get("me"), copy.map);
    assert.ok(copy.set.has(copy.set));
    assert.equal(copy.list[0], copy.list);
    assert.equal(copy.list[1], copy.cyclic);
  });

  test("StructuredSerializer reads plain Uint8Array copies, not views of the stored bytes", () => {
    const data = structured.dumps({ b: new Uint8Array([1, 2]) });
    assert.equal(Object.getPrototypeOf(data), Uint8Array.prototype);
    assert.equal(data.byteOffset, 0);
    assert.equal(data.buffer.byteLength, data.length);
    const copy = structured.loads(data) as { b: Uint8Array };
    copy.b[0] = 99;
    assert.deepEqual(structured.loads(data), { b: new Uint8Array([1, 2]) });
    // A view into a larger buffer (as a pooled Buffer from a backend can be) decodes the same.
    const padded = new Uint8Array([7, 7, 7, ...data, 7]);
    assert.deepEqual(structured.loads(padded.subarray(3, 3 + data.length)), { b: new Uint8Array([1, 2]) });
  });

  test("StructuredSerializer.dumps() rejects what structured clone cannot copy, naming the type and key", () => {
    class Point {
      x = 1;
      norm() {
        return this.x;
      }
    }
    const cases: [unknown, RegExp][] = [
      [() => 1, /^Cannot serialize function \(anonymous\): structured clone cannot copy functions$/],
      [{ f: function named() {} }, /function named \(at value\.f\)/],
      [Symbol("s"), /Cannot serialize symbol/],
      [[1, Symbol("s")], /symbol \(at value\[1\]\)/],
      [new WeakMap(), /Cannot serialize WeakMap/],
      [{ w: new WeakSet() }, /WeakSet \(at value\.w\)/],
      [Promise.resolve(1), /Cannot serialize Promise/],
      [new Point(), /Cannot serialize Point: structured clone cannot copy it/],
      [new Map([["k", new Point()]]), /Point \(at value\.get\("k"\)\)/],
      [new (class Bag extends Map {})(), /Cannot serialize Bag/],
      [new String("s"), /boxed primitive \(String\)/],
      [Object(1n), /boxed primitive \(BigInt\)/],
      [JSON.parse('{"__proto__": 1}'), /own "__proto__" key/],
    ];
    if (typeof (globalThis as { Float16Array?: unknown }).Float16Array === "function") {
      cases.push([
        new (globalThis as unknown as { Float16Array: Float32ArrayConstructor }).Float16Array(1),
        /Float16Array/,
      ]);
    }
    for (const [value, message] of cases) {
      assert.throws(() => structured.dumps(value), { name: "TypeError", message }, String(message));
    }
  });

  test("StructuredSerializer.loads() rejects a non-Uint8Array argument with a TypeError", () => {
    assert.throws(() => structured.loads("x" as unknown as Uint8Array), {
      name: "TypeError",
      message: /data must be a Uint8Array: received string/,
    });
  });

  test("StructuredSerializer.loads() turns empty, truncated and trailing bytes into a CacheError", () => {
    assertCacheError(new Uint8Array(0));
    const data = structured.dumps({ a: [1, "two", new Date(0), new Map([[1, 2n]])], self: null });
    for (let end = 0; end < data.length; end++) assertCacheError(data.subarray(0, end));
    assertCacheError(new Uint8Array([...data, 0]), /trailing/);
    assertCacheError(bytes(0x93, 1), /truncated/);
  });

  test("StructuredSerializer.loads() refuses huge length prefixes at once, without allocating", () => {
    for (
      const data of [
        bytes(0xdd, [0xff, 0xff, 0xff, 0xff]), // array of 4 G items
        bytes(0xdf, [0xff, 0xff, 0xff, 0xff]), // map of 4 G entries
        bytes(0xdb, [0xff, 0xff, 0xff, 0xff], [0x61]), // string of 4 GB
        bytes(0xc6, [0xff, 0xff, 0xff, 0xff]), // binary of 4 GB
        bytes(0xc9, [0xff, 0xff, 0xff, 0xff], [0x74]), // typed array of 4 GB
        envelope(0xd4, 0x72, 0, 0xdd, [0xff, 0xff, 0xff, 0xff]), // record with 4 G keys
      ]
    ) {
      const started = performance.now();
      assertCacheError(data);
      // Allocating or walking gigabytes takes seconds; 1 s holds for a refusal on a loaded machine.
      assert.ok(performance.now() - started < 1_000);
    }
  });

  test("StructuredSerializer.loads() refuses features it never writes, so hostile bytes cannot slow it down", () => {
    // msgpackr's bundled strings (extension 0x62): each header decodes the same long string again.
    const n = 20_000;
    const tail = 1_000_000;
    const header = 5 + n * 7;
    const parts: number[] = [0xdd, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    for (let i = 0; i < n; i++) {
      const offset = header - (5 + i * 7 + 6) + 4;
      parts.push(0xd6, 0x62, (offset >>> 24) & 255, (offset >>> 16) & 255, (offset >>> 8) & 255, offset & 255, 1);
    }
    parts.push(0xdb, (tail >>> 24) & 255, (tail >>> 16) & 255, (tail >>> 8) & 255, tail & 255);
    const data = new Uint8Array(parts.length + tail + 1);
    data.set(parts);
    data.fill(0x41, parts.length, parts.length + tail);
    data[data.length - 1] = 0xa0;
    const started = performance.now();
    assertCacheError(data, /unsupported extension type 0x62/);
    assert.ok(performance.now() - started < 1_000, "it must not decode the bundle");
    assertCacheError(envelope(0xc1), /unsupported token 0xc1/);
    assertCacheError(envelope(0xd5, 0x72, 0, 0, 0x90), /unsupported extension type 0x72/); // two-byte record ids
    assertCacheError(envelope(0xd6, 0x01, 0, 0, 0, 0), /unsupported extension type 0x1/); // not ours
    assertCacheError(envelope(0xd4, 0x72, 0, 0x91, 0x01, 0x01), /record key is not a string/);
  });

  test("StructuredSerializer.loads() turns deep nesting into a CacheError, not a crash", () => {
    const depth = 200_000;
    const data = new Uint8Array(depth + 1).fill(0x91);
    data[depth] = 0xc0;
    assertCacheError(data);
  });

  test("StructuredSerializer.loads() keeps __proto__, constructor and prototype keys as plain data", () => {
    // A record with keys __proto__ and constructor, read five times so msgpackr compiles its reader.
    const record = (value: number[]) => [0x40, ...value, 0x01];
    const polluter = [0x81, ...[0xa8, ...new TextEncoder().encode("polluted")], 0xc3]; // Map { polluted: true }
    const data = envelope(
      0x95,
      [0xd4, 0x72, 0, 0x92],
      "__proto__",
      "constructor",
      polluter,
      [0x81, ...[0xa9, ...new TextEncoder().encode("prototype")], ...polluter],
      ...record(polluter),
      ...record(polluter),
      ...record(polluter),
      ...record(polluter),
    );
    const value = structured.loads(data) as Record<string, unknown>[];
    assert.equal(value.length, 5);
    for (const item of value) {
      assert.equal(Object.getPrototypeOf(item), Object.prototype);
      assert.ok(item.__proto_ instanceof Map); // msgpackr renames the key rather than set a prototype
      assert.ok(Object.hasOwn(item, "constructor"));
    }
    assertPristinePrototypes();
  });

  test("StructuredSerializer.loads() never runs code from record keys", () => {
    const key = 'a"]:(globalThis.pwned=1),["b';
    const utf8 = new TextEncoder().encode(key);
    const reads = Array.from({ length: 6 }, () => [0x40, 0x01]).flat();
    const value = structured.loads(
      envelope(0x97, [0xd4, 0x72, 0, 0x91, 0xa0 + utf8.length, ...utf8, 0x01], reads),
    ) as Record<string, unknown>[];
    assert.ok(value.every((item) => item[key] === 1));
    assertPristinePrototypes();
    // Record definitions do not outlive the bytes that made them: 0x40 is the integer 64 again.
    assert.equal(structured.loads(envelope(0x40)), 64);
  });

  test("StructuredSerializer.loads() builds no prototype from hostile error names", () => {
    for (const name of ["__proto__", "constructor", "hasOwnProperty", "toString", "valueOf"]) {
      try {
        const value = structured.loads(envelope(0xd4, 0x65, 0, 0x93, name, "msg", 0xc0));
        assert.notEqual(typeof value, "function");
      } catch (error) {
        assert.ok(error instanceof CacheError);
      }
    }
    assertPristinePrototypes();
  });

  test("StructuredSerializer.loads() applies no hostile fix-up to anything but a stored 0 or string", () => {
    // [value = { a: 1 }, slots = [value, "a", -0], causeless = []]
    const minusZero = [0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0];
    const pointer = [0xd6, 0x70, 0, 0, 0, 1];
    const data = bytes(
      0x93,
      [0xd6, 0x69, 0, 0, 0, 1],
      [0xd4, 0x72, 0, 0x91],
      "a",
      1,
      [0x93, ...pointer],
      "a",
      minusZero,
      0x90,
    );
    assertCacheError(data, /invalid fix-up/);
    assertCacheError(bytes(0x93, 1, [0x93, 0xc0, 0xc0, 0x01], 0x90), /invalid fix-up/);
    assertCacheError(bytes(0x93, 1, 0x90, [0x91, 0x01]), /invalid cause fix-up/);
    assertCacheError(bytes(0x92, 1, 2), /not a StructuredSerializer envelope/);
  });

  test("StructuredSerializer keeps strings with lone surrogates, and refuses them where it cannot", () => {
    const broken = "🔑".slice(0, 1) + "x\udc00";
    const value = {
      text: broken,
      list: [broken],
      map: new Map([["k", broken]]),
      error: new Error("e", { cause: broken }),
    };
    assert.deepStrictEqual(roundTrip(value), value);
    assert.equal(roundTrip(broken), broken);
    assert.equal(roundTrip("x".repeat(20_000) + broken), "x".repeat(20_000) + broken);
    for (const bad of [new Map([[broken, 1]]), new Set([broken]), { [broken]: 1 }]) {
      assert.throws(() => structured.dumps(bad), { name: "TypeError", message: /lone surrogate/ });
    }
  });

  test("StructuredSerializer round-trips arbitrary structured values (property)", () => {
    const key = fc.string({ maxLength: 6 }).filter((k) => k !== "__proto__");
    const leaf = fc.oneof(
      fc.constant(null),
      fc.constant(undefined),
      fc.boolean(),
      fc.double(),
      fc.integer(),
      fc.bigInt(),
      fc.string({ maxLength: 20 }),
      fc.string({ maxLength: 6, unit: fc.nat(0xffff).map((code) => String.fromCharCode(code)) }), // lone surrogates too
      // Invalid dates have their own test: Node 20's deepStrictEqual calls two of them different.
      fc.date({ noInvalidDate: true }),
      fc.uint8Array({ maxLength: 8 }).map((a) => new Uint8Array(a)),
      fc.float64Array({ maxLength: 4 }),
      fc.int32Array({ maxLength: 4 }),
      fc.constantFrom(/x/g, /^a|b$/mi),
    );
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        tie("array"),
        tie("object"),
        tie("map"),
        tie("set"),
        tie("error"),
      ),
      array: fc.array(tie("value"), { maxLength: 4 }),
      object: fc.dictionary(key, tie("value"), { maxKeys: 4, noNullPrototype: true }),
      map: fc.array(fc.tuple(fc.oneof(key, fc.integer()), tie("value")), { maxLength: 3 }).map((e) => new Map(e)),
      set: fc.array(fc.oneof(key, fc.integer(), tie("array"), tie("object")), { maxLength: 3 }).map((e) => new Set(e)),
      error: fc.tuple(fc.string({ maxLength: 5 }), tie("value")).map(([m, cause]) => new Error(m, { cause })),
    }));
    // Cycles: point some containers back at the root.
    const cyclic = fc.tuple(fc.array(value, { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 3 })).map(
      ([items, links]) => {
        const root: Record<string, unknown> = { items };
        for (const link of links) root[`self${link}`] = root;
        if (items.length > 0) root.shared = items[0];
        return root;
      },
    );
    fc.assert(
      fc.property(fc.oneof(value, cyclic), (x) => {
        assert.deepStrictEqual(structured.loads(structured.dumps(x)), x);
      }),
      { numRuns: 300 },
    );
  });

  test("StructuredSerializer.loads() throws only CacheError for random and mutated bytes (property)", () => {
    const sample = structured.dumps({
      a: [1, "two", new Date(0), new Map([[1, new Set([2n])]]), /x/],
      e: new Error("e"),
    });
    const check = (data: Uint8Array) => {
      try {
        structured.loads(data);
      } catch (error) {
        assert.ok(error instanceof CacheError, `unexpected ${error}`);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), check), { numRuns: 2_000 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(sample.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (edits) => {
          const data = sample.slice();
          for (const [at, byte] of edits) data[at] = byte;
          check(data);
        },
      ),
      { numRuns: 2_000 },
    );
    assertPristinePrototypes();
  });

  test("TTLCache with StructuredSerializer stores rich values and turns corrupt bytes into a miss", async () => {
    const backend = new MemoryCacheBackend();
    const errors: unknown[] = [];
    const cache = new TTLCache({ backend, serializer: new StructuredSerializer(), onError: (e) => errors.push(e) });
    const value = { at: new Date(0), ids: new Set([1n]) };
    await cache.set("k", value);
    assert.deepStrictEqual(await cache.get("k"), value);
    await backend.set("k", new Uint8Array([0xc1]), 60);
    assert.equal(await cache.get("k"), undefined);
    assert.ok(errors[0] instanceof CacheError);
    assert.equal(await backend.get("k"), undefined);
  });
});
