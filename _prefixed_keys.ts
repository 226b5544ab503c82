// Keys under a prefix, the same string for a key that repeats. A new
// concatenation is a rope (a ConsString in V8) that each consumer flattens
// again: hashing it for a Map lookup, or writing it to a socket as UTF-8,
// costs about four times what a flat string does. A kept string is flat
// after its first use and keeps its hash.

// Longer keys are concatenated each time: keeping them would hold more memory than their repeats save.
const KEY_MAX_LENGTH = 128;

/** Prefixed keys, the recent ones kept (at most `max`; the set starts over when full). */
export class PrefixedKeys {
  readonly prefix: string;
  readonly #max: number;
  readonly #kept = new Map<string, string>();

  constructor(prefix: string, max: number) {
    this.prefix = prefix;
    this.#max = max;
  }

  /** `prefix + key`. */
  of(key: string): string {
    if (key.length > KEY_MAX_LENGTH) return this.prefix + key;
    let full = this.#kept.get(key);
    if (full === undefined) {
      full = this.prefix + key;
      if (this.#kept.size >= this.#max) this.#kept.clear();
      this.#kept.set(key, full);
    }
    return full;
  }
}
