// Optional fast paths a serializer of this package offers the core: its
// `loads` of the payload that starts at `at` in an entry's bytes, read in
// place (the core would otherwise make a view, or for an array of up to 64
// bytes a copy, of the payload first, only to hand it to the decoder); and a
// copy of a value it decoded, which the core makes instead of decoding the
// same stored bytes again.

/** The key of the fast path on a serializer. */
export const LOADS_AT: unique symbol = Symbol("cachet.loadsAt");

/** The key of the copy fast path on a serializer. */
export const COPY: unique symbol = Symbol("cachet.copy");

/** The key of the packed fast path on a serializer. */
export const LOADS_PACKED: unique symbol = Symbol("cachet.loadsPacked");

/** A serializer with the fast paths. */
export interface LoadsAt<T> {
  /**
   * `loads(bytes.subarray(at))`, or undefined when the serializer's `loads`
   * was replaced (a subclass's own is always honoured) or the value decoded
   * is undefined: the core then calls `loads` with a view of the payload.
   */
  [LOADS_AT](bytes: Uint8Array, at: number): T | undefined;
  /**
   * A new value equal to `value`, a value this serializer's own `loads`
   * returned and nobody changed since: what `loads` would return again for
   * the same bytes, sharing nothing mutable with `value`. Undefined when it
   * cannot copy it (the core then decodes the bytes).
   */
  [COPY]?(value: T): T | undefined;
  /**
   * `loads` of the bytes that are the char codes of `packed` from `from` on
   * (a value a synchronous backend keeps packed in a string, see
   * SyncView.getPacked), or undefined when it does not read them there (the
   * core then unpacks them and calls the other paths).
   */
  [LOADS_PACKED]?(packed: string, from: number): T | undefined;
}
