// A cached function's keys do not depend on what a bundler names it: one build from source and one bundled by
// esbuild (which renames getUser to getUser2) share entries through one Redis. Issue #19, item 5.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { RedisCacheBackend } from "../backends/redis/mod.ts";
import { JsonSerializer } from "../serializers/json.ts";
import { TTLCache } from "../ttl_cache.ts";
import { deletePrefix, rawClient, REDIS_URL, sharedRedisSkip, uniquePrefix } from "./_redis_server.ts";
import * as source from "./bundled_keys/service.ts";

const skip = await sharedRedisSkip();
type Service = ReturnType<typeof source.service>;

describe("cached() keys across a bundled and an unbundled build", { skip }, () => {
  const prefix = uniquePrefix("bundled-keys");
  const dir = mkdtempSync(join(tmpdir(), "cachet-bundled-keys-"));
  const opened: { backend: RedisCacheBackend; service: Service }[] = [];
  after(async () => {
    for (const { backend, service } of opened) {
      await service.close();
      await backend.close();
    }
    const client = rawClient();
    await deletePrefix(client, prefix);
    client.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (make: (backend: RedisCacheBackend) => Service): Service => {
    const backend = new RedisCacheBackend({ url: REDIS_URL, prefix });
    const service = make(backend);
    opened.push({ backend, service });
    return service;
  };

  test("with the name option both builds share entries, though the bundler renamed the function", async () => {
    const entry = fileURLToPath(new URL("./bundled_keys/service.ts", import.meta.url));
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      format: "esm",
      platform: "neutral",
      write: false,
    });
    const file = join(dir, "service.mjs");
    writeFileSync(file, result.outputFiles[0].text);
    const bundled = (await import(pathToFileURL(file).href)) as typeof source;

    const fromSource = open(source.service);
    const fromBundle = open(bundled.service);
    assert.equal(fromSource.functionName, "getUser");
    assert.equal(fromBundle.functionName, "getUser2", "esbuild renamed the function in the bundle");
    assert.equal(fromBundle.other, "other 0");

    assert.deepEqual(await fromSource.named(1), { id: 1, by: "getUser" });
    assert.deepEqual(await fromBundle.named(1), { id: 1, by: "getUser" }, "the bundle read the source build's entry");
    assert.deepEqual(fromBundle.calls, [], "the bundled build never ran the function");
    assert.equal(fromBundle.named.keyFor(1), fromSource.named.keyFor(1));

    assert.deepEqual(await fromBundle.templated(2), { id: 2, by: "getUser2" });
    assert.deepEqual(await fromSource.templated(2), { id: 2, by: "getUser2" });
    assert.deepEqual(fromSource.calls, [1]);
    await fromSource.templated.cacheClear();
    await fromBundle.templated(2);
    assert.deepEqual(fromBundle.calls, [2, 2], "cacheClear() from one build cleared the other's entry");

    // A third party reaches the entry by its key alone.
    const backend = new RedisCacheBackend({ url: REDIS_URL, prefix });
    const admin = new TTLCache<unknown>({ backend, serializer: new JsonSerializer<unknown>() });
    try {
      assert.deepEqual(await admin.get("user:2"), { id: 2, by: "getUser2" });
      await admin.delete("user:2");
      await fromSource.templated(2);
      assert.deepEqual(fromSource.calls, [1, 2], "a delete by key from elsewhere invalidated the memoized call");
      await admin.set("user:3", { id: 3, by: "admin" });
      assert.deepEqual(await fromBundle.templated(3), { id: 3, by: "admin" });
    } finally {
      await admin.close();
      await backend.close();
    }
  });

  test("without the name option neither build accepts a shared backend, and the message says why", () => {
    const fromSource = open(source.service);
    assert.throws(() => fromSource.unnamed(), {
      name: "TypeError",
      message:
        /^Cannot create cached function getUser: pass the name option \(cached\(cache, \{ name: "getUser" \}\)\): its entries live in RedisCacheBackend/,
    });
  });
});
