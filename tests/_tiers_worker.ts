// A worker thread for ttl_cache_tiers_test.ts: a TTLCache with an in-process tier over a private Redis, its bus a
// BroadcastChannelBus, plus a control cache with an l1 and no bus. Answers the test's requests
// ({ id, op: "set" | "delete" | "deleteTags" | "get" | "close", ... }) with { id, ... }.
import { parentPort, workerData } from "node:worker_threads";
import { BroadcastChannelBus, TTLCache } from "../mod.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { RedisCacheBackend } from "../backends/redis/mod.ts";

const { url, prefix, name } = workerData as { url: string; prefix: string; name: string };
const backend = new RedisCacheBackend({ url, prefix, timeout: 2_000 });
const bus = new BroadcastChannelBus(name);
const serializer = new JsonSerializer<number>();
const cache = new TTLCache<number>({ backend, bus, l1: { maxSize: 100 }, serializer });
const control = new TTLCache<number>({ backend, l1: { maxSize: 100 }, serializer });

interface Request {
  id: number;
  op: string;
  key: string;
  value: number;
  tags?: string[];
}

parentPort!.on("message", async (request: Request) => {
  const { id, op, key } = request;
  try {
    if (op === "set") await cache.set(key, request.value, { tags: request.tags });
    else if (op === "delete") await cache.delete(key);
    else if (op === "deleteTags") await cache.deleteTags(request.tags!);
    else if (op === "get") {
      const value = await cache.get(key);
      parentPort!.postMessage({ id, value, control: await control.get(key), l1Hits: cache.cacheInfo().l1Hits });
      return;
    } else if (op === "close") {
      await cache.close();
      await bus.close();
      await backend.close();
      parentPort!.postMessage({ id });
      parentPort!.close();
      return;
    }
    parentPort!.postMessage({ id });
  } catch (error) {
    parentPort!.postMessage({ id, error: String(error) });
  }
});
// Tells the test the worker has loaded and listens.
parentPort!.postMessage({ ready: true });
