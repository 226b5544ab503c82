// The in-process tier (l1): decoded values by backend key, in LRU order, each
// with the record tokens it was written under. A copy is served only while
// every one of its tokens is the one this process last knew; an invalidation
// (local, or heard from another process) forgets a token, or the copy itself.
//
// A copy is its value and four times, kept by LRU slot in arrays of numbers
// (unboxed doubles) rather than as an object per copy: V8 boxes each double
// field of an object in a 12-byte HeapNumber, and the object costs 12 bytes
// more. Record and token pairs are strings shared by every copy carrying them.
import type { Header } from "./_envelope.ts";
import { hitClock } from "./_clock.ts";
import { LruList, SharedLists } from "./_lru_list.ts";
import { checkBoolean, checkCount, checkOptions, checkTtl, describe, optionNames } from "./_validate.ts";
import type { Clock } from "./types.ts";
import type { L1Options } from "./ttl_cache_options.ts";

const L1_KEYS = optionNames<L1Options>({ maxSize: true, ttl: true, clone: true, busDownTtl: true });
const RECORDS_MAX_FACTOR = 4;
const RECORDS_MIN = 1_024;
const NO_PAIRS: readonly string[] = [];
// Promises of hit copies are kept in chunks of 2^CHUNK_BITS slots.
const CHUNK_BITS = 10;
const CHUNK_MASK = (1 << CHUNK_BITS) - 1;
// The most copies that keep a promise: a bound on what it costs in a large tier (~200 KB), which a hot set fits.
const KEPT_MAX = 4_096;

// Whether a token string holds exactly `bytes`.
function sameString(token: string, bytes: Uint8Array): boolean {
  if (token.length !== bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (token.charCodeAt(i) !== bytes[i]) return false;
  return true;
}

/** A token's bytes as a string (ASCII), the form l1 compares. */
export function tokenString(token: Uint8Array): string {
  return String.fromCharCode.apply(null, token as unknown as number[]);
}

/** The in-process tier of one cache (shared by its namespace views). */
export class L1Tier<T> {
  // Backend key -> the value, expiring at the entry's expiresAt.
  readonly #entries: LruList<T> = new LruList();
  // By slot, each column made only once a copy differs from its default (so
  // a tier of plain set() values keeps none): when the copy stops being fresh
  // here (capped by l1.ttl and busDownTtl; default: the entry's own end of
  // freshness), the entry's own end of freshness (default: its expiry) and
  // compute time (default: 0), for early refresh.
  #freshUntil: number[] | undefined;
  #staleAt: number[] | undefined;
  #delta: number[] | undefined;
  // By slot: the copy's record and token pairs, flattened (made once a copy has some).
  #stamps: (readonly string[])[] | undefined;
  // By slot, in chunks made on a first hit in them: `true` once the copy was hit, then the promise its later hits
  // share (see resolved), dropped with it. Chunks, so a tier whose copies are rarely hit holds a few, not a column.
  #promises: ((Promise<T> | true | undefined)[] | undefined)[] = [];
  // The slots given a promise, oldest first from #keptNext, -1 where none was yet (made only when the tier can hold
  // more than KEPT_MAX copies).
  #kept: Int32Array | undefined;
  #keptNext = 0;
  readonly #shared = new SharedLists();
  readonly maxSize: number;
  readonly ttl: number | undefined;
  readonly clone: boolean;
  readonly busDownTtl: number;
  /** Whether values are decoded copies (a serializer), not bytes. */
  readonly decoded: boolean;
  /** Whether tokens can also change by messages (an invalidation source), not only by reads. */
  readonly listening: boolean;
  // Record -> its token as this process last knew it; an entry stamped with another token is stale.
  readonly #records = new Map<string, string>();
  readonly #clock: Clock;
  /** The clock a hit compares with (a coarse reading of a built-in clock, see hitClock). */
  readonly hitClock: Clock;
  /** Whether the invalidation source is down (messages may be lost): new copies live busDownTtl at most. */
  sourceDown = false;
  // Counts the invalidations heard (and the source's returns): a value read
  // before one of them may be older than it, so it does not fill l1.
  #generation = 0;

  constructor(options: L1Options, context: string, maxTtl: number, clock: Clock, decoded: boolean, listening: boolean) {
    const where = `${context}: l1`;
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
      throw new TypeError(
        `${context}: l1 must be an object { maxSize, ttl?, clone?, busDownTtl? }: received ${describe(options)}`,
      );
    }
    checkOptions(where, options, L1_KEYS);
    const { maxSize, ttl, clone = false, busDownTtl = 1 } = options;
    if (maxSize === undefined) {
      throw new TypeError(`${where}.maxSize is required: an unbounded in-process tier would grow without limit`);
    }
    if (checkCount(context, "l1.maxSize", maxSize) === 0) {
      throw new RangeError(`${context}: l1.maxSize must be a positive integer: received 0`);
    }
    checkBoolean(context, "l1.clone", clone);
    this.maxSize = maxSize;
    this.ttl = ttl === undefined ? undefined : checkTtl(context, "l1.ttl", ttl, maxTtl);
    this.clone = clone;
    this.busDownTtl = checkTtl(context, "l1.busDownTtl", busDownTtl, maxTtl);
    this.#clock = clock;
    this.hitClock = hitClock(clock);
    this.decoded = decoded;
    this.listening = listening;
  }

  /** The generation a read starts in; pass it to fill(). */
  get generation(): number {
    return this.#generation;
  }

  // The slot of the in-process copy of `bk` when it is still usable (fresh
  // or stale within grace, with every record token current), -1 otherwise
  // (dropping it). A slot is read at once: the next write may reuse it.
  find(bk: string, now: number): number {
    const entries = this.#entries;
    const slot = entries.useSlot(bk);
    if (slot === -1) return -1;
    if (now < entries.expiryAt(slot)) {
      const column = this.#stamps;
      if (column === undefined) return slot;
      const stamps = column[slot];
      let i = 0;
      while (i < stamps.length && this.#records.get(stamps[i]) === stamps[i + 1]) i += 2;
      if (i >= stamps.length) return slot;
    }
    this.#drop(bk);
    return -1;
  }

  /** Like find(), but -1 also for a copy no longer fresh here (kept: getOrSet may serve it within grace). */
  fresh(bk: string, now: number): number {
    const slot = this.find(bk, now);
    // find() checked the expiry: without these columns, that is the end of freshness too.
    if (slot === -1 || (this.#freshUntil === undefined && this.#staleAt === undefined)) return slot;
    return now < this.freshUntil(slot) ? slot : -1;
  }

  /**
   * A promise of what value() serves from a slot find() returned. A shared value (decoded, not cloned) hit a second
   * time keeps the promise made then, and its later hits share it: a hot key's hits allocate nothing (a promise and
   * its collection are a fifth of an l1 hit). At most KEPT_MAX copies keep one (~48 bytes each), the latest to get
   * one; a copy hit once keeps a mark (8 bytes in a chunk of slots).
   */
  resolved(slot: number): Promise<T> {
    if (!this.decoded || this.clone) return Promise.resolve(this.value(this.#entries.valueAt(slot)));
    const chunk = this.#promises[slot >>> CHUNK_BITS] ??= Array.from({ length: 1 << CHUNK_BITS }, () => undefined);
    const at = slot & CHUNK_MASK;
    const kept = chunk[at];
    if (kept !== undefined && kept !== true) return kept;
    const promise = Promise.resolve(this.#entries.valueAt(slot));
    if (kept === undefined) chunk[at] = true;
    else {
      chunk[at] = promise;
      if (this.maxSize > KEPT_MAX) this.#keptIn(slot);
    }
    return promise;
  }

  // Records that `slot` keeps a promise; past KEPT_MAX, the oldest kept one is let go (a slot reused since then loses
  // its new promise early, which only costs it two hits to make another).
  #keptIn(slot: number): void {
    const ring = this.#kept ??= new Int32Array(KEPT_MAX).fill(-1);
    const oldest = ring[this.#keptNext];
    if (oldest !== -1) this.#forget(oldest);
    ring[this.#keptNext] = slot;
    this.#keptNext = (this.#keptNext + 1) % KEPT_MAX;
  }

  // The slot's copy changed or went: a promise kept for it would serve the old value, or keep it alive.
  #forget(slot: number): void {
    const chunk = this.#promises[slot >>> CHUNK_BITS];
    if (chunk !== undefined) chunk[slot & CHUNK_MASK] = undefined;
  }

  /** The stored value in a slot find() returned. */
  valueAt(slot: number): T {
    return this.#entries.valueAt(slot);
  }

  /** When the copy in a slot stops being fresh here. */
  freshUntil(slot: number): number {
    const column = this.#freshUntil;
    return column === undefined ? this.staleAt(slot) : column[slot];
  }

  /** The header figures of the entry in a slot: its expiry, end of freshness and compute time. */
  expiresAt(slot: number): number {
    return this.#entries.expiryAt(slot);
  }

  /** See expiresAt. */
  staleAt(slot: number): number {
    const column = this.#staleAt;
    return column === undefined ? this.#entries.expiryAt(slot) : column[slot];
  }

  /** See expiresAt. */
  delta(slot: number): number {
    const column = this.#delta;
    return column === undefined ? 0 : column[slot];
  }

  // A column of figures by slot, holding each slot's current figure.
  #column(figure: (slot: number) => number): number[] {
    const column: number[] = [];
    for (let slot = 0; slot < this.#entries.slots; slot++) column.push(figure(slot));
    return column;
  }

  /** The number of copies kept. */
  get size(): number {
    return this.#entries.size;
  }

  /** What a caller gets of a stored value: its own bytes, a clone, or the value itself. */
  value(value: T): T {
    if (!this.decoded) return (value as Uint8Array).slice() as T;
    return this.clone ? structuredClone(value) : value;
  }

  // Keeps a decoded value, unless an invalidation was heard since `since` (the
  // generation when its read began). `owned`: the caller keeps no reference.
  fill(bk: string, value: T, header: Header, owned: boolean, since: number): void {
    if (since !== this.#generation) return;
    const now = this.#clock.now();
    if (header.expiresAt <= now) return;
    let freshUntil = header.freshUntil;
    if (this.ttl !== undefined) freshUntil = Math.min(freshUntil, now + this.ttl * 1000);
    if (this.sourceDown) freshUntil = Math.min(freshUntil, now + this.busDownTtl * 1000);
    let stamps = NO_PAIRS;
    const tags = header.tags;
    if (tags.length > 0) {
      const pairs: string[] = [];
      for (const stamp of tags) {
        // With an invalidation source, a token learned here may be older than
        // one a message made this process forget meanwhile (a read's reply can
        // arrive after the message): it only fills a gap, and an entry whose
        // token differs stays out. Without one, reads are the only news: the
        // latest one wins.
        const known = this.#records.get(stamp.record);
        let token: string;
        if (known !== undefined && sameString(known, stamp.token)) token = known;
        else if (known !== undefined && this.listening) return;
        else this.#records.set(stamp.record, token = tokenString(stamp.token));
        pairs.push(stamp.record, token);
      }
      stamps = this.#shared.share(pairs);
    }
    // Tags come and go: past this many known records, start over rather than grow.
    if (this.#records.size > RECORDS_MAX_FACTOR * this.maxSize + RECORDS_MIN) {
      this.clear();
      return;
    }
    // Bytes are copied on every hit, so l1 must not share its array with the reader that filled it either.
    const kept = owned
      ? value
      : !this.decoded
      ? (value as Uint8Array).slice() as T
      : this.clone
      ? structuredClone(value)
      : value;
    // Only the header's figures are kept: a decoded header holds a view of the stored bytes.
    const { expiresAt, freshUntil: staleAt, delta } = header;
    const slot = this.#entries.set(bk, expiresAt, kept);
    this.#forget(slot);
    if (staleAt !== expiresAt || this.#staleAt !== undefined) {
      (this.#staleAt ??= this.#column((i) => this.#entries.expiryAt(i)))[slot] = staleAt;
    }
    if (freshUntil !== staleAt || this.#freshUntil !== undefined) {
      (this.#freshUntil ??= this.#column((i) => this.staleAt(i)))[slot] = freshUntil;
    }
    if (delta !== 0 || this.#delta !== undefined) (this.#delta ??= this.#column(() => 0))[slot] = delta;
    if (stamps !== NO_PAIRS || this.#stamps !== undefined) {
      (this.#stamps ??= Array.from({ length: this.#entries.slots }, () => NO_PAIRS))[slot] = stamps;
    }
    while (this.#entries.size > this.maxSize) this.#drop(this.#entries.oldest()!);
  }

  /** Drops the copy of `bk` (a write's value could not be decoded, or the LRU bound evicted it). */
  delete(bk: string): void {
    this.#drop(bk);
  }

  // Its promise goes too: kept in a free slot, it would keep the value alive.
  #drop(bk: string): void {
    const slot = this.#entries.remove(bk);
    if (slot !== -1) this.#forget(slot);
  }

  /** Drops the copies of `bks`; reads in flight will not fill l1. */
  evictKeys(bks: Iterable<string>): void {
    this.#generation++;
    for (const bk of bks) this.#drop(bk);
  }

  /** Forgets the tokens of `records`, so every copy stamped with them is dropped on its next read. */
  evictRecords(records: Iterable<string>): void {
    this.#generation++;
    for (const record of records) this.#records.delete(record);
  }

  /** A record's new token, written by this process: copies stamped with another are dropped. */
  learn(record: string, token: Uint8Array): void {
    this.#generation++;
    this.#records.set(record, tokenString(token));
  }

  /** Drops every copy and token. */
  clear(): void {
    this.#generation++;
    this.#entries.clear();
    this.#freshUntil = undefined;
    this.#staleAt = undefined;
    this.#delta = undefined;
    this.#stamps = undefined;
    this.#promises = [];
    this.#kept = undefined;
    this.#keptNext = 0;
    this.#shared.clear();
    this.#records.clear();
  }
}
