// Tag and namespace records: one small backend entry per tag or namespace
// holding a random token. An entry is written with the tokens of its records
// (in its header) and is alive while they are current; deleteTags() or a
// namespace's clear() writes a new token, which makes every entry carrying
// the old one a miss at once, in O(1), in every process sharing the backend.
import { newToken, type TagStamp } from "./_envelope.ts";
import type { BackendIo } from "./_backend_io.ts";
import type { BackendEntry } from "./types.ts";

const NO_STAMPS: readonly TagStamp[] = [];
const RECENT_MAX = 4_096;

/** Records' tokens as read from the backend (undefined: the record does not exist). */
export type Tokens = Map<string, Uint8Array | undefined>;

/** The records of one cache's backend. */
export class Records {
  readonly #io: BackendIo;
  // A record outlives every entry that can carry its token (ttl + grace <= 2 maxTtl).
  readonly #ttl: number;
  // Records being created by this process, and the last ones it created, numbered in order.
  readonly #creating = new Map<string, Promise<Uint8Array>>();
  readonly #recent = new Map<string, { token: Uint8Array; at: number }>();
  #created = 0;

  constructor(io: BackendIo, maxTtl: number) {
    this.#io = io;
    this.#ttl = 2 * maxTtl;
  }

  // The current tokens of `records`, creating the missing ones. A token is set
  // before the value it guards is computed, so a value computed before a
  // deleteTags() can never carry the token written by it.
  async stamps(records: readonly string[], tokens: Tokens | undefined): Promise<readonly TagStamp[]> {
    const known = tokens ?? new Map();
    await this.tokens(records, known);
    return stampsOf(records, known);
  }

  /** Fills `known` with the tokens of `records`, reading those it lacks and creating the missing ones. */
  async tokens(records: readonly string[], known: Tokens): Promise<void> {
    const readAt = this.#created;
    const unread = records.filter((record) => !known.has(record));
    if (unread.length > 0) {
      const got = await this.#io.readMany(unread, "get");
      unread.forEach((record, i) => known.set(record, got[i]));
    }
    const absent = records.filter((record) => known.get(record) === undefined);
    if (absent.length === 0) return;
    // Two writers creating one record would each write their own token, and
    // the entries stamped with the losing one would be dead at once. So a
    // creation in flight is joined, and one that completed after this read
    // began (the read could not see it) is used as it is.
    const fresh: string[] = [];
    const waits: Promise<void>[] = [];
    for (const record of absent) {
      const pending = this.#creating.get(record);
      const done = this.#recent.get(record);
      if (pending !== undefined) waits.push(pending.then((token) => void known.set(record, token)));
      else if (done !== undefined && done.at > readAt) known.set(record, done.token);
      else fresh.push(record);
    }
    if (fresh.length > 0) {
      const rows = this.#rows(fresh);
      const written = this.#io.writeMany(rows);
      for (const row of rows) {
        const created = written.then(() => {
          if (this.#recent.size >= RECENT_MAX) this.#recent.clear();
          this.#recent.set(row.key, { token: row.value, at: ++this.#created });
          return row.value;
        });
        created.catch(() => {});
        this.#creating.set(row.key, created);
        const leave = () => {
          if (this.#creating.get(row.key) === created) this.#creating.delete(row.key);
        };
        created.then(leave, leave);
      }
      waits.push(written.then(() => rows.forEach((row) => known.set(row.key, row.value))));
    }
    await Promise.all(waits);
  }

  /** Gives `records` new tokens (one write): every entry carrying an old one is dead. Returns the rows written. */
  async renew(records: readonly string[]): Promise<readonly BackendEntry[]> {
    const rows = this.#rows(records);
    await this.#io.writeMany(rows);
    return rows;
  }

  #rows(records: readonly string[]): BackendEntry[] {
    return records.map((record) => ({ key: record, value: newToken(), ttl: this.#ttl }));
  }
}

/** The stamps of an entry carrying `records`, from tokens read. */
export function stampsOf(records: readonly string[], tokens: Tokens): readonly TagStamp[] {
  return records.length === 0 ? NO_STAMPS : records.map((record) => ({ record, token: tokens.get(record)! }));
}
