// The contract every CacheBackend must honour. Call it from the backend's test
// file with a factory; each case gets a fresh backend, disposed afterwards.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { CacheBackend } from "../types.ts";

export interface ConformanceOptions {
  /** Makes a backend that is empty, or whose keys do not clash with other cases. */
  create(): CacheBackend | Promise<CacheBackend>;
  /** Releases a backend made by `create`. */
  dispose?(backend: CacheBackend): void | Promise<void>;
  /** Waits long enough for a real server's TTL to pass. */
  sleep?(ms: number): Promise<void>;
}

const bytes = (...values: number[]) => new Uint8Array(values);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function backendConformance(name: string, options: ConformanceOptions): void {
  const sleep = options.sleep ?? defaultSleep;
  async function withBackend(fn: (backend: CacheBackend) => Promise<void>): Promise<void> {
    const backend = await options.create();
    try {
      await fn(backend);
    } finally {
      await options.dispose?.(backend);
    }
  }

  describe(`${name} conformance`, () => {
    test(`${name}.get() returns undefined for a missing key`, () =>
      withBackend(async (backend) => {
        assert.equal(await backend.get("missing"), undefined);
      }));

    test(`${name}.set() then get() returns equal bytes`, () =>
      withBackend(async (backend) => {
        await backend.set("k", bytes(1, 2, 3), 60);
        const got = await backend.get("k");
        assert.ok(got instanceof Uint8Array);
        assert.deepEqual([...got], [1, 2, 3]);
      }));

    test(`${name} stores empty and binary values byte for byte`, () =>
      withBackend(async (backend) => {
        const all = new Uint8Array(256).map((_, i) => i);
        await backend.set("empty", new Uint8Array(0), 60);
        await backend.set("all", all, 60);
        assert.deepEqual([...(await backend.get("empty"))!], []);
        assert.deepEqual([...(await backend.get("all"))!], [...all]);
      }));

    test(`${name} treats keys as exact strings (unicode, glob characters, empty)`, () =>
      withBackend(async (backend) => {
        const keys = ["", "a*b", "a?c", "[x]", "back\\slash", "ключ", "🔑", "a b", "A"];
        for (const [i, key] of keys.entries()) await backend.set(key, bytes(i), 60);
        for (const [i, key] of keys.entries()) assert.deepEqual([...(await backend.get(key))!], [i], key);
        assert.equal(await backend.get("a"), undefined);
      }));

    test(`${name}.set() overwrites an existing key`, () =>
      withBackend(async (backend) => {
        await backend.set("k", bytes(1), 60);
        await backend.set("k", bytes(2), 60);
        assert.deepEqual([...(await backend.get("k"))!], [2]);
      }));

    test(`${name}.delete() removes a key and is a no-op when absent`, () =>
      withBackend(async (backend) => {
        await backend.set("k", bytes(1), 60);
        await backend.delete("k");
        assert.equal(await backend.get("k"), undefined);
        await backend.delete("k");
        await backend.delete("never-set");
      }));

    test(`${name}.clear() removes every entry`, () =>
      withBackend(async (backend) => {
        for (let i = 0; i < 50; i++) await backend.set(`k${i}`, bytes(i), 60);
        await backend.clear();
        for (let i = 0; i < 50; i++) assert.equal(await backend.get(`k${i}`), undefined);
        await backend.clear();
        await backend.set("after", bytes(9), 60);
        assert.deepEqual([...(await backend.get("after"))!], [9]);
      }));

    test(`${name} expires an entry after its ttl`, () =>
      withBackend(async (backend) => {
        await backend.set("short", bytes(1), 0.05);
        await backend.set("long", bytes(2), 60);
        assert.deepEqual([...(await backend.get("short"))!], [1]);
        await sleep(120);
        assert.equal(await backend.get("short"), undefined);
        assert.deepEqual([...(await backend.get("long"))!], [2]);
      }));

    test(`${name} accepts fractional ttls`, () =>
      withBackend(async (backend) => {
        await backend.set("k", bytes(1), 1.5);
        assert.deepEqual([...(await backend.get("k"))!], [1]);
      }));

    test(`${name} handles many concurrent operations`, () =>
      withBackend(async (backend) => {
        await Promise.all(Array.from({ length: 200 }, (_, i) => backend.set(`c${i}`, bytes(i % 256), 60)));
        const got = await Promise.all(Array.from({ length: 200 }, (_, i) => backend.get(`c${i}`)));
        got.forEach((value, i) => assert.deepEqual([...value!], [i % 256]));
      }));
  });
}
