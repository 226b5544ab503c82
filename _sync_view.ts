// A capability, not a class check: a backend whose entries can be read and
// written synchronously in this process (MemoryCacheBackend) offers a view of
// them under SYNC_VIEW, so a TTLCache hit on it costs no promise round trip.
// The view must behave like the backend's async methods of the same name
// (same expiry), returning or throwing instead of settling; TTLCache checks
// keys before it calls the view, so the view need not check them again.
import type { CacheBackend, Clock } from "./types.ts";

/** The property under which a backend offers its {@linkcode SyncView}. */
export const SYNC_VIEW: unique symbol = Symbol("cachet.syncView");

/** Synchronous access to a backend's entries. */
export interface SyncView {
  /** Like `get`; with `copy`, also a large value is returned as a copy the caller owns. */
  get(key: string, copy: boolean): Uint8Array | undefined;
  /**
   * Like `set`, stored as written at `now`: a reading of `clock` the caller
   * took for the same write (so one write reads the time once).
   */
  set(key: string, value: Uint8Array, ttl: number, now: number): void;
  /** The clock the backend measures expiry by. */
  readonly clock: Clock;
  delete(key: string): void;
  /** Whether `key` holds exactly `bytes[from..to)` (without copying the stored value out). */
  matches(key: string, bytes: Uint8Array, from: number, to: number): boolean;
  /**
   * Values of at most this many bytes are read back as a fresh array each
   * time; a larger one as the stored array itself (by `get(key, false)` and
   * the backend's async reads), which never changes while it is stored: the
   * core may keep what it decoded of it, weakly, by that array.
   */
  readonly packs: number;
  /**
   * Like `get(key, false)`, except that a value of at most `packs` bytes may
   * come as the string the backend keeps it in: its bytes are the char codes
   * from `packedAt` on (see {@linkcode unpack}). A read can then take the
   * parts it needs (a header, a payload, a text) without making the array.
   */
  getPacked(key: string): Uint8Array | string | undefined;
  /** Where a packed value's bytes start in its string. */
  readonly packedAt: number;
}

/** The bytes of a packed value (see SyncView.getPacked) from char `from` on, as a new array. */
export function unpack(packed: string, from: number): Uint8Array {
  const bytes = new Uint8Array(packed.length - from);
  for (let i = 0; i < bytes.length; i++) bytes[i] = packed.charCodeAt(from + i);
  return bytes;
}

/** The backend's synchronous view, read once; undefined when it offers none (or it was overridden). */
export function syncViewOf(backend: CacheBackend): SyncView | undefined {
  const offer = (backend as { [SYNC_VIEW]?: unknown })[SYNC_VIEW];
  return typeof offer === "function" ? offer.call(backend) ?? undefined : undefined;
}
