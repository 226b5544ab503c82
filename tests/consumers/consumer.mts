// A TypeScript consumer of the installed npm package. scripts/smoke_install.ts copies it into the scratch project,
// type-checks it with `tsc --noEmit` under moduleResolution nodenext and bundler, and runs it with Node 24 and Bun.
// It is .mts so that the repository's tsconfig.json ("tests/**/*.ts"), where "cachet" does not resolve, skips it.
import { cached, CacheError, TTLCache } from "cachet";
import type { CacheBackend, CacheInfo, CacheSerializer } from "cachet";
import { MemoryCacheBackend } from "cachet/memory";
import { JsonSerializer } from "cachet/json";
import { StructuredSerializer } from "cachet/structured";
import { SchemaSerializer, type StandardSchema } from "cachet/schema";

interface User {
  id: number;
  name: string;
}

const backend: CacheBackend = new MemoryCacheBackend();
const serializer: CacheSerializer<User> = new JsonSerializer<User>();
const cache = new TTLCache<User>({ backend, serializer, maxSize: 10, ttl: 60 });
await cache.set("user:1", { id: 1, name: "Ada" });
const user: User | undefined = await cache.get("user:1");
const fallback: User | "none" = await cache.get("user:2", "none");
// @ts-expect-error: the declarations carry the value type, so a wrong value does not compile
await cache.set("user:3", "not a user").catch(() => {});
const info: CacheInfo = cache.cacheInfo();

if (user?.name !== "Ada" || fallback !== "none" || info.hits !== 1 || info.misses !== 1) {
  throw new Error(`unexpected round trip: ${JSON.stringify({ user, fallback, info })}`);
}
if (!(new CacheError("x") instanceof Error)) throw new Error("CacheError is not an Error");

let calls = 0;
const square = cached(new TTLCache<number>({ serializer: new JsonSerializer<number>() }))(function square(n: number) {
  calls++;
  return n * n;
});
const squared: number = await square(4);
// @ts-expect-error: the cached function keeps the parameter types
await square("4").catch(() => {});
if (squared !== 16 || (await square(4)) !== 16 || calls !== 2 || square.cacheInfo().hits !== 1) {
  throw new Error(`unexpected cached() round trip: ${JSON.stringify({ squared, calls, info: square.cacheInfo() })}`);
}
// The schema's output type becomes the cache's value type.
const Id: StandardSchema<unknown, number> = {
  "~standard": {
    version: 1,
    vendor: "consumer",
    validate: (value) => typeof value === "number" ? { value } : { issues: [{ message: "Expected a number" }] },
  },
};
const ids = new TTLCache({ serializer: new SchemaSerializer(Id) });
await ids.set("id", 42);
const id: number | undefined = await ids.get("id");
// @ts-expect-error: a string is not the schema's output
await ids.set("id", "42").catch(() => {});

const rich = new TTLCache<Map<string, bigint>>({ serializer: new StructuredSerializer<Map<string, bigint>>() });
await rich.set("tags", new Map([["n", 1n]]));
const tags: Map<string, bigint> | undefined = await rich.get("tags");
if (id !== 42 || tags?.get("n") !== 1n) throw new Error(`unexpected typed round trip: ${String(id)} ${String(tags)}`);
console.log("ok typed round trip");
