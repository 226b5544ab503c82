// The browser page of scripts/smoke_browser.ts, written as a browser user writes it after `npm i cachet`: the bundler
// resolves the package's exports. It runs round trips and reports what it saw in `globalThis.cachetResults`; the
// driver compares that with what it expects. A new check is one block here and one line in the driver's `expected`.
import { BroadcastChannelBus, cached, CacheError, TTLCache } from "cachet";
import { MemoryCacheBackend } from "cachet/memory";
import { JsonSerializer } from "cachet/json";
import { StructuredSerializer } from "cachet/structured";

const results = {};
const backend = new MemoryCacheBackend();

// Core + memory backend + JSON serializer, with an LRU bound of 2.
const errors = [];
const json = new TTLCache({ backend, serializer: new JsonSerializer(), maxSize: 2, onError: (e) => errors.push(e) });
await json.set("user:1", { id: 1, name: "Ada" });
await json.set("user:2", { id: 2, name: "Grace" });
await json.get("user:1");
await json.set("user:3", { id: 3, name: "Edsger" }); // evicts user:2
results.json = {
  user1: await json.get("user:1"),
  user2: await json.get("user:2", "evicted"),
  info: json.cacheInfo(),
};

// Undecodable bytes are a counted miss reported to onError, never a crash.
await backend.set("garbage", new Uint8Array([0xff, 0xfe]), 60);
results.untrusted = { value: await json.get("garbage", "miss"), cacheError: errors[0] instanceof CacheError };

// Raw bytes without a serializer, and a per-entry ttl that runs out (real time: 50 ms).
const raw = new TTLCache({ ttl: 60 });
await raw.set("bytes", new Uint8Array([1, 2, 3]));
await raw.set("short", new Uint8Array([9]), 0.05);
await new Promise((resolve) => setTimeout(resolve, 120));
results.raw = { bytes: [...(await raw.get("bytes"))], short: (await raw.get("short")) ?? "expired" };

// cached(): the second call is a hit, the function runs once per argument.
let calls = 0;
const square = cached(new TTLCache({ serializer: new JsonSerializer() }))(function square(n) {
  calls++;
  return n * n;
});
results.cached = { values: [await square(4), await square(4), await square(5)], calls, hits: square.cacheInfo().hits };

// Rich and cyclic values through the structured serializer (msgpackr's browser build).
const rich = new TTLCache({ backend, serializer: new StructuredSerializer() });
const value = { when: new Date(0), tags: new Map([["n", 1n]]), seen: new Set(["a"]) };
value.self = value;
await rich.set("rich", value);
const copy = await rich.get("rich");
results.structured = {
  when: copy.when.toISOString(),
  n: typeof copy.tags.get("n") === "bigint" ? String(copy.tags.get("n")) : "lost",
  seen: [...copy.seen],
  cyclic: copy.self === copy,
};

// Bad arguments fail fast with a clear message.
try {
  new TTLCache({ ttl: -1 });
} catch (error) {
  results.validation = `${error.name}: ${error.message}`;
}

globalThis.cachetResults = results;
document.querySelector("#results").textContent = JSON.stringify(results, null, 2);

// Two pages of one origin: each makes its caches with `cachetBusPage()` (driven by scripts/smoke_browser.ts), and
// a BroadcastChannelBus carries one page's writes to the other's in-process tier. The backend counts its reads, so
// the driver can tell an l1 hit (no read) from a read that went back to the backend after an invalidation.
globalThis.cachetBusPage = async (name) => {
  const store = new MemoryCacheBackend();
  const counted = {
    reads: 0,
    get(key) {
      counted.reads++;
      return store.get(key);
    },
    set: (key, value, ttl) => store.set(key, value, ttl),
    delete: (key) => store.delete(key),
    clear: () => store.clear(),
  };
  const cache = new TTLCache({
    backend: counted,
    serializer: new JsonSerializer(),
    l1: { maxSize: 10 },
    bus: new BroadcastChannelBus(name),
  });
  // Both pages start from the same old value in their own backend.
  await cache.set("user", "old");
  globalThis.cachetBus = {
    set: (value) => cache.set("user", value),
    get: async () => ({ value: await cache.get("user"), reads: counted.reads }),
  };
};
