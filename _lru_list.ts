// The LRU bookkeeping of TTLCache: key -> expiry, in least-recently-used
// order, as a doubly linked list over array slots (the layout lru-cache uses).
// Promoting a key rewires four links. Doing it with Map delete + set instead
// leaves a deleted entry in the key's hash chain on every promotion, so
// lookups of hot keys in a large Map slow down ~5-fold until V8 rehashes the
// whole table.

/** Key -> expiry (and an optional value) in LRU order: oldest first. */
export class LruList<V = undefined> {
  readonly #ordered: boolean;
  readonly #slots = new Map<string, number>();
  #keys: (string | undefined)[] = [];
  #expiries: number[] = [];
  // Made once a key is given a value (a list of keys alone keeps none).
  #values: (V | undefined)[] | undefined;
  #prev: number[] = [];
  #next: number[] = [];
  #free: number[] = [];
  #head = -1;
  #tail = -1;

  /**
   * @param ordered Whether to keep the LRU order; without it (a list nothing is evicted from by age), the list keeps
   * no links and `oldest()` is always `undefined`.
   */
  constructor(ordered = true) {
    this.#ordered = ordered;
  }

  /** The number of keys tracked. */
  get size(): number {
    return this.#slots.size;
  }

  /** The number of slots, used or free: every slot is below it. */
  get slots(): number {
    return this.#keys.length;
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
    this.#moveToTail(slot);
    return this.#values?.[slot];
  }

  /**
   * The slot of `key`, made the most recently used; -1 when it is not tracked. A slot names the key's value and
   * expiry (`valueAt`, `expiryAt`) until the key is deleted, so a hit reads them without another lookup.
   */
  useSlot(key: string): number {
    const slot = this.#slots.get(key);
    if (slot === undefined) return -1;
    this.#moveToTail(slot);
    return slot;
  }

  /** The value in a slot of a tracked key. */
  valueAt(slot: number): V {
    return this.#values?.[slot] as V;
  }

  /** The expiry in a slot of a tracked key. */
  expiryAt(slot: number): number {
    return this.#expiries[slot];
  }

  /** The value of `key`, without changing the order. */
  peek(key: string): V | undefined {
    const slot = this.#slots.get(key);
    return slot === undefined ? undefined : this.#values?.[slot];
  }

  /** Makes `key` the most recently used, when it is tracked. */
  touch(key: string): void {
    const slot = this.#slots.get(key);
    if (slot !== undefined) this.#moveToTail(slot);
  }

  /** Tracks `key` as the most recently used, expiring at `expiresAt`; returns its slot. */
  set(key: string, expiresAt: number, value?: V): number {
    const slot = this.#slots.get(key);
    if (slot === undefined) return this.add(key, expiresAt, value);
    this.#expiries[slot] = expiresAt;
    this.#setValue(slot, value);
    this.#moveToTail(slot);
    return slot;
  }

  /** `set` of a key known not to be tracked (not looked up). */
  add(key: string, expiresAt: number, value?: V): number {
    const slot = this.#free.pop() ?? this.#keys.length;
    this.#keys[slot] = key;
    this.#expiries[slot] = expiresAt;
    this.#setValue(slot, value);
    this.#slots.set(key, slot);
    this.#append(slot);
    return slot;
  }

  /** Stops tracking `key`; returns whether it was tracked. */
  delete(key: string): boolean {
    return this.remove(key) !== -1;
  }

  /** Stops tracking `key`; returns the slot it had (free now), or -1 when it was not tracked. */
  remove(key: string): number {
    const slot = this.#slots.get(key);
    if (slot === undefined) return -1;
    this.#release(key, slot);
    return slot;
  }

  /** Stops tracking `key`; returns its value (`undefined` when it had none or was not tracked), in one lookup. */
  take(key: string): V | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    const value = this.#values?.[slot];
    this.#release(key, slot);
    return value;
  }

  #release(key: string, slot: number): void {
    this.#slots.delete(key);
    this.#unlink(slot);
    this.#keys[slot] = undefined;
    if (this.#values !== undefined) this.#values[slot] = undefined;
    this.#free.push(slot);
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
    this.#values = undefined;
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
    if (!this.#ordered) {
      for (let slot = 0; slot < this.#keys.length; slot++) {
        const key = this.#keys[slot];
        if (key === undefined) continue;
        const expiresAt = this.#expiries[slot];
        if (expiresAt <= now) {
          dropped?.(key, this.#values?.[slot]);
          this.delete(key);
        } else if (expiresAt < earliest) earliest = expiresAt;
      }
      return earliest;
    }
    for (let slot = this.#head; slot !== -1;) {
      const following = this.#next[slot];
      const expiresAt = this.#expiries[slot];
      if (expiresAt <= now) {
        const key = this.#keys[slot]!;
        dropped?.(key, this.#values?.[slot]);
        this.delete(key);
      } else if (expiresAt < earliest) earliest = expiresAt;
      slot = following;
    }
    return earliest;
  }

  #setValue(slot: number, value: V | undefined): void {
    if (value === undefined && this.#values === undefined) return;
    const values = this.#values ??= Array.from({ length: this.#keys.length }, () => undefined);
    values[slot] = value;
  }

  // Makes a tracked slot the most recently used: unlink and append as one move (the hot path of every l1 hit).
  #moveToTail(slot: number): void {
    const tail = this.#tail;
    if (slot === tail || !this.#ordered) return;
    const prev = this.#prev;
    const next = this.#next;
    const before = prev[slot];
    // Not the tail, so it has a successor.
    const after = next[slot];
    if (before === -1) this.#head = after;
    else next[before] = after;
    prev[after] = before;
    prev[slot] = tail;
    next[slot] = -1;
    next[tail] = slot;
    this.#tail = slot;
  }

  #unlink(slot: number): void {
    if (!this.#ordered) return;
    const prev = this.#prev[slot];
    const next = this.#next[slot];
    if (prev === -1) this.#head = next;
    else this.#next[prev] = next;
    if (next === -1) this.#tail = prev;
    else this.#prev[next] = prev;
  }

  #append(slot: number): void {
    if (!this.#ordered) return;
    this.#prev[slot] = this.#tail;
    this.#next[slot] = -1;
    if (this.#tail === -1) this.#head = slot;
    else this.#next[this.#tail] = slot;
    this.#tail = slot;
  }
}

const SHARED_MAX = 4_096;

/**
 * Lists of strings shared by content (the records or record tokens an entry
 * carries): entries written under the same tags hold one list between them
 * instead of one each. Bounded: emptied when full, which only costs sharing.
 */
export class SharedLists {
  readonly #lists = new Map<number, readonly string[]>();

  /** A list equal to `list`: one seen before, or `list` itself (kept for the next ones). */
  share(list: readonly string[]): readonly string[] {
    let hash = list.length;
    for (const item of list) {
      for (let i = 0; i < item.length; i++) hash = Math.imul(hash ^ item.charCodeAt(i), 0x01000193);
      hash = Math.imul(hash ^ 0xff, 0x01000193);
    }
    // A small integer key is stored unboxed.
    hash &= 0x3fffffff;
    const seen = this.#lists.get(hash);
    if (seen !== undefined && seen.length === list.length) {
      let same = true;
      for (let i = 0; i < list.length; i++) {
        if (seen[i] !== list[i]) {
          same = false;
          break;
        }
      }
      if (same) return seen;
    }
    if (this.#lists.size >= SHARED_MAX) this.#lists.clear();
    this.#lists.set(hash, list);
    return list;
  }

  /** Forgets every list. */
  clear(): void {
    this.#lists.clear();
  }
}
