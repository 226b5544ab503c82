// The in-process tier (l1): decoded values by backend key, in LRU order, each
// with the record tokens it was written under. A copy is served only while
// every one of its tokens is the one this process last knew; an invalidation
// (local, or heard from another process) forgets a token, or the copy itself.
import type { Header } from "./_envelope.ts";
import { LruList } from "./_lru_list.ts";
import { checkBoolean, checkCount, checkOptions, checkTtl, describe, optionNames } from "./_validate.ts";
import type { Clock } from "./types.ts";
import type { L1Options } from "./ttl_cache_options.ts";

const L1_KEYS = optionNames<L1Options>({ maxSize: true, ttl: true, clone: true, busDownTtl: true });
const RECORDS_MAX_FACTOR = 4;
const RECORDS_MIN = 1_024;
const NO_PAIRS: readonly string[] = [];

/** One in-process copy. */
export interface L1Entry<T> {
  readonly value: T;
  // When this copy stops being fresh here (capped by l1.ttl and busDownTtl).
  readonly freshUntil: number;
  readonly expiresAt: number;
  // The entry's own end of freshness and compute time, for early refresh.
  readonly staleAt: number;
  readonly delta: number;
  // Record and token pairs, flattened.
  readonly stamps: readonly string[];
}

/** A token's bytes as a string (ASCII), the form l1 compares. */
export function tokenString(token: Uint8Array): string {
  return String.fromCharCode.apply(null, token as unknown as number[]);
}

/** The in-process tier of one cache (shared by its namespace views). */
export class L1Tier<T> {
  readonly entries: LruList<L1Entry<T>> = new LruList();
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
    this.decoded = decoded;
    this.listening = listening;
  }

  /** The generation a read starts in; pass it to fill(). */
  get generation(): number {
    return this.#generation;
  }

  // The in-process copy of `bk` when it is still usable (fresh or stale within
  // grace, with every record token current); drops it otherwise.
  find(bk: string, now: number): L1Entry<T> | undefined {
    const entry = this.entries.use(bk);
    if (entry === undefined) return undefined;
    if (now < entry.expiresAt) {
      const stamps = entry.stamps;
      let current = true;
      for (let i = 0; i < stamps.length; i += 2) {
        if (this.#records.get(stamps[i]) !== stamps[i + 1]) {
          current = false;
          break;
        }
      }
      if (current) return entry;
    }
    this.entries.delete(bk);
    return undefined;
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
    const stamps: string[] = [];
    for (const stamp of header.tags) {
      const token = tokenString(stamp.token);
      // With an invalidation source, a token learned here may be older than
      // one a message made this process forget meanwhile (a read's reply can
      // arrive after the message): it only fills a gap, and an entry whose
      // token differs stays out. Without one, reads are the only news: the
      // latest one wins.
      const known = this.#records.get(stamp.record);
      if (known === undefined || !this.listening) this.#records.set(stamp.record, token);
      else if (known !== token) return;
      stamps.push(stamp.record, token);
    }
    // Tags come and go: past this many known records, start over rather than grow.
    if (this.#records.size > RECORDS_MAX_FACTOR * this.maxSize + RECORDS_MIN) {
      this.clear();
      return;
    }
    const kept = !owned && this.clone && this.decoded ? structuredClone(value) : value;
    // Only the header's figures are kept: a decoded header holds a view of the stored bytes.
    this.entries.set(bk, header.expiresAt, {
      value: kept,
      freshUntil,
      expiresAt: header.expiresAt,
      staleAt: header.freshUntil,
      delta: header.delta,
      stamps: stamps.length === 0 ? NO_PAIRS : stamps,
    });
    while (this.entries.size > this.maxSize) this.entries.delete(this.entries.oldest()!);
  }

  /** Drops the copies of `bks`; reads in flight will not fill l1. */
  evictKeys(bks: Iterable<string>): void {
    this.#generation++;
    for (const bk of bks) this.entries.delete(bk);
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
    this.entries.clear();
    this.#records.clear();
  }
}
