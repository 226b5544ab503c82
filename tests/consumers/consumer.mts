// A TypeScript consumer of the installed npm package. scripts/smoke_install.ts copies it into the scratch project,
// type-checks it with `tsc --noEmit` under moduleResolution nodenext and bundler, and runs it with Node 24 and Bun.
// It is .mts so that the repository's tsconfig.json ("tests/**/*.ts"), where "cachet" does not resolve, skips it.
import { cached, CacheError, TTLCache } from "cachet";
import type { CacheBackend, CacheInfo, CacheSerializer } from "cachet";
import { MemoryCacheBackend } from "cachet/memory";
import { JsonSerializer } from "cachet/json";

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
console.log("ok typed round trip");
