// One case of instructions.ts: `ops` operations of one kind on a TTLCache of
// the checkout at `tree`, after a warm-up of the same length for every run, so
// a run with ops = 0 measures everything but the operations themselves.
//
//   node --single-threaded scripts/bench/_instructions_child.ts <tree> <case> <ops>
import process from "node:process";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { CAPACITY, jsonBytes, keys, record, TTL_SECONDS } from "./_fixtures.ts";

const [tree, kind, count] = process.argv.slice(2);
const ops = Number(count);
const lib = (path: string) => import(pathToFileURL(join(tree, path)).href);
const { TTLCache } = await lib("mod.ts");
const { JsonSerializer } = await lib("serializers/json.ts");

const WARM_UP = 200_000;
const hitKeys = keys("user", CAPACITY);
const missKeys = keys("absent", CAPACITY);
const newKeys = keys("new", CAPACITY * 10);
// The memory suite's values: its record (~80 bytes of JSON), or its 20-byte one.
const value = (i: number) => kind.includes("20") ? { id: i, ok: true } : record(i);
const json = kind.endsWith("json");
const values = hitKeys.map((_, i) => json ? value(i) : jsonBytes(value(i)));
const cache = new TTLCache({
  maxSize: CAPACITY,
  ttl: TTL_SECONDS,
  ...(json ? { serializer: new JsonSerializer() } : {}),
});
for (let i = 0; i < CAPACITY; i++) await cache.set(hitKeys[i], values[i]);

async function run(n: number): Promise<number> {
  let odd = 0;
  if (kind.startsWith("miss")) {
    for (let i = 0; i < n; i++) if ((await cache.get(missKeys[i % CAPACITY])) !== undefined) odd++;
  } else if (kind.startsWith("hit")) {
    for (let i = 0; i < n; i++) if ((await cache.get(hitKeys[i % CAPACITY])) === undefined) odd++;
  } else if (kind.startsWith("set")) {
    for (let i = 0; i < n; i++) await cache.set(newKeys[i % newKeys.length], values[i % CAPACITY]);
  } else throw new Error(`unknown case ${kind}`);
  return odd;
}

if ((await run(WARM_UP)) + (await run(ops)) !== 0) throw new Error(`${kind}: a hit missed or a miss hit`);
