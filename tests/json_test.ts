import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CacheError } from "../errors.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { TTLCache } from "../ttl_cache.ts";
import { entryOf } from "./_helpers.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";

const json = new JsonSerializer<unknown>();

describe("JsonSerializer", () => {
  test("JsonSerializer round-trips JSON-native values", () => {
    const values = [null, 0, -1.5, 1e300, "", "ünïcødé 🔑", true, false, [], {}, [1, [2, [3]]], {
      a: { b: [null, "x"] },
    }];
    for (const value of values) assert.deepEqual(json.loads(json.dumps(value)), value);
  });

  test("JsonSerializer turns Date into an ISO string, read back as a string", () => {
    const date = new Date("2026-11-25T10:00:00.000Z");
    assert.equal((json.loads(json.dumps({ at: date })) as { at: unknown }).at, "2026-11-25T10:00:00.000Z");
  });

  test("JsonSerializer omits undefined object properties, as JSON does", () => {
    assert.deepEqual(json.loads(json.dumps({ a: 1, b: undefined })), { a: 1 });
  });

  test("JsonSerializer.dumps() rejects values JSON cannot represent faithfully, naming the type", () => {
    const cases: [unknown, RegExp][] = [
      [1n, /Cannot serialize bigint as JSON/],
      [{ n: 1n }, /bigint as JSON \(at value\.n\)/],
      [() => 1, /Cannot serialize function/],
      [Symbol("s"), /Cannot serialize symbol/],
      [undefined, /Cannot serialize undefined/],
      [[1, undefined], /Cannot serialize undefined as JSON \(at value\[1\]\)/],
      [NaN, /Cannot serialize NaN/],
      [{ x: Infinity }, /Cannot serialize Infinity as JSON \(at value\.x\)/],
      [-Infinity, /Cannot serialize -Infinity/],
      [new Map([[1, 2]]), /Cannot serialize Map/],
      [new Set([1]), /Cannot serialize Set/],
      [/re/, /Cannot serialize RegExp/],
      [new Uint8Array(2), /Cannot serialize Uint8Array/],
      [new Error("e"), /Cannot serialize Error/],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => json.dumps(value), { name: "TypeError", message }, String(message));
    }
  });

  test("JsonSerializer.dumps() rejects cycles with a TypeError naming where and StructuredSerializer", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => json.dumps(cyclic), TypeError);
    const hint = /use StructuredSerializer from @cachet\/cachet\/structured/;
    assert.throws(
      () => json.dumps(cyclic),
      (e: Error) =>
        e instanceof TypeError &&
        /^Cannot encode with JsonSerializer: the value has a cycle \(at value\.self\)/.test(e.message) &&
        hint.test(e.message) && e.cause instanceof TypeError,
    );
    const user: Record<string, unknown> = { id: 1, friends: [{ id: 2 }] };
    (user.friends as Record<string, unknown>[])[0].best = user;
    assert.throws(() => json.dumps(user), (e: Error) => /cycle \(at value\.friends\[0\]\.best\)/.test(e.message));
  });

  test("JsonSerializer.loads() rejects bytes that are not UTF-8 JSON with a CacheError and a cause", () => {
    for (const bad of [new Uint8Array([0xff]), new TextEncoder().encode("{"), new Uint8Array(0)]) {
      assert.throws(() => json.loads(bad), (error: Error) => {
        assert.ok(error instanceof CacheError);
        assert.match(error.message, /^Cannot decode JSON: /);
        assert.ok(error.cause instanceof Error);
        return true;
      });
    }
  });

  test("JsonSerializer.dumps() encodes short, long, deep and custom values as JSON.stringify does", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 40; i++) deep = i % 2 ? [deep] : { d: deep };
    class Point {
      x = 1;
      y = 2;
    }
    const values = [
      "é",
      "\ud800 lone surrogate",
      "x".repeat(2000),
      "é".repeat(1000),
      deep,
      { toJSON: () => ({ custom: true }) },
      new Point(),
      Object.assign(Object.create(null), { a: 1 }),
    ];
    for (const value of values) {
      const bytes = json.dumps(value);
      assert.equal(new TextDecoder().decode(bytes), JSON.stringify(value));
      assert.deepEqual(json.loads(bytes), JSON.parse(JSON.stringify(value)));
    }
  });

  test("JsonSerializer.loads() reads short input as strictly as long input", () => {
    assert.deepEqual(json.loads(Uint8Array.from([0x5b, 0x31, 0x5d])), [1]);
    const bad = [
      [0xef, 0xbb, 0xbf, 0x31], // a BOM is not JSON
      [0x22, 0xff, 0x22], // invalid UTF-8 inside a string
      [0x22, 0xc3, 0x22], // truncated UTF-8
      [0x22, 0xed, 0xa0, 0x80, 0x22], // an encoded surrogate
      [0x22, 0xc0, 0x80, 0x22], // an overlong encoding
    ];
    for (const bytes of bad) {
      for (const length of [0, 100]) {
        // Short inputs take the ASCII path, long ones (padded with spaces) the TextDecoder.
        const input = Uint8Array.from([...bytes, ...new Array(length).fill(0x20)]);
        assert.throws(() => json.loads(input), CacheError, `${bytes} + ${length} spaces`);
      }
    }
    assert.equal(json.loads(new TextEncoder().encode('"é"')), "é");
    // A real U+FFFD is text, not an error (the native decoder's replacement character looks the same).
    assert.equal(json.loads(new TextEncoder().encode('"\uFFFD"')), "\uFFFD");
    assert.equal(json.loads(new TextEncoder().encode(`"${"\uFFFD".repeat(100)}"`)), "\uFFFD".repeat(100));
  });

  test("without a native UTF-8 decoder (as in a browser), loads() reads the same and is as strict", async () => {
    // A fresh copy of the module, loaded while globalThis has no Buffer, takes the TextDecoder path.
    const saved = Object.getOwnPropertyDescriptor(globalThis, "Buffer");
    let Fallback: typeof JsonSerializer;
    try {
      delete (globalThis as { Buffer?: unknown }).Buffer;
      const url = new URL("../serializers/json.ts", import.meta.url).href + "?without-buffer";
      ({ JsonSerializer: Fallback } = await import(url));
    } finally {
      if (saved !== undefined) Object.defineProperty(globalThis, "Buffer", saved);
    }
    const fallback = new Fallback<unknown>();
    const pad = " ".repeat(100); // past the 64 bytes decoded by hand
    for (const value of ["ascii", "é€𝄞", "\uFFFD", { a: "x".repeat(200) }]) {
      const bytes = new TextEncoder().encode(JSON.stringify(value) + pad);
      assert.deepEqual(fallback.loads(bytes), value);
      assert.deepEqual(json.loads(bytes), value);
    }
    for (const bad of [[0xef, 0xbb, 0xbf, 0x31], [0x22, 0xff, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22]]) {
      const input = Uint8Array.from([...bad, ...new TextEncoder().encode(pad)]);
      assert.throws(() => fallback.loads(input), CacheError);
      assert.throws(() => json.loads(input), CacheError);
    }
  });

  test("TTLCache stores exactly what dumps() returns, for short, long and non-ASCII values, and honours an override", async () => {
    const backend = new MemoryCacheBackend();
    const cache = new TTLCache<unknown>({ backend, serializer: json });
    const values = [1, "é", { a: "x".repeat(5_000), b: [1, null] }, "€".repeat(2_000), { deep: { n: -0.5 } }];
    for (const [i, value] of values.entries()) {
      await cache.set(`k${i}`, value);
      assert.deepEqual(await cache.get(`k${i}`), value);
      const stored = (await backend.get(`k${i}`))!;
      const payload = json.dumps(value);
      assert.deepEqual(stored.subarray(stored.length - payload.length), payload, `k${i} ends with dumps()`);
    }
    // A subclass's own dumps() is what gets stored, not the built-in fast path.
    class Tagged extends JsonSerializer<unknown> {
      override dumps(value: unknown): Uint8Array {
        return super.dumps({ wrapped: value });
      }
    }
    const tagged = new TTLCache<unknown>({ backend, serializer: new Tagged() });
    await tagged.set("t", 7);
    assert.deepEqual(await tagged.get("t"), { wrapped: 7 });
    // And a subclass's own loads() is what reads it back, on get and on getOrSet.
    class Unwrapped extends JsonSerializer<unknown> {
      override loads(data: Uint8Array): unknown {
        return (super.loads(data) as { wrapped: unknown }).wrapped;
      }
    }
    const unwrapped = new TTLCache<unknown>({ backend, serializer: new Unwrapped() });
    assert.equal(await unwrapped.get("t"), 7);
    assert.equal(await unwrapped.getOrSet("t", () => 0), 7);
    await assert.rejects(
      new TTLCache<unknown>({ serializer: json, maxValueBytes: 10 }).set("big", "x".repeat(20)),
      { message: /a value of 22 bytes \(encoded\): over maxValueBytes \(10\)/ },
    );
  });

  test("entries with headers of different sizes, in any order and either side of the long-text cut, hold exactly dumps()", async () => {
    const backend = new MemoryCacheBackend();
    const cache = new TTLCache<unknown>({ backend, serializer: json });
    // The header's size depends on grace and tags; the short path encodes into a shared buffer after it.
    const settings = [undefined, { grace: 5 }, { tags: ["t"] }, { grace: 5, tags: ["a-longer-tag", "u"] }, undefined];
    let n = 0;
    // Texts of 13 + length + digits of n characters: up to 1,365 (4,096 / 3) without room, fewer with.
    const lengths = [1, 40, ...Array.from({ length: 24 }, (_, i) => 1_330 + i), 1_365, 1_400];
    // "€" takes 3 bytes in UTF-8 for 1 UTF-16 unit: the most a short text can fill.
    for (const [char, length] of lengths.flatMap((length) => [["y", length], ["€", length]] as const)) {
      for (const options of [...settings, ...settings.toReversed()]) {
        const i = n++;
        const key = `k${i}`;
        const value = { s: char.repeat(length), n: i };
        await cache.set(key, value, options);
        const stored = (await backend.get(key))!;
        const payload = json.dumps(value);
        assert.deepEqual(stored.subarray(stored.length - payload.length), payload, `${key} ends with dumps()`);
        assert.deepEqual(await cache.get(key), value);
      }
    }
    // Earlier entries are untouched by the later writes through the same buffer.
    for (let i = 0; i < n; i++) assert.equal((await cache.get(`k${i}`) as { n: number }).n, i);
  });

  test("hits on the memory backend copy the value decoded before: new objects every time, equal to a fresh parse", async () => {
    const backend = new MemoryCacheBackend();
    let parses = 0;
    // Counts real decodes: an own loads() is honoured on every read (the copy fast path steps aside for it).
    class Counting extends JsonSerializer<unknown> {
      override loads(data: Uint8Array): unknown {
        parses++;
        return super.loads(data);
      }
    }
    const cache = new TTLCache<unknown>({ backend, serializer: json });
    const counting = new TTLCache<unknown>({ backend, serializer: new Counting() });
    const text = '{"b":{"list":[1,"two",null,-0,{"x":[true]}]},"2":"two","__proto__":{"polluted":1},"1":"one",' +
      '"name":"padding past the sixty-four bytes a memory entry packs"}';
    await backend.set("k", entryOf(new TextEncoder().encode(text)), 60);
    const reads = [
      await cache.get("k"),
      await cache.get("k"),
      await cache.getOrSet("k", () => assert.fail("a hit")),
      (await cache.getMany(["k"]))[0],
      await cache.get("k"),
    ] as Record<string, unknown>[];
    const parsed = JSON.parse(text);
    for (const value of reads) {
      assert.deepEqual(value, parsed);
      assert.deepEqual(Object.keys(value), Object.keys(parsed), "keys in JSON.parse's order");
      assert.ok(Object.hasOwn(value, "__proto__") && Object.getPrototypeOf(value) === Object.prototype);
      assert.ok(Object.is((value.b as { list: unknown[] }).list[3], -0));
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // Changing one read changes no other, nor what later reads get.
    (reads[0].b as { list: unknown[] }).list.push("changed");
    (reads[1].b as { list: { x: unknown[] }[] }).list[4].x.length = 0;
    reads[2].name = "changed";
    for (const value of [...reads.slice(3), await cache.get("k")]) assert.deepEqual(value, parsed);
    for (let i = 0; i < 3; i++) assert.deepEqual(await counting.get("k"), parsed);
    assert.equal(parses, 3);
    // A new value under the key is read, not the copy of the old one.
    await cache.set("k", { name: "another value, also longer than the sixty-four bytes packed" });
    assert.deepEqual(await cache.get("k"), { name: "another value, also longer than the sixty-four bytes packed" });
    // Nested deeper than the copy goes, a value is parsed again, as deep as JSON.parse reads.
    const deep = "[".repeat(500) + '"x"' + "]".repeat(500);
    await backend.set("deep", entryOf(new TextEncoder().encode(deep)), 60);
    for (let i = 0; i < 3; i++) assert.deepEqual(await cache.get("deep"), JSON.parse(deep));
  });

  test("with an enumerable property on Object.prototype, a hit is still exactly what JSON.parse gives", async () => {
    const cache = new TTLCache<unknown>({ serializer: json });
    const value = { name: "a value longer than the sixty-four bytes a memory entry packs", n: 1 };
    await cache.set("k", value);
    await cache.get("k");
    const proto = Object.prototype as Record<string, unknown>;
    proto.injected = "from the prototype";
    try {
      const read = (await cache.get("k")) as Record<string, unknown>;
      assert.deepEqual(Object.keys(read), ["name", "n"]);
      assert.ok(!Object.hasOwn(read, "injected"));
    } finally {
      delete proto.injected;
    }
  });

  test("JsonSerializer.loads() keeps __proto__ keys as plain data", () => {
    const value = json.loads(new TextEncoder().encode('{"__proto__":{"polluted":true},"a":1}')) as Record<
      string,
      unknown
    >;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.ok(Object.hasOwn(value, "__proto__"));
  });
});

describe("JsonSerializer errors name what and where", () => {
  test("undefined at the root points to skip in cached()", () => {
    assert.throws(() => json.dumps(undefined), {
      name: "TypeError",
      message: "Cannot serialize undefined as JSON: use null or StructuredSerializer, or in cached() pass " +
        "skip: (result) => result === undefined to not store it",
    });
  });

  test("an object with a symbol-keyed field is refused with its class and path, not stored without it", () => {
    const kState = Symbol("kState");
    class IncomingRequest {
      url = "/";
      [kState] = { headers: {} };
    }
    assert.throws(() => json.dumps({ user: { req: new IncomingRequest() } }), {
      name: "TypeError",
      message: "Cannot serialize IncomingRequest as JSON (at value.user.req): its symbol-keyed field " +
        "Symbol(kState) would be lost (JSON keeps only string keys); store the fields you need as a plain object",
    });
  });

  test("a class instance with no own fields (a fetch Request) is refused rather than stored as {}", () => {
    assert.throws(() => json.dumps({ a: [1, { b: new Request("http://127.0.0.1/") }] }), {
      name: "TypeError",
      message: /^Cannot serialize Request as JSON \(at value\.a\[1\]\.b\): /,
    });
    assert.equal(
      new TextDecoder().decode(json.dumps([new Number(1), new String(""), new Date(0)])),
      '[1,"","1970-01-01T00:00:00.000Z"]',
    );
  });

  test("a 100,000-deep array is a TypeError, not a bare stack overflow", () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    for (const value of [deep, { at: deep }]) {
      assert.throws(() => json.dumps(value), (error: Error) => {
        assert.equal(error.name, "TypeError");
        assert.match(error.message, /^Cannot serialize the value as JSON: it is nested too deeply or too large /);
        assert.ok(error.cause instanceof RangeError);
        return true;
      });
    }
  });

  test("deeply nested JSON bytes in the backend never crash a cache read", async () => {
    const backend = new MemoryCacheBackend();
    const errors: unknown[] = [];
    const cache = new TTLCache<unknown>({ backend, serializer: json, onError: (error) => errors.push(error) });
    const depth = 1_000_000;
    await backend.set("deep", entryOf(new TextEncoder().encode("[".repeat(depth) + "]".repeat(depth))), 60);
    await backend.set("broken", entryOf(new TextEncoder().encode("[".repeat(depth))), 60);
    const deep = await cache.get("deep");
    assert.ok(Array.isArray(deep), "JSON.parse reads deep arrays without recursion");
    assert.equal(await cache.get("broken"), undefined, "an unterminated one is a miss");
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof CacheError);
  });
});
