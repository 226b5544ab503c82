// Tag and namespace records: one small backend entry per tag or namespace
// holding a random token. An entry is written with the tokens of its records
// (in its header) and is alive while they are current; deleteTags() or a
// namespace's clear() writes a new token, which makes every entry carrying
// the old one a miss at once, in O(1), in every process sharing the backend.
import { newToken, type TagStamp } from "./_envelope.ts";
import type { BackendIo } from "./_backend_io.ts";
import type { BackendEntry } from "./types.ts";

const NO_STAMPS: readonly TagStamp[] = [];

/** Records' tokens as read from the backend (undefined: the record does not exist). */
export type Tokens = Map<string, Uint8Array | undefined>;

/** The records of one cache's backend. */
export class Records {
  readonly #io: BackendIo;
  // A record outlives every entry that can carry its token (ttl + grace <= 2 maxTtl).
  readonly #ttl: number;

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
    const unread = records.filter((record) => !known.has(record));
    if (unread.length > 0) {
      const got = await this.#io.readMany(unread, "get");
      unread.forEach((record, i) => known.set(record, got[i]));
    }
    const absent = records.filter((record) => known.get(record) === undefined);
    if (absent.length > 0) {
      const rows = this.#rows(absent);
      await this.#io.writeMany(rows);
      for (const row of rows) known.set(row.key, row.value);
    }
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
