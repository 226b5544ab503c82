// Synchronous access to a MemoryCacheBackend's entries, for TTLCache only: a
// hit on the default backend then costs no promise round trip through the
// backend. backends/memory.ts fills it in; each function behaves exactly like
// the backend's public async method of the same name, but returns or throws.
// `get` with `copy` returns an array the caller owns (no second copy needed).
import type { MemoryCacheBackend } from "./backends/memory.ts";

export const memoryAccess = {} as {
  get(backend: MemoryCacheBackend, key: string, copy: boolean): Uint8Array | undefined;
  set(backend: MemoryCacheBackend, key: string, value: Uint8Array, ttl: number): void;
  delete(backend: MemoryCacheBackend, key: string): void;
};
