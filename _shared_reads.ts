// A capability, as SYNC_VIEW is: a backend whose getMany makes each array its
// own (RedisCacheBackend: a view per value, not the client's Buffer) may offer
// a getMany without that step under SHARED_READS, for the core's batch reads,
// which copy every byte they hand out anyway. Making 100 views costs a 100-key
// Redis read about a tenth of its time.
import type { CacheBackend } from "./types.ts";

/**
 * The property under which a backend offers its {@linkcode SharedReads}: a method returning them, or undefined when
 * its `getMany` was replaced (a replacement is always honoured).
 */
export const SHARED_READS: unique symbol = Symbol("cachet.sharedReads");

/**
 * Like the backend's `getMany` (same errors and results), except that an
 * array may be of a subclass (a `Buffer`) and a view of memory holding other
 * data (a client's reply): the core neither keeps nor hands out these arrays,
 * only copies, or {@linkcode unshare}s them first. The core checked the keys
 * already (well-formed strings), so the backend need not check them again.
 */
export type SharedReads = (keys: readonly string[]) => Promise<(Uint8Array | undefined)[]>;

/** The backend's shared reads, read once; undefined when it offers none (or its `getMany` was replaced). */
export function sharedReadsOf(backend: CacheBackend): SharedReads | undefined {
  const offer = (backend as { [SHARED_READS]?: unknown })[SHARED_READS];
  return typeof offer === "function" ? offer.call(backend) ?? undefined : undefined;
}

/** Makes each array of a shared read what the backend's `getMany` would have returned: a plain Uint8Array view. */
export function unshare(values: unknown[]): void {
  for (let i = 0; i < values.length; i++) values[i] = unshared(values[i]);
}

/**
 * `value` as a plain Uint8Array when it is a subclass (a Buffer, whose slice() is a view of the backend's memory), so
 * that every copy the cache makes of it is a copy; anything else as it is.
 */
export function unshared<V>(value: V): V {
  if (value instanceof Uint8Array && value.constructor !== Uint8Array) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength) as V;
  }
  return value;
}
