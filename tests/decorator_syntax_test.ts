// TC39 decorator syntax: runs on Deno and Bun (Node cannot strip decorators).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { cached, TTLCache } from "../mod.ts";
import type { CachedHelpers } from "../mod.ts";
import { JsonSerializer } from "../serializers/json.ts";

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));
const jsonCache = () => new TTLCache<unknown>({ serializer: new JsonSerializer<unknown>() });

describe("@cached", () => {
  test("@cached caches an async method, shared by all instances under Class#method keys", async () => {
    const cache = jsonCache();
    let calls = 0;
    class Users {
      readonly region: string;
      constructor(region: string) {
        this.region = region;
      }
      @cached(cache)
      async find(id: number): Promise<{ id: number; region: string }> {
        await tick();
        calls++;
        return { id, region: this.region };
      }
    }
    const eu = new Users("eu");
    assert.deepEqual(await eu.find(1), { id: 1, region: "eu" });
    assert.deepEqual(await new Users("us").find(1), { id: 1, region: "eu" }, "this is not part of the default key");
    assert.deepEqual(await eu.find(2), { id: 2, region: "eu" });
    assert.equal(calls, 2);
    assert.deepEqual(await cache.namespace("Users#find").get("Users#find:[1]"), { id: 1, region: "eu" });
    assert.equal(eu.find.name, "find");
    assert.equal(eu.find.length, 1);
    const helpers = eu.find as unknown as CachedHelpers;
    // Two hits: eu.find(1) the second time, and the cache.get() above.
    assert.deepEqual(helpers.cacheInfo(), {
      hits: 2,
      misses: 2,
      maxSize: 0,
      currSize: 2,
      evictions: 0,
      staleHits: 0,
      errors: 0,
      l1Hits: 0,
    });
    assert.equal((helpers.keyFor as (this: unknown, id: number) => string).call(eu, 1), "Users#find:[1]");
    await helpers.cacheClear();
    await eu.find(1);
    assert.equal(calls, 3, "cacheClear() dropped the method's entries");
  });

  test("@cached names keys after the defining class, for subclasses, overrides and static methods", async () => {
    const cache = jsonCache();
    const calls: string[] = [];
    class Base {
      @cached(cache, { lock: true })
      async load(id: number): Promise<string> {
        await tick();
        calls.push(`Base ${id}`);
        return `base ${id}`;
      }
      @cached(cache)
      static async count(): Promise<number> {
        await tick();
        calls.push("static");
        return 42;
      }
    }
    class Derived extends Base {
      // Calls the cached Base#load under its own lock: distinct keys, so no deadlock.
      @cached(cache, { lock: true })
      override async load(id: number): Promise<string> {
        calls.push(`Derived ${id}`);
        return `derived ${await super.load(id)}`;
      }
    }
    class Plain extends Base {}
    assert.equal(await new Derived().load(1), "derived base 1");
    assert.equal(await new Plain().load(1), "base 1");
    assert.equal(await new Base().load(1), "base 1");
    assert.equal(await Base.count(), 42);
    assert.equal(await Derived.count(), 42);
    assert.deepEqual(calls, ["Derived 1", "Base 1", "static"]);
    assert.equal(await cache.namespace("Base#load").get("Base#load:[1]"), "base 1");
    assert.equal(await cache.namespace("Derived#load").get("Derived#load:[1]"), "derived base 1");
    assert.equal(await cache.namespace("Base.count").get("Base.count:[]"), 42);
  });

  test("@cached with keyMaker gives per-instance keys through this", async () => {
    const cache = jsonCache();
    let calls = 0;
    class Tenant {
      readonly id: string;
      constructor(id: string) {
        this.id = id;
      }
      @cached(cache, { keyMaker: (_fn, args, self) => `tenant:${(self as Tenant).id}:${args[0]}` })
      async setting(name: string): Promise<string> {
        await tick();
        calls++;
        return `${this.id}.${name}`;
      }
    }
    assert.equal(await new Tenant("a").setting("x"), "a.x");
    assert.equal(await new Tenant("b").setting("x"), "b.x");
    assert.equal(await new Tenant("a").setting("x"), "a.x");
    assert.equal(calls, 2);
  });

  test("@cached on a private method needs the name option", async () => {
    const cache = jsonCache();
    assert.throws(
      () => {
        class Hidden {
          @cached(cache)
          async #secret(): Promise<number> {
            await tick();
            return 1;
          }
          run() {
            return this.#secret();
          }
        }
        return Hidden;
      },
      { name: "TypeError", message: /private method #secret; pass the name option/ },
    );
    // No parameters: Deno 2.9 fails to compile a decorated private method that has any.
    let calls = 0;
    class Named {
      @cached(cache, { name: "Named#secret" })
      async #secret(): Promise<number> {
        await tick();
        return ++calls;
      }
      run() {
        return this.#secret();
      }
    }
    assert.equal(await new Named().run(), 1);
    assert.equal(await new Named().run(), 1);
    assert.equal(await cache.namespace("Named#secret").get("Named#secret:[]"), 1);
  });

  test("@cached rejects a call whose this is not an instance, unless named", async () => {
    const cache = jsonCache();
    class Service {
      @cached(cache)
      async get(): Promise<number> {
        await tick();
        return 1;
      }
    }
    const detached = new Service().get;
    await assert.rejects(detached(), {
      name: "TypeError",
      message: /cannot find the named class that defines it from this \(undefined\)/,
    });
    assert.equal(await new Service().get(), 1);
  });

  test("@cached with a key template reading this: the cache's key; refresh() and cacheClear() reach the method", async () => {
    const cache = jsonCache();
    let calls = 0;
    class Repo {
      readonly region: string;
      constructor(region: string) {
        this.region = region;
      }
      @cached(cache, { key: "repo:{this.region}:{0}", tags: ["repo:{this.region}"] })
      async find(id: number): Promise<string> {
        await tick();
        return `${this.region}-${id}-${++calls}`;
      }
    }
    const eu = new Repo("eu");
    assert.equal(await eu.find(1), "eu-1-1");
    assert.equal(await new Repo("us").find(1), "us-1-2", "this is part of the key");
    assert.equal(await cache.get("repo:eu:1"), "eu-1-1");
    const helpers = eu.find as unknown as CachedHelpers<(this: Repo, id: number) => Promise<string>>;
    assert.equal(helpers.keyFor.call(eu, 1), "repo:eu:1");
    assert.equal(await helpers.refresh.call(eu, 1), "eu-1-3");
    assert.equal(await eu.find(1), "eu-1-3");
    await cache.deleteTags(["repo:us"]);
    assert.equal(await cache.get("repo:us:1"), undefined);
    await helpers.cacheClear.call(eu);
    assert.equal(await cache.get("repo:eu:1"), undefined, "cacheClear() deleted the method's tag");
  });

  test("@cached on an async generator method caches the stream; a private cache decorates too", async () => {
    let runs = 0;
    class Feed {
      @cached({ ttl: 60, maxSize: 10 })
      async *items(n: number): AsyncGenerator<{ n: number; i: number }> {
        runs++;
        for (let i = 0; i < n; i++) yield { n, i };
      }
    }
    const feed = new Feed();
    const got: unknown[] = [];
    for await (const item of feed.items(2) as unknown as AsyncIterable<unknown>) got.push(item);
    assert.deepEqual(got, [{ n: 2, i: 0 }, { n: 2, i: 1 }]);
    const helpers = feed.items as unknown as { collect(n: number): Promise<unknown[]>; cacheInfo(): { hits: number } };
    assert.deepEqual(await helpers.collect.call(feed, 2), got);
    assert.equal(runs, 1);
    assert.equal(helpers.cacheInfo().hits, 1);
  });

  test("@cached on a backend other processes read needs the name option", () => {
    const cache = new TTLCache<unknown>({
      backend: {
        get: () => Promise.resolve(undefined),
        set: () => Promise.resolve(),
        delete: () => Promise.resolve(),
        clear: () => Promise.resolve(),
      },
      serializer: new JsonSerializer<unknown>(),
    });
    assert.throws(() => {
      class Users {
        @cached(cache)
        async find(): Promise<number> {
          return await Promise.resolve(1);
        }
      }
      return Users;
    }, { name: "TypeError", message: /^Cannot create cached function Class#find: pass the name option/ });
    class Named {
      @cached(cache, { name: "Users#find" })
      async find(): Promise<number> {
        return await Promise.resolve(1);
      }
    }
    assert.equal(typeof new Named().find, "function");
  });
});
