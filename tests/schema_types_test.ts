// Type-level checks: `tsc` and `deno check` fail on this file if the inference
// of TTLCache<T> from a SchemaSerializer breaks (an unused @ts-expect-error is
// an error too, so the negative cases prove T is not `any`).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { z } from "zod";
import * as v from "valibot";
import { type } from "arktype";
import { TTLCache } from "../ttl_cache.ts";
import { type InferOutput, SchemaSerializer, type StandardSchema } from "../serializers/schema.ts";

type Equals<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
const exact = <A, B>(_proof: Equals<A, B>) => {};

interface User {
  name: string;
  since: Date;
}

const ZodUser = z.object({ name: z.string(), since: z.coerce.date() });
const ValibotUser = v.object({ name: v.string(), since: v.pipe(v.string(), v.transform((s) => new Date(s))) });
const ArkUser = type({ name: "string", since: "string.date.iso.parse" });

test("TTLCache infers T from a SchemaSerializer's schema (checked by tsc and deno check)", async () => {
  const zodCache = new TTLCache({ serializer: new SchemaSerializer(ZodUser) });
  const valibotCache = new TTLCache({ serializer: new SchemaSerializer(ValibotUser) });
  const arkCache = new TTLCache({ serializer: new SchemaSerializer(ArkUser) });
  exact<typeof zodCache, TTLCache<User>>(true);
  exact<typeof valibotCache, TTLCache<User>>(true);
  exact<typeof arkCache, TTLCache<User>>(true);

  await zodCache.set("u", { name: "Ada", since: new Date(0) });
  const user: User | undefined = await zodCache.get("u");
  assert.equal(user?.name, "Ada");
  // @ts-expect-error the value type is User, not number
  const wrong: number | undefined = await zodCache.get("u");
  void wrong;
  // @ts-expect-error a value of the wrong shape cannot be stored
  await zodCache.set("u", { name: 1 });
});

test("The StandardSchema interface matches @standard-schema/spec in both directions", () => {
  exact<InferOutput<typeof ZodUser>, User>(true);
  const fromSpec = (schema: StandardSchemaV1<unknown, User>): StandardSchema<unknown, User> => schema;
  const toSpec = (schema: StandardSchema<unknown, User>): StandardSchemaV1<unknown, User> => schema;
  assert.equal(toSpec(fromSpec(ZodUser)), ZodUser);
});
