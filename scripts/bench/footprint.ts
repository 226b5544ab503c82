// Footprint suite: heap bytes per entry with 1M small entries (needs --expose-gc;
// run.ts spawns it so). Every cache holds the same keys and the same small
// values with the same TTL and a bound of N entries; keys and values are counted
// for all of them, so the differences are each cache's own overhead.
import { LRUCache } from "lru-cache";
import { TTLCache } from "../../mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import {
  check,
  collectGarbage,
  heapBytes,
  type Row,
  runtimeName,
  type SuiteOptions,
  type SuiteResult,
} from "./_harness.ts";
import { record, TTL_SECONDS } from "./_fixtures.ts";
import { option } from "../_common.ts";

const encoder = new TextEncoder();
const small = (i: number) => ({ id: i, ok: true });

interface Subject {
  /** Set for the 80-byte records group (default: the small values). */
  records?: boolean;
  peer: string;
  cachet?: boolean;
  fill(n: number): Promise<unknown>;
}

// A full GC, then time for the engine to release freed ArrayBuffer backing
// stores (done after the GC, off the main thread), then another full GC.
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  collectGarbage();
}

function l1Subject(peer: string, tagged: boolean, namespaced: boolean, reads = 0): Subject {
  return {
    peer,
    cachet: true,
    fill: async (n) => {
      const records = new Map<string, Uint8Array>();
      const backend = {
        get: (key: string) => Promise.resolve(records.get(key)),
        set: (key: string, value: Uint8Array) => {
          if (key.startsWith("\0t") || key.startsWith("\0g")) records.set(key, value);
          return Promise.resolve();
        },
        delete: () => Promise.resolve(),
        clear: () => Promise.resolve(),
      };
      const root = new TTLCache({ ttl: TTL_SECONDS, backend, serializer: new JsonSerializer(), l1: { maxSize: n } });
      const cache = namespaced ? root.namespace("users") : root;
      for (let i = 0; i < n; i++) {
        await cache.set(`key:${i}`, small(i), tagged ? { tags: [`tag:${i % 100}`] } : undefined);
      }
      // Hit twice, a copy keeps the settled promise its later hits share (at most 4,096 copies a tier do).
      for (let read = 0; read < reads; read++) for (let i = 0; i < n; i++) await cache.get(`key:${i}`);
      check((await cache.get(`key:${n - 1}`)) !== undefined, "cachet l1 lost entries");
      check((await cache.get("key:0")) !== undefined, "cachet l1 lost its first entry");
      return root;
    },
  };
}

// lru-cache holding the small values, or (`records`) the 80-byte records.
function lruSubject(records: boolean): Subject {
  return {
    records,
    peer: "lru-cache",
    fill: (n) => {
      const cache = new LRUCache<string, object>({ max: n, ttl: TTL_SECONDS * 1000 });
      for (let i = 0; i < n; i++) cache.set(`key:${i}`, records ? record(i) : small(i));
      check(cache.size === n, "lru-cache lost entries");
      return Promise.resolve(cache);
    },
  };
}

/** Runs the footprint suite. */
export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const entries = option("--entries");
  const n = entries !== undefined ? Number(entries) : options.quick ? 20_000 : 1_000_000;
  const subjects: Subject[] = [
    {
      peer: "cachet TTLCache (JSON)",
      cachet: true,
      fill: async (n) => {
        const cache = new TTLCache({ maxSize: n, ttl: TTL_SECONDS, serializer: new JsonSerializer() });
        for (let i = 0; i < n; i++) await cache.set(`key:${i}`, small(i));
        check(cache.cacheInfo().currSize === n, "cachet (JSON) lost entries");
        return cache;
      },
    },
    {
      peer: "cachet TTLCache (bytes)",
      cachet: true,
      fill: async (n) => {
        const cache = new TTLCache({ maxSize: n, ttl: TTL_SECONDS });
        for (let i = 0; i < n; i++) await cache.set(`key:${i}`, encoder.encode(JSON.stringify(small(i))));
        check(cache.cacheInfo().currSize === n, "cachet (bytes) lost entries");
        return cache;
      },
    },
    // A memory-backend entry keeps its decoded value once read (copied on each hit instead of parsed): what that costs.
    ...["never read", "each read once", "each read twice"].map((reads, times): Subject => ({
      records: true,
      peer: `cachet TTLCache (JSON), ${reads}`,
      cachet: true,
      fill: async (n) => {
        const cache = new TTLCache({ maxSize: n, ttl: TTL_SECONDS, serializer: new JsonSerializer() });
        for (let i = 0; i < n; i++) await cache.set(`key:${i}`, record(i));
        for (let read = 0; read < times; read++) for (let i = 0; i < n; i++) await cache.get(`key:${i}`);
        check(cache.cacheInfo().currSize === n, "cachet (JSON records) lost entries");
        return cache;
      },
    })),
    // The in-process tier alone: a backend that keeps only tag and namespace
    // records, so what remains is l1's decoded values and bookkeeping.
    l1Subject("cachet l1 tier (JSON, decoded values)", false, false),
    l1Subject("cachet l1 tier (JSON, decoded values), every entry read once", false, false, 1),
    l1Subject("cachet l1 tier (JSON, decoded values), every entry read twice", false, false, 2),
    l1Subject("cachet l1 tier, 1 tag of 100", true, false),
    l1Subject("cachet l1 tier, namespaced, 1 tag of 100", true, true),
  ];
  if (!options.cachetOnly) {
    subjects.push(
      lruSubject(false),
      lruSubject(true),
      {
        peer: "Map (floor)",
        fill: (n) => {
          const map = new Map<string, object>();
          for (let i = 0; i < n; i++) map.set(`key:${i}`, small(i));
          return Promise.resolve(map);
        },
      },
    );
  }
  const rows: Row[] = [];
  const retained: unknown[] = [];
  for (const subject of subjects) {
    await settle();
    const heapBefore = heapBytes();
    // Held in an array, so liveness analysis cannot free the cache before it is measured.
    retained.push(await subject.fill(n));
    await settle();
    const perEntry = (heapBytes() - heapBefore) / n;
    retained.length = 0;
    rows.push({
      group: `bytes per entry${subject.records ? ", 80-byte records" : ""} (${n.toLocaleString("en-US")} entries)`,
      peer: subject.peer,
      cachet: subject.cachet ?? false,
      value: perEntry,
      unit: "bytes/entry",
      higherIsBetter: false,
    });
  }
  return {
    suite: "footprint",
    title: "Memory footprint per entry",
    runtime: runtimeName(),
    rows,
    notes: [
      "Heap = V8 heapUsed + external (ArrayBuffer backing stores), after a full GC, minus the same before filling.",
      "Values are { id, ok } objects; cachet stores them as bytes (its JSON encoding), the others by reference.",
      "The 80-byte records group holds the suites' user record ({ id, name, roles, active }): a memory-backend entry " +
      "of more than 64 bytes is marked when first read and keeps its decoded value from the second read on (each hit then " +
      "copies it instead of parsing the bytes).",
      "The l1 rows are the in-process tier alone (over a backend that keeps only tag and namespace records): the " +
      "decoded value of each entry, its times, its record tokens and its LRU slot, plus the cache's count of it; " +
      "tagged entries carry one of 100 tags, namespaced ones live in one namespace. A copy hit a second time keeps " +
      "the settled promise its later hits share (so a hot key's hits allocate nothing): the rows of entries read " +
      "once and twice show its cost.",
    ],
  };
}
