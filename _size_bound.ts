// The LRU bound of one cache instance: which backend keys it wrote, their
// expiry and use order, and which to evict to stay within maxSize. The backend
// expires entries itself; this only keeps the count and the order. An entry
// invalidated through its records (a tag or namespace) is dead at once: it
// stops counting, and is never evicted (nor counted as an eviction) later.
import { LruList, SharedLists } from "./_lru_list.ts";
import { SweepSchedule } from "./_sweep.ts";

const NO_VICTIMS: readonly string[] = [];
const NO_RECORDS: readonly string[] = [];

/** The entries a cache instance counts, in LRU order. */
export class SizeBound {
  readonly maxSize: number;
  evictions = 0;
  // Backend key -> expiry (ms) and the records the entry carries, oldest use first.
  // Without a bound nothing is evicted by age: no LRU order is kept.
  readonly #tracked: LruList<readonly string[] | undefined>;
  // Record -> the tracked keys whose entries carry it.
  readonly #byRecord = new Map<string, Set<string>>();
  // A lower bound of the earliest expiry tracked: no sweep is needed before it.
  #nextExpiry = Infinity;
  readonly #sweeps = new SweepSchedule();
  readonly #shared = new SharedLists();

  constructor(maxSize: number) {
    this.maxSize = maxSize;
    this.#tracked = new LruList(maxSize > 0);
  }

  /** The number of live entries at `now`. */
  size(now: number): number {
    this.#sweep(now);
    return this.#tracked.size;
  }

  /** A read found `bk` fresh: it becomes the most recently used. */
  touch(bk: string): void {
    if (this.maxSize > 0) this.#tracked.touch(bk);
  }

  /** `bk` is gone (deleted, found missing or undecodable). */
  delete(bk: string): void {
    const records = this.#tracked.take(bk);
    if (records !== undefined) this.#unindex(bk, records);
  }

  /** Every entry carrying one of `records` is dead (a tag deleted, a namespace cleared). */
  invalidateRecords(records: readonly string[]): void {
    for (const record of records) {
      const keys = this.#byRecord.get(record);
      if (keys !== undefined) { for (const bk of [...keys]) this.delete(bk); }
    }
  }

  /** Every entry is gone. */
  clear(): void {
    this.#byRecord.clear();
    this.#tracked.clear();
    this.#shared.clear();
    this.#nextExpiry = Infinity;
    this.#sweeps.reset();
  }

  // Tracks a key just written for `seconds` and returns the keys evicted to
  // make room. It runs after the write, synchronously, so concurrent sets can
  // never leave more than maxSize entries tracked.
  admit(bk: string, seconds: number, now: number, records: readonly string[]): readonly string[] {
    const tracked = this.#tracked;
    const maxSize = this.maxSize;
    const expiresAt = now + seconds * 1000;
    // An overwrite is updated in place: it promotes the key and never evicts.
    const known = tracked.get(bk) !== undefined;
    if (known || maxSize === 0 || tracked.size < maxSize) {
      this.#track(bk, expiresAt, records, known);
      if (maxSize === 0 && this.#sweeps.due(tracked.size)) {
        this.#sweep(now);
        this.#sweeps.swept(tracked.size);
      }
      return NO_VICTIMS;
    }
    this.#sweep(now);
    // Made with its first element: growing an empty array on push costs ~100 instructions a set.
    let victims: string[] | undefined;
    while (tracked.size >= maxSize) {
      const oldest = tracked.oldest()!;
      this.delete(oldest);
      if (victims === undefined) victims = [oldest];
      else victims.push(oldest);
    }
    this.#track(bk, expiresAt, records, false);
    if (victims === undefined) return NO_VICTIMS;
    this.evictions += victims.length;
    return victims;
  }

  // `known`: whether `bk` is tracked already (a new key is added without looking it up again).
  #track(bk: string, expiresAt: number, list: readonly string[], known: boolean): void {
    // Entries written under the same tags share one list of records.
    const records = list.length === 0 ? NO_RECORDS : this.#shared.share(list);
    const value = records.length === 0 ? undefined : records;
    if (known) {
      const before = this.#tracked.peek(bk);
      if (before !== undefined && before !== records) this.#unindex(bk, before);
      this.#tracked.set(bk, expiresAt, value);
    } else {
      this.#tracked.add(bk, expiresAt, value);
    }
    for (const record of records) {
      let keys = this.#byRecord.get(record);
      if (keys === undefined) this.#byRecord.set(record, keys = new Set());
      keys.add(bk);
    }
    if (expiresAt < this.#nextExpiry) this.#nextExpiry = expiresAt;
  }

  #unindex(bk: string, records: readonly string[] | undefined): void {
    for (const record of records ?? NO_RECORDS) {
      const keys = this.#byRecord.get(record);
      if (keys === undefined) continue;
      keys.delete(bk);
      if (keys.size === 0) this.#byRecord.delete(record);
    }
  }

  #sweep(now: number): void {
    if (now < this.#nextExpiry) return;
    this.#nextExpiry = this.#tracked.deleteExpired(now, (bk, records) => this.#unindex(bk, records));
  }
}
