// An optional fast path a serializer of this package offers the core: its
// `dumps` into a fresh array that starts with `room` free bytes, where the
// entry header goes. A value is then encoded into the array that is stored,
// instead of into one array that is copied into another (each array over 64
// bytes is its own allocation outside V8's heap: most of a small set's cost).

/** The key of the fast path on a serializer. */
export const DUMPS_WITH_ROOM: unique symbol = Symbol("cachet.dumpsWithRoom");

/** A serializer with the fast path. */
export interface DumpsWithRoom<T> {
  /**
   * `dumps(value)` written after `room` free bytes, or undefined when the
   * serializer's `dumps` was replaced (a subclass's own is always honoured).
   */
  [DUMPS_WITH_ROOM](value: T, room: number): Uint8Array | undefined;
}
