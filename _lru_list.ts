// The LRU bookkeeping of TTLCache: key -> expiry, in least-recently-used
// order, as a doubly linked list over array slots (the layout lru-cache uses).
// Promoting a key rewires four links. Doing it with Map delete + set instead
// leaves a deleted entry in the key's hash chain on every promotion, so
// lookups of hot keys in a large Map slow down ~5-fold until V8 rehashes the
// whole table.

/** Key -> expiry (and an optional value) in LRU order: oldest first. */
export class LruList<V = undefined> {
  readonly #slots = new Map<string, number>();
  #keys: (string | undefined)[] = [];
  #expiries: number[] = [];
  #values: (V | undefined)[] = [];
  #prev: number[] = [];
  #next: number[] = [];
  #free: number[] = [];
  #head = -1;
  #tail = -1;

  /** The number of keys tracked. */
  get size(): number {
    return this.#slots.size;
  }

  /** The expiry of `key`, or `undefined` when it is not tracked. */
  get(key: string): number | undefined {
    const slot = this.#slots.get(key);
    return slot === undefined ? undefined : this.#expiries[slot];
  }

  /** The value of `key`, made the most recently used; `undefined` when it is not tracked. */
  use(key: string): V | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (slot !== this.#tail) {
      this.#unlink(slot);
      this.#append(slot);
    }
    return this.#values[slot];
  }

  /** The value of `key`, without changing the order. */
  peek(key: string): V | undefined {
    const slot = this.#slots.get(key);
    return slot === undefined ? undefined : this.#values[slot];
  }

  /** Makes `key` the most recently used, when it is tracked. */
  touch(key: string): void {
    const slot = this.#slots.get(key);
    if (slot !== undefined && slot !== this.#tail) {
      this.#unlink(slot);
      this.#append(slot);
    }
  }

  /** Tracks `key` as the most recently used, expiring at `expiresAt`. */
  set(key: string, expiresAt: number, value?: V): void {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = this.#free.pop() ?? this.#keys.length;
      this.#keys[slot] = key;
      this.#expiries[slot] = expiresAt;
      this.#values[slot] = value;
      this.#slots.set(key, slot);
      this.#append(slot);
      return;
    }
    this.#expiries[slot] = expiresAt;
    this.#values[slot] = value;
    if (slot !== this.#tail) {
      this.#unlink(slot);
      this.#append(slot);
    }
  }

  /** Stops tracking `key`; returns whether it was tracked. */
  delete(key: string): boolean {
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    this.#slots.delete(key);
    this.#unlink(slot);
    this.#keys[slot] = undefined;
    this.#values[slot] = undefined;
    this.#free.push(slot);
    return true;
  }

  /** The least recently used key, or `undefined` when none is tracked. */
  oldest(): string | undefined {
    return this.#head === -1 ? undefined : this.#keys[this.#head];
  }

  /** Stops tracking every key. */
  clear(): void {
    this.#slots.clear();
    this.#keys = [];
    this.#expiries = [];
    this.#values = [];
    this.#prev = [];
    this.#next = [];
    this.#free = [];
    this.#head = -1;
    this.#tail = -1;
  }

  /**
   * Stops tracking the keys expired at `now` (telling `dropped` each one and its value); returns the earliest expiry
   * left (`Infinity` when none).
   */
  deleteExpired(now: number, dropped?: (key: string, value: V | undefined) => void): number {
    let earliest = Infinity;
    for (let slot = this.#head; slot !== -1;) {
      const following = this.#next[slot];
      const expiresAt = this.#expiries[slot];
      if (expiresAt <= now) {
        const key = this.#keys[slot]!;
        dropped?.(key, this.#values[slot]);
        this.delete(key);
      } else if (expiresAt < earliest) earliest = expiresAt;
      slot = following;
    }
    return earliest;
  }

  #unlink(slot: number): void {
    const prev = this.#prev[slot];
    const next = this.#next[slot];
    if (prev === -1) this.#head = next;
    else this.#next[prev] = next;
    if (next === -1) this.#tail = prev;
    else this.#prev[next] = prev;
  }

  #append(slot: number): void {
    this.#prev[slot] = this.#tail;
    this.#next[slot] = -1;
    if (this.#tail === -1) this.#head = slot;
    else this.#next[this.#tail] = slot;
    this.#tail = slot;
  }
}
