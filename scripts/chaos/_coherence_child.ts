// One process of the coherence scenario (scripts/chaos/coherence.ts): a
// TTLCache with an in-process tier over the private Redis, kept coherent by a
// RedisBus. Every process reads every key in a loop and logs what it served;
// the writer also runs a sequence of writes and invalidations on a fixed
// schedule and logs each one's outcome. The parent says "go" and "stop" over
// IPC and gets one "done" message with the logs.
import process from "node:process";
import { setImmediate as afterIo } from "node:timers/promises";
import { TTLCache } from "../../mod.ts";
import { RedisBus, RedisCacheBackend } from "../../backends/redis/mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import { now } from "./_protocol.ts";
import {
  type ChildConfig,
  type FromChild,
  keyName,
  namespaced,
  namespaceName,
  OP_KINDS,
  quiet,
  type Read,
  tagOf,
  type ToChild,
  type Write,
} from "./_coherence_protocol.ts";

const config: ChildConfig = JSON.parse(process.argv[2]);
const send = (message: FromChild) => new Promise<void>((resolve) => process.send!(message, () => resolve()));
process.on("disconnect", () => process.exit(1));
let unhandled = 0;
process.on("unhandledRejection", () => unhandled++);

const backend = new RedisCacheBackend({ url: config.url, prefix: config.prefix, timeout: config.timeout });
const bus = new RedisBus(backend, { timeout: config.timeout });
// A long ttl: only invalidations (never expiry) can make a copy go away in time.
const cache = new TTLCache<number>({
  backend,
  bus,
  l1: { maxSize: 1_000 },
  serializer: new JsonSerializer<number>(),
  ttl: 300,
});
const namespaces = Array.from({ length: config.namespaces }, (_, i) => cache.namespace(namespaceName(i)));
const viewOf = (key: number) => namespaced(key, config) ? namespaces[key % config.namespaces] : cache;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const busEvents: [kind: "down" | "up", at: number][] = [];
bus.subscribe({ message() {}, down: () => busEvents.push(["down", now()]), up: () => busEvents.push(["up", now()]) });

let stopped = false;

// What this process served, as runs: one per key and value, cut at RUN_MS so
// that a run's first and last reads bound every read in it closely.
const RUN_MS = 50;
const reads: Read[] = [];
const open: (Read | undefined)[] = Array.from({ length: config.keys }, () => undefined);
let readCount = 0;
const readErrors: number[] = [];

let idle = false;

async function readLoop(): Promise<void> {
  while (!stopped) {
    for (let key = 0; key < config.keys && !stopped && !idle; key++) {
      const at = now();
      let value: number | null;
      try {
        value = (await viewOf(key).get(keyName(key))) ?? null;
      } catch {
        readErrors.push(at);
        continue;
      }
      readCount++;
      const run = open[key];
      if (run !== undefined && run[1] === value && at - run[2] < RUN_MS) {
        run[3] = at;
        run[4]++;
      } else {
        const next: Read = [key, value, at, at, 1];
        reads.push(next);
        open[key] = next;
      }
    }
    // An l1 hit never leaves the microtask queue: bus messages need turns of the event loop. After a timer, one
    // more turn (setImmediate runs after the poll phase) hands over what reached the socket meanwhile, so that a
    // process the loaded machine did not run for a while reads only after it has heard what it missed.
    await sleep(config.readPauseMs);
    await afterIo();
  }
}

// mulberry32: the same sequence of operations on every run.
let seed = config.seed >>> 0;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const writes: Write[] = [];
const errors: string[] = [];
let quietOn = false;

async function writeLoop(start: number): Promise<void> {
  for (let op = 1; !stopped; op++) {
    await sleep(start + op * config.writeEveryMs - now());
    if (stopped) break;
    const draw = random();
    // Mostly sets, so that readers hold values worth invalidating.
    const kind = draw < 0.55 ? "set" : draw < 0.7 ? "delete" : draw < 0.9 ? "deleteTags" : "clearNamespace";
    const pick = (count: number) => {
      const n = Math.floor(random() * count);
      return quietOn && quiet(n) ? n - 1 : n;
    };
    const target = kind === "deleteTags"
      ? pick(config.tags)
      : kind === "clearNamespace"
      ? pick(config.namespaces)
      : pick(config.keys);
    const began = now();
    let error: number | undefined;
    try {
      if (kind === "set") await viewOf(target).set(keyName(target), op, { tags: [tagOf(target % config.tags)] });
      else if (kind === "delete") await viewOf(target).delete(keyName(target));
      else if (kind === "deleteTags") await cache.deleteTags([tagOf(target)]);
      else await namespaces[target].clear();
    } catch (thrown) {
      const text = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
      error = errors.indexOf(text) >= 0 ? errors.indexOf(text) : errors.push(text) - 1;
    }
    const end = now();
    writes.push(
      error === undefined
        ? [op, OP_KINDS.indexOf(kind), target, began, end, 1]
        : [op, OP_KINDS.indexOf(kind), target, began, end, 0, error],
    );
  }
}

// Writes of a key outside the judged ones, on a cadence of their own (each waits 100 ms after the previous one
// settles): an application writes other things meanwhile, and each of its slow failures reopens the circuit breaker
// out of step with the judged writes and the owed retries.
async function otherWrites(): Promise<void> {
  for (let i = 0; !stopped; i++) {
    await cache.set("other", i).catch(() => {});
    await sleep(100);
  }
}

// Connect (and subscribe) before the parent starts the clock.
await backend.get("ready");
await bus.subscribed();
process.on("message", async (message: ToChild) => {
  if (message.type === "stop") stopped = true;
  if (message.type === "quiet") quietOn = message.on;
  if (message.type === "idle") idle = message.on;
  if (message.type !== "go") return;
  await sleep(message.start - now());
  const loops = [readLoop()];
  if (config.writer) loops.push(writeLoop(message.start), otherWrites());
  await Promise.all(loops);
  const info = cache.cacheInfo();
  await send({
    type: "done",
    writes,
    errors,
    reads,
    readCount,
    readErrors,
    busEvents,
    l1Hits: info.l1Hits,
    swallowed: info.errors,
    unhandled,
  });
  await cache.close();
  await bus.close().catch(() => {});
  await backend.close().catch(() => {});
  process.exit(0);
});
await send({ type: "ready" });
