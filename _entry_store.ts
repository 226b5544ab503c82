// Entries as a cache reads and writes them: the envelope (a header with expiry,
// compute time and record tokens, then the serializer's bytes), checked against
// the current tokens on read, decoded, counted in the LRU bound and copied into
// the in-process tier; written and announced to the other caches.
import { CacheError } from "./errors.ts";
import { hitClock } from "./_clock.ts";
import {
  decode,
  type Decoded,
  encode,
  freshAt,
  hasComputeTime,
  type Header,
  layoutOf,
  packedComputeTime,
  packedFreshAt,
  packedPayloadAt,
  payloadOf,
  plainPayloadAt,
  sameToken,
  type TagStamp,
  writeHeader,
} from "./_envelope.ts";
import { DUMPS_WITH_ROOM, type DumpsWithRoom } from "./_dumps_with_room.ts";
import { COPY, LOADS_AT, LOADS_PACKED, type LoadsAt } from "./_loads_at.ts";
import { backendError, type BackendIo } from "./_backend_io.ts";
import { type SyncView, unpack } from "./_sync_view.ts";
import { plainCopies } from "./_copy_out.ts";
import { SETTLED } from "./_settled.ts";
import type { InvalidationLink } from "./_invalidation.ts";
import type { L1Tier } from "./_l1.ts";
import type { OwedInvalidations } from "./_owed.ts";
import { type Scope, userKeyOf } from "./_key_space.ts";
import type { Tokens } from "./_records.ts";
import type { SizeBound } from "./_size_bound.ts";
import type { Stats } from "./_stats.ts";
import { checkKey, describe, typeName } from "./_validate.ts";
import type { BackendEntry, CacheSerializer, Clock } from "./types.ts";
import type { TTLCacheOptions } from "./ttl_cache_options.ts";

const NO_RECORDS: readonly string[] = [];
const NO_STAMPS: readonly TagStamp[] = [];

/** A value over `maxValueBytes`: a RangeError for `set`, a value left unstored (and reported) by read-through. */
export class ValueTooLargeError extends RangeError {
  override name = "RangeError";
}

/** What read() returns for a missing, stale or undecodable entry (a value may be `undefined`). */
export const MISS: unique symbol = Symbol("cachet.miss");
/** See MISS. */
export type Miss = typeof MISS;
/** What freshPlain() returns when the general path must read the entry. */
export const DECLINED: unique symbol = Symbol("cachet.declined");
/** See DECLINED. */
export type Declined = typeof DECLINED;

/** A read's value when it found a fresh entry, MISS otherwise. */
export function freshValue<T>(found: Found<T> | undefined): T | Miss {
  return found !== undefined && found.fresh ? found.value : MISS;
}

/** An entry found by a read. */
export interface Found<T> {
  readonly value: T;
  readonly fresh: boolean;
  readonly header: Header;
}

/** What a store needs of its cache. */
export interface StoreParts<T> {
  readonly io: BackendIo;
  readonly serializer: CacheSerializer<T> | undefined;
  readonly clock: Clock;
  readonly bound: SizeBound;
  readonly stats: Stats;
  readonly l1: L1Tier<T> | undefined;
  readonly link: InvalidationLink | undefined;
  readonly owed: OwedInvalidations;
  /** The largest encoded value stored (Infinity: no limit). */
  readonly maxValueBytes: number;
  readonly onError: TTLCacheOptions<T>["onError"];
}

// The serializer's value of the payload at `at` in an entry's bytes: read in place when the serializer offers it.
function loads<T>(serializer: CacheSerializer<T>, bytes: Uint8Array, at: number): T | Promise<T> {
  const loadsAt = (serializer as Partial<LoadsAt<T>>)[LOADS_AT];
  const inPlace = loadsAt === undefined ? undefined : loadsAt.call(serializer, bytes, at);
  return inPlace !== undefined ? inPlace : serializer.loads(payloadOf(bytes, at));
}

const READ_ONCE: unique symbol = Symbol("read once");
const UNCOPIED: unique symbol = Symbol("uncopied");
// Payloads up to this size keep their decoded value (see #decoded): above it, the memory kept would outweigh the time.
const KEEP_DECODED_MAX = 4_096;

/** Reads, decodes and writes one cache's entries. */
export class EntryStore<T> {
  readonly #p: StoreParts<T>;
  // A synchronous backend's stored arrays (those it does not repack per read) -> the value decoded from them (from the
  // second read on), which a hit copies (when the serializer can) instead of decoding the bytes again; never handed
  // out itself. Weak: it goes with its array, when the entry is overwritten, deleted or swept.
  readonly #decoded = new WeakMap<Uint8Array, T | typeof READ_ONCE | typeof UNCOPIED>();
  // What a synchronous hit compares an entry's freshness with: like the backend's expiry check, a coarse reading
  // (see hitClock), which sees an entry go stale up to a millisecond late.
  readonly #hitClock: Clock;

  constructor(parts: StoreParts<T>) {
    this.#p = parts;
    this.#hitClock = hitClock(parts.clock);
  }

  /** Whether values are the stored bytes themselves (no serializer). */
  get raw(): boolean {
    return this.#p.serializer === undefined;
  }

  // get(): the value of a fresh entry, or MISS. On a synchronous backend
  // without l1 or owed invalidations, an entry without tags (or with only its
  // namespace's current records) is served from its bytes with no header
  // object, no payload view and no Found made. `key` is a string whose
  // well-formedness is checked here (`context` names the call in the
  // TypeError): on a synchronous backend only on a miss, since only checked
  // keys were ever written (an ill-formed key makes an ill-formed backend key).
  read(scope: Scope, key: string, bk: string, context: string): T | Miss | Promise<T | Miss> {
    const p = this.#p;
    const sync = p.io.sync;
    if (sync !== undefined && p.l1 === undefined && !p.owed.any) {
      let bytes: Uint8Array | string | undefined;
      try {
        bytes = sync.getPacked(bk);
      } catch (cause) {
        throw backendError("get", key, cause);
      }
      if (bytes === undefined) {
        checkKey(context, key);
        // Not looked up in the size bound (a second lookup per miss): an entry of this cache leaves an in-process
        // backend by this cache's deletes, which the bound hears of, or by expiring when the bound says (the same
        // reading of a shared clock), which it sweeps. One that someone else sharing the backend deletes stays
        // counted until it expires or is evicted (never used again, it drifts to the least recently used end).
        return MISS;
      }
      if (typeof bytes === "string") {
        const from = packedPayloadAt(bytes, sync.packedAt);
        if (from !== -1) return this.#loadPacked(scope, key, bk, bytes, from, packedFreshAt(this.#hitClock));
        bytes = unpack(bytes, sync.packedAt);
      }
      const at = bytes instanceof Uint8Array ? plainPayloadAt(bytes, scope.known, sync.matches) : -1;
      if (at !== -1) return this.loadPlain(scope, key, bk, bytes, at, freshAt(bytes, this.#hitClock));
      // Anything else (tags, or bytes to report) takes the general path.
      let found: Found<T> | undefined | Promise<Found<T> | undefined>;
      try {
        found = this.#judge(scope, key, bk, bytes, sync, 0);
      } catch (cause) {
        throw backendError("get", key, cause);
      }
      return found instanceof Promise ? found.then(freshValue) : freshValue(found);
    }
    checkKey(context, key);
    const found = this.lookup(scope, key, bk, scope.records, undefined);
    if (found instanceof Promise) return found.then(freshValue);
    return freshValue(found);
  }

  // getOrSet() without l1 on a synchronous backend, nothing owed: the value of a fresh entry without tags (or with
  // only its namespace's current records), as loadPlain(). DECLINED, having done nothing, for anything else (missing,
  // stale, other tags, a compute time to refresh early by, a failing read): the general path then reads it again.
  freshPlain(scope: Scope, key: string, bk: string, earlyRefresh: boolean): T | Miss | Promise<T | Miss> | Declined {
    const p = this.#p;
    if (p.owed.any) return DECLINED;
    const sync = p.io.sync!;
    let bytes: Uint8Array | string | undefined;
    try {
      bytes = sync.getPacked(bk);
    } catch {
      return DECLINED;
    }
    if (typeof bytes === "string") {
      const from = packedPayloadAt(bytes, sync.packedAt);
      if (from !== -1) {
        if ((earlyRefresh && packedComputeTime()) || !packedFreshAt(this.#hitClock)) return DECLINED;
        return this.#loadPacked(scope, key, bk, bytes, from, true);
      }
      bytes = unpack(bytes, sync.packedAt);
    }
    if (!(bytes instanceof Uint8Array)) return DECLINED;
    const at = plainPayloadAt(bytes, scope.known, sync.matches);
    if (at === -1 || (earlyRefresh && hasComputeTime(bytes)) || !freshAt(bytes, this.#hitClock)) return DECLINED;
    return this.loadPlain(scope, key, bk, bytes, at, true);
  }

  // getMany() of raw values without l1, a size bound or anything owed, where every entry read is missing or plain and
  // fresh: the values copied out together, as loadPlain() and copyOut() would serve them one by one (nothing else
  // to do for those: no l1 to fill, no use order to keep). Undefined, having done nothing, in any other case.
  plainMany(entries: readonly (Uint8Array | undefined)[], now: number): (Uint8Array | undefined)[] | undefined {
    const p = this.#p;
    if (p.serializer !== undefined || p.l1 !== undefined || p.bound.maxSize > 0 || p.owed.any) return undefined;
    return plainCopies(entries, now);
  }

  // loadPlain() of an entry packed in a string (see SyncView.getPacked), its payload the char codes from `from` on:
  // read from the string, with no array made for the entry (nor, for a serializer that reads it there, the payload).
  #loadPacked(
    scope: Scope,
    key: string,
    bk: string,
    packed: string,
    from: number,
    fresh: boolean,
  ): T | Miss | Promise<T | Miss> {
    const serializer = this.#p.serializer;
    if (serializer === undefined) {
      if (!fresh) return MISS;
      this.#p.bound.touch(bk);
      return unpack(packed, from) as T;
    }
    let inPlace: T | undefined;
    try {
      inPlace = (serializer as Partial<LoadsAt<T>>)[LOADS_PACKED]?.(packed, from);
    } catch (error) {
      this.#undecodable(scope, key, bk, error);
      return MISS;
    }
    if (inPlace === undefined) return this.loadPlain(scope, key, bk, unpack(packed, from), 0, fresh);
    if (!fresh) return MISS;
    this.#p.bound.touch(bk);
    return inPlace;
  }

  // An entry plainPayloadAt() accepted (payload at `at`) served from its bytes as load() would, with no header
  // object, no Found and no payload view for bytes: its value when `fresh`, else MISS.
  loadPlain(
    scope: Scope,
    key: string,
    bk: string,
    bytes: Uint8Array,
    at: number,
    fresh: boolean,
    view = false,
  ): T | Miss | Promise<T | Miss> {
    const p = this.#p;
    if (p.owed.any && p.owed.covers(bk, NO_STAMPS)) return MISS;
    const serializer = p.serializer;
    if (serializer === undefined) {
      if (!fresh) return MISS;
      p.bound.touch(bk);
      // `view`: the caller copies the payload (from `at`) out of the entry's bytes itself.
      return (view ? bytes : bytes.slice(at)) as T;
    }
    let loaded: T | Promise<T>;
    try {
      loaded = this.#copyOrLoad(serializer, bytes, at);
    } catch (error) {
      this.#undecodable(scope, key, bk, error);
      return MISS;
    }
    if (loaded instanceof Promise) {
      return loaded.then((value) => {
        if (!fresh) return MISS;
        p.bound.touch(bk);
        return value;
      }, (error) => {
        this.#undecodable(scope, key, bk, error);
        return MISS;
      });
    }
    if (!fresh) return MISS;
    p.bound.touch(bk);
    return loaded;
  }

  // The value of the payload at `at` in `bytes`: a copy of what was decoded from this very array before, when the
  // synchronous backend keeps it (see SyncView.packs) and the serializer can copy its values.
  #copyOrLoad(serializer: CacheSerializer<T>, bytes: Uint8Array, at: number): T | Promise<T> {
    const copy = (serializer as Partial<LoadsAt<T>>)[COPY];
    const sync = this.#p.io.sync;
    if (
      copy === undefined || sync === undefined || bytes.length <= sync.packs || bytes.length - at > KEEP_DECODED_MAX
    ) {
      return loads(serializer, bytes, at);
    }
    const kept = this.#decoded.get(bytes);
    if (kept !== undefined && kept !== READ_ONCE && kept !== UNCOPIED) {
      const copied = copy.call(serializer, kept as T);
      if (copied !== undefined) return copied;
    }
    const loaded = loads(serializer, bytes, at);
    // An entry read once may never be read again: only a second read keeps the value (a copy: the caller may change
    // what it gets); one the serializer cannot copy is marked so, and decoded on every read.
    if (kept === undefined) this.#decoded.set(bytes, READ_ONCE);
    else if (kept === READ_ONCE && !(loaded instanceof Promise)) {
      this.#decoded.set(bytes, copy.call(serializer, loaded) ?? UNCOPIED);
    }
    return loaded;
  }

  // Reads an entry (with `records`' tokens in the same round trip) and judges
  // it; synchronous on a backend with a SyncView. Fills `tokens` with every
  // record read. Throws (or rejects with) a CacheError when the backend fails.
  lookup(
    scope: Scope,
    key: string,
    bk: string,
    records: readonly string[],
    tokens: Tokens | undefined,
  ): Found<T> | undefined | Promise<Found<T> | undefined> {
    const p = this.#p;
    const sync = p.io.sync;
    const since = p.l1?.generation ?? 0;
    if (sync !== undefined) {
      try {
        const bytes = sync.get(bk, false);
        if (bytes === undefined) return this.#gone(bk);
        return this.#judge(scope, key, bk, bytes, sync, since);
      } catch (cause) {
        throw backendError("get", key, cause);
      }
    }
    if (records.length === 0) {
      return p.io.read(bk, "get").then((bytes) => this.#readFound(scope, key, bk, bytes, tokens ?? new Map(), since));
    }
    const keys = [bk, ...records];
    return p.io.readMany(keys, "get").then((raw) => {
      const current = tokens ?? new Map<string, Uint8Array | undefined>();
      for (let i = 1; i < keys.length; i++) current.set(keys[i], raw[i]);
      return this.#readFound(scope, key, bk, raw[0], current, since);
    });
  }

  // lookup() of an entry read from an asynchronous backend, `current` holding the record tokens read with it.
  #readFound(
    scope: Scope,
    key: string,
    bk: string,
    bytes: Uint8Array | undefined,
    current: Tokens,
    since: number,
  ): Found<T> | undefined | Promise<Found<T> | undefined> {
    if (bytes === undefined) return this.#gone(bk);
    const entry = this.#decodeOrDrop(scope, key, bk, bytes);
    if (entry === undefined) return undefined;
    const missing = entry.tags.filter((stamp) => !current.has(stamp.record)).map((stamp) => stamp.record);
    if (missing.length === 0) return this.load(scope, key, bk, entry, current, NaN, since);
    return this.#p.io.readMany(missing, "get").then((got) => {
      missing.forEach((record, i) => current.set(record, got[i]));
      return this.load(scope, key, bk, entry, current, NaN, since);
    });
  }

  // An entry read from a synchronous backend: decoded, its tokens compared in place (a hit reads no record out).
  #judge(
    scope: Scope,
    key: string,
    bk: string,
    bytes: Uint8Array,
    sync: SyncView,
    since: number,
  ): Found<T> | undefined | Promise<Found<T> | undefined> {
    const entry = this.#decodeOrDrop(scope, key, bk, bytes);
    if (entry === undefined) return undefined;
    for (const stamp of entry.tags) {
      if (!sync.matches(stamp.record, stamp.token, 0, stamp.token.length)) return this.#gone(bk);
    }
    return this.load(scope, key, bk, entry, undefined, NaN, since);
  }

  // Checks an entry's tag tokens (unless `tokens` is undefined: checked
  // already) and freshness, then decodes its value. `since`: the l1
  // generation when the read began.
  load(
    scope: Scope,
    key: string,
    bk: string,
    entry: Decoded,
    tokens: Tokens | undefined,
    now: number,
    since: number,
  ): Found<T> | undefined | Promise<Found<T> | undefined> {
    const p = this.#p;
    // What an owed invalidation covers may still be in the backend: it is not served.
    if (p.owed.any && p.owed.covers(bk, entry.tags)) return undefined;
    if (tokens !== undefined) {
      for (const stamp of entry.tags) if (!sameToken(tokens.get(stamp.record), stamp.token)) return this.#gone(bk);
    }
    let fresh = true;
    if (entry.freshUntil !== entry.expiresAt) {
      if (Number.isNaN(now)) now = p.clock.now();
      fresh = now < entry.freshUntil;
    }
    let value: T;
    const serializer = p.serializer;
    if (serializer === undefined) {
      value = entry.bytes.slice(entry.at) as T;
    } else {
      let loaded: T | Promise<T>;
      try {
        loaded = loads(serializer, entry.bytes, entry.at);
      } catch (error) {
        this.#undecodable(scope, key, bk, error);
        return undefined;
      }
      if (loaded instanceof Promise) {
        return loaded.then(
          (value): Found<T> => {
            if (fresh) p.bound.touch(bk);
            p.l1?.fill(bk, value, entry, false, since);
            return { value, fresh, header: entry };
          },
          (error) => {
            this.#undecodable(scope, key, bk, error);
            return undefined;
          },
        );
      }
      value = loaded;
    }
    if (fresh) p.bound.touch(bk);
    p.l1?.fill(bk, value, entry, false, since);
    return { value, fresh, header: entry };
  }

  // Bytes that are not an entry are dropped (and reported) as a miss.
  decodeOrDrop(scope: Scope, key: string, bk: string, bytes: Uint8Array | undefined): Decoded | undefined {
    if (bytes === undefined) return undefined;
    return this.#decodeOrDrop(scope, key, bk, bytes);
  }

  #decodeOrDrop(scope: Scope, key: string, bk: string, bytes: Uint8Array): Decoded | undefined {
    if (!(bytes instanceof Uint8Array)) {
      this.#undecodable(scope, key, bk, new TypeError(`backend returned ${typeName(bytes)}, not a Uint8Array`));
      return undefined;
    }
    const entry = decode(bytes, scope.known);
    if (entry === undefined) {
      this.#undecodable(
        scope,
        key,
        bk,
        new CacheError(`Cannot read key ${describe(key)}: the stored bytes are not an entry cachet wrote (format 1)`),
      );
    }
    return entry;
  }

  #gone(bk: string): undefined {
    this.#p.bound.delete(bk);
    return undefined;
  }

  #undecodable(scope: Scope, key: string, bk: string, error: unknown): void {
    const p = this.#p;
    p.bound.delete(bk);
    p.stats.errors++;
    try {
      p.onError?.(error, { key, operation: "loads" });
    } catch {
      // A failing hook must not turn a miss into an error.
    }
    p.stats.emit("error", scope.path, { key, operation: "loads", error });
    p.io.forget(bk);
  }

  /** The stored bytes of an entry. */
  envelope(value: T, now: number, ttl: number, grace: number, stamps: readonly TagStamp[], delta: number): Uint8Array {
    const freshUntil = now + ttl * 1000;
    const header: Header = { expiresAt: freshUntil + grace * 1000, freshUntil, delta, tags: stamps };
    const serializer = this.#p.serializer as (CacheSerializer<T> & Partial<DumpsWithRoom<T>>) | undefined;
    const dumps = serializer?.[DUMPS_WITH_ROOM];
    if (dumps !== undefined) {
      const layout = layoutOf(header);
      const out = dumps.call(serializer, value, layout.size);
      if (out !== undefined) {
        this.#checkSize(out.length - layout.size);
        writeHeader(out, header, layout);
        return out;
      }
    }
    return encode(header, this.#encode(value));
  }

  // Stores one entry; on a backend with a SyncView, synchronously. `owed`: a
  // failed write is owed as an invalidation (an explicit set replaces a value).
  write(
    scope: Scope,
    key: string,
    bk: string,
    value: T,
    ttl: number,
    grace: number,
    stamps: readonly TagStamp[],
    delta: number,
    owed = true,
  ): Promise<void> {
    const p = this.#p;
    const now = p.clock.now();
    let bytes: Uint8Array;
    try {
      bytes = this.envelope(value, now, ttl, grace, stamps, delta);
    } catch (error) {
      return Promise.reject(error);
    }
    const lifetime = ttl + grace;
    const sync = p.io.sync;
    // The copy this write replaces goes first, whatever the write then does.
    p.l1?.evictKeys([bk]);
    // Another writer's change heard while this write is in flight is newer: this value must not fill l1 then.
    const since = p.l1?.generation ?? 0;
    if (sync === undefined) {
      return p.io.write(key, bk, bytes, lifetime).then(() => {
        p.stats.emitKey("set", scope.path, key, delta > 0 ? { duration: delta } : undefined);
        this.#written(scope, bk, bytes, since);
        return this.admitted(bk, lifetime, stamps);
      }, (error) => {
        if (owed) this.failed([bk], error);
        throw error;
      });
    }
    try {
      sync.set(bk, bytes, lifetime, sync.clock === p.clock ? now : sync.clock.now());
    } catch (cause) {
      const error = backendError("set", key, cause);
      if (owed) this.failed([bk], error);
      return Promise.reject(error);
    }
    p.stats.emitKey("set", scope.path, key, delta > 0 ? { duration: delta } : undefined);
    this.#written(scope, bk, bytes, since);
    // The time of the write itself: a synchronous backend stored it just now.
    const victims = this.#admit(bk, lifetime, stamps, now);
    try {
      for (const victim of victims) sync.delete(victim);
    } catch (cause) {
      return Promise.reject(backendError("delete", victims.join(", "), cause));
    }
    return SETTLED;
  }

  /** Stores several entries in one round trip; `keys` are the user's, `stamps` each entry's, aligned with `rows`. */
  async writeMany(
    scope: Scope,
    keys: readonly string[],
    rows: readonly BackendEntry[],
    stamps: readonly (readonly TagStamp[])[],
  ): Promise<void> {
    const bks = rows.map((row) => row.key);
    this.#p.l1?.evictKeys(bks);
    const since = this.#p.l1?.generation ?? 0;
    try {
      await this.#p.io.writeMany(rows);
    } catch (error) {
      this.failed(bks, error);
      throw error;
    }
    for (const [i, row] of rows.entries()) {
      this.#written(scope, row.key, row.value, since);
      await this.admitted(row.key, row.ttl, stamps[i]);
      this.#p.stats.emitKey("set", scope.path, keys[i]);
    }
  }

  // A write that failed or timed out may still be applied: the value it
  // replaced is invalidated as if it had been, and the others are told.
  failed(bks: readonly string[], error: unknown): void {
    if (!(error instanceof CacheError)) return;
    this.#p.owed.owe({ keys: bks });
    this.#p.link?.announce({ keys: bks });
  }

  // After a write reached the backend: the in-process tier gets the value as
  // every reader will decode it (not the caller's object), and the others are told.
  #written(scope: Scope, bk: string, bytes: Uint8Array, since: number): void {
    const { l1, serializer, link, owed } = this.#p;
    if (owed.any) owed.settled(bk);
    if (l1 === undefined) return;
    const entry = decode(bytes, scope.known)!;
    let value: T | Promise<T>;
    try {
      value = serializer === undefined ? entry.bytes.slice(entry.at) as T : loads(serializer, entry.bytes, entry.at);
    } catch {
      value = Promise.resolve(undefined as T);
    }
    if (value instanceof Promise) l1.delete(bk);
    else l1.fill(bk, value, entry, true, since);
    link?.announce({ keys: [bk] });
  }

  /** Counts a key just written in the LRU bound, deleting what it evicts. */
  admitted(bk: string, lifetime: number, stamps: readonly TagStamp[]): Promise<void> | undefined {
    const victims = this.#admit(bk, lifetime, stamps, this.#p.clock.now());
    if (victims.length === 0) return undefined;
    const io = this.#p.io;
    return victims.length === 1 ? io.delete(victims[0], victims[0]) : io.deleteMany(victims, victims.join(", "));
  }

  #admit(bk: string, seconds: number, stamps: readonly TagStamp[], now: number): readonly string[] {
    const p = this.#p;
    const records = stamps.length === 0 ? NO_RECORDS : stamps.map((stamp) => stamp.record);
    const victims = p.bound.admit(bk, seconds, now, records);
    if (victims.length === 0) return victims;
    if (p.l1 !== undefined) { for (const victim of victims) p.l1.delete(victim); }
    if (p.stats.listening.has("evict")) { for (const victim of victims) p.stats.emit("evict", "", userKeyOf(victim)); }
    return victims;
  }

  /** A value's bytes, as the serializer writes them. */
  encodeValue(value: T): Uint8Array {
    return this.#encode(value);
  }

  /** A fresh copy of a value from its bytes. */
  decodeValue(bytes: Uint8Array): T | Promise<T> {
    const serializer = this.#p.serializer;
    return serializer === undefined ? bytes.slice() as T : serializer.loads(bytes);
  }

  #encode(value: T): Uint8Array {
    const serializer = this.#p.serializer;
    let bytes: Uint8Array;
    if (serializer !== undefined) bytes = serializer.dumps(value);
    else if (value instanceof Uint8Array) bytes = value;
    else {
      throw new TypeError(
        `Cannot store ${typeName(value)} without a serializer: pass a serializer to TTLCache or store a Uint8Array`,
      );
    }
    this.#checkSize(bytes.length);
    return bytes;
  }

  #checkSize(length: number): void {
    const maxValueBytes = this.#p.maxValueBytes;
    if (length > maxValueBytes) {
      throw new ValueTooLargeError(
        `Cannot store a value of ${length} bytes (encoded): over maxValueBytes (${maxValueBytes})`,
      );
    }
  }
}
