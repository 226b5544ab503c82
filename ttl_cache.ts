import { CacheError, CacheTimeoutError } from "./errors.ts";
import { CacheEvent, type CacheEventInit, type CacheEventType } from "./events.ts";
import { defaultBackendFor } from "./default_backend.ts";
import { type SyncView, syncViewOf } from "./_sync_view.ts";
import { LruList } from "./_lru_list.ts";
import { SweepSchedule } from "./_sweep.ts";
import { beforeDeadline } from "./_deadline.ts";
import { wallClock } from "./_clock.ts";
import {
  decode,
  type Decoded,
  encode,
  type Header,
  type KnownRecord,
  knownRecords,
  newToken,
  sameToken,
  type TagStamp,
} from "./_envelope.ts";
import { checkReadThrough, READ_THROUGH_NAMES, type ReadThroughSettings } from "./_read_through.ts";
import {
  checkBackend,
  checkBoolean,
  checkCount,
  checkFunction,
  checkGrace,
  checkKey,
  checkKeyList,
  checkLock,
  checkMaxTtl,
  checkMethods,
  checkOptions,
  checkTags,
  checkTtl,
  describe,
  optionNames,
  typeName,
} from "./_validate.ts";
import type { CacheLock } from "./cache_lock.ts";
import type { InvalidationBus } from "./bus.ts";
import type { BackendEntry, CacheBackend, CacheInfo, CacheSerializer, Clock } from "./types.ts";
import type {
  Factory,
  FactoryContext,
  GetOrSetOptions,
  L1Options,
  SetManyEntry,
  SetOptions,
  TTLCacheOptions,
} from "./ttl_cache_options.ts";

const CREATE = "Cannot create TTLCache";
const GET = "Cannot get from TTLCache";
const SET = "Cannot set in TTLCache";
const DELETE = "Cannot delete from TTLCache";
const GET_OR_SET = "Cannot getOrSet in TTLCache";
const NO_VICTIMS: readonly string[] = [];
const NO_RECORDS: readonly string[] = [];
const NO_STAMPS: readonly TagStamp[] = [];
const NO_PAIRS: readonly string[] = [];
const OPTION_KEYS = optionNames<TTLCacheOptions<unknown>>({
  l1: true,
  bus: true,
  maxSize: true,
  ttl: true,
  maxTtl: true,
  backend: true,
  serializer: true,
  clock: true,
  random: true,
  onError: true,
  ...READ_THROUGH_NAMES,
});
const L1_KEYS = optionNames<L1Options>({ maxSize: true, ttl: true, clone: true, busDownTtl: true });
const SET_KEYS = optionNames<SetOptions>({ ttl: true, grace: true, tags: true });
const ENTRY_KEYS = optionNames<SetManyEntry<unknown>>({ key: true, value: true, ttl: true, grace: true, tags: true });
const GET_OR_SET_KEYS = optionNames<GetOrSetOptions>({
  ttl: true,
  tags: true,
  lock: true,
  signal: true,
  ...READ_THROUGH_NAMES,
});
const DEFAULT_MAX_TTL = 43_200;
const OUTBOX_MAX = 1_000;
const RECORDS_MAX_FACTOR = 4;
const RECORDS_MIN = 1_024;
const MESSAGE_MAX = 1 << 20;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });
// Backend key spaces. User keys of the root cache are stored as they are,
// except that a leading NUL is doubled; everything cachet adds starts with a
// NUL and another character, so no user key can name it.
const NUL = "\0";
const NAMESPACE = "\0n";
const TAG_RECORD = "\0t";
const NAMESPACE_RECORD = "\0g";

/** The state a cache shares with its namespace views. */
interface Core<T> {
  readonly root: TTLCache<T>;
  readonly backend: CacheBackend;
  readonly sync: SyncView | undefined;
  readonly serializer: CacheSerializer<T> | undefined;
  readonly clock: Clock;
  readonly random: () => number;
  readonly maxSize: number;
  readonly ttl: number;
  readonly maxTtl: number;
  readonly defaults: ReadThroughSettings;
  // The settings of a getOrSet() call without options, made once.
  readonly defaultCall: CallSettings;
  // Frozen options objects (cached() makes one per function) are validated once.
  readonly validated: WeakMap<GetOrSetOptions, CallSettings>;
  readonly onError: TTLCacheOptions<T>["onError"];
  // The in-process tier: backend key -> decoded value, in LRU order.
  readonly l1: L1<T> | undefined;
  readonly bus: InvalidationBus | undefined;
  // Tells this cache's bus messages apart from other caches'.
  readonly sender: string;
  // Backend key -> expiry (ms), in LRU order: oldest first.
  readonly tracked: LruList;
  // Computations in flight, by backend key.
  readonly flights: Map<string, Flight<T>>;
  // Listener counts by event type, so an unobserved event costs nothing.
  readonly listening: Map<string, number>;
  // A lower bound of the earliest expiry in `tracked`: no sweep is needed before it.
  nextExpiry: number;
  readonly sweeps: SweepSchedule;
  hits: number;
  misses: number;
  staleHits: number;
  errors: number;
  evictions: number;
  l1Hits: number;
}

interface L1<T> {
  readonly entries: LruList<L1Entry<T>>;
  readonly maxSize: number;
  readonly ttl: number | undefined;
  readonly clone: boolean;
  readonly busDownTtl: number;
  // Record -> its token as this process last knew it; an entry stamped with another token is stale.
  readonly records: Map<string, string>;
  busDown: boolean;
  // Counts the invalidations heard from the bus (and its returns): a value
  // read before one of them may be older than it, so it does not fill l1.
  generation: number;
  // Messages the bus refused, sent again when it is back.
  outbox: Uint8Array[];
  unsubscribe: (() => void) | undefined;
}

interface L1Entry<T> {
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

interface CallSettings extends ReadThroughSettings {
  readonly ttl: number;
  readonly tags: readonly string[];
  readonly lock: CacheLock | boolean;
  readonly signal: AbortSignal | undefined;
}

/** A namespace: where its keys live and the records whose tokens its entries carry. */
interface Scope {
  readonly path: string;
  readonly prefix: string;
  readonly records: readonly string[];
  // The records with their bytes, so reading an entry's header names them without decoding text.
  readonly known: readonly KnownRecord[];
}

/** One getOrSet() call past the in-process tier: what its computation needs. */
interface Call<T> {
  readonly key: string;
  readonly bk: string;
  readonly factory: Factory<T>;
  readonly settings: CallSettings;
  readonly records: readonly string[];
  // The records' tokens read with the entry (a remote backend), reused by the store.
  readonly tokens: Map<string, Uint8Array | undefined> | undefined;
}

/** An entry found by a read. */
interface Found<T> {
  readonly value: T;
  readonly fresh: boolean;
  readonly header: Header;
}

/** A computation several callers may wait on. */
interface Flight<T> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  // Callers still waiting; when the last one with a signal aborts, so does the computation.
  waiting: number;
  abortable: boolean;
  // The factory's ms, once it returned.
  duration: number | undefined;
}

const ROOT: Scope = { path: "", prefix: "", records: NO_RECORDS, known: [] };

/**
 * A cache with a time to live per entry, an optional LRU bound, statistics,
 * read-through with single flight (`getOrSet`), batch operations, tags,
 * namespaces, fail-safe options (grace, fail-open, timeouts, early refresh),
 * events, and a pluggable backend and serializer.
 *
 * The bound (`maxSize`) and the LRU order are kept by this instance, not by
 * the backend: entries that another process or cache writes to a shared
 * backend are served but not counted or evicted here.
 *
 * @typeParam T The type of the cached values: `Uint8Array` without a
 * serializer, else what the serializer reads and writes.
 *
 * @example Caching JSON values with a bound
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ maxSize: 2, ttl: 30, serializer: new JsonSerializer() });
 * await cache.set("a", 1);
 * await cache.set("b", 2);
 * await cache.get("a"); // "a" is now the most recently used
 * await cache.set("c", 3); // evicts "b"
 * assert.equal(await cache.get("b"), undefined);
 * assert.equal(cache.cacheInfo().evictions, 1);
 * ```
 *
 * @example Read-through with a per-call TTL and tags
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { JsonSerializer } from "@cachet/cachet/json";
 *
 * const cache = new TTLCache({ serializer: new JsonSerializer() });
 * let loads = 0;
 * const load = () => cache.getOrSet("user:1", () => ({ id: 1, n: ++loads }), { ttl: 30, tags: ["user:1"] });
 * assert.deepEqual(await load(), { id: 1, n: 1 });
 * assert.deepEqual(await load(), { id: 1, n: 1 }); // a hit
 * await cache.deleteTags(["user:1"]);
 * assert.deepEqual(await load(), { id: 1, n: 2 }); // recomputed
 * ```
 */
export class TTLCache<T = Uint8Array> extends EventTarget {
  readonly #c: Core<T>;
  readonly #scope: Scope;

  // Set by namespace() just before it constructs a view.
  static #viewOf: { core: Core<unknown>; scope: Scope } | undefined;

  /**
   * Creates a cache.
   *
   * @param options Options, see {@linkcode TTLCacheOptions}.
   * @throws {TypeError} When an option has the wrong type or an unknown name.
   * @throws {RangeError} When a number is out of range (`maxSize` not a non-negative integer, `ttl` not in
   * (0, maxTtl], …).
   */
  constructor(options: TTLCacheOptions<T> = {}) {
    super();
    const view = TTLCache.#viewOf;
    if (view !== undefined) {
      TTLCache.#viewOf = undefined;
      this.#c = view.core as Core<T>;
      this.#scope = view.scope;
      return;
    }
    checkOptions(CREATE, options, OPTION_KEYS);
    const {
      maxSize = 0,
      maxTtl = DEFAULT_MAX_TTL,
      backend,
      serializer,
      clock = wallClock,
      random = Math.random,
      onError,
    } = options;
    const maxSeconds = checkMaxTtl(CREATE, maxTtl);
    checkCount(CREATE, "maxSize", maxSize);
    // The default ttl never exceeds a smaller maxTtl.
    const seconds = checkTtl(
      CREATE,
      "ttl",
      options.ttl === undefined ? Math.min(60, maxSeconds) : options.ttl,
      maxSeconds,
    );
    if (backend !== undefined) checkBackend(CREATE, "backend", backend);
    if (serializer !== undefined) checkMethods(CREATE, "serializer", serializer, ["dumps", "loads"]);
    checkMethods(CREATE, "clock", clock, ["now"]);
    checkFunction(CREATE, "random", random);
    checkFunction(CREATE, "onError", onError);
    const { l1: l1Options, bus } = options;
    if (bus !== undefined) {
      checkMethods(CREATE, "bus", bus, ["publish", "subscribe"]);
      if (l1Options === undefined) {
        throw new TypeError(`${CREATE}: bus needs l1: a bus only invalidates an in-process tier; pass l1: { maxSize }`);
      }
    }
    const l1 = l1Options === undefined ? undefined : checkL1(l1Options, maxSeconds);
    const defaults = checkReadThrough(CREATE, options, undefined, maxSeconds);
    const chosen = backend ?? defaultBackendFor(clock);
    this.#c = {
      root: this,
      backend: chosen,
      sync: syncViewOf(chosen),
      serializer,
      clock,
      random,
      maxSize,
      ttl: seconds,
      maxTtl: maxSeconds,
      defaults,
      defaultCall: { ...defaults, ttl: seconds, tags: NO_RECORDS, lock: true, signal: undefined },
      validated: new WeakMap(),
      onError,
      tracked: new LruList(),
      flights: new Map(),
      listening: new Map(),
      nextExpiry: Infinity,
      sweeps: new SweepSchedule(),
      hits: 0,
      misses: 0,
      staleHits: 0,
      errors: 0,
      evictions: 0,
      l1Hits: 0,
      l1,
      bus,
      sender: crypto.randomUUID(),
    };
    this.#scope = ROOT;
    if (l1 !== undefined && bus !== undefined) {
      const core = this.#c;
      l1.unsubscribe = bus.subscribe({
        message: (bytes) => this.#received(bytes),
        down: () => {
          l1.busDown = true;
        },
        up: () => {
          // Invalidations may have been lost meanwhile.
          l1.busDown = false;
          l1.generation++;
          l1.entries.clear();
          l1.records.clear();
          const waiting = l1.outbox;
          l1.outbox = [];
          for (const message of waiting) this.#publish(message);
          void core;
        },
      });
    }
  }

  /** The backend this cache stores into. */
  get backend(): CacheBackend {
    return this.#c.backend;
  }

  /** The longest time to live (and grace), in seconds, this cache accepts (its `maxTtl` option). */
  get maxTtl(): number {
    return this.#c.maxTtl;
  }

  /** The namespace path of this view (`"users/admins"`), or `""` for the cache itself. */
  get namespacePath(): string {
    return this.#scope.path;
  }

  /**
   * Reads a value. A hit promotes the key in LRU order. Bytes that cannot be
   * decoded count as a miss: the entry is deleted, `onError` is told and an
   * `error` event dispatched; `get` does not throw for them. A stale entry
   * (past its `ttl`, within its grace) is a miss here.
   *
   * Cost: one backend read, plus one for the tag records when the entry
   * carries tags or lives in a namespace (read together with the entry on a
   * namespace view).
   *
   * @param key The key.
   * @returns The value, or `undefined` when missing, expired or stale.
   * @throws {TypeError} When `key` is not a well-formed string.
   * @throws {CacheError} When the backend fails.
   */
  get(key: string): Promise<T | undefined>;
  /**
   * Reads a value, or `fallback` when it is missing, expired or stale.
   *
   * @param key The key.
   * @param fallback What to return on a miss.
   * @returns The value, or `fallback`.
   * @throws {TypeError} When `key` is not a well-formed string.
   * @throws {CacheError} When the backend fails.
   */
  get<F>(key: string, fallback: F): Promise<T | F>;
  get<F>(key: string, fallback?: F): Promise<T | F | undefined> {
    const c = this.#c;
    const l1 = c.l1;
    // An in-process hit: one lookup, no validation (only checked keys get in), no decoding.
    if (l1 !== undefined && typeof key === "string") {
      const now = c.clock.now();
      const entry = this.#l1Find(l1, this.#bk(key), now);
      if (entry !== undefined && now < entry.freshUntil) {
        c.hits++;
        c.l1Hits++;
        if (c.listening.size > 0) this.#emit("hit", { key, tier: "l1" });
        return Promise.resolve(this.#l1Value(l1, entry.value));
      }
    }
    let found: Found<T> | undefined | Promise<Found<T> | undefined>;
    try {
      checkKey(GET, key);
      found = this.#lookup(key, this.#bk(key), this.#scope.records, undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    if (found instanceof Promise) return found.then((entry) => this.#served(key, entry, fallback));
    return Promise.resolve(this.#served(key, found, fallback));
  }

  #served<F>(key: string, found: Found<T> | undefined, fallback: F): T | F {
    const c = this.#c;
    if (found !== undefined && found.fresh) {
      c.hits++;
      if (c.listening.size > 0) this.#emit("hit", { key, tier: "backend" });
      return found.value;
    }
    c.misses++;
    if (c.listening.size > 0) this.#emit("miss", { key });
    return fallback;
  }

  /**
   * Reads several keys in one backend round trip (`getMany` of the backend,
   * else concurrent `get`s); each hit and miss is counted.
   *
   * @param keys The keys.
   * @returns The values aligned with `keys`, `undefined` where missing.
   * @throws {TypeError} When `keys` is not an array of well-formed strings.
   * @throws {CacheError} When the backend fails.
   */
  getMany(keys: readonly string[]): Promise<(T | undefined)[]>;
  /**
   * Reads several keys; `fallback` stands in for each miss.
   *
   * @param keys The keys.
   * @param fallback What to put where a key is missing.
   * @returns The values aligned with `keys`.
   * @throws {TypeError} When `keys` is not an array of well-formed strings.
   * @throws {CacheError} When the backend fails.
   */
  getMany<F>(keys: readonly string[], fallback: F): Promise<(T | F)[]>;
  async getMany<F>(keys: readonly string[], fallback?: F): Promise<(T | F | undefined)[]> {
    const context = "Cannot getMany from TTLCache";
    checkKeyList(context, "keys", keys);
    if (keys.length === 0) return [];
    const bks = keys.map((key) => this.#bk(key));
    const records = this.#scope.records;
    const since = this.#c.l1?.generation ?? 0;
    const raw = await this.#readMany([...bks, ...records], "get");
    const tokens = new Map<string, Uint8Array | undefined>();
    records.forEach((record, i) => tokens.set(record, raw[bks.length + i]));
    const decoded = bks.map((bk, i) => this.#decodeOrDrop(keys[i], bk, raw[i]));
    const missing = new Set<string>();
    for (const entry of decoded) {
      for (const stamp of entry?.tags ?? NO_STAMPS) if (!tokens.has(stamp.record)) missing.add(stamp.record);
    }
    if (missing.size > 0) {
      const list = [...missing];
      const got = await this.#readMany(list, "get");
      list.forEach((record, i) => tokens.set(record, got[i]));
    }
    const now = this.#c.clock.now();
    return Promise.all(decoded.map(async (entry, i) => {
      const found = entry === undefined ? undefined : await this.#load(keys[i], bks[i], entry, tokens, now, since);
      return this.#served(keys[i], found, fallback);
    }));
  }

  /**
   * Stores a value. When the cache is full, expired entries are dropped and
   * then the least recently used entries are evicted. Overwriting a key
   * promotes it and never evicts. A failed `set` changes nothing.
   *
   * Cost: one backend write; with tags, or on a namespace view, one more read
   * first (the tag records' tokens).
   *
   * @param key The key.
   * @param value The value: a `Uint8Array` without a serializer, else anything the serializer encodes.
   * @param options Seconds to live (a number), or {@linkcode SetOptions}.
   * @throws {TypeError} When `key` is not a well-formed string, an option has the wrong type, or `value` cannot be
   * encoded.
   * @throws {RangeError} When `ttl` is not in (0, maxTtl] or `grace` not in [0, maxTtl].
   * @throws {CacheError} When the backend fails.
   */
  set(key: string, value: T, options?: number | SetOptions): Promise<void> {
    let bk: string;
    let ttl: number;
    let grace: number;
    let records: readonly string[];
    try {
      checkKey(SET, key);
      bk = this.#bk(key);
      const settings = typeof options === "number" || options === undefined ? { ttl: options } as SetOptions : options;
      checkOptions(SET, settings, SET_KEYS);
      ttl = settings.ttl === undefined ? this.#c.ttl : checkTtl(SET, "ttl", settings.ttl, this.#c.maxTtl);
      grace = settings.grace === undefined
        ? this.#c.defaults.grace
        : checkGrace(SET, "grace", settings.grace, this.#c.maxTtl);
      records = this.#recordsFor(SET, settings.tags);
    } catch (error) {
      return Promise.reject(error);
    }
    if (records.length === 0) return this.#write(key, bk, value, ttl, grace, NO_STAMPS, 0);
    return this.#stamps(records, undefined).then((stamps) => this.#write(key, bk, value, ttl, grace, stamps, 0));
  }

  /**
   * Stores several entries: one backend round trip (`setMany` of the backend,
   * else concurrent `set`s), plus one read when some carry tags or this is a
   * namespace view.
   *
   * @param entries Objects `{ key, value, ttl?, grace?, tags? }`.
   * @throws {TypeError} When an entry or one of its fields has the wrong type.
   * @throws {RangeError} When a `ttl` or `grace` is out of range.
   * @throws {CacheError} When the backend fails.
   */
  async setMany(entries: readonly SetManyEntry<T>[]): Promise<void> {
    const context = "Cannot setMany in TTLCache";
    if (!Array.isArray(entries)) {
      throw new TypeError(
        `${context}: entries must be an array of { key, value, ttl?, grace?, tags? }: received ${describe(entries)}`,
      );
    }
    const c = this.#c;
    const plans = entries.map((entry, i) => {
      const where = `${context}: entries[${i}]`;
      if (entry === null || typeof entry !== "object") {
        throw new TypeError(
          `${where} must be an object { key, value, ttl?, grace?, tags? }: received ${describe(entry)}`,
        );
      }
      checkOptions(where, entry, ENTRY_KEYS);
      checkKey(where, entry.key);
      return {
        key: entry.key,
        bk: this.#bk(entry.key),
        value: entry.value,
        ttl: entry.ttl === undefined ? c.ttl : checkTtl(where, "ttl", entry.ttl, c.maxTtl),
        grace: entry.grace === undefined ? c.defaults.grace : checkGrace(where, "grace", entry.grace, c.maxTtl),
        records: this.#recordsFor(where, entry.tags),
      };
    });
    if (plans.length === 0) return;
    const allRecords = [...new Set(plans.flatMap((plan) => plan.records))];
    const tokens = new Map<string, Uint8Array | undefined>();
    if (allRecords.length > 0) await this.#tokens(allRecords, tokens);
    const now = c.clock.now();
    const rows: BackendEntry[] = plans.map((plan) => ({
      key: plan.bk,
      value: this.#envelope(plan.value, now, plan.ttl, plan.grace, stampsOf(plan.records, tokens), 0),
      ttl: plan.ttl + plan.grace,
    }));
    await this.#writeMany(rows);
    for (const [i, plan] of plans.entries()) {
      this.#written(plan.bk, rows[i].value);
      await this.#admitted(plan.bk, plan.ttl + plan.grace);
      this.#emitKey("set", plan.key);
    }
  }

  /**
   * Returns the cached value of `key`, or runs `factory` once, stores its
   * result and returns it. Every result is stored, including `undefined`,
   * `null`, `0`, `""` and `false` (when the serializer can encode it), unless
   * the factory calls `context.skip()`. Errors are never stored: they reach
   * the caller (or a stale value is served, with `grace`). A cold call counts
   * exactly one miss.
   *
   * Cost on a hit: one backend read (the entry, with its tag records on a
   * namespace view or when `tags` is given), and nothing else.
   *
   * @param key The key.
   * @param factory Computes the value; receives a {@linkcode FactoryContext}.
   * @param options Options, see {@linkcode GetOrSetOptions}; defaults come from the cache.
   * @returns The cached or computed value.
   * @throws {TypeError} When an argument or option has the wrong type.
   * @throws {RangeError} When an option is out of range.
   * @throws {CacheError} When the backend fails and `failOpen` is off, or the lock cannot be taken.
   * @throws {CacheTimeoutError} When the computation outruns `hardTimeout` and there is no stale value.
   * @throws Whatever `factory` throws (when no stale value can be served), or the signal's reason.
   *
   * @example Single flight: one computation for concurrent callers
   * ```ts
   * import assert from "node:assert/strict";
   * import { TTLCache } from "@cachet/cachet";
   * import { JsonSerializer } from "@cachet/cachet/json";
   *
   * const cache = new TTLCache({ serializer: new JsonSerializer() });
   * let runs = 0;
   * const slow = async () => {
   *   runs++;
   *   await new Promise((resolve) => setTimeout(resolve, 10));
   *   return "report";
   * };
   * const results = await Promise.all([1, 2, 3].map(() => cache.getOrSet("report", slow)));
   * assert.deepEqual(results, ["report", "report", "report"]);
   * assert.equal(runs, 1);
   * ```
   *
   * @example Adaptive TTL and not storing a result
   * ```ts
   * import assert from "node:assert/strict";
   * import { TTLCache } from "@cachet/cachet";
   * import { JsonSerializer } from "@cachet/cachet/json";
   *
   * const cache = new TTLCache({ serializer: new JsonSerializer() });
   * const token = await cache.getOrSet("token", (ctx) => {
   *   const issued = { value: "abc", expiresIn: 120 };
   *   ctx.setTtl(issued.expiresIn - 10); // expire before the token does
   *   return issued.value;
   * });
   * assert.equal(token, "abc");
   * await cache.getOrSet("maybe", (ctx) => {
   *   ctx.skip();
   *   return null;
   * });
   * assert.equal(await cache.get("maybe"), undefined);
   * ```
   */
  getOrSet(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T> {
    const c = this.#c;
    const l1 = c.l1;
    let settings: CallSettings;
    let bk: string;
    let records: readonly string[];
    let found: Found<T> | undefined | Promise<Found<T> | undefined>;
    let l1Stale: Found<T> | undefined;
    try {
      if (typeof factory !== "function") {
        throw new TypeError(`${GET_OR_SET}: factory must be a function: received ${describe(factory)}`);
      }
      settings = options === undefined ? c.defaultCall : this.#callSettings(options);
      settings.signal?.throwIfAborted();
      // An in-process hit first: only checked keys get in, so the key needs no check here.
      if (l1 !== undefined && typeof key === "string") {
        const now = c.clock.now();
        const entry = this.#l1Find(l1, this.#bk(key), now);
        if (entry !== undefined) {
          const value = this.#l1Value(l1, entry.value);
          if (now < entry.freshUntil) {
            c.hits++;
            c.l1Hits++;
            if (c.listening.size > 0) this.#emit("hit", { key, tier: "l1" });
            if (settings.earlyRefresh > 0 && this.#refreshEarly(entry.delta, entry.staleAt, settings.earlyRefresh)) {
              const records = this.#callRecords(settings);
              this.#background(
                { key, bk: this.#bk(key), factory, settings, records, tokens: undefined },
                value,
                "early",
              );
            }
            return Promise.resolve(value);
          }
          l1Stale = {
            value,
            fresh: false,
            header: { expiresAt: entry.expiresAt, freshUntil: entry.staleAt, delta: entry.delta, tags: NO_STAMPS },
          };
        }
      }
      checkKey(GET_OR_SET, key);
      bk = this.#bk(key);
      records = this.#callRecords(settings);
    } catch (error) {
      return Promise.reject(error);
    }
    // A remote read fetches the records with the entry; keep their tokens for the store.
    const tokens = records.length === 0 || c.sync !== undefined ? undefined : new Map<string, Uint8Array | undefined>();
    const call: Call<T> = { key, bk, factory, settings, records, tokens };
    if (l1Stale !== undefined && settings.staleWhileRevalidate) {
      c.staleHits++;
      this.#emitKey("stale", key, { reason: "revalidate" });
      this.#background(call, l1Stale.value, "revalidate");
      return Promise.resolve(l1Stale.value);
    }
    try {
      found = this.#lookup(key, bk, records, tokens);
    } catch (error) {
      return this.#readFailed(call, error, l1Stale);
    }
    if (found instanceof Promise) {
      return found.then(
        (entry) => this.#resolve(call, entry ?? l1Stale),
        (error) => this.#readFailed(call, error, l1Stale),
      );
    }
    const value = this.#resolve(call, found ?? l1Stale);
    return value instanceof Promise ? value : Promise.resolve(value);
  }

  #readFailed(call: Call<T>, error: unknown, stale: Found<T> | undefined): Promise<T> {
    const { key, settings } = call;
    if (!settings.failOpen || !(error instanceof CacheError)) return Promise.reject(error);
    this.#swallowed("get", key, error);
    // An in-process stale copy is served at once while the backend is down, and refreshed in the background.
    if (stale !== undefined && settings.grace > 0 && settings.staleWhileRevalidate) {
      this.#c.staleHits++;
      this.#emitKey("stale", key, { reason: "backend", error });
      return Promise.resolve(stale.value);
    }
    if (stale === undefined) {
      this.#c.misses++;
      this.#emitKey("miss", key);
    }
    return this.#compute({ ...call, tokens: undefined }, stale, true);
  }

  // What a read found decides: a fresh hit is returned (maybe refreshed early
  // in the background), anything else goes to a computation.
  #resolve(call: Call<T>, found: Found<T> | undefined): T | Promise<T> {
    const c = this.#c;
    const { key, settings } = call;
    if (found !== undefined && found.fresh) {
      c.hits++;
      if (c.listening.size > 0) this.#emit("hit", { key, tier: "backend" });
      if (
        settings.earlyRefresh > 0 &&
        this.#refreshEarly(found.header.delta, found.header.freshUntil, settings.earlyRefresh)
      ) {
        this.#background(call, found.value, "early");
      }
      return found.value;
    }
    if (found !== undefined && settings.staleWhileRevalidate) {
      c.staleHits++;
      this.#emitKey("stale", key, { reason: "revalidate" });
      this.#background(call, found.value, "revalidate");
      return found.value;
    }
    if (found === undefined) {
      c.misses++;
      this.#emitKey("miss", key);
    }
    return this.#compute(call, found);
  }

  // XFetch: refresh when now - delta * beta * ln(random) >= freshUntil.
  #callRecords(settings: CallSettings): readonly string[] {
    return settings.tags.length === 0
      ? this.#scope.records
      : [...this.#scope.records, ...settings.tags.map((tag) => TAG_RECORD + tag)];
  }

  #refreshEarly(delta: number, freshUntil: number, beta: number): boolean {
    const { clock, random } = this.#c;
    if (delta <= 0) return false;
    return clock.now() - delta * beta * Math.log(random()) >= freshUntil;
  }

  // A computation no caller waits for; its failure is an event, never an unhandled rejection.
  #background(call: Call<T>, stale: T, reason: string): void {
    const { key, bk, settings } = call;
    if (this.#c.flights.has(bk)) return;
    const flight = this.#startFlight({ ...call, settings: { ...settings, signal: undefined } }, stale);
    flight.abortable = false;
    flight.promise.then(
      () => this.#emitKey("refresh", key, { reason, duration: flight.duration }),
      (error) => this.#swallowed("refresh", key, error),
    );
  }

  // Waits on the key's computation (starting it if needed), serving the stale
  // value, when there is one, if it fails or outruns a timeout.
  #compute(call: Call<T>, stale: Found<T> | undefined, degraded = false): Promise<T> {
    const c = this.#c;
    const { key, bk, settings } = call;
    let flight = settings.lock === false ? undefined : c.flights.get(bk);
    if (flight === undefined) flight = this.#startFlight(call, stale?.value, degraded);
    const running = flight;
    const { signal, timeout } = settings;
    running.waiting++;
    if (signal === undefined) running.abortable = false;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        done = true;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", aborted);
        running.waiting--;
      };
      const serveStale = (reason: string, error?: unknown) => {
        c.staleHits++;
        this.#emitKey("stale", key, { reason, error });
        resolve(stale!.value);
      };
      const aborted = () => {
        if (done) return;
        finish();
        if (running.waiting === 0 && running.abortable) running.controller.abort(signal!.reason);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", aborted);
      if (stale !== undefined && timeout !== undefined) {
        timer = setTimeout(() => {
          if (done) return;
          finish();
          serveStale("timeout");
        }, timeout);
      }
      running.promise.then(
        (value) => {
          if (done) return;
          finish();
          if (stale !== undefined) {
            c.misses++;
            this.#emitKey("miss", key);
          }
          resolve(value);
        },
        (error) => {
          if (done) return;
          finish();
          if (stale !== undefined) {
            serveStale(error instanceof CacheTimeoutError ? "timeout" : "error", error);
          } else {
            reject(error);
          }
        },
      );
    });
  }

  #startFlight(call: Call<T>, stale: T | undefined, degraded = false): Flight<T> {
    const c = this.#c;
    const { key, bk, settings } = call;
    const controller = new AbortController();
    const { lock } = settings;
    const timing = { duration: undefined as number | undefined };
    let ran = false;
    const run = (down: boolean) => {
      ran = true;
      return this.#run(call, stale, controller, down, timing);
    };
    // After a failed read the backend is presumed down, and so is a lock kept
    // there: it is not tried. A lock that cannot be taken because its store is
    // down (a CacheError before the critical section ran) is passed over under
    // fail-open, and the backend is presumed down too. Either way the
    // computation still runs once in this process, and the caller waits for
    // one backend timeout at most.
    const promise = typeof lock !== "object" || degraded
      ? run(degraded)
      : lock.withLock(key, () => run(false)).catch((error) => {
        if (ran || !settings.failOpen || !(error instanceof CacheError) || !lockUnreachable(error)) throw error;
        this.#swallowed("lock", key, error);
        return run(true);
      });
    const flight: Flight<T> = {
      promise,
      controller,
      waiting: 0,
      abortable: true,
      get duration() {
        return timing.duration;
      },
    };
    if (lock !== false) {
      c.flights.set(bk, flight);
      const leave = () => {
        if (c.flights.get(bk) === flight) c.flights.delete(bk);
      };
      promise.then(leave, leave);
    }
    return flight;
  }

  async #run(
    call: Call<T>,
    stale: T | undefined,
    controller: AbortController,
    degraded: boolean,
    timing: { duration: number | undefined },
  ): Promise<T> {
    const c = this.#c;
    const { key, bk, factory, settings, records } = call;
    const tokens = call.tokens ?? new Map<string, Uint8Array | undefined>();
    // After a failed backend call (fail-open), the backend is presumed down:
    // nothing more is read, and the value is written in the background, so the
    // caller waits for at most one backend timeout.
    let down = degraded;
    const failed = (operation: string, error: unknown) => {
      if (!settings.failOpen || !(error instanceof CacheError)) throw error;
      this.#swallowed(operation, key, error);
      down = true;
    };
    if (typeof settings.lock === "object" && !down) {
      // Another process may have computed the value while this one waited for the lock.
      try {
        const found = await this.#lookup(key, bk, records, tokens);
        if (found !== undefined && found.fresh) return found.value;
      } catch (error) {
        failed("get", error);
      }
    }
    let stamps: readonly TagStamp[] = NO_STAMPS;
    if (records.length > 0 && !down) {
      try {
        stamps = await this.#stamps(records, tokens);
      } catch (error) {
        failed("get", error);
      }
    }
    let ttl = settings.ttl;
    let grace = settings.grace;
    let skipped = false;
    const context: FactoryContext<T> = {
      key,
      signal: controller.signal,
      stale,
      setTtl: (seconds) => {
        ttl = checkTtl("Cannot set the TTL of a computed entry", "seconds", seconds, c.maxTtl);
      },
      setGrace: (seconds) => {
        grace = checkGrace("Cannot set the grace of a computed entry", "seconds", seconds, c.maxTtl);
      },
      skip: () => {
        skipped = true;
      },
    };
    const started = c.clock.now();
    const value = await this.#withHardTimeout(key, settings.hardTimeout, controller, () => factory(context));
    const delta = Math.max(0, c.clock.now() - started);
    timing.duration = delta;
    // An entry whose records could not be read cannot be guarded by them: it is not stored.
    if (skipped || (records.length > 0 && stamps.length === 0)) return value;
    const written = this.#write(key, bk, value, ttl, grace, stamps, delta);
    if (down) {
      written.catch((error) => this.#swallowed("set", key, error));
      return value;
    }
    try {
      await written;
    } catch (error) {
      if (!settings.failOpen || !(error instanceof CacheError)) throw error;
      this.#swallowed("set", key, error);
    }
    return value;
  }

  #withHardTimeout(
    key: string,
    ms: number | undefined,
    controller: AbortController,
    body: () => T | PromiseLike<T>,
  ): Promise<T> {
    const started = new Promise<T>((resolve) => resolve(body()));
    if (ms === undefined) return started;
    return beforeDeadline(started, ms, () => {
      const error = new CacheTimeoutError(
        `Cannot compute ${describe(key)} within hardTimeout (${ms} ms): the computation was abandoned`,
      );
      this.#emitKey("timeout", key, { error });
      controller.abort(error);
      return error;
    });
  }

  /**
   * Deletes a key; a no-op when it is absent.
   *
   * @param key The key.
   * @throws {TypeError} When `key` is not a well-formed string.
   * @throws {CacheError} When the backend fails.
   */
  async delete(key: string): Promise<void> {
    checkKey(DELETE, key);
    const bk = this.#bk(key);
    try {
      await this.#c.backend.delete(bk);
    } catch (cause) {
      throw backendError("delete", key, cause);
    }
    this.#c.tracked.delete(bk);
    this.#c.l1?.entries.delete(bk);
    this.#announce({ k: [bk] });
    this.#emitKey("delete", key);
  }

  /**
   * Deletes several keys in one backend round trip (`deleteMany` of the
   * backend, else concurrent `delete`s).
   *
   * @param keys The keys; absent ones are ignored.
   * @throws {TypeError} When `keys` is not an array of well-formed strings.
   * @throws {CacheError} When the backend fails.
   */
  async deleteMany(keys: readonly string[]): Promise<void> {
    checkKeyList("Cannot deleteMany from TTLCache", "keys", keys);
    if (keys.length === 0) return;
    const bks = keys.map((key) => this.#bk(key));
    const { backend } = this.#c;
    try {
      if (typeof backend.deleteMany === "function") await backend.deleteMany(bks);
      else await Promise.all(bks.map((bk) => backend.delete(bk)));
    } catch (cause) {
      throw backendError("delete", keys.join(", "), cause);
    }
    for (let i = 0; i < keys.length; i++) {
      this.#c.tracked.delete(bks[i]);
      this.#c.l1?.entries.delete(bks[i]);
      this.#emitKey("delete", keys[i]);
    }
    this.#announce({ k: bks });
  }

  /**
   * Makes every entry carrying one of `tags` a miss from now on, in every
   * cache instance and process sharing the backend. It costs one backend
   * write of one small record per tag, whatever the number of tagged
   * entries; the entries themselves expire on their own TTL.
   *
   * @param tags The tags; an empty list is a no-op.
   * @throws {TypeError} When `tags` is not an array of non-empty well-formed strings.
   * @throws {CacheError} When the backend fails.
   */
  async deleteTags(tags: readonly string[]): Promise<void> {
    const records = this.#recordsFor("Cannot deleteTags in TTLCache", tags, false);
    if (records.length === 0) return;
    await this.#renew(records);
  }

  /**
   * Removes every entry of this cache. On the cache itself, that is every
   * entry of the backend (`backend.clear()`); on a namespace view, only the
   * namespace's entries (and its nested namespaces'), in O(1): the
   * namespace's record gets a new token, and its old entries are misses
   * until they expire. Statistics are kept.
   *
   * @throws {CacheError} When the backend fails.
   */
  async clear(): Promise<void> {
    const c = this.#c;
    const { records } = this.#scope;
    if (records.length > 0) {
      await this.#renew([records[records.length - 1]]);
      return;
    }
    try {
      await c.backend.clear();
    } catch (cause) {
      throw backendError("clear", undefined, cause);
    }
    c.tracked.clear();
    c.nextExpiry = Infinity;
    if (c.l1 !== undefined) {
      c.l1.entries.clear();
      c.l1.records.clear();
      this.#announce({ c: true });
    }
  }

  /**
   * Returns a view of this cache whose keys live apart from the cache's and
   * from every other namespace's, over the same backend, serializer,
   * statistics and events. Its `clear()` removes only its own entries (and
   * those of namespaces nested in it). Its entries carry the namespace's
   * record token, read with each entry in the same backend round trip.
   *
   * @param name The namespace's name, a non-empty well-formed string.
   * @returns The view (a `TTLCache`).
   * @throws {TypeError} When `name` is not a non-empty well-formed string.
   *
   * @example Clearing one namespace
   * ```ts
   * import assert from "node:assert/strict";
   * import { TTLCache } from "@cachet/cachet";
   * import { JsonSerializer } from "@cachet/cachet/json";
   *
   * const cache = new TTLCache({ serializer: new JsonSerializer() });
   * const users = cache.namespace("users");
   * const posts = cache.namespace("posts");
   * await users.set("1", "Ada");
   * await posts.set("1", "Hello");
   * await users.clear();
   * assert.equal(await users.get("1"), undefined);
   * assert.equal(await posts.get("1"), "Hello");
   * ```
   */
  namespace(name: string): TTLCache<T> {
    const context = "Cannot create a namespace of TTLCache";
    checkKey(context, name, "name");
    if (name === "") throw new TypeError(`${context}: name must be a non-empty string: received ""`);
    const parent = this.#scope;
    const segment = `${name.length}:${name}`;
    const encoded = parent.prefix === "" ? segment : `${parent.prefix.slice(NAMESPACE.length, -1)}${segment}`;
    const records = [...parent.records, NAMESPACE_RECORD + encoded];
    const scope: Scope = {
      path: parent.path === "" ? name : `${parent.path}/${name}`,
      prefix: `${NAMESPACE}${encoded}|`,
      records,
      known: knownRecords(records),
    };
    TTLCache.#viewOf = { core: this.#c as Core<unknown>, scope };
    return new TTLCache<T>();
  }

  /**
   * Returns a snapshot of the statistics (shared with namespace views).
   *
   * @returns A frozen {@linkcode CacheInfo}; `currSize` counts live entries only.
   */
  cacheInfo(): CacheInfo {
    const c = this.#c;
    this.#sweep(c.clock.now());
    return Object.freeze({
      hits: c.hits,
      misses: c.misses,
      maxSize: c.maxSize,
      currSize: c.tracked.size,
      evictions: c.evictions,
      staleHits: c.staleHits,
      errors: c.errors,
      l1Hits: c.l1Hits,
    });
  }

  /**
   * Listens to {@linkcode CacheEvent}s (on a namespace view: the whole cache's).
   *
   * @param type The event type, see {@linkcode CacheEventType}.
   * @param listener The listener.
   * @param options Standard listener options.
   */
  override addEventListener(
    type: CacheEventType | string,
    listener: Parameters<EventTarget["addEventListener"]>[1],
    options?: Parameters<EventTarget["addEventListener"]>[2],
  ): void {
    const c = this.#c;
    if (c.root !== this) return c.root.addEventListener(type, listener, options);
    if (listener !== null) c.listening.set(type, (c.listening.get(type) ?? 0) + 1);
    super.addEventListener(type, listener, options);
  }

  /**
   * Stops listening.
   *
   * @param type The event type.
   * @param listener The listener.
   * @param options Standard listener options.
   */
  override removeEventListener(
    type: CacheEventType | string,
    listener: Parameters<EventTarget["removeEventListener"]>[1],
    options?: Parameters<EventTarget["removeEventListener"]>[2],
  ): void {
    const c = this.#c;
    if (c.root !== this) return c.root.removeEventListener(type, listener, options);
    const count = c.listening.get(type);
    if (listener !== null && count !== undefined) {
      if (count <= 1) c.listening.delete(type);
      else c.listening.set(type, count - 1);
    }
    super.removeEventListener(type, listener, options);
  }

  /**
   * Dispatches an event to this cache's listeners (on a namespace view: the whole cache's).
   *
   * @param event The event.
   * @returns `false` when a listener cancelled a cancelable event.
   */
  override dispatchEvent(event: Event): boolean {
    const root = this.#c.root;
    return root === this ? super.dispatchEvent(event) : root.dispatchEvent(event);
  }

  #emit(type: CacheEventType, init: CacheEventInit): void {
    if (!this.#c.listening.has(type)) return;
    this.dispatchEvent(new CacheEvent(type, { namespace: this.#scope.path, ...init }));
  }

  #emitKey(type: CacheEventType, key: string, init?: CacheEventInit): void {
    if (this.#c.listening.size > 0) this.#emit(type, { key, ...init });
  }

  #swallowed(operation: string, key: string | undefined, error: unknown): void {
    this.#c.errors++;
    this.#emit("error", { key, operation, error });
  }

  // ---- the in-process tier and the bus ----

  // The in-process copy of `bk` when it is still usable (fresh or stale within
  // grace, with every record token current); drops it otherwise.
  #l1Find(l1: L1<T>, bk: string, now: number): L1Entry<T> | undefined {
    const entry = l1.entries.use(bk);
    if (entry === undefined) return undefined;
    if (now < entry.expiresAt) {
      const stamps = entry.stamps;
      let current = true;
      for (let i = 0; i < stamps.length; i += 2) {
        if (l1.records.get(stamps[i]) !== stamps[i + 1]) {
          current = false;
          break;
        }
      }
      if (current) return entry;
    }
    l1.entries.delete(bk);
    return undefined;
  }

  #l1Value(l1: L1<T>, value: T): T {
    if (this.#c.serializer === undefined) return (value as Uint8Array).slice() as T;
    return l1.clone ? structuredClone(value) : value;
  }

  // Keeps a decoded value in the in-process tier; `owned`: the caller keeps no reference to it.
  #l1Fill(l1: L1<T>, bk: string, value: T, header: Header, owned: boolean): void {
    const now = this.#c.clock.now();
    if (header.expiresAt <= now) return;
    let freshUntil = header.freshUntil;
    if (l1.ttl !== undefined) freshUntil = Math.min(freshUntil, now + l1.ttl * 1000);
    if (l1.busDown) freshUntil = Math.min(freshUntil, now + l1.busDownTtl * 1000);
    const stamps: string[] = [];
    for (const stamp of header.tags) {
      const token = String.fromCharCode.apply(null, stamp.token as unknown as number[]);
      // With a bus, a token learned here may be older than one a message
      // brought in meanwhile (a read's reply can arrive after the message): it
      // only fills a gap, and an entry whose token differs stays out.
      // Without a bus, reads are the only news: the latest one wins.
      const known = l1.records.get(stamp.record);
      if (known === undefined || this.#c.bus === undefined) l1.records.set(stamp.record, token);
      else if (known !== token) return;
      stamps.push(stamp.record, token);
    }
    // Tags come and go: past this many known records, start over rather than grow.
    if (l1.records.size > RECORDS_MAX_FACTOR * l1.maxSize + RECORDS_MIN) {
      l1.entries.clear();
      l1.records.clear();
      return;
    }
    const kept = !owned && l1.clone && this.#c.serializer !== undefined ? structuredClone(value) : value;
    // Only the header's figures are kept: a decoded header holds a view of the stored bytes.
    l1.entries.set(bk, header.expiresAt, {
      value: kept,
      freshUntil,
      expiresAt: header.expiresAt,
      staleAt: header.freshUntil,
      delta: header.delta,
      stamps: stamps.length === 0 ? NO_PAIRS : stamps,
    });
    while (l1.entries.size > l1.maxSize) l1.entries.delete(l1.entries.oldest()!);
  }

  // Tells the other caches' in-process tiers what changed. Writes reach the
  // backend before this runs; a message the bus refuses is sent again once
  // the bus is back (the oldest are superseded by a full clear past 1,000).
  #announce(message: { k?: string[]; r?: string[]; c?: true }): void {
    const l1 = this.#c.l1;
    if (l1 === undefined || this.#c.bus === undefined) return;
    this.#publish(utf8.encode(JSON.stringify({ v: 1, s: this.#c.sender, ...message })));
  }

  #publish(message: Uint8Array): void {
    const { l1, bus } = this.#c;
    const keep = (error?: unknown) => {
      if (error !== undefined) this.#swallowed("publish", undefined, error);
      if (l1!.outbox.length >= OUTBOX_MAX) {
        l1!.outbox = [utf8.encode(JSON.stringify({ v: 1, s: this.#c.sender, c: true }))];
      } else {
        l1!.outbox.push(message);
      }
    };
    try {
      Promise.resolve(bus!.publish(message)).catch(keep);
    } catch (error) {
      keep(error);
    }
  }

  // A bus message: untrusted bytes. A bad one is dropped and reported.
  #received(bytes: Uint8Array): void {
    const c = this.#c;
    const l1 = c.l1!;
    let message: { v?: unknown; s?: unknown; k?: unknown; r?: unknown; c?: unknown };
    try {
      if (!(bytes instanceof Uint8Array) || bytes.length > MESSAGE_MAX) throw new TypeError("not a message");
      message = JSON.parse(fromUtf8.decode(bytes));
      if (message === null || typeof message !== "object" || message.v !== 1 || typeof message.s !== "string") {
        throw new TypeError("not a cachet bus message (format 1)");
      }
      const { k: keys, r: records } = message;
      if (keys !== undefined && !(Array.isArray(keys) && keys.every((key) => typeof key === "string"))) {
        throw new TypeError("k must be an array of keys");
      }
      if (
        records !== undefined &&
        !(Array.isArray(records) && records.length % 2 === 0 && records.every((item) => typeof item === "string"))
      ) {
        throw new TypeError("r must be an array of record and token pairs");
      }
      if (message.c !== undefined && message.c !== true) throw new TypeError("c must be true");
    } catch (cause) {
      this.#swallowed("bus", undefined, new CacheError("Cannot apply a bus message: it is malformed", { cause }));
      return;
    }
    if (message.s === c.sender) return;
    l1.generation++;
    if (message.c === true) {
      l1.entries.clear();
      l1.records.clear();
      return;
    }
    for (const key of (message.k ?? []) as string[]) l1.entries.delete(key);
    const records = (message.r ?? []) as string[];
    for (let i = 0; i < records.length; i += 2) l1.records.set(records[i], records[i + 1]);
  }

  /**
   * Stops listening to the bus (when there is one). The cache stays usable,
   * without invalidations from other processes. A cache owns no timer: only
   * its bus subscription can keep a process alive.
   *
   * @returns A Promise that settles at once.
   */
  close(): Promise<void> {
    const l1 = this.#c.l1;
    if (this.#c.root === this && l1?.unsubscribe !== undefined) {
      l1.unsubscribe();
      l1.unsubscribe = undefined;
    }
    return Promise.resolve();
  }

  /** Closes the cache at the end of an `await using` scope, see {@linkcode TTLCache.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- keys, records, reads and writes ----

  #bk(key: string): string {
    const prefix = this.#scope.prefix;
    if (prefix !== "") return prefix + key;
    return key.charCodeAt(0) === 0 ? NUL + key : key;
  }

  #recordsFor(context: string, tags: unknown, withScope = true): readonly string[] {
    const scope = withScope ? this.#scope.records : NO_RECORDS;
    if (tags === undefined) return scope;
    const list = checkTags(context, tags);
    if (list.length === 0) return scope;
    return [...scope, ...new Set(list.map((tag) => TAG_RECORD + tag))];
  }

  #callSettings(options: GetOrSetOptions): CallSettings {
    const c = this.#c;
    const known = c.validated.get(options);
    if (known !== undefined) return known;
    const settings = this.#checkCall(options);
    if (Object.isFrozen(options) && (options.tags === undefined || Object.isFrozen(options.tags))) {
      c.validated.set(options, settings);
    }
    return settings;
  }

  #checkCall(options: GetOrSetOptions): CallSettings {
    const c = this.#c;
    checkOptions(GET_OR_SET, options, GET_OR_SET_KEYS);
    const { ttl, tags, lock = true, signal } = options;
    checkLock(GET_OR_SET, lock);
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`${GET_OR_SET}: signal must be an AbortSignal: received ${describe(signal)}`);
    }
    if (tags !== undefined) checkTags(GET_OR_SET, tags);
    return {
      ...checkReadThrough(GET_OR_SET, options, c.defaults, c.maxTtl),
      ttl: ttl === undefined ? c.ttl : checkTtl(GET_OR_SET, "ttl", ttl, c.maxTtl),
      tags: tags === undefined ? NO_RECORDS : [...new Set(tags)],
      lock,
      signal,
    };
  }

  // Reads an entry (with `records`' tokens in the same round trip) and judges
  // it; synchronous on a backend with a SyncView. Fills `tokens` with every
  // record read. Throws (or rejects with) a CacheError when the backend fails.
  #lookup(
    key: string,
    bk: string,
    records: readonly string[],
    tokens: Map<string, Uint8Array | undefined> | undefined,
  ): Found<T> | undefined | Promise<Found<T> | undefined> {
    const c = this.#c;
    const sync = c.sync;
    if (sync !== undefined) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = sync.get(bk, false);
        if (bytes === undefined) return this.#gone(bk);
        const entry = this.#decodeOrDrop(key, bk, bytes);
        if (entry === undefined) return undefined;
        // Tokens are compared in place: a hit reads no record out.
        for (const stamp of entry.tags) if (!sync.matches(stamp.record, stamp.token)) return this.#gone(bk);
        return this.#load(key, bk, entry, undefined, NaN, c.l1?.generation ?? 0);
      } catch (cause) {
        throw backendError("get", key, cause);
      }
    }
    const keys = records.length === 0 ? undefined : [bk, ...records];
    const since = c.l1?.generation ?? 0;
    return this.#readMany(keys ?? [bk], "get").then((raw) => {
      const current = tokens ?? new Map<string, Uint8Array | undefined>();
      if (keys !== undefined) { for (let i = 1; i < keys.length; i++) current.set(keys[i], raw[i]); }
      const bytes = raw[0];
      if (bytes === undefined) return this.#gone(bk);
      const entry = this.#decodeOrDrop(key, bk, bytes);
      if (entry === undefined) return undefined;
      const missing = entry.tags.filter((stamp) => !current.has(stamp.record)).map((stamp) => stamp.record);
      if (missing.length === 0) return this.#load(key, bk, entry, current, NaN, since);
      return this.#readMany(missing, "get").then((got) => {
        missing.forEach((record, i) => current.set(record, got[i]));
        return this.#load(key, bk, entry, current, NaN, since);
      });
    });
  }

  #gone(bk: string): undefined {
    this.#c.tracked.delete(bk);
    return undefined;
  }

  // Bytes that are not an entry are dropped (and reported) as a miss.
  #decodeOrDrop(key: string, bk: string, bytes: Uint8Array | undefined): Decoded | undefined {
    if (bytes === undefined) return undefined;
    if (!(bytes instanceof Uint8Array)) {
      this.#undecodable(key, bk, new TypeError(`backend returned ${typeName(bytes)}, not a Uint8Array`));
      return undefined;
    }
    const entry = decode(bytes, this.#scope.known);
    if (entry === undefined) {
      this.#undecodable(
        key,
        bk,
        new CacheError(`Cannot read key ${describe(key)}: the stored bytes are not an entry cachet wrote (format 1)`),
      );
    }
    return entry;
  }

  // Checks an entry's tag tokens (unless `tokens` is undefined: checked
  // already) and freshness, then decodes its value.
  #load(
    key: string,
    bk: string,
    entry: Decoded,
    tokens: Map<string, Uint8Array | undefined> | undefined,
    now: number,
    since: number,
  ): Found<T> | undefined | Promise<Found<T> | undefined> {
    const c = this.#c;
    if (tokens !== undefined) {
      for (const stamp of entry.tags) if (!sameToken(tokens.get(stamp.record), stamp.token)) return this.#gone(bk);
    }
    let fresh = true;
    if (entry.freshUntil !== entry.expiresAt) {
      if (Number.isNaN(now)) now = c.clock.now();
      fresh = now < entry.freshUntil;
    }
    let value: T;
    const serializer = c.serializer;
    if (serializer === undefined) {
      value = entry.payload.slice() as T;
    } else {
      let loaded: T | Promise<T>;
      try {
        loaded = serializer.loads(entry.payload);
      } catch (error) {
        this.#undecodable(key, bk, error);
        return undefined;
      }
      if (loaded instanceof Promise) {
        return loaded.then(
          (value): Found<T> => {
            if (fresh) c.tracked.touch(bk);
            if (c.l1?.generation === since) this.#l1Fill(c.l1, bk, value, entry, false);
            return { value, fresh, header: entry };
          },
          (error) => {
            this.#undecodable(key, bk, error);
            return undefined;
          },
        );
      }
      value = loaded;
    }
    if (fresh) c.tracked.touch(bk);
    if (c.l1?.generation === since) this.#l1Fill(c.l1, bk, value, entry, false);
    return { value, fresh, header: entry };
  }

  // After a write reached the backend: the in-process tier gets the value as
  // every reader will decode it (not the caller's object), and the others are told.
  #written(bk: string, bytes: Uint8Array): void {
    const c = this.#c;
    const l1 = c.l1;
    if (l1 === undefined) return;
    const entry = decode(bytes, this.#scope.known)!;
    let value: T | Promise<T>;
    try {
      value = c.serializer === undefined ? entry.payload.slice() as T : c.serializer.loads(entry.payload);
    } catch {
      value = Promise.resolve(undefined as T);
    }
    if (value instanceof Promise) l1.entries.delete(bk);
    else this.#l1Fill(l1, bk, value, entry, true);
    this.#announce({ k: [bk] });
  }

  #undecodable(key: string, bk: string, error: unknown): void {
    const c = this.#c;
    c.tracked.delete(bk);
    c.errors++;
    try {
      c.onError?.(error, { key, operation: "loads" });
    } catch {
      // A failing hook must not turn a miss into an error.
    }
    this.#emit("error", { key, operation: "loads", error });
    try {
      // The entry stays undecodable and is deleted on the next read if this fails.
      Promise.resolve(c.backend.delete(bk)).catch(() => {});
    } catch {
      // As above.
    }
  }

  async #readMany(keys: readonly string[], operation: string): Promise<(Uint8Array | undefined)[]> {
    const { backend } = this.#c;
    let pending: Promise<(Uint8Array | undefined)[]>;
    try {
      pending = keys.length === 1
        ? thenable(backend.get(keys[0]), "get").then((bytes) => [bytes])
        : typeof backend.getMany === "function"
        ? thenable(backend.getMany(keys), "getMany")
        : Promise.all(keys.map((key) => thenable(backend.get(key), "get")));
    } catch (cause) {
      throw backendError(operation, keys[0], cause);
    }
    let got: unknown;
    try {
      got = await pending;
    } catch (cause) {
      throw backendError(operation, keys[0], cause);
    }
    if (!Array.isArray(got) || got.length !== keys.length) {
      throw new BackendContractError(
        `backend.getMany must resolve to an array of ${keys.length}: received ${describe(got)}`,
      );
    }
    return got;
  }

  async #writeMany(rows: readonly BackendEntry[]): Promise<void> {
    const { backend } = this.#c;
    try {
      if (rows.length === 1) await backend.set(rows[0].key, rows[0].value, rows[0].ttl);
      else if (typeof backend.setMany === "function") await backend.setMany(rows);
      else await Promise.all(rows.map((row) => backend.set(row.key, row.value, row.ttl)));
    } catch (cause) {
      throw backendError("set", rows[0].key, cause);
    }
  }

  // The current tokens of `records`, creating the missing ones. A token is set
  // before the value it guards is computed, so a value computed before a
  // deleteTags() can never carry the token written by it.
  async #stamps(
    records: readonly string[],
    tokens: Map<string, Uint8Array | undefined> | undefined,
  ): Promise<readonly TagStamp[]> {
    const known = tokens ?? new Map<string, Uint8Array | undefined>();
    await this.#tokens(records, known);
    return stampsOf(records, known);
  }

  async #tokens(records: readonly string[], known: Map<string, Uint8Array | undefined>): Promise<void> {
    const unread = records.filter((record) => !known.has(record));
    if (unread.length > 0) {
      const got = await this.#readMany(unread, "get");
      unread.forEach((record, i) => known.set(record, got[i]));
    }
    const absent = records.filter((record) => known.get(record) === undefined);
    if (absent.length > 0) {
      const rows = absent.map((record) => ({ key: record, value: newToken(), ttl: this.#recordTtl() }));
      await this.#writeMany(rows);
      for (const row of rows) known.set(row.key, row.value);
    }
  }

  async #renew(records: readonly string[]): Promise<void> {
    const rows = records.map((record) => ({ key: record, value: newToken(), ttl: this.#recordTtl() }));
    await this.#writeMany(rows);
    const l1 = this.#c.l1;
    if (l1 === undefined) return;
    const pairs: string[] = [];
    for (const row of rows) {
      const token = String.fromCharCode.apply(null, row.value as unknown as number[]);
      l1.records.set(row.key, token);
      pairs.push(row.key, token);
    }
    this.#announce({ r: pairs });
  }

  // A record outlives every entry that can carry its token (ttl + grace <= 2 maxTtl).
  #recordTtl(): number {
    return 2 * this.#c.maxTtl;
  }

  #envelope(value: T, now: number, ttl: number, grace: number, stamps: readonly TagStamp[], delta: number): Uint8Array {
    const freshUntil = now + ttl * 1000;
    return encode({ expiresAt: freshUntil + grace * 1000, freshUntil, delta, tags: stamps }, this.#encode(value));
  }

  // Stores one entry; on a backend with a SyncView, synchronously.
  #write(
    key: string,
    bk: string,
    value: T,
    ttl: number,
    grace: number,
    stamps: readonly TagStamp[],
    delta: number,
  ): Promise<void> {
    const c = this.#c;
    let bytes: Uint8Array;
    try {
      bytes = this.#envelope(value, c.clock.now(), ttl, grace, stamps, delta);
    } catch (error) {
      return Promise.reject(error);
    }
    const lifetime = ttl + grace;
    const sync = c.sync;
    if (sync === undefined) {
      let pending: Promise<void>;
      try {
        pending = thenable(c.backend.set(bk, bytes, lifetime), "set");
      } catch (cause) {
        return Promise.reject(backendError("set", key, cause));
      }
      return pending.then(
        () => {
          this.#emitKey("set", key, delta > 0 ? { duration: delta } : undefined);
          this.#written(bk, bytes);
          return this.#admitted(bk, lifetime);
        },
        (cause) => Promise.reject(backendError("set", key, cause)),
      );
    }
    try {
      sync.set(bk, bytes, lifetime);
    } catch (cause) {
      return Promise.reject(backendError("set", key, cause));
    }
    this.#emitKey("set", key, delta > 0 ? { duration: delta } : undefined);
    this.#written(bk, bytes);
    const victims = this.#admit(bk, lifetime);
    try {
      for (const victim of victims) sync.delete(victim);
    } catch (cause) {
      return Promise.reject(backendError("delete", victims.join(", "), cause));
    }
    return Promise.resolve();
  }

  #admitted(bk: string, lifetime: number): Promise<void> | undefined {
    const victims = this.#admit(bk, lifetime);
    return victims.length === 0 ? undefined : this.#deleteVictims(victims);
  }

  async #deleteVictims(victims: readonly string[]): Promise<void> {
    const { backend } = this.#c;
    try {
      if (typeof backend.deleteMany === "function" && victims.length > 1) await backend.deleteMany(victims);
      else await Promise.all(victims.map((victim) => backend.delete(victim)));
    } catch (cause) {
      throw backendError("delete", victims.join(", "), cause);
    }
  }

  // Tracks a key just written and returns the keys evicted to make room. It
  // runs after the write, synchronously, so concurrent sets can never leave
  // more than maxSize entries tracked.
  #admit(bk: string, seconds: number): readonly string[] {
    const c = this.#c;
    const now = c.clock.now();
    const expiresAt = now + seconds * 1000;
    const { tracked, maxSize } = c;
    // An overwrite is updated in place: it promotes the key and never evicts.
    if (tracked.get(bk) !== undefined || maxSize === 0 || tracked.size < maxSize) {
      this.#track(bk, expiresAt);
      if (maxSize === 0 && c.sweeps.due(tracked.size)) {
        this.#sweep(now);
        c.sweeps.swept(tracked.size);
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
    c.evictions += victims.length;
    if (c.l1 !== undefined) { for (const victim of victims) c.l1.entries.delete(victim); }
    if (c.listening.has("evict")) { for (const victim of victims) this.#emit("evict", userKeyOf(victim)); }
    this.#track(bk, expiresAt);
    return victims;
  }

  #encode(value: T): Uint8Array {
    const serializer = this.#c.serializer;
    if (serializer !== undefined) return serializer.dumps(value);
    if (value instanceof Uint8Array) return value;
    throw new TypeError(
      `Cannot store ${typeName(value)} without a serializer: pass a serializer to TTLCache or store a Uint8Array`,
    );
  }

  #track(bk: string, expiresAt: number): void {
    const c = this.#c;
    c.tracked.set(bk, expiresAt);
    if (expiresAt < c.nextExpiry) c.nextExpiry = expiresAt;
  }

  // Drops expired keys from the bookkeeping; the backend expires them itself.
  #sweep(now: number): void {
    const c = this.#c;
    if (now < c.nextExpiry) return;
    c.nextExpiry = c.tracked.deleteExpired(now);
  }
}

function checkL1(options: L1Options, maxTtl: number): L1<never> {
  const context = `${CREATE}: l1`;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(
      `${CREATE}: l1 must be an object { maxSize, ttl?, clone?, busDownTtl? }: received ${describe(options)}`,
    );
  }
  checkOptions(context, options, L1_KEYS);
  const { maxSize, ttl, clone = false, busDownTtl = 1 } = options;
  if (maxSize === undefined) {
    throw new TypeError(`${context}.maxSize is required: an unbounded in-process tier would grow without limit`);
  }
  if (checkCount(CREATE, "l1.maxSize", maxSize) === 0) {
    throw new RangeError(`${CREATE}: l1.maxSize must be a positive integer: received 0`);
  }
  checkBoolean(CREATE, "l1.clone", clone);
  return {
    entries: new LruList(),
    maxSize,
    ttl: ttl === undefined ? undefined : checkTtl(CREATE, "l1.ttl", ttl, maxTtl),
    clone,
    busDownTtl: checkTtl(CREATE, "l1.busDownTtl", busDownTtl, maxTtl),
    records: new Map(),
    busDown: false,
    generation: 0,
    outbox: [],
    unsubscribe: undefined,
  };
}

// A lock that failed because its store cannot be reached, rather than because
// another caller held it past the wait limit (a CacheTimeoutError): only the
// former is passed over.
function lockUnreachable(error: CacheError): boolean {
  return !(error instanceof CacheTimeoutError);
}

// The key and namespace path a backend key was made from (see #bk and namespace()).
function userKeyOf(bk: string): { key: string; namespace: string } {
  if (!bk.startsWith(NAMESPACE)) return { key: bk.charCodeAt(0) === 0 ? bk.slice(1) : bk, namespace: "" };
  const path: string[] = [];
  let at = NAMESPACE.length;
  while (bk[at] !== "|") {
    const colon = bk.indexOf(":", at);
    const length = Number(bk.slice(at, colon));
    path.push(bk.slice(colon + 1, colon + 1 + length));
    at = colon + 1 + length;
  }
  return { key: bk.slice(at + 1), namespace: path.join("/") };
}

function stampsOf(records: readonly string[], tokens: Map<string, Uint8Array | undefined>): readonly TagStamp[] {
  return records.length === 0 ? NO_STAMPS : records.map((record) => ({ record, token: tokens.get(record)! }));
}

// A backend that breaks its contract (a synchronous get, a Map) is a TypeError, never a CacheError.
class BackendContractError extends TypeError {
  override name = "TypeError";
}

const PROMISED: Record<string, string> = {
  get: "Cannot get from TTLCache: backend.get must return a Promise (of a Uint8Array or undefined)",
  getMany: "Cannot get from TTLCache: backend.getMany must return a Promise (of an array)",
  set: "Cannot set in TTLCache: backend.set must return a Promise",
};

function thenable<R>(value: Promise<R>, method: "get" | "getMany" | "set"): Promise<R> {
  if (value === null || typeof (value as { then?: unknown })?.then !== "function") {
    throw new BackendContractError(
      `${PROMISED[method]}: received ${describe(value)}; pass a CacheBackend such as new MemoryCacheBackend() ` +
        'of "@cachet/cachet/memory", whose methods return Promises',
    );
  }
  return Promise.resolve(value);
}

function backendError(operation: string, key: string | undefined, cause: unknown): Error {
  if (cause instanceof CacheError || cause instanceof BackendContractError) return cause;
  const target = key === undefined ? "" : ` key ${JSON.stringify(key)}`;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CacheError(`Cannot ${operation}${target} in the cache backend: ${reason}`, { cause });
}
