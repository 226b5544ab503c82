// The LRU bound of one cache instance: which backend keys it wrote, their
// expiry and use order, and which to evict to stay within maxSize. The backend
// expires entries itself; this only keeps the count and the order.
import { LruList } from "./_lru_list.ts";
import { SweepSchedule } from "./_sweep.ts";

const NO_VICTIMS: readonly string[] = [];

/** The entries a cache instance counts, in LRU order. */
export class SizeBound {
  readonly maxSize: number;
  evictions = 0;
  // Backend key -> expiry (ms), oldest use first.
  readonly #tracked = new LruList();
  // A lower bound of the earliest expiry tracked: no sweep is needed before it.
  #nextExpiry = Infinity;
  readonly #sweeps = new SweepSchedule();

  constructor(maxSize: number) {
    this.maxSize = maxSize;
  }

  /** The number of live entries at `now`. */
  size(now: number): number {
    this.#sweep(now);
    return this.#tracked.size;
  }

  /** A read found `bk` fresh: it becomes the most recently used. */
  touch(bk: string): void {
    this.#tracked.touch(bk);
  }

  /** `bk` is gone (deleted, found missing or undecodable). */
  delete(bk: string): void {
    this.#tracked.delete(bk);
  }

  /** Every entry is gone. */
  clear(): void {
    this.#tracked.clear();
    this.#nextExpiry = Infinity;
    this.#sweeps.reset();
  }

  // Tracks a key just written for `seconds` and returns the keys evicted to
  // make room. It runs after the write, synchronously, so concurrent sets can
  // never leave more than maxSize entries tracked.
  admit(bk: string, seconds: number, now: number): readonly string[] {
    const tracked = this.#tracked;
    const maxSize = this.maxSize;
    const expiresAt = now + seconds * 1000;
    // An overwrite is updated in place: it promotes the key and never evicts.
    if (tracked.get(bk) !== undefined || maxSize === 0 || tracked.size < maxSize) {
      this.#track(bk, expiresAt);
      if (maxSize === 0 && this.#sweeps.due(tracked.size)) {
        this.#sweep(now);
        this.#sweeps.swept(tracked.size);
      }
      return NO_VICTIMS;
    }
    this.#sweep(now);
    const victims: string[] = [];
    while (tracked.size >= maxSize) {
      const oldest = tracked.oldest()!;
      tracked.delete(oldest);
      victims.push(oldest);
    }
    this.evictions += victims.length;
    this.#track(bk, expiresAt);
    return victims;
  }

  #track(bk: string, expiresAt: number): void {
    this.#tracked.set(bk, expiresAt);
    if (expiresAt < this.#nextExpiry) this.#nextExpiry = expiresAt;
  }

  #sweep(now: number): void {
    if (now < this.#nextExpiry) return;
    this.#nextExpiry = this.#tracked.deleteExpired(now);
  }
}
