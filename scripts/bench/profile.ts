// Profiles cachet's hot paths with V8's CPU profiler and prints where the time
// goes (self time per function):
//   node_modules/.bin/node scripts/bench/profile.ts [get-bytes|get-json|get-miss|set-bytes|set-json|cached-hit|cached-object|redis-get-many]
// (redis-get-many reads 100 keys per getMany from Redis on 127.0.0.1:6379, under a prefix of its own, deleted after.)
// It re-runs itself with --cpu-prof, reads the profile and keeps it in .tmp/profiles/.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { TTLCache } from "../../mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import { CAPACITY, jsonBytes, keys, record } from "./_fixtures.ts";
import { cached } from "../../decorator.ts";
import { root } from "../_common.ts";

const CASES = [
  "get-bytes",
  "get-json",
  "get-miss",
  "set-bytes",
  "set-json",
  "cached-hit",
  "cached-object",
  "redis-get-many",
];
const [which = "get-json", child] = process.argv.slice(2);
if (!CASES.includes(which)) {
  console.error(`case must be one of ${CASES.join(", ")}: received ${JSON.stringify(which)}`);
  process.exit(2);
}

if (child !== "--child") {
  const dir = join(root, ".tmp/profiles", which);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const result = spawnSync(
    process.execPath,
    ["--cpu-prof", `--cpu-prof-dir=${dir}`, new URL(import.meta.url).pathname, which, "--child"],
    { stdio: "inherit" },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
  summarize(join(dir, readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))!));
} else {
  await profile(which);
}

async function profile(which: string): Promise<void> {
  if (which === "redis-get-many") return await profileRedisGetMany();
  const hitKeys = keys("user", CAPACITY);
  const missKeys = keys("absent", CAPACITY);
  const values = hitKeys.map((_, i) => record(i));
  const bytes = values.map(jsonBytes);
  const raw = new TTLCache({ maxSize: CAPACITY });
  const json = new TTLCache<unknown>({ maxSize: CAPACITY, serializer: new JsonSerializer() });
  for (const [i, k] of hitKeys.entries()) {
    await raw.set(k, bytes[i]);
    await json.set(k, values[i]);
  }
  const getUser = cached(json)(function getUser(id: number) {
    return Promise.resolve(record(id));
  });
  const search = cached(json)(function search(q: { team: string; page: number }) {
    return Promise.resolve(record(q.page));
  });
  const started = performance.now();
  let ops = 0;
  while (performance.now() - started < 3000) {
    for (let i = 0; i < CAPACITY; i++) {
      if (which === "get-bytes") await raw.get(hitKeys[i]);
      else if (which === "get-json") await json.get(hitKeys[i]);
      else if (which === "get-miss") await raw.get(missKeys[i]);
      else if (which === "set-bytes") await raw.set(hitKeys[i], bytes[i]);
      else if (which === "set-json") await json.set(hitKeys[i], values[i]);
      else if (which === "cached-hit") await getUser(i % 100);
      else await search({ team: "core", page: i % 100 });
    }
    ops += CAPACITY;
  }
  console.log(`${which}: ${((ops / (performance.now() - started)) * 1000).toFixed(0)} ops/s under the profiler`);
}

async function profileRedisGetMany(): Promise<void> {
  const { RedisCacheBackend } = await import("../../backends/redis/mod.ts");
  const prefix = `cachet-profile-${crypto.randomUUID()}:`;
  const backend = new RedisCacheBackend({ url: "redis://127.0.0.1:6379", prefix });
  const cache = new TTLCache<Uint8Array>({ ttl: 600, backend });
  const names = keys("user", 100);
  try {
    for (const [i, k] of names.entries()) await cache.set(k, jsonBytes(record(i)));
    const started = performance.now();
    let ops = 0;
    while (performance.now() - started < 3000) {
      await cache.getMany(names);
      ops++;
    }
    console.log(
      `redis-get-many: ${((ops / (performance.now() - started)) * 1000).toFixed(0)} calls/s under the profiler`,
    );
  } finally {
    await cache.deleteMany(names);
    await backend.close();
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

function summarize(file: string): void {
  const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[]; samples: number[] };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (const id of profile.samples) {
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    const where = url ? ` ${url.replace(`file://${root}`, "").replace(/^.*node_modules\//, "")}:${lineNumber + 1}` : "";
    const name = `${functionName || "(anonymous)"}${where}`;
    self.set(name, (self.get(name) ?? 0) + 1);
  }
  const total = profile.samples.length;
  console.log(`\nself time, top 15 of ${total} samples (${file.replace(root, "")}):`);
  for (const [name, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`${((100 * count) / total).toFixed(1).padStart(6)} %  ${name}`);
  }
}
