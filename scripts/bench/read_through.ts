// Read-through suite (issues #12 and #13), in memory with the JSON serializer:
// the getOrSet hit against bentocache's getOrSet and cache-manager's wrap; what
// grace, an event listener and tags add to a hit; serving a stale in-process
// copy while the backend is down; and deleteTags on 1,000 to 100,000 tagged
// entries. A row named "cachet …" that is not the reference of its group is a
// cachet variant: its ratio is the cost of the option over the reference.
import { createCache } from "cache-manager";
import { Keyv } from "keyv";
import { KeyvCacheableMemory } from "cacheable";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { TTLCache } from "../../mod.ts";
import { cached } from "../../decorator.ts";
import { CacheError } from "../../errors.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import type { CacheBackend } from "../../types.ts";
import { type Case, check, measure, type Row, runtimeName, type SuiteOptions, type SuiteResult } from "./_harness.ts";
import { BATCH, CAPACITY, keys, record, TTL_SECONDS } from "./_fixtures.ts";

const TTL_MS = TTL_SECONDS * 1000;
const GRACE = 60;
const HIT = "getOrSet hit";
const OPTIONS = "getOrSet hit: cost of options";
const CACHED = "cached() hit: cost of options";
const TAGS = "get hit: tagged vs untagged entry";
const OUTAGE = "read during a backend outage (l1 + grace)";
const TAG_SIZES = [1_000, 10_000, 100_000];

type User = ReturnType<typeof record>;

/** Runs the read-through suite. */
export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const hitKeys = keys("user", CAPACITY);
  const values = hitKeys.map((_, i) => record(i));
  const cases: Case[] = [];
  const cleanups: (() => unknown)[] = [];
  let originCalls = 0;
  const origin = (i: number) => {
    originCalls++;
    return values[i];
  };
  const windows = () => {
    let start = 0;
    return () => (start = start + BATCH >= hitKeys.length ? 0 : start + BATCH);
  };
  // One case reading BATCH keys of the prefilled set through `read`; every
  // read-through case shares this loop so they pay the same call-site cost.
  const hits = (group: string, peer: string, read: (i: number) => Promise<unknown>, cachet = false) => {
    const next = windows();
    cases.push({
      group,
      peer,
      cachet,
      ops: BATCH,
      fn: async () => {
        const s = next();
        const before = originCalls;
        let missed = 0;
        for (let i = 0; i < BATCH; i++) if ((await read(s + i)) === undefined) missed++;
        check(missed === 0 && originCalls === before, `${peer} missed on a hit`);
      },
    });
  };
  const jsonCache = (extra: { grace?: number } = {}) =>
    new TTLCache<User>({ maxSize: CAPACITY, ttl: TTL_SECONDS, serializer: new JsonSerializer<User>(), ...extra });
  const fill = async (cache: TTLCache<User>, tags?: string[]) => {
    for (const [i, key] of hitKeys.entries()) await cache.set(key, values[i], tags ? { tags } : undefined);
  };

  {
    const plain = jsonCache();
    await fill(plain);
    const load = (i: number) => plain.getOrSet(hitKeys[i], () => origin(i));
    hits(HIT, "cachet getOrSet", load, true);
    hits(OPTIONS, "cachet getOrSet", load, true);

    const graced = jsonCache({ grace: GRACE });
    await fill(graced);
    hits(OPTIONS, `cachet getOrSet, grace ${GRACE} s`, (i) => graced.getOrSet(hitKeys[i], () => origin(i)));

    const heard = jsonCache();
    await fill(heard);
    let events = 0;
    heard.addEventListener("hit", () => events++);
    hits(OPTIONS, "cachet getOrSet, a hit listener", (i) => heard.getOrSet(hitKeys[i], () => origin(i)));
    cleanups.push(() => check(events > 0, "the hit listener heard nothing"));
  }

  {
    // cached(): the key is built from the argument (an index here, "getUser:[i]").
    const fns = [jsonCache(), jsonCache({ grace: GRACE }), jsonCache()].map((cache) => {
      const getUser = cached(cache, { name: "getUser" })((i: number) => Promise.resolve(origin(i)));
      return { cache, getUser };
    });
    let events = 0;
    fns[2].cache.addEventListener("hit", () => events++);
    for (const { getUser } of fns) for (let i = 0; i < hitKeys.length; i++) await getUser(i);
    cleanups.push(() => check(events > 0, "the hit listener heard nothing"));
    hits(CACHED, "cachet cached()", fns[0].getUser, true);
    hits(CACHED, `cachet cached(), grace ${GRACE} s`, fns[1].getUser);
    hits(CACHED, "cachet cached(), a hit listener", fns[2].getUser);
  }

  {
    const untagged = jsonCache();
    await fill(untagged);
    const tagged = jsonCache();
    await fill(tagged, ["users"]);
    const tagged3 = jsonCache();
    await fill(tagged3, ["users", "team:core", "region:eu"]);
    hits(TAGS, "cachet get, untagged", (i) => untagged.get(hitKeys[i]), true);
    hits(TAGS, "cachet get, 1 tag", (i) => tagged.get(hitKeys[i]));
    hits(TAGS, "cachet get, 3 tags", (i) => tagged3.get(hitKeys[i]));
  }

  {
    // An in-process tier with grace over a backend that can be switched off: while it is off every call rejects at
    // once, as a client does when its connection is refused. The entries are stale (the fake clock is past their
    // TTL) and the origin is down too, so every call serves the stale copy.
    const outageBackend = () => {
      const store = new Map<string, Uint8Array>();
      const state = { down: false };
      const refuse = () => Promise.reject(new CacheError("backend down (benchmark)"));
      const backend: CacheBackend = {
        get: (key) => (state.down ? refuse() : Promise.resolve(store.get(key))),
        set: (key, value) => (state.down ? refuse() : (store.set(key, value), Promise.resolve())),
        delete: (key) => (state.down ? refuse() : (store.delete(key), Promise.resolve())),
        clear: () => (state.down ? refuse() : (store.clear(), Promise.resolve())),
      };
      return { backend, state };
    };
    // The stale caches' clock jumps past the TTL once they are filled; the healthy ones keep the wall clock.
    let now = Date.now();
    const fakeClock = { now: () => now };
    const make = (swr: boolean, l1: boolean, clock?: { now(): number }) => {
      const { backend, state } = outageBackend();
      const cache = new TTLCache<User>({
        ttl: TTL_SECONDS,
        grace: 3600,
        staleWhileRevalidate: swr,
        backend,
        clock,
        serializer: new JsonSerializer<User>(),
        ...(l1 ? { l1: { maxSize: CAPACITY } } : {}),
      });
      return { cache, state };
    };
    const healthy = make(false, true);
    const healthyNoL1 = make(false, false);
    const failing = make(false, true, fakeClock);
    const revalidating = make(true, true, fakeClock);
    let swallowed = 0;
    for (const { cache } of [healthy, healthyNoL1, failing, revalidating]) {
      cache.addEventListener("error", () => swallowed++);
      await fill(cache);
    }
    now += (TTL_SECONDS + 1) * 1000;
    failing.state.down = true;
    revalidating.state.down = true;
    const originDown = () => Promise.reject(new Error("origin down (benchmark)"));
    hits(OUTAGE, "cachet getOrSet, healthy l1 hit", (i) => healthy.cache.getOrSet(hitKeys[i], () => origin(i)), true);
    hits(
      OUTAGE,
      "cachet getOrSet, healthy backend hit (no l1)",
      (i) => healthyNoL1.cache.getOrSet(hitKeys[i], () => origin(i)),
    );
    hits(
      OUTAGE,
      "cachet getOrSet, stale served (backend and origin down)",
      (i) => failing.cache.getOrSet(hitKeys[i], originDown),
    );
    hits(
      OUTAGE,
      "cachet getOrSet, stale served (backend down, staleWhileRevalidate)",
      (i) => revalidating.cache.getOrSet(hitKeys[i], originDown),
    );
    cleanups.push(() => {
      check(
        failing.cache.cacheInfo().staleHits > 0 && revalidating.cache.cacheInfo().staleHits > 0,
        "no stale hit served",
      );
      check(swallowed > 0, "no backend error reported");
    });
  }

  if (!options.cachetOnly) {
    {
      const bento = new BentoCache({
        default: "memory",
        stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: CAPACITY })) },
      });
      cleanups.push(() => bento.disconnect());
      for (const [i, key] of hitKeys.entries()) await bento.set({ key, value: values[i], ttl: TTL_MS });
      hits(
        HIT,
        "bentocache getOrSet (memory)",
        (i) => bento.getOrSet({ key: hitKeys[i], factory: () => origin(i), ttl: TTL_MS }),
      );
    }
    {
      const cache = createCache({
        stores: [new Keyv({ store: new KeyvCacheableMemory({ ttl: TTL_MS, lruSize: CAPACITY }) })],
        ttl: TTL_MS,
      });
      cleanups.push(() => cache.disconnect());
      for (const [i, key] of hitKeys.entries()) await cache.set(key, values[i]);
      hits(HIT, "cache-manager 7 wrap (bounded LRU store)", (i) => cache.wrap(hitKeys[i], () => origin(i), TTL_MS));
    }
    {
      const cache = createCache({ ttl: TTL_MS });
      cleanups.push(() => cache.disconnect());
      for (const [i, key] of hitKeys.entries()) await cache.set(key, values[i]);
      hits(
        HIT,
        "cache-manager 7 wrap (default Map store, unbounded)",
        (i) => cache.wrap(hitKeys[i], () => origin(i), TTL_MS),
      );
    }
  }

  try {
    const rows = await measure(cases, options);
    rows.push(...(await deleteTagsRows(options)));
    const order = [HIT, OPTIONS, CACHED, TAGS, OUTAGE];
    rows.sort((a, b) => (order.indexOf(a.group) + 1 || 99) - (order.indexOf(b.group) + 1 || 99));
    return {
      suite: "read_through",
      title: "Read-through, memory backend, JSON values",
      runtime: runtimeName(),
      rows,
      notes: [
        "In a group whose reference is a cachet row, the other cachet rows are variants: the ratio is the cost of " +
        "the option (e.g. 1.05× = a hit with grace takes 5% longer).",
        "cachet and bentocache decode a fresh copy from JSON on every hit; cache-manager returns the stored object.",
        "The outage rows: a backend whose every call rejects at once, entries past their TTL but within grace, an " +
        "origin that rejects too; the healthy rows read the same kind of cache with the backend up.",
        "deleteTags: median of 21 calls on a cache holding N entries with the tag (memory backend); each call writes " +
        "one record, whatever N.",
      ],
    };
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}

/** The time of one deleteTags on caches of growing size: the rows that show it is constant. */
export async function deleteTagsRows(
  options: SuiteOptions,
  make: () => TTLCache<unknown> = () => new TTLCache<unknown>({ ttl: TTL_SECONDS, serializer: new JsonSerializer() }),
  where = "memory",
  done: (cache: TTLCache<unknown>) => unknown = () => {},
): Promise<Row[]> {
  const rows: Row[] = [];
  const sizes = options.quick ? [100, 1_000] : TAG_SIZES;
  const largest = sizes[sizes.length - 1];
  for (const n of sizes) {
    const cache = make();
    try {
      const names = keys("tagged", n);
      for (let start = 0; start < n; start += 1_000) {
        await cache.setMany(
          names.slice(start, start + 1_000).map((key, i) => ({ key, value: { i: start + i }, tags: ["all"] })),
        );
      }
      check((await cache.get(names[n - 1])) !== undefined, "tagged entry missing before deleteTags");
      const times: number[] = [];
      for (let i = 0; i < (options.quick ? 3 : 21); i++) {
        const t0 = performance.now();
        await cache.deleteTags(["all"]);
        times.push(performance.now() - t0);
      }
      check((await cache.get(names[0])) === undefined, "deleteTags left a tagged entry");
      times.sort((a, b) => a - b);
      rows.push({
        group: `deleteTags of one tag, ${where} (µs, median)`,
        peer: `${n === largest ? "cachet " : ""}${n.toLocaleString("en-US")} tagged entries`,
        cachet: n === largest,
        value: times[times.length >> 1] * 1000,
        unit: "µs",
        higherIsBetter: false,
      });
    } finally {
      await done(cache);
    }
  }
  return rows;
}
