// An optional fast path a serializer of this package offers the core: its
// `loads` of the payload that starts at `at` in an entry's bytes, read in
// place. The core would otherwise make a view (or, for an array of up to 64
// bytes, a copy) of the payload first, only to hand it to the decoder.

/** The key of the fast path on a serializer. */
export const LOADS_AT: unique symbol = Symbol("cachet.loadsAt");

/** A serializer with the fast path. */
export interface LoadsAt<T> {
  /**
   * `loads(bytes.subarray(at))`, or undefined when the serializer's `loads`
   * was replaced (a subclass's own is always honoured) or the value decoded
   * is undefined: the core then calls `loads` with a view of the payload.
   */
  [LOADS_AT](bytes: Uint8Array, at: number): T | undefined;
}
