// A process for ttl_cache_tiers_test.ts: a TTLCache with an in-process tier over a private Redis, kept coherent by a
// RedisBus. Usage: <json settings> (see Settings). Talks in JSON lines: the test writes commands on stdin ("go",
// "stop"), the process reports on stdout (see the `report` calls). Timestamps are Date.now() (one machine).
//
// A writer seeds every key (version 0, tagged), reports "ready", and on "go" runs its ops: "sequence" cycles each key
// through set, set, delete, set, deleteTags; "continuous" sets ever higher versions until "stop". A reader reports
// "ready" once its bus listens, and on "go" reads the keys round-robin until "stop", reporting every change of what
// it sees per key ("seen"), the bus going down or up, and its read count at the end.
import process from "node:process";
import { createInterface } from "node:readline";
import { TTLCache } from "../mod.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { RedisBus, RedisCacheBackend } from "../backends/redis/mod.ts";

interface Settings {
  url: string;
  prefix: string;
  role: "writer" | "reader";
  keys: string[];
  mode?: "sequence" | "continuous";
  steps: number;
  intervalMs: number;
  // Hard bound on the whole run, whatever the test does.
  maxMs: number;
}

const settings = JSON.parse(process.argv[process.argv.length - 1]) as Settings;
const deadline = Date.now() + settings.maxMs;
const report = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const tagOf = (key: string) => `tag:${key}`;

// Named, so that the test can kill the readers' connections alone (the bus' subscriber is a duplicate: same name).
const connectionName = `cachet-tiers-${settings.role}`;
const backend = new RedisCacheBackend({ url: settings.url, prefix: settings.prefix, timeout: 1_000, connectionName });
const bus = new RedisBus(backend, { timeout: 1_000 });
const cache = new TTLCache<number>({ backend, bus, l1: { maxSize: 1000 }, serializer: new JsonSerializer() });
// Subscribed after the cache: on up(), the cache has already dropped its tier when this runs.
bus.subscribe({
  message() {},
  down: () => report({ t: "down", at: Date.now() }),
  up: () => report({ t: "up", at: Date.now() }),
});

const commands: string[] = [];
let wake: (() => void) | undefined;
const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  commands.push(line.trim());
  wake?.();
});
const stopped = () => commands.includes("stop") || Date.now() > deadline;
async function command(name: string): Promise<void> {
  while (!commands.includes(name) && Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, 100);
    });
  }
}

async function write(): Promise<void> {
  for (const key of settings.keys) await cache.set(key, 0, { tags: [tagOf(key)] });
  report({ t: "ready" });
  await command("go");
  const version = new Map(settings.keys.map((key) => [key, 0]));
  const cycle = ["set", "set", "delete", "set", "deleteTags"] as const;
  let failures = 0;
  for (let step = 0; step < settings.steps && !stopped(); step++) {
    const key = settings.keys[step % settings.keys.length];
    const round = Math.floor(step / settings.keys.length);
    const op = settings.mode === "sequence" ? cycle[round % cycle.length] : "set";
    const next = step + 1;
    const start = Date.now();
    try {
      if (op === "set") await cache.set(key, next, { tags: [tagOf(key)] });
      else if (op === "delete") await cache.delete(key);
      else await cache.deleteTags([tagOf(key)]);
      const done = Date.now();
      if (op === "set") version.set(key, next);
      report({ t: "op", op, key, state: op === "set" ? next : null, start, done });
    } catch (error) {
      // The server is down: the write did not complete, and is not reported as one.
      failures++;
      if (failures === 1) report({ t: "log", text: `write failed: ${(error as Error).message}` });
    }
    await sleep(Math.max(0, start + settings.intervalMs - Date.now()));
  }
  report({ t: "finished", failures });
}

async function read(): Promise<void> {
  await bus.subscribed();
  report({ t: "ready" });
  await command("go");
  // What this reader last saw per key; "unset" forces the next read to be reported.
  const last = new Map<string, number | null | "unset">(settings.keys.map((key) => [key, "unset"]));
  // A read begun before up() may return what the server held then: it is not reported, the next read is.
  let ups = 0;
  const unset = () => {
    ups++;
    for (const key of settings.keys) last.set(key, "unset");
  };
  // After up(), the first read of every key is reported, so every read after it is covered by a "seen" line.
  bus.subscribe({ message() {}, down() {}, up: unset });
  let reads = 0;
  let errors = 0;
  const began = Date.now();
  while (!stopped()) {
    for (const key of settings.keys) {
      let state: number | null;
      const epoch = ups;
      try {
        state = (await cache.get(key)) ?? null;
        if (epoch !== ups) continue;
      } catch {
        errors++;
        await sleep(5);
        continue;
      }
      reads++;
      if (last.get(key) !== state) {
        last.set(key, state);
        report({ t: "seen", key, state, at: Date.now() });
      }
    }
    // An l1 hit never leaves the microtask queue: bus messages need a turn of the event loop.
    await sleep(1);
  }
  report({ t: "reads", reads, errors, ms: Date.now() - began });
}

try {
  await (settings.role === "writer" ? write() : read());
} finally {
  input.close();
  await cache.close();
  await bus.close();
  await backend.close();
  // Deno keeps reading stdin otherwise.
  process.exit(0);
}
