// Two-tier suite (issue #14): an in-process tier (l1) of decoded values over
// Redis 7 on 127.0.0.1:6379. The L1 hit (get and getOrSet) against the
// `await Map.get` floor, cache-manager 7's createCache() default store and
// bentocache's L1 + L2 getOrSet; an L2 hit through the tiers (the key not in
// l1) against a single-tier Redis get; the L1 hit with RedisTracking on
// (issue #22); and the invalidation latency across processes with RedisBus
// and RedisTracking (cachet writes, and raw ioredis SETs), when the build has
// them. Keys live under a prefix unique to this run and are deleted afterwards.
import { spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { Redis } from "ioredis";
import { createCache } from "cache-manager";
import { LRUCache } from "lru-cache";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisDriver } from "bentocache/drivers/redis";
import { TTLCache } from "../../mod.ts";
import { RedisCacheBackend } from "../../backends/redis/mod.ts";
import * as redisModule from "../../backends/redis/mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import type { InvalidationBus } from "../../bus.ts";
import { type Case, check, measure, type Row, runtimeName, type SuiteOptions, type SuiteResult } from "./_harness.ts";
import { BATCH, keys, record, TTL_SECONDS } from "./_fixtures.ts";
import { root } from "../_common.ts";

const URL = "redis://127.0.0.1:6379";
const TTL_MS = TTL_SECONDS * 1000;
const KEYS = 1_000;
const L1 = "L1 hit";
const L2 = "L2 hit, 1 caller (the key not in l1)";
const SYNC = "synchronous L1 hit: peek vs lru-cache get";
const PER_BATCH = 64;

type User = ReturnType<typeof record>;

/** Runs the two-tier suite. */
export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const runId = `cachet-bench-${crypto.randomUUID()}`;
  const hitKeys = keys("user", KEYS);
  const values = hitKeys.map((_, i) => record(i));
  const cases: Case[] = [];
  const cleanups: (() => unknown)[] = [];
  let originCalls = 0;
  const origin = (i: number) => {
    originCalls++;
    return values[i];
  };
  // BATCH reads over every key (KEYS = BATCH); every in-process case shares this loop.
  const l1Case = (peer: string, read: (i: number) => Promise<unknown>, cachet = false) => {
    cases.push({
      group: L1,
      peer,
      cachet,
      ops: BATCH,
      fn: async () => {
        const before = originCalls;
        let missed = 0;
        for (let i = 0; i < BATCH; i++) if ((await read(i)) === undefined) missed++;
        check(missed === 0 && originCalls === before, `${peer} missed on a hit`);
      },
    });
  };
  // Synchronous reads, each peer with its own loop (a shared call site turns megamorphic, see memory.ts).
  const syncCase = (peer: string, readAll: () => number, cachet = false) => {
    cases.push({
      group: SYNC,
      peer,
      cachet,
      ops: BATCH,
      fn: () => check(readAll() === 0, `${peer} missed on a hit`),
    });
  };
  let cursor = 0;
  const l2Case = (peer: string, read: (i: number) => Promise<unknown>, cachet = false) => {
    cases.push({
      group: L2,
      peer,
      cachet,
      ops: PER_BATCH,
      fn: async () => {
        for (let i = 0; i < PER_BATCH; i++) {
          cursor = (cursor + 1) % KEYS;
          check((await read(cursor)) !== undefined, `${peer} missed`);
        }
      },
    });
  };

  const backend = new RedisCacheBackend({ url: URL, prefix: `${runId}:cachet:` });
  cleanups.push(() => backend.close());
  {
    const tiered = new TTLCache<User>({
      ttl: TTL_SECONDS,
      backend,
      serializer: new JsonSerializer<User>(),
      l1: { maxSize: KEYS },
    });
    for (const [i, key] of hitKeys.entries()) await tiered.set(key, values[i]);
    for (const key of hitKeys) await tiered.get(key);
    check(tiered.cacheInfo().l1Hits >= KEYS, "the l1 tier did not serve the warm-up reads");
    l1Case("cachet get (l1 over Redis, JSON)", (i) => tiered.get(hitKeys[i]), true);
    l1Case("cachet getOrSet (l1 over Redis, JSON)", (i) => tiered.getOrSet(hitKeys[i], () => origin(i)), true);
    // An older build (compare.ts) has no peek.
    if ("peek" in tiered) {
      syncCase("cachet peek (l1 over Redis, JSON)", () => {
        let missed = 0;
        for (let i = 0; i < BATCH; i++) if (tiered.peek(hitKeys[i]) === undefined) missed++;
        return missed;
      }, true);
    }

    // The same hit with the server's invalidations on (the cache's own writes are reported too: wait, then warm).
    const Tracking = (redisModule as Record<string, unknown>).RedisTracking as
      | (new (backend: RedisCacheBackend) => InvalidationBus & { subscribed(): Promise<void>; close(): Promise<void> })
      | undefined;
    if (Tracking !== undefined) {
      const trackedBackend = new RedisCacheBackend({ url: URL, prefix: `${runId}:tracked:` });
      const tracking = new Tracking(trackedBackend);
      const tracked = new TTLCache<User>({
        ttl: TTL_SECONDS,
        backend: trackedBackend,
        bus: tracking,
        serializer: new JsonSerializer<User>(),
        l1: { maxSize: KEYS },
      });
      cleanups.push(async () => {
        await tracked.close();
        await tracking.close();
        await trackedBackend.close();
      });
      await tracking.subscribed();
      for (const [i, key] of hitKeys.entries()) await tracked.set(key, values[i]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const key of hitKeys) await tracked.get(key);
      l1Case("cachet get (l1 over Redis, JSON, RedisTracking on)", (i) => tracked.get(hitKeys[i]), true);
    }

    // One slot of l1 and keys read in turn: every read misses l1, reads Redis and fills l1 (evicting the last key).
    const narrow = new TTLCache<User>({
      ttl: TTL_SECONDS,
      backend,
      serializer: new JsonSerializer<User>(),
      l1: { maxSize: 1 },
    });
    const single = new TTLCache<User>({ ttl: TTL_SECONDS, backend, serializer: new JsonSerializer<User>() });
    l2Case("cachet get through l1 (maxSize 1) to Redis", (i) => narrow.get(hitKeys[i]), true);
    l2Case("cachet get, single-tier Redis", (i) => single.get(hitKeys[i]));
    cleanups.push(() => check(narrow.cacheInfo().l1Hits === 0, "the narrow l1 served a hit: the L2 row is wrong"));
  }

  if (!options.cachetOnly) {
    {
      const lru = new LRUCache<string, User>({ max: KEYS, ttl: TTL_MS });
      for (const [i, key] of hitKeys.entries()) lru.set(key, values[i]);
      syncCase("lru-cache get", () => {
        let missed = 0;
        for (let i = 0; i < BATCH; i++) if (lru.get(hitKeys[i]) === undefined) missed++;
        return missed;
      });
    }
    {
      const map = new Map<string, User>(hitKeys.map((k, i) => [k, values[i]]));
      l1Case("await Map.get (async floor)", (i) => Promise.resolve(map.get(hitKeys[i])));
    }
    {
      const cache = createCache({ ttl: TTL_MS });
      cleanups.push(() => cache.disconnect());
      for (const [i, k] of hitKeys.entries()) await cache.set(k, values[i]);
      l1Case("cache-manager 7 createCache() default store get (unbounded Map)", (i) => cache.get(hitKeys[i]));
    }
    {
      const bento = new BentoCache({
        default: "tiered",
        stores: {
          tiered: bentostore()
            .useL1Layer(memoryDriver({ maxItems: KEYS }))
            .useL2Layer(redisDriver({ connection: { host: "127.0.0.1", port: 6379 }, prefix: `${runId}-bento` })),
        },
      });
      cleanups.push(() => bento.disconnect());
      for (const [i, key] of hitKeys.entries()) await bento.set({ key, value: values[i], ttl: TTL_MS });
      l1Case(
        "bentocache L1 (memory) + L2 (Redis) getOrSet",
        (i) => bento.getOrSet({ key: hitKeys[i], factory: () => origin(i), ttl: TTL_MS }),
      );
      l1Case("bentocache L1 (memory) + L2 (Redis) get", (i) => bento.get({ key: hitKeys[i] }));
    }
  }

  try {
    const rows = await measure(cases, { ...options, time: 300, rounds: 5 });
    const order = [L1, SYNC, L2];
    rows.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group));
    const notes = [
      "cachet's l1 hands out the stored decoded value (no copy, as cache-manager's Map store does); bentocache's " +
      "memory L1 serializes by default and decodes a copy on every hit. A read that misses l1 reads Redis, decodes " +
      "and fills l1.",
      "The synchronous rows read the same 1,000 values without awaiting: cachet's peek reads l1 alone (never Redis), " +
      "lru-cache's get its own store; each has its own loop.",
      "The L2 rows read the same Redis backend (auto-pipelining, 5 s command timeout) with the same JSON values; the " +
      "tiered cache has one l1 slot, so every read goes to Redis and then evicts the previous key from l1.",
    ];
    const latency = options.cachetOnly ? undefined : await invalidationRows(options, runId);
    if (latency === undefined) {
      if (!options.cachetOnly) {
        notes.push("Invalidation latency across processes: not measured, this build exports no RedisBus.");
      }
    } else {
      rows.push(...latency.rows);
      notes.push(latency.note);
    }
    return {
      suite: "tiers",
      title: "Two tiers: l1 over Redis 7 on 127.0.0.1",
      runtime: runtimeName(),
      rows,
      notes,
    };
  } finally {
    for (const cleanup of cleanups) await cleanup();
    await deleteOwnKeys(runId);
  }
}

// Two processes over the same Redis, each with l1 and a RedisBus (or a
// RedisTracking): one writes a timestamped value about 100 times a second (with
// cachet, or a raw ioredis SET), the other reads in a loop and records, for
// every value it sees first, how long after the write it saw it.
async function invalidationRows(
  options: SuiteOptions,
  runId: string,
): Promise<{ rows: Row[]; note: string } | undefined> {
  if (!("RedisBus" in redisModule)) return undefined;
  const writes = options.quick ? 20 : 500;
  const runs = [
    { label: "RedisBus", writer: "writer", source: "bus" },
    ...("RedisTracking" in redisModule
      ? [
        { label: "RedisTracking", writer: "writer", source: "tracking" },
        { label: "RedisTracking, raw ioredis SET", writer: "raw-writer", source: "tracking" },
      ]
      : []),
  ];
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const [n, { label, writer, source }] of runs.entries()) {
    const result = await invalidationRun(`${runId}:inv${n}:`, `${runId}:channel${n}`, writes, writer, source);
    const sorted = result.latencies.sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    const group = `invalidation latency across 2 processes, ${label} (ms, lower is better)`;
    const row = (peer: string, value: number, cachet: boolean): Row => ({
      group,
      peer,
      cachet,
      value,
      unit: "ms",
      higherIsBetter: false,
    });
    rows.push(row("cachet p50", at(0.5), false), row("cachet p99", at(0.99), true), row("max", sorted.at(-1)!, false));
    notes.push(
      `${label}: ${Math.round(result.reads / result.seconds)} reads/s, ${sorted.length} values seen, ` +
        `${result.missed} never seen`,
    );
  }
  return {
    rows,
    note: `Invalidation: ${writes} writes at ~100/s in one process (cachet sets; for the raw rows, a plain ioredis ` +
      "SET of the bytes, made by a cache under another prefix just before, so two more round trips count); the other " +
      "read the key in a loop (each read through l1) and timed each new value from the write (timestamp in the " +
      `value) to its first read (never seen: overwritten before a read reached them). ${notes.join("; ")}.`,
  };
}

async function invalidationRun(
  prefix: string,
  channel: string,
  writes: number,
  writerRole: string,
  source: string,
): Promise<{ latencies: number[]; reads: number; seconds: number; missed: number }> {
  const script = join(root, "scripts/bench/_invalidation_child.ts");
  const start = (role: string) =>
    spawn(process.execPath, [script, role, prefix, channel, String(writes), source], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    });
  const reader = start("reader");
  let out = "";
  reader.stdout.on("data", (chunk) => (out += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the reader did not start within 10 s")), 10_000);
    reader.stdout.on("data", () => {
      if (out.includes("ready\n")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const writer = start(writerRole);
  const exited = (child: ReturnType<typeof spawn>) =>
    new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? 1)));
  const [writerCode, readerCode] = await Promise.all([exited(writer), exited(reader)]);
  check(writerCode === 0 && readerCode === 0, `invalidation children exited with ${writerCode} and ${readerCode}`);
  return JSON.parse(out.slice(out.indexOf("ready\n") + 6));
}

// Deletes the keys this run wrote (they all contain its unique id), and nothing else.
async function deleteOwnKeys(run: string): Promise<void> {
  const client = new Redis(URL);
  try {
    let cursor = "0";
    do {
      const [nextCursor, found] = await client.scan(cursor, "MATCH", `*${run}*`, "COUNT", 1000);
      cursor = nextCursor;
      if (found.length > 0) await client.unlink(...found);
    } while (cursor !== "0");
  } finally {
    await client.quit();
  }
}
