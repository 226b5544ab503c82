// Stampede suite: 1,000 concurrent cold calls on one key of an origin that
// takes 20 ms; counts how often each cache's own dedupe lets the origin run.
import { createCache } from "cache-manager";
import { Keyv } from "keyv";
import { KeyvCacheableMemory } from "cacheable";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import pMemoize from "p-memoize";
import memoizee from "memoizee";
import { TTLCache } from "../../mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import { check, type Row, runtimeName, type SuiteOptions, type SuiteResult } from "./_harness.ts";
import { CAPACITY, record, TTL_SECONDS } from "./_fixtures.ts";
import { cached } from "../../decorator.ts";

const TTL_MS = TTL_SECONDS * 1000;
const CALLERS = 1_000;
const ORIGIN_MS = 20;

interface Subject {
  peer: string;
  cachet?: boolean;
  // Returns a function of the key, wrapping `origin`, and a cleanup.
  make(origin: (id: number) => Promise<unknown>): Promise<[(id: number) => Promise<unknown>, () => unknown]>;
}

/** Runs the stampede suite. */
export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const json = () => new TTLCache<unknown>({ maxSize: CAPACITY, ttl: TTL_SECONDS, serializer: new JsonSerializer() });
  const subjects: Subject[] = [
    {
      peer: "cachet cached({ lock: true })",
      cachet: true,
      make: (origin) => Promise.resolve([cached(json(), { lock: true, name: "origin" })(origin), () => {}]),
    },
    {
      peer: "cachet cached (no lock)",
      make: (origin) => Promise.resolve([cached(json(), { name: "origin" })(origin), () => {}]),
    },
  ];
  if (!options.cachetOnly) {
    subjects.push(
      {
        peer: "cache-manager wrap",
        make: (origin) => {
          const cache = createCache({
            stores: [new Keyv({ store: new KeyvCacheableMemory({ ttl: TTL_MS, lruSize: CAPACITY }) })],
            ttl: TTL_MS,
          });
          return Promise.resolve([
            (id) => cache.wrap(`origin:${id}`, () => origin(id), TTL_MS),
            () => cache.disconnect(),
          ]);
        },
      },
      {
        peer: "bentocache getOrSet",
        make: (origin) => {
          const bento = new BentoCache({
            default: "memory",
            stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: CAPACITY })) },
          });
          return Promise.resolve([
            (id) => bento.getOrSet({ key: `origin:${id}`, factory: () => origin(id), ttl: TTL_MS }),
            () => bento.disconnect(),
          ]);
        },
      },
      { peer: "p-memoize", make: (origin) => Promise.resolve([pMemoize(origin), () => {}]) },
      {
        peer: "memoizee ({ promise: true })",
        make: (origin) =>
          Promise.resolve([memoizee(origin, { promise: true, max: CAPACITY, maxAge: TTL_MS }), () => {}]),
      },
    );
  }
  const rounds = options.quick ? 1 : 3;
  const rows: Row[] = [];
  for (const subject of subjects) {
    let worst = 0;
    let slowest = 0;
    for (let round = 0; round < rounds; round++) {
      let calls = 0;
      const origin = async (id: number) => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, ORIGIN_MS));
        return record(id);
      };
      const [fn, cleanup] = await subject.make(origin);
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: CALLERS }, () => fn(7)));
      slowest = Math.max(slowest, performance.now() - started);
      check(results.every((r) => (r as { id: number }).id === 7), `${subject.peer} returned a wrong value`);
      worst = Math.max(worst, calls);
      await cleanup();
    }
    rows.push({
      group: `origin calls for ${CALLERS} concurrent cold calls`,
      peer: subject.peer,
      cachet: subject.cachet ?? false,
      value: worst,
      unit: "origin calls",
      higherIsBetter: false,
      note: `all settled in ${slowest.toFixed(0)} ms`,
    });
  }
  return {
    suite: "stampede",
    title: "Cache stampede: one cold key",
    runtime: runtimeName(),
    rows,
    notes: [
      `The origin takes ${ORIGIN_MS} ms; the worst of ${rounds} rounds is shown, with the slowest time for all ` +
      `${CALLERS} callers to get the value.`,
    ],
  };
}
