// Memory suite: get hit, get miss and set-with-eviction on caches bounded to
// 10k entries. Every cache gets the same keys, the same values and the same TTL.
// The synchronous caches (lru-cache, Map) each get their own loops: a call
// site shared with other caches turns megamorphic and costs ~10 ns per call,
// half of what they take (checked again on 2026-11-30: one loop shared by
// lru-cache and Map alone halved their miss rate, 73M -> 25M and 106M -> 46M). The Promise-returning caches share one set of loops,
// which costs each of them the same few nanoseconds.
import { LRUCache } from "lru-cache";
import { createCache } from "cache-manager";
import { Keyv } from "keyv";
import { KeyvCacheableMemory } from "cacheable";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { TTLCache } from "../../mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import { type Case, check, measure, runtimeName, type SuiteOptions, type SuiteResult } from "./_harness.ts";
import { BATCH, CAPACITY, jsonBytes, keys, record, TTL_SECONDS } from "./_fixtures.ts";

const TTL_MS = TTL_SECONDS * 1000;
const HIT = "get hit";
const MISS = "get miss";
const SET = "set + evict";
const SMALL_HIT = "get hit, 20-byte values";
const small = (i: number) => ({ id: i, ok: true });

/** Runs the memory suite. */
export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const hitKeys = keys("user", CAPACITY);
  const missKeys = keys("absent", CAPACITY);
  // Ten times the bound, so every set inserts a new key and evicts one.
  const newKeys = keys("new", CAPACITY * 10);
  const values = hitKeys.map((_, i) => record(i));
  const bytes = values.map(jsonBytes);
  const cases: Case[] = [];
  const cleanups: (() => unknown)[] = [];

  // Windows of BATCH keys, advanced on every call, so a run touches every key.
  const windows = (list: string[]) => {
    let start = 0;
    return () => {
      start = start + BATCH >= list.length ? 0 : start + BATCH;
      return start;
    };
  };

  // The cases of one Promise-returning cache: `get` reads the prefilled
  // instance, `put` writes a second one that evicts on every call. The loops
  // are shared by these caches; the synchronous ones below get their own.
  const asyncCases = (
    peer: string,
    get: (key: string) => Promise<unknown>,
    put: ((key: string, i: number) => Promise<unknown>) | undefined,
    cachet = false,
  ) => {
    const hit = windows(hitKeys), miss = windows(missKeys), next = windows(newKeys);
    cases.push(
      {
        group: HIT,
        peer,
        cachet,
        ops: BATCH,
        fn: async () => {
          const s = hit();
          let missed = 0;
          for (let i = 0; i < BATCH; i++) if ((await get(hitKeys[s + i])) === undefined) missed++;
          check(missed === 0, `${peer} missed on a hit`);
        },
      },
      {
        group: MISS,
        peer,
        cachet,
        ops: BATCH,
        fn: async () => {
          const s = miss();
          let found = 0;
          for (let i = 0; i < BATCH; i++) if ((await get(missKeys[s + i])) !== undefined) found++;
          check(found === 0, `${peer} hit on a miss`);
        },
      },
    );
    if (put) {
      cases.push({
        group: SET,
        peer,
        cachet,
        ops: BATCH,
        fn: async () => {
          const s = next();
          for (let i = 0; i < BATCH; i++) await put(newKeys[s + i], i);
        },
      });
    }
  };

  {
    // cachet, storing the caller's bytes (copied in and out).
    const cache = new TTLCache({ maxSize: CAPACITY, ttl: TTL_SECONDS });
    for (const [i, k] of hitKeys.entries()) await cache.set(k, bytes[i]);
    const evicting = new TTLCache({ maxSize: CAPACITY, ttl: TTL_SECONDS });
    asyncCases("cachet TTLCache (bytes)", (k) => cache.get(k), (k, i) => evicting.set(k, bytes[i]), true);
    cleanups.push(() => check(evicting.cacheInfo().currSize <= CAPACITY, "cachet (bytes) exceeded its bound"));
  }

  {
    // cachet with the JSON serializer: values are encoded on set and decoded (a fresh copy) on every hit.
    const serializer = new JsonSerializer<ReturnType<typeof record>>();
    const cache = new TTLCache({ maxSize: CAPACITY, ttl: TTL_SECONDS, serializer });
    for (const [i, k] of hitKeys.entries()) await cache.set(k, values[i]);
    const evicting = new TTLCache({ maxSize: CAPACITY, ttl: TTL_SECONDS, serializer });
    asyncCases("cachet TTLCache (JSON)", (k) => cache.get(k), (k, i) => evicting.set(k, values[i]), true);
    cleanups.push(() => check(evicting.cacheInfo().currSize <= CAPACITY, "cachet (JSON) exceeded its bound"));
  }

  // Hits on values of about 20 bytes of JSON: V8 allocates arrays of up to 64
  // bytes on its heap, so copying one costs a tenth of copying the 80-byte records.
  const smallHit = (peer: string, get: (key: string) => Promise<unknown>, cachet = false) => {
    const hit = windows(hitKeys);
    cases.push({
      group: SMALL_HIT,
      peer,
      cachet,
      ops: BATCH,
      fn: async () => {
        const s = hit();
        let missed = 0;
        for (let i = 0; i < BATCH; i++) if ((await get(hitKeys[s + i])) === undefined) missed++;
        check(missed === 0, `${peer} missed on a hit`);
      },
    });
  };
  {
    const raw = new TTLCache({ maxSize: CAPACITY, ttl: TTL_SECONDS });
    const json = new TTLCache({ maxSize: CAPACITY, ttl: TTL_SECONDS, serializer: new JsonSerializer() });
    for (const [i, k] of hitKeys.entries()) {
      await raw.set(k, jsonBytes(small(i)));
      await json.set(k, small(i));
    }
    smallHit("cachet TTLCache (bytes)", (k) => raw.get(k), true);
    smallHit("cachet TTLCache (JSON)", (k) => json.get(k), true);
  }

  if (!options.cachetOnly) {
    {
      const cache = new LRUCache<string, object>({ max: CAPACITY, ttl: TTL_MS });
      for (const [i, k] of hitKeys.entries()) cache.set(k, small(i));
      const hit = windows(hitKeys);
      cases.push({
        group: SMALL_HIT,
        peer: "lru-cache (sync)",
        ops: BATCH,
        fn: () => {
          const s = hit();
          let missed = 0;
          for (let i = 0; i < BATCH; i++) if (cache.get(hitKeys[s + i]) === undefined) missed++;
          check(missed === 0, "lru-cache missed on a hit");
        },
      });
      const bento = new BentoCache({
        default: "memory",
        stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: CAPACITY })) },
      });
      cleanups.push(() => bento.disconnect());
      for (const [i, key] of hitKeys.entries()) await bento.set({ key, value: small(i), ttl: TTL_MS });
      smallHit("bentocache (memory)", (key) => bento.get({ key }));
    }

    {
      const cache = new LRUCache<string, object>({ max: CAPACITY, ttl: TTL_MS });
      for (const [i, k] of hitKeys.entries()) cache.set(k, values[i]);
      const hit = windows(hitKeys), miss = windows(missKeys), put = windows(newKeys);
      const evicting = new LRUCache<string, object>({ max: CAPACITY, ttl: TTL_MS });
      const peer = "lru-cache (sync)";
      cases.push(
        {
          group: HIT,
          peer,
          ops: BATCH,
          fn: () => {
            const s = hit();
            let missed = 0;
            for (let i = 0; i < BATCH; i++) if (cache.get(hitKeys[s + i]) === undefined) missed++;
            check(missed === 0, `${peer} missed on a hit`);
          },
        },
        {
          group: MISS,
          peer,
          ops: BATCH,
          fn: () => {
            const s = miss();
            let found = 0;
            for (let i = 0; i < BATCH; i++) if (cache.get(missKeys[s + i]) !== undefined) found++;
            check(found === 0, `${peer} hit on a miss`);
          },
        },
        {
          group: SET,
          peer,
          ops: BATCH,
          fn: () => {
            const s = put();
            for (let i = 0; i < BATCH; i++) evicting.set(newKeys[s + i], values[i]);
            check(evicting.size <= CAPACITY, `${peer} exceeded its bound`);
          },
        },
      );
    }

    {
      // The physical floor: a Map with insertion-order (FIFO) eviction, no TTL, no LRU promotion.
      const map = new Map<string, object>();
      for (const [i, k] of hitKeys.entries()) map.set(k, values[i]);
      const hit = windows(hitKeys), miss = windows(missKeys), put = windows(newKeys);
      const evicting = new Map<string, object>();
      // A persistent iterator finds the oldest key without rescanning the holes deleted entries leave.
      let oldest = evicting.keys();
      const peer = "Map (floor)";
      cases.push(
        {
          group: HIT,
          peer,
          ops: BATCH,
          fn: () => {
            const s = hit();
            let missed = 0;
            for (let i = 0; i < BATCH; i++) if (map.get(hitKeys[s + i]) === undefined) missed++;
            check(missed === 0, `${peer} missed on a hit`);
          },
        },
        {
          group: MISS,
          peer,
          ops: BATCH,
          fn: () => {
            const s = miss();
            let found = 0;
            for (let i = 0; i < BATCH; i++) if (map.get(missKeys[s + i]) !== undefined) found++;
            check(found === 0, `${peer} hit on a miss`);
          },
        },
        {
          group: SET,
          peer,
          ops: BATCH,
          fn: () => {
            const s = put();
            for (let i = 0; i < BATCH; i++) {
              const k = newKeys[s + i];
              evicting.delete(k);
              evicting.set(k, values[i]);
              if (evicting.size > CAPACITY) {
                let next = oldest.next();
                if (next.done) next = (oldest = evicting.keys()).next();
                evicting.delete(next.value!);
              }
            }
            check(evicting.size <= CAPACITY, `${peer} exceeded its bound`);
          },
        },
      );
    }

    {
      // The floor of any Promise-returning cache: an awaited Map.get, nothing else.
      const map = new Map<string, object>(hitKeys.map((k, i) => [k, values[i]]));
      asyncCases("await Map.get (async floor)", (k) => Promise.resolve(map.get(k)), undefined);
    }

    {
      // cache-manager 7's documented bounded memory store: Keyv over CacheableMemory with an LRU size.
      const make = () =>
        createCache({
          stores: [new Keyv({ store: new KeyvCacheableMemory({ ttl: TTL_MS, lruSize: CAPACITY }) })],
          ttl: TTL_MS,
        });
      const cache = make();
      const evicting = make();
      cleanups.push(() => cache.disconnect(), () => evicting.disconnect());
      for (const [i, k] of hitKeys.entries()) await cache.set(k, values[i]);
      asyncCases("cache-manager 7 (memory)", (k) => cache.get(k), (k, i) => evicting.set(k, values[i], TTL_MS));
    }

    {
      // cache-manager 7 with no store option: Keyv over a plain Map, unbounded and with no LRU. Not a like-for-like
      // peer for a bounded cache, but what `createCache()` gives, so its hit and miss are shown too.
      const cache = createCache({ ttl: TTL_MS });
      cleanups.push(() => cache.disconnect());
      for (const [i, k] of hitKeys.entries()) await cache.set(k, values[i]);
      asyncCases("cache-manager 7 (default Map store, unbounded)", (k) => cache.get(k), undefined);
    }

    {
      const make = () =>
        new BentoCache({
          default: "memory",
          stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: CAPACITY })) },
        });
      const cache = make();
      const evicting = make();
      cleanups.push(() => cache.disconnect(), () => evicting.disconnect());
      for (const [i, k] of hitKeys.entries()) await cache.set({ key: k, value: values[i], ttl: TTL_MS });
      asyncCases(
        "bentocache (memory)",
        (key) => cache.get({ key }),
        (key, i) => evicting.set({ key, value: values[i], ttl: TTL_MS }),
      );
    }

    {
      const make = () => new Keyv({ store: new KeyvCacheableMemory({ ttl: TTL_MS, lruSize: CAPACITY }), ttl: TTL_MS });
      const cache = make();
      const evicting = make();
      cleanups.push(() => cache.disconnect(), () => evicting.disconnect());
      for (const [i, k] of hitKeys.entries()) await cache.set(k, values[i]);
      asyncCases("keyv (memory)", (k) => cache.get(k), (k, i) => evicting.set(k, values[i]));
    }
  }

  try {
    const rows = await measure(cases, options);
    // Keep the groups together in the table: hit, miss, set.
    const order = [HIT, SMALL_HIT, MISS, SET];
    rows.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group));
    return {
      suite: "memory",
      title: `In-memory cache, ${CAPACITY / 1000}k entries, ${TTL_SECONDS} s TTL`,
      runtime: runtimeName(),
      rows,
      notes: [
        "lru-cache and Map are synchronous; every other cache returns a Promise, and each operation is awaited.",
        "lru-cache, Map, cache-manager and keyv return the stored object itself; cachet (bytes) returns a copy, " +
        "cachet (JSON) and bentocache (serialize: true by default) decode a fresh copy on every hit.",
        "cache-manager and keyv use KeyvCacheableMemory (the LRU store cache-manager's README recommends) for the bound.",
      ],
    };
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}
