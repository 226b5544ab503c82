import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import * as v from "valibot";
import { type } from "arktype";
import { CacheError } from "../errors.ts";
import { TTLCache } from "../ttl_cache.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { SchemaSerializer, type StandardSchema } from "../serializers/schema.ts";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

async function assertInvalid(result: unknown, message: RegExp): Promise<CacheError> {
  let caught: unknown;
  try {
    await result;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CacheError, `expected a CacheError, got ${caught}`);
  assert.match(caught.message, message);
  return caught;
}

function loadsThrows(serializer: SchemaSerializer<StandardSchema>, data: Uint8Array): CacheError {
  let caught: unknown;
  try {
    serializer.loads(data);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CacheError, `expected a CacheError, got ${caught}`);
  return caught;
}

// An asynchronous check, as a lookup in a database would be.
const longEnough = (s: string) => Promise.resolve(s.length > 1);
const since = new Date("2026-11-25T10:00:00.000Z");
const libraries = {
  zod: {
    user: z.object({ name: z.string(), age: z.number().int(), since: z.coerce.date() }),
    coerce: z.object({ n: z.coerce.number() }),
    async: z.string().refine(async (s) => await longEnough(s), "too short"),
  },
  valibot: {
    user: v.object({
      name: v.string(),
      age: v.pipe(v.number(), v.integer()),
      since: v.pipe(v.string(), v.isoTimestamp(), v.transform((s) => new Date(s))),
    }),
    coerce: v.object({ n: v.pipe(v.string(), v.transform(Number)) }),
    async: v.pipeAsync(v.string(), v.checkAsync(async (s) => await longEnough(s), "too short")),
  },
  arktype: {
    user: type({ name: "string", age: "number.integer", since: "string.date.iso.parse" }),
    coerce: type({ n: "string.numeric.parse" }),
    async: undefined, // ArkType validates synchronously only
  },
};

describe("SchemaSerializer", () => {
  for (const [library, schemas] of Object.entries(libraries)) {
    test(`SchemaSerializer with ${library} round-trips valid data, ISO strings back to Date`, () => {
      const serializer = new SchemaSerializer(schemas.user as StandardSchema);
      const user = { name: "Ada", age: 36, since };
      const bytes = serializer.dumps(user);
      assert.equal(new TextDecoder().decode(bytes), '{"name":"Ada","age":36,"since":"2026-11-25T10:00:00.000Z"}');
      assert.deepStrictEqual(serializer.loads(bytes), user);
    });

    test(`SchemaSerializer with ${library} coerces "42" to 42 where the schema says so`, () => {
      const serializer = new SchemaSerializer(schemas.coerce as StandardSchema);
      assert.deepStrictEqual(serializer.loads(encode({ n: "42" })), { n: 42 });
    });

    test(`SchemaSerializer with ${library} rejects invalid data with a CacheError listing the issues`, () => {
      const serializer = new SchemaSerializer(schemas.user as StandardSchema);
      const error = loadsThrows(serializer, encode({ name: 1, age: 1.5, since: "2026-11-25T10:00:00.000Z" }));
      assert.match(error.message, /^Cached value does not match the schema: /);
      assert.match(error.message, /name/);
      assert.match(error.message, /age/);
      assert.ok(Array.isArray(error.cause) && error.cause.length >= 2);
    });

    if (schemas.async) {
      test(`SchemaSerializer with ${library} supports asynchronous validation`, async () => {
        const serializer = new SchemaSerializer(schemas.async as StandardSchema);
        const loaded = serializer.loads(encode("ok"));
        assert.ok(loaded instanceof Promise);
        assert.equal(await loaded, "ok");
        await assertInvalid(serializer.loads(encode("x")), /does not match the schema: too short/);
      });
    }
  }

  test("TTLCache with SchemaSerializer infers the type, coerces, and turns outdated entries into misses", async () => {
    const backend = new MemoryCacheBackend();
    const UserV1 = z.object({ name: z.string(), since: z.coerce.date() });
    const v1 = new TTLCache({ backend, serializer: new SchemaSerializer(UserV1) });
    await v1.set("u", { name: "Ada", since });
    const user = await v1.get("u");
    assert.ok(user?.since instanceof Date && user.since.getTime() === since.getTime());
    // The schema changes: entries written before it are misses, not crashes.
    const errors: unknown[] = [];
    const UserV2 = z.object({ name: z.string(), email: z.email() });
    const v2 = new TTLCache({ backend, serializer: new SchemaSerializer(UserV2), onError: (e) => errors.push(e) });
    assert.equal(await v2.get("u"), undefined);
    assert.ok(errors[0] instanceof CacheError && /email/.test(errors[0].message));
    assert.equal(v2.cacheInfo().misses, 1);
    assert.equal(await backend.get("u"), undefined);
  });

  test("TTLCache with an asynchronous SchemaSerializer awaits validation", async () => {
    const errors: unknown[] = [];
    const cache = new TTLCache({
      serializer: new SchemaSerializer(libraries.zod.async),
      onError: (e) => errors.push(e),
    });
    await cache.set("ok", "fine");
    assert.equal(await cache.get("ok"), "fine");
    await cache.set("short", "x");
    assert.equal(await cache.get("short"), undefined);
    assert.ok(errors[0] instanceof CacheError);
  });

  test("SchemaSerializer.dumps() rejects values JSON cannot represent, as JsonSerializer does", () => {
    const serializer = new SchemaSerializer(z.unknown());
    assert.throws(() => serializer.dumps(new Map()), { name: "TypeError", message: /Cannot serialize Map as JSON/ });
    assert.throws(() => serializer.dumps({ n: 1n }), { name: "TypeError", message: /bigint as JSON \(at value\.n\)/ });
  });

  test("SchemaSerializer.loads() rejects bytes that are not JSON with a CacheError", () => {
    const error = loadsThrows(new SchemaSerializer(z.unknown()), new Uint8Array([0x7b]));
    assert.match(error.message, /^Cannot decode JSON/);
  });

  test("SchemaSerializer.loads() wraps a validator that throws or rejects in a CacheError", async () => {
    const boom = new Error("boom");
    const throwing: StandardSchema = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: () => {
          throw boom;
        },
      },
    };
    const error = loadsThrows(new SchemaSerializer(throwing), encode(1));
    assert.equal(error.cause, boom);
    const rejecting: StandardSchema = {
      "~standard": { version: 1, vendor: "test", validate: () => Promise.reject(boom) },
    };
    const rejected = await assertInvalid(new SchemaSerializer(rejecting).loads(encode(1)), /validator rejected/);
    assert.equal(rejected.cause, boom);
  });

  test("SchemaSerializer lists at most five issues and their paths", () => {
    const schema = z.object(Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`f${i}`, z.string()])));
    const error = loadsThrows(new SchemaSerializer(schema), encode({ f0: 1 }));
    assert.match(error.message, /f0: .*; and 2 more$/);
  });

  test("SchemaSerializer keeps __proto__ keys as plain data", () => {
    const value = new SchemaSerializer(z.unknown()).loads(new TextEncoder().encode('{"__proto__":{"polluted":1}}'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.ok(Object.hasOwn(value as object, "__proto__"));
  });

  test("new SchemaSerializer() rejects anything that is not a Standard Schema v1 validator, naming it", () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /received undefined$/],
      [null, /received null$/],
      [42, /received 42$/],
      ["z.string()", /received "z.string\(\)"$/],
      [{}, /received an object \(Object\)$/],
      [{ "~standard": { version: 2, vendor: "x", validate: () => ({ value: 1 }) } }, /received an object/],
      [{ "~standard": { version: 1, vendor: "x" } }, /received an object/],
      [() => 1, /received function/],
    ];
    for (const [schema, message] of cases) {
      assert.throws(() => new SchemaSerializer(schema as StandardSchema), {
        name: "TypeError",
        message: new RegExp(
          `^Cannot create SchemaSerializer: schema must be a Standard Schema v1 validator.*${message.source}`,
        ),
      });
    }
  });
});
