// A service as one build sees it: tests/decorator_bundled_keys_test.ts runs it from source and bundled by esbuild,
// where this getUser collides with other.ts's and is renamed.
import { cached, TTLCache } from "../../mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import type { CacheBackend } from "../../types.ts";
import { getUser as otherGetUser } from "./other.ts";

async function getUser(id: number): Promise<{ id: number; by: string }> {
  calls.push(id);
  return await Promise.resolve({ id, by: getUser.name });
}

const calls: number[] = [];

/** The service's cached functions over `backend`. */
export function service(backend: CacheBackend) {
  const cache = new TTLCache<unknown>({ backend, serializer: new JsonSerializer<unknown>() });
  return {
    calls,
    functionName: getUser.name,
    other: otherGetUser(0),
    named: cached(cache, { name: "getUser" })(getUser),
    templated: cached(cache, { name: "getUser", key: "user:{0}" })(getUser),
    unnamed: () => cached(cache)(getUser),
    close: () => cache.close(),
  };
}
