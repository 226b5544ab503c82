// One chaos worker: `cached()` over Redis with a RedisLock, calls paced on a
// fixed schedule (so a stalled call never delays the ones after it), every
// call recorded and sent to the parent. Started by scripts/chaos.ts.
import process from "node:process";
import { cached, TTLCache } from "../../mod.ts";
import { RedisCacheBackend, RedisLock } from "../../backends/redis/mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import { type CallRecord, expected, type FromWorker, now, type ToWorker, type WorkerConfig } from "./_protocol.ts";

const config: WorkerConfig = JSON.parse(process.argv[2]);
const send = (message: FromWorker) => new Promise<void>((resolve) => process.send!(message, () => resolve()));
// The parent went away: nothing to report to.
process.on("disconnect", () => process.exit(1));

let unhandled = 0;
const unhandledSamples: string[] = [];
process.on("unhandledRejection", (reason) => {
  unhandled++;
  if (unhandledSamples.length < 5) unhandledSamples.push(describeError(reason));
});

const backend = new RedisCacheBackend({ url: config.url, prefix: config.prefix, timeout: config.timeout });
const lock = new RedisLock(backend, { waitTimeout: config.waitTimeout });
const cache = new TTLCache<string>({
  backend,
  serializer: new JsonSerializer<string>(),
  ttl: config.ttl,
  grace: config.grace,
});
const hitTimes: number[] = [];
const errorTimes: number[] = [];
cache.addEventListener("hit", () => hitTimes.push(now()));
cache.addEventListener("error", () => errorTimes.push(now()));

let originCalls = 0;
const [minDelay, maxDelay] = config.originDelay;
const origin = cached(cache, { lock, name: "origin" })(async function origin(key: string): Promise<string> {
  originCalls++;
  await new Promise((resolve) => setTimeout(resolve, minDelay + Math.random() * (maxDelay - minDelay)));
  return expected(key);
});

// mulberry32: the same key sequence on every run.
let seed = config.seed >>> 0;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const keys = Array.from({ length: config.calls }, () => `k${Math.floor(random() * config.keys)}`);

const errors: string[] = [];
function errorIndex(error: unknown): number {
  const text = describeError(error);
  const found = errors.indexOf(text);
  return found >= 0 ? found : errors.push(text) - 1;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error: ${String(error)}`;
  let text = `${error.name}: ${error.message}`;
  if (error.cause instanceof Error) text += ` (cause: ${error.cause.name}: ${error.cause.message})`;
  // Keys are quoted (JSON) in messages: mask them so one kind of failure is one line.
  return text.replace(/"origin:(?:[^"\\]|\\.)*"/g, "<key>");
}

const records: CallRecord[] = [];
const inFlight = new Map<number, number>(); // call index -> start

async function lane(first: number, start: number): Promise<void> {
  const step = config.spread / config.calls;
  for (let i = first; i < config.calls; i += config.concurrency) {
    const wait = start + i * step - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const key = keys[i];
    const began = now();
    inFlight.set(i, began);
    try {
      const value = await origin(key);
      records.push([began, now(), 1, value === expected(key) ? 0 : 1, -1]);
    } catch (error) {
      records.push([began, now(), 0, 0, errorIndex(error)]);
    } finally {
      inFlight.delete(i);
    }
  }
}

async function report(): Promise<never> {
  const at = now();
  for (const began of inFlight.values()) {
    records.push([began, at, 0, 0, errorIndex(new Error("the call never settled"))]);
  }
  const info = cache.cacheInfo();
  await send({
    type: "done",
    records,
    errors,
    originCalls,
    staleHits: info.staleHits,
    swallowed: info.errors,
    hitTimes,
    errorTimes,
    unhandled,
    unhandledSamples,
  });
  process.exit(0);
}

// Connect before the parent starts the clock, so connecting is not counted as latency.
await backend.get("ready");
process.on("message", async (message: ToWorker) => {
  if (message.type !== "go") return;
  const hung = setTimeout(report, message.start - now() + config.spread + config.hangLimit);
  await Promise.all(Array.from({ length: config.concurrency }, (_, i) => lane(i, message.start)));
  clearTimeout(hung);
  await backend.close().catch(() => {});
  // A rejection nobody handles surfaces a turn or a backend timeout later: wait for it before reporting.
  await new Promise((resolve) => setTimeout(resolve, config.timeout + 100));
  await report();
});
await send({ type: "ready" });
