/**
 * The contract every {@linkcode CacheBackend} must honour, as test cases that
 * need no test runner: register them with `node:test`, `Deno.test`, `bun:test`
 * or a browser harness. Each case gets a fresh backend from `create` and
 * disposes of it afterwards; a failing case throws an `Error`.
 *
 * Registering them in a test file, here `tests/my_backend_test.ts` (with
 * `Deno.test` on Deno, or `node:test`, which Node, Bun and Deno all run):
 *
 * ```ts ignore
 * import { test } from "node:test";
 * import { backendConformanceCases } from "@cachet/cachet/testing";
 * import { MyBackend } from "../my_backend.ts";
 *
 * for (const { name, fn } of backendConformanceCases({ create: () => new MyBackend() })) {
 *   test(`MyBackend: ${name}`, fn);
 * }
 * ```
 *
 * @example Running the cases directly (any runtime, a browser too)
 * ```ts
 * import assert from "node:assert/strict";
 * import { backendConformanceCases } from "@cachet/cachet/testing";
 * import { MemoryCacheBackend } from "@cachet/cachet/memory";
 *
 * const cases = backendConformanceCases({ create: () => new MemoryCacheBackend() });
 * for (const { fn } of cases) await fn(); // throws on the first case the backend fails
 * assert(cases.length === 10);
 * ```
 *
 * @module
 */
import { checkFunction, checkOptions, optionNames } from "./_validate.ts";
import type { CacheBackend } from "./types.ts";

/** Options of {@linkcode backendConformanceCases}. */
export interface BackendConformanceOptions {
  /**
   * Makes a backend that is empty, or whose keys do not clash with those of
   * other cases (a unique prefix on a shared server).
   */
  create(): CacheBackend | Promise<CacheBackend>;
  /**
   * Releases a backend made by `create` (closes a connection).
   *
   * @default {nothing}
   */
  dispose?(backend: CacheBackend): void | Promise<void>;
  /**
   * Waits for `ms` milliseconds, long enough for the backend's TTLs to pass.
   *
   * @default {a setTimeout}
   */
  sleep?(ms: number): Promise<void>;
}

const CONFORMANCE_OPTIONS = optionNames<BackendConformanceOptions>({ create: true, dispose: true, sleep: true });

/** One conformance case: a name and a function that rejects with an `Error` when the backend fails it. */
export interface BackendConformanceCase {
  /** What the case checks, e.g. `"set() overwrites an existing key"`. */
  readonly name: string;
  /** Runs the case on a fresh backend. */
  readonly fn: () => Promise<void>;
}

const bytes = (...values: number[]) => new Uint8Array(values);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// A private assertion: the suite must not depend on node:assert (browsers have none).
function expectBytes(actual: unknown, expected: readonly number[], what: string): void {
  const ok = actual instanceof Uint8Array && actual.length === expected.length &&
    expected.every((value, i) => actual[i] === value);
  if (!ok) {
    const got = actual instanceof Uint8Array ? `Uint8Array [${actual.join(", ")}]` : String(actual);
    throw new Error(`${what}: expected Uint8Array [${expected.join(", ")}], got ${got}`);
  }
}

function expectMissing(actual: unknown, what: string): void {
  if (actual !== undefined) throw new Error(`${what}: expected undefined (a miss), got ${String(actual)}`);
}

/**
 * Returns the backend conformance cases: get/set/delete/clear round trips,
 * exact keys, binary values, overwrite, expiry after a (fractional) ttl, and
 * concurrency.
 *
 * @param options How to make, release and wait for backends, see {@linkcode BackendConformanceOptions}.
 * @returns The cases, in a stable order; each one rejects with an `Error` naming what failed.
 * @throws {TypeError} When an option is unknown, or `create`, `dispose` or `sleep` is not a function.
 */
export function backendConformanceCases(options: BackendConformanceOptions): BackendConformanceCase[] {
  const context = "Cannot make the conformance cases";
  checkOptions(context, options, CONFORMANCE_OPTIONS);
  if (options === undefined) throw new TypeError(`${context}: options must be an object: received undefined`);
  checkFunction(context, "create", options.create);
  if (options.create === undefined) throw new TypeError(`${context}: create must be a function: received undefined`);
  checkFunction(context, "dispose", options.dispose);
  checkFunction(context, "sleep", options.sleep);
  const sleep = options.sleep ?? defaultSleep;
  const withBackend = (fn: (backend: CacheBackend) => Promise<void>) => async (): Promise<void> => {
    const backend = await options.create();
    try {
      await fn(backend);
    } finally {
      await options.dispose?.(backend);
    }
  };
  const cases: [string, (backend: CacheBackend) => Promise<void>][] = [
    ["get() returns undefined for a missing key", async (backend) => {
      expectMissing(await backend.get("missing"), 'get("missing")');
    }],
    ["set() then get() returns equal bytes", async (backend) => {
      await backend.set("k", bytes(1, 2, 3), 60);
      expectBytes(await backend.get("k"), [1, 2, 3], 'get("k")');
    }],
    ["stores empty and binary values byte for byte", async (backend) => {
      const all = Array.from({ length: 256 }, (_, i) => i);
      await backend.set("empty", new Uint8Array(0), 60);
      await backend.set("all", new Uint8Array(all), 60);
      expectBytes(await backend.get("empty"), [], 'get("empty")');
      expectBytes(await backend.get("all"), all, 'get("all")');
    }],
    ["treats keys as exact strings (unicode, glob characters, empty)", async (backend) => {
      const keys = ["", "a*b", "a?c", "[x]", "back\\slash", "ключ", "🔑", "a b", "A"];
      for (const [i, key] of keys.entries()) await backend.set(key, bytes(i), 60);
      for (const [i, key] of keys.entries()) expectBytes(await backend.get(key), [i], `get(${JSON.stringify(key)})`);
      expectMissing(await backend.get("a"), 'get("a")');
    }],
    ["set() overwrites an existing key", async (backend) => {
      await backend.set("k", bytes(1), 60);
      await backend.set("k", bytes(2), 60);
      expectBytes(await backend.get("k"), [2], 'get("k") after the second set');
    }],
    ["delete() removes a key and is a no-op when absent", async (backend) => {
      await backend.set("k", bytes(1), 60);
      await backend.delete("k");
      expectMissing(await backend.get("k"), 'get("k") after delete');
      await backend.delete("k");
      await backend.delete("never-set");
    }],
    ["clear() removes every entry", async (backend) => {
      for (let i = 0; i < 50; i++) await backend.set(`k${i}`, bytes(i), 60);
      await backend.clear();
      for (let i = 0; i < 50; i++) expectMissing(await backend.get(`k${i}`), `get("k${i}") after clear`);
      await backend.clear();
      await backend.set("after", bytes(9), 60);
      expectBytes(await backend.get("after"), [9], 'get("after") after a set following clear');
    }],
    ["expires an entry after its ttl", async (backend) => {
      await backend.set("short", bytes(1), 0.05);
      await backend.set("long", bytes(2), 60);
      expectBytes(await backend.get("short"), [1], 'get("short") before its ttl');
      await sleep(120);
      expectMissing(await backend.get("short"), 'get("short") after its ttl of 0.05 s');
      expectBytes(await backend.get("long"), [2], 'get("long")');
    }],
    ["accepts fractional ttls", async (backend) => {
      await backend.set("k", bytes(1), 1.5);
      expectBytes(await backend.get("k"), [1], 'get("k") with ttl 1.5');
    }],
    ["handles many concurrent operations", async (backend) => {
      await Promise.all(Array.from({ length: 200 }, (_, i) => backend.set(`c${i}`, bytes(i % 256), 60)));
      const got = await Promise.all(Array.from({ length: 200 }, (_, i) => backend.get(`c${i}`)));
      got.forEach((value, i) => expectBytes(value, [i % 256], `get("c${i}")`));
    }],
  ];
  return cases.map(([name, fn]) => ({ name, fn: withBackend(fn) }));
}
