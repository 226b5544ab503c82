// Invalidations a cache owes its backend. A write or invalidation whose backend
// call failed or timed out may still be applied later (a frozen server runs it
// when it thaws) or never; either way the value it replaced must not be served.
// So its outcome is treated as "maybe applied": the invalidation is remembered
// here (one record per key, record, or "everything"), what it covers is a miss
// in this process, and it is applied to the backend again in the background
// until that succeeds, then announced to the other caches once more, so a copy
// another process read back in the meantime is dropped too.
import type { BackendIo } from "./_backend_io.ts";
import type { Invalidation } from "./_bus_message.ts";
import type { TagStamp } from "./_envelope.ts";
import type { Records } from "./_records.ts";
import { unrefTimer } from "./_unref.ts";

// Past this many owed keys or records, the oldest is given up (and reported).
const OWED_MAX = 100_000;
const FIRST_RETRY_MS = 50;
// Well under the second in which a healed fault must stop serving what an owed invalidation covers.
const LAST_RETRY_MS = 250;

/** What an owed invalidation needs of its cache. */
export interface OwedParts {
  readonly io: BackendIo;
  readonly records: Records;
  /** Applied at last: tell the other caches (again). */
  readonly applied: (what: Invalidation) => void;
  /** A retry failed, or an owed invalidation was given up. */
  readonly report: (error: unknown) => void;
}

/** The invalidations one cache owes its backend. */
export class OwedInvalidations {
  readonly #p: OwedParts;
  readonly #keys = new Set<string>();
  readonly #records = new Set<string>();
  #all = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #delay = FIRST_RETRY_MS;
  #retrying = false;
  #closed = false;

  constructor(parts: OwedParts) {
    this.#p = parts;
  }

  /** Whether anything is owed (checked first on every read, so it must be cheap). */
  get any(): boolean {
    return this.#all || this.#keys.size > 0 || this.#records.size > 0;
  }

  /** Whether an entry at `bk` carrying `stamps` is covered by an owed invalidation. */
  covers(bk: string, stamps: readonly TagStamp[]): boolean {
    if (this.#all || this.#keys.has(bk)) return true;
    if (this.#records.size === 0) return false;
    for (const stamp of stamps) if (this.#records.has(stamp.record)) return true;
    return false;
  }

  /** Whether a record is owed a new token. */
  coversRecord(record: string): boolean {
    return this.#all || this.#records.has(record);
  }

  /** The backend may still hold the old values of `bks` (a delete or a set failed). */
  owe(what: Invalidation): void {
    if (what.all) this.#all = true;
    for (const bk of what.keys ?? []) add(this.#keys, bk, this.#p.report);
    for (const record of what.records ?? []) add(this.#records, record, this.#p.report);
    this.#schedule();
  }

  /** A later write of `bk` succeeded: its value supersedes an owed delete. */
  settled(bk: string): void {
    this.#keys.delete(bk);
  }

  /** Stops retrying (what is still owed stays unapplied). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#retrying || this.#closed || !this.any) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#retry();
    }, this.#delay);
    unrefTimer(this.#timer);
  }

  async #retry(): Promise<void> {
    const p = this.#p;
    this.#retrying = true;
    const all = this.#all;
    const keys = [...this.#keys];
    const records = [...this.#records];
    try {
      if (all) await p.io.clear();
      else {
        if (keys.length > 0) await p.io.deleteMany(keys, `${keys.length} owed keys`);
        if (records.length > 0) await p.records.renew(records);
      }
      // Owed since the retry began stays owed.
      if (all) this.#all = false;
      for (const key of keys) this.#keys.delete(key);
      for (const record of records) this.#records.delete(record);
      this.#delay = FIRST_RETRY_MS;
      p.applied(all ? { all: true } : { keys, records });
    } catch (error) {
      p.report(error);
      this.#delay = Math.min(LAST_RETRY_MS, this.#delay * 2);
    } finally {
      this.#retrying = false;
    }
    this.#schedule();
  }
}

function add(set: Set<string>, name: string, report: (error: unknown) => void): void {
  set.delete(name);
  set.add(name);
  if (set.size <= OWED_MAX) return;
  const oldest = set.values().next().value!;
  set.delete(oldest);
  report(new RangeError(`Cannot keep owing more than ${OWED_MAX} invalidations: gave up on ${JSON.stringify(oldest)}`));
}
