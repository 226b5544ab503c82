// Memoization suite: the hit path of a memoized async function, called with
// one primitive argument and with one object argument (a new, equal object on
// every call, as application code passes them). cachet derives the key from
// the arguments; cache-manager's wrap and bentocache's getOrSet are given a
// key the caller builds; p-memoize and memoizee use a JSON key of the argument.
import { createCache } from "cache-manager";
import { Keyv } from "keyv";
import { KeyvCacheableMemory } from "cacheable";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import pMemoize from "p-memoize";
import memoizee from "memoizee";
import { TTLCache } from "../../mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import { type Case, check, measure, runtimeName, type SuiteOptions, type SuiteResult } from "./_harness.ts";
import { BATCH, CAPACITY, record, TTL_SECONDS } from "./_fixtures.ts";
import { cached } from "../../decorator.ts";

const TTL_MS = TTL_SECONDS * 1000;
const DISTINCT = 100;
const PRIMITIVE = "hit, 1 primitive arg";
const OBJECT = "hit, 1 object arg";

interface Query {
  team: string;
  page: number;
}

/** Runs the memoization suite. */
export async function run(options: SuiteOptions): Promise<SuiteResult> {
  let originCalls = 0;
  const getUser = (id: number) => {
    originCalls++;
    return Promise.resolve(record(id));
  };
  const search = (query: Query) => {
    originCalls++;
    return Promise.resolve(record(query.page));
  };
  const getUserSync = (id: number) => record(id);
  const searchSync = (query: Query) => record(query.page);
  const ids = Array.from({ length: DISTINCT }, (_, i) => i);
  // A fresh but equal argument object for each call of a batch.
  const queries = () => Array.from({ length: BATCH }, (_, i) => ({ team: "core", page: i % DISTINCT }));
  const cases: Case[] = [];
  const cleanups: (() => unknown)[] = [];
  // The cases of one Promise-returning memoizer; they share these loops.
  const asyncCases = async (
    peer: string,
    byId: (id: number) => Promise<unknown>,
    byQuery: (q: Query) => Promise<unknown>,
    cachet = false,
  ) => {
    for (const id of ids) await byId(id);
    for (const id of ids) await byQuery({ team: "core", page: id });
    cases.push(
      {
        group: PRIMITIVE,
        peer,
        cachet,
        ops: BATCH,
        fn: async () => {
          const before = originCalls;
          for (let i = 0; i < BATCH; i++) await byId(i % DISTINCT);
          check(originCalls === before, `${peer} called the origin on a hit`);
        },
      },
      {
        group: OBJECT,
        peer,
        cachet,
        ops: BATCH,
        fn: async () => {
          const args = queries();
          const before = originCalls;
          for (let i = 0; i < BATCH; i++) await byQuery(args[i]);
          check(originCalls === before, `${peer} called the origin on a hit`);
        },
      },
    );
  };

  {
    const cache = new TTLCache<unknown>({ maxSize: CAPACITY, ttl: TTL_SECONDS, serializer: new JsonSerializer() });
    await asyncCases("cachet cached", cached(cache)(getUser), cached(cache)(search), true);
  }

  if (!options.cachetOnly) {
    {
      const cache = createCache({
        stores: [new Keyv({ store: new KeyvCacheableMemory({ ttl: TTL_MS, lruSize: CAPACITY }) })],
        ttl: TTL_MS,
      });
      cleanups.push(() => cache.disconnect());
      await asyncCases(
        "cache-manager wrap",
        (id) => cache.wrap(`getUser:${id}`, () => getUser(id), TTL_MS),
        (q) => cache.wrap(`search:${JSON.stringify(q)}`, () => search(q), TTL_MS),
      );
    }

    {
      const bento = new BentoCache({
        default: "memory",
        stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: CAPACITY })) },
      });
      cleanups.push(() => bento.disconnect());
      await asyncCases(
        "bentocache getOrSet",
        (id) => bento.getOrSet({ key: `getUser:${id}`, factory: () => getUser(id), ttl: TTL_MS }),
        (q) => bento.getOrSet({ key: `search:${JSON.stringify(q)}`, factory: () => search(q), ttl: TTL_MS }),
      );
    }

    // p-memoize keeps results in a Map (no TTL) unless given another cache.
    await asyncCases("p-memoize", pMemoize(getUser), pMemoize(search, { cacheKey: ([q]) => JSON.stringify(q) }));

    {
      // The synchronous reference: no Promise at all.
      const byId = memoizee(getUserSync, { max: CAPACITY, maxAge: TTL_MS });
      const byQuery = memoizee(searchSync, {
        max: CAPACITY,
        maxAge: TTL_MS,
        length: 1,
        normalizer: (args: ArrayLike<unknown>) => JSON.stringify(args[0]),
      });
      for (const id of ids) {
        byId(id);
        byQuery({ team: "core", page: id });
      }
      const peer = "memoizee (sync)";
      cases.push(
        {
          group: PRIMITIVE,
          peer,
          ops: BATCH,
          fn: () => {
            let missing = 0;
            for (let i = 0; i < BATCH; i++) if (byId(i % DISTINCT) === undefined) missing++;
            check(missing === 0, `${peer} returned nothing`);
          },
        },
        {
          group: OBJECT,
          peer,
          ops: BATCH,
          fn: () => {
            const args = queries();
            let missing = 0;
            for (let i = 0; i < BATCH; i++) if (byQuery(args[i]) === undefined) missing++;
            check(missing === 0, `${peer} returned nothing`);
          },
        },
      );
    }
  }

  try {
    const rows = await measure(cases, options);
    rows.sort((a, b) => [PRIMITIVE, OBJECT].indexOf(a.group) - [PRIMITIVE, OBJECT].indexOf(b.group));
    return {
      suite: "memo",
      title: `Memoized function, hit path (${DISTINCT} distinct arguments)`,
      runtime: runtimeName(),
      rows,
      notes: [
        "cachet builds the key from the arguments itself; cache-manager and bentocache get a key built by the caller " +
        "(`name:${id}` or `name:${JSON.stringify(arg)}`), p-memoize and memoizee a JSON key of the argument.",
        "cachet (JSON serializer) and bentocache return a fresh copy of the result on every hit; cache-manager, " +
        "p-memoize and memoizee return the stored object itself.",
        "p-memoize has no TTL here (its default Map cache); memoizee is synchronous and returns without a Promise.",
      ],
    };
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}
