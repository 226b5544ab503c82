// Redis suite: get (hit) and set against the local server at 127.0.0.1:6379,
// with 1 caller and with 64 concurrent callers (each awaiting its own
// operations one after another). Every cache writes under a key prefix unique
// to this run, and only those keys are deleted afterwards.
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { createCache } from "cache-manager";
import { Keyv } from "keyv";
import KeyvRedis from "@keyv/redis";
import { BentoCache, bentostore } from "bentocache";
import { redisDriver } from "bentocache/drivers/redis";
import { TTLCache } from "../../mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import { type Case, check, measure, runtimeName, type SuiteOptions, type SuiteResult } from "./_harness.ts";
import { jsonBytes, keys, record, TTL_SECONDS } from "./_fixtures.ts";
import { RedisCacheBackend } from "../../backends/redis/mod.ts";

const URL = "redis://127.0.0.1:6379";
const TTL_MS = TTL_SECONDS * 1000;
const KEYS = 1_000;
const CONCURRENCY = [1, 64];
const OPS_PER_CALLER = { 1: 64, 64: 8 } as Record<number, number>;

/** Runs the Redis suite. */
export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const runId = `cachet-bench-${crypto.randomUUID()}`;
  const hitKeys = keys("user", KEYS);
  const values = hitKeys.map((_, i) => record(i));
  const cases: Case[] = [];
  const cleanups: (() => unknown)[] = [];
  const group = (op: string, n: number) => `${op}, ${n} concurrent caller${n === 1 ? "" : "s"}`;
  let cursor = 0;
  const next = () => (cursor = (cursor + 1) % KEYS);
  // Get and set cases for every concurrency; all caches share these loops.
  const addCases = (
    peer: string,
    get: (key: string) => Promise<unknown>,
    set: (key: string, i: number) => Promise<unknown>,
    cachet = false,
  ) => {
    for (const n of CONCURRENCY) {
      const per = OPS_PER_CALLER[n];
      const callers = (op: () => Promise<void>) => () => Promise.all(Array.from({ length: n }, op));
      cases.push(
        {
          group: group("get", n),
          peer,
          cachet,
          ops: n * per,
          fn: callers(async () => {
            for (let i = 0; i < per; i++) check((await get(hitKeys[next()])) !== undefined, `${peer} missed`);
          }),
        },
        {
          group: group("set", n),
          peer,
          cachet,
          ops: n * per,
          fn: callers(async () => {
            for (let i = 0; i < per; i++) {
              const k = next();
              await set(hitKeys[k], k);
            }
          }),
        },
      );
    }
  };

  {
    const backend = new RedisCacheBackend({ url: URL, prefix: `${runId}:cachet:` });
    const cache = new TTLCache<unknown>({ ttl: TTL_SECONDS, backend, serializer: new JsonSerializer() });
    cleanups.push(() => backend.close());
    for (const [i, k] of hitKeys.entries()) await cache.set(k, values[i]);
    addCases("cachet Redis backend", (k) => cache.get(k), (k, i) => cache.set(k, values[i]), true);
  }

  {
    // The same with a borrowed client created with ioredis' defaults, like the floor's: no command timeout.
    const client = new Redis(URL);
    const backend = new RedisCacheBackend({ client, prefix: `${runId}:cachet-borrowed:` });
    const cache = new TTLCache<unknown>({ ttl: TTL_SECONDS, backend, serializer: new JsonSerializer() });
    cleanups.push(() => backend.close(), () => client.quit());
    for (const [i, k] of hitKeys.entries()) await cache.set(k, values[i]);
    addCases(
      "cachet Redis backend (default ioredis client)",
      (k) => cache.get(k),
      (k, i) => cache.set(k, values[i]),
      true,
    );
  }

  if (!options.cachetOnly) {
    // The floor: ioredis with the same bytes, no codec and no bookkeeping; with its defaults, then with a 5 s
    // commandTimeout (a timer per command), then with auto-pipelining (as cachet's backend creates its client).
    const bytes = values.map((v) => Buffer.from(jsonBytes(v)));
    for (
      const [peer, client] of [
        ["ioredis (floor)", new Redis(URL)],
        ["ioredis, commandTimeout 5 s", new Redis(URL, { commandTimeout: 5_000, maxRetriesPerRequest: 0 })],
        ["ioredis, enableAutoPipelining", new Redis(URL, { enableAutoPipelining: true })],
      ] as const
    ) {
      cleanups.push(() => client.quit());
      const prefix = `${runId}:${peer}:`;
      for (const [i, k] of hitKeys.entries()) await client.set(prefix + k, bytes[i], "PX", TTL_MS);
      addCases(
        peer,
        async (k) => (await client.getBuffer(prefix + k)) ?? undefined,
        (k, i) => client.set(prefix + k, bytes[i], "PX", TTL_MS),
      );
    }

    {
      const store = new KeyvRedis(URL);
      const cache = createCache({ stores: [new Keyv({ store, namespace: `${runId}-keyv` })], ttl: TTL_MS });
      cleanups.push(() => cache.disconnect());
      for (const [i, k] of hitKeys.entries()) await cache.set(k, values[i]);
      addCases("cache-manager + @keyv/redis", (k) => cache.get(k), (k, i) => cache.set(k, values[i], TTL_MS));
    }

    {
      const bento = new BentoCache({
        default: "redis",
        stores: {
          redis: bentostore().useL2Layer(
            redisDriver({ connection: { host: "127.0.0.1", port: 6379 }, prefix: `${runId}-bento` }),
          ),
        },
      });
      cleanups.push(() => bento.disconnect());
      for (const [i, k] of hitKeys.entries()) await bento.set({ key: k, value: values[i], ttl: TTL_MS });
      addCases(
        "bentocache (redis)",
        (key) => bento.get({ key }),
        (key, i) => bento.set({ key, value: values[i], ttl: TTL_MS }),
      );
    }
  }

  try {
    // Network round trips share two cores with Redis itself: more, shorter rounds steady the medians.
    const rows = await measure(cases, { ...options, time: 300, rounds: 5 });
    const order = CONCURRENCY.flatMap((n) => [group("get", n), group("set", n)]);
    rows.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group));
    return {
      suite: "redis",
      title: "Redis 7 on 127.0.0.1 (same machine)",
      runtime: runtimeName(),
      rows,
      notes: [
        "Every cache stores the same ~80-byte JSON values with the same TTL; ioredis gets the bytes and does no " +
        "decoding, the others decode JSON on every get.",
        "cachet's backend creates its client with auto-pipelining and a 5 s command timeout that one timer checks " +
        "for all commands; ioredis' own commandTimeout (a timer per command) and auto-pipelining are measured raw in " +
        "their own rows; the default-client row gives cachet a client like the floor's.",
        "p99 is over batches of concurrent operations, divided by the operations per batch.",
      ],
    };
  } finally {
    for (const cleanup of cleanups) await cleanup();
    await deleteOwnKeys(runId);
  }
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
