// The one core file that wires in a backend (as Hono's entry point wires its
// default router into hono-base): the memory backend of a TTLCache created
// without one.
import { checkBackend } from "./_validate.ts";
import { MemoryCacheBackend } from "./backends/memory.ts";
import type { CacheBackend, Clock } from "./types.ts";

let registered: CacheBackend | undefined;

/**
 * Registers the backend that every {@linkcode TTLCache} created without a
 * `backend` option uses from now on (caches already created keep theirs).
 * Pass `undefined` to unregister.
 *
 * While none is registered, each `TTLCache` gets a private
 * `MemoryCacheBackend`, so two caches never share (or clear) each other's
 * entries by accident.
 *
 * @param backend The backend to share, or `undefined`.
 * @throws {TypeError} When `backend` lacks one of `get`, `set`, `delete`, `clear`, or is a `Map` (or another
 * built-in collection), which would ignore ttl.
 *
 * @example Sharing one backend between caches
 * ```ts
 * import assert from "node:assert/strict";
 * import { getDefaultBackend, setDefaultBackend, TTLCache } from "@cachet/cachet";
 * import { MemoryCacheBackend } from "@cachet/cachet/memory";
 *
 * const shared = new MemoryCacheBackend();
 * setDefaultBackend(shared);
 * const a = new TTLCache();
 * const b = new TTLCache();
 * await a.set("k", new Uint8Array([7]));
 * assert((await b.get("k"))?.[0] === 7);
 * assert(getDefaultBackend() === shared);
 * setDefaultBackend(undefined);
 * ```
 */
export function setDefaultBackend(backend: CacheBackend | undefined): void {
  if (backend !== undefined) checkBackend("Cannot set the default backend", "backend", backend);
  registered = backend;
}

/**
 * Returns the registered default backend.
 *
 * @returns The backend passed to {@linkcode setDefaultBackend}, or `undefined` when none is registered.
 *
 * @example Checking for a registered backend
 * ```ts
 * import assert from "node:assert/strict";
 * import { getDefaultBackend } from "@cachet/cachet";
 *
 * assert(getDefaultBackend() === undefined);
 * ```
 */
export function getDefaultBackend(): CacheBackend | undefined {
  return registered;
}

/** The backend of a cache created without one: the registered default, else a private memory backend. */
export function defaultBackendFor(clock: Clock): CacheBackend {
  return registered ?? new MemoryCacheBackend({ clock });
}

/** Whether a backend keeps its entries in this process only (so no other process or build reads its keys). */
export function isProcessLocal(backend: CacheBackend): boolean {
  return backend instanceof MemoryCacheBackend;
}

/** A fresh in-memory backend, whatever default is registered: the store of a private cache. */
export function privateBackend(): CacheBackend {
  return new MemoryCacheBackend();
}
