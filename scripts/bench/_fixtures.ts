// The keys, values and TTL every suite gives to every cache, so the rows compare like with like.

/** Entries held by the bounded caches (the eviction bound). */
export const CAPACITY = 10_000;
/** TTL of every entry, in seconds: longer than a suite runs on a loaded machine, so no hit expires mid-run. */
export const TTL_SECONDS = 600;
/** Operations per timed batch for in-process operations. */
export const BATCH = 1_000;

/** A small user record, about 80 bytes of JSON. */
export function record(i: number): { id: number; name: string; roles: string[]; active: boolean } {
  return { id: i, name: `user number ${i}`, roles: ["reader", "author"], active: true };
}

/** `count` distinct keys with the given prefix. */
export function keys(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}:${i}`);
}

const encoder = new TextEncoder();

/** The UTF-8 JSON encoding of a value, as cachet's raw-bytes cache stores it. */
export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}
