// The public facade: TTLCache checks its options and arguments, and hands the
// work to the units named for their concept: the entry store (reads, decoding,
// writes), the records (tags and namespaces), the read-through engine, the
// in-process tier and its invalidation link, the LRU bound and the statistics.
import type { CacheEventType } from "./events.ts";
import { defaultBackendFor } from "./default_backend.ts";
import { wallClock } from "./_clock.ts";
import { BackendIo } from "./_backend_io.ts";
import { type Decoded, freshAtTime, plainPayloadAt, type TagStamp } from "./_envelope.ts";
import { EntryStore, freshValue, MISS, type Miss } from "./_entry_store.ts";
import { InvalidationLink, type InvalidationSink } from "./_invalidation.ts";
import type { Invalidation } from "./_bus_message.ts";
import { CacheError } from "./errors.ts";
import { SETTLED } from "./_settled.ts";
import { backendKey, backendKeys, childScope, recordsOf, ROOT, type Scope } from "./_key_space.ts";
import { L1Tier } from "./_l1.ts";
import { checkReadThrough, READ_THROUGH_NAMES, ReadThrough } from "./_read_through.ts";
import { Records, stampsOf, type Tokens } from "./_records.ts";
import { OwedInvalidations } from "./_owed.ts";
import { SizeBound } from "./_size_bound.ts";
import { Stats } from "./_stats.ts";
import {
  checkBackend,
  checkCount,
  checkDuration,
  checkFunction,
  checkGrace,
  checkKey,
  checkKeyList,
  checkMaxTtl,
  checkMethods,
  checkOptions,
  checkRecordName,
  checkTags,
  checkTtl,
  describe,
  MAX_RECORDS,
  optionNames,
} from "./_validate.ts";
import type { BackendEntry, CacheBackend, CacheInfo, Clock } from "./types.ts";
import { copyOut } from "./_copy_out.ts";
import { unshare } from "./_shared_reads.ts";
import type { Factory, GetOrSetOptions, SetManyEntry, SetOptions, TTLCacheOptions } from "./ttl_cache_options.ts";

const CREATE = "Cannot create TTLCache";
const GET = "Cannot get from TTLCache";
const PEEK = "Cannot peek in TTLCache";
const SET = "Cannot set in TTLCache";
const DELETE = "Cannot delete from TTLCache";
const NO_STAMPS: readonly TagStamp[] = [];
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
  circuitBreaker: true,
  maxValueBytes: true,
  ...READ_THROUGH_NAMES,
});
const SET_KEYS = optionNames<SetOptions>({ ttl: true, grace: true, tags: true });
const ENTRY_KEYS = optionNames<SetManyEntry<unknown>>({ key: true, value: true, ttl: true, grace: true, tags: true });
const DEFAULT_MAX_TTL = 43_200;

/** The units a cache shares with its namespace views. */
interface Core<T> {
  readonly root: TTLCache<T>;
  readonly io: BackendIo;
  readonly store: EntryStore<T>;
  readonly records: Records;
  readonly engine: ReadThrough<T>;
  readonly stats: Stats;
  readonly bound: SizeBound;
  readonly l1: L1Tier<T> | undefined;
  readonly link: InvalidationLink | undefined;
  readonly owed: OwedInvalidations;
  readonly clock: Clock;
  readonly ttl: number;
  readonly maxTtl: number;
  // The default grace of set() and setMany().
  readonly grace: number;
}

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
      circuitBreaker = 1_000,
      maxValueBytes,
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
    checkDuration(CREATE, "circuitBreaker", circuitBreaker, true);
    if (maxValueBytes !== undefined && checkCount(CREATE, "maxValueBytes", maxValueBytes) === 0) {
      throw new RangeError(`${CREATE}: maxValueBytes must be a positive integer (bytes): received 0`);
    }
    const { l1: l1Options, bus } = options;
    if (bus !== undefined) {
      checkMethods(CREATE, "bus", bus, ["publish", "subscribe"]);
      if (l1Options === undefined) {
        throw new TypeError(`${CREATE}: bus needs l1: a bus only invalidates an in-process tier; pass l1: { maxSize }`);
      }
    }
    const l1 = l1Options === undefined
      ? undefined
      : new L1Tier<T>(l1Options, CREATE, maxSeconds, clock, serializer !== undefined, bus !== undefined);
    const defaults = checkReadThrough(CREATE, options, undefined, maxSeconds);
    const io = new BackendIo(backend ?? defaultBackendFor(clock), clock, circuitBreaker);
    const stats = new Stats(this);
    const bound = new SizeBound(maxSize);
    // What other caches invalidate is dead here too: dropped from l1, from the count and from the outage memo.
    const heard: InvalidationSink = {
      evictKeys: (bks) => evict(this.#c, { keys: [...bks] }),
      evictRecords: (records) => evict(this.#c, { records: [...records] }),
      clear: () => evict(this.#c, { all: true }),
      get sourceDown() {
        return l1!.sourceDown;
      },
      set sourceDown(down: boolean) {
        l1!.sourceDown = down;
      },
    };
    const link = bus === undefined ? undefined : new InvalidationLink(
      bus,
      typeof io.backend.scope === "string" ? io.backend.scope : undefined,
      heard,
      (operation, error) => stats.swallowed(operation, "", undefined, error),
    );
    const records = new Records(io, maxSeconds);
    const owed = new OwedInvalidations({
      io,
      records,
      applied: (what) => {
        evict(this.#c, what);
        link?.announce(what);
      },
      report: (error) => stats.swallowed("retry", "", undefined, error),
    });
    const store = new EntryStore<T>({
      io,
      serializer,
      clock,
      bound,
      stats,
      l1,
      link,
      owed,
      onError,
      maxValueBytes: maxValueBytes ?? Infinity,
    });
    const engine = new ReadThrough<T>({
      io,
      store,
      records,
      stats,
      l1,
      clock,
      random,
      ttl: seconds,
      maxTtl: maxSeconds,
      defaults,
      local: io.sync !== undefined,
    });
    this.#c = {
      root: this,
      io,
      store,
      records,
      engine,
      stats,
      bound,
      l1,
      link,
      owed,
      clock,
      ttl: seconds,
      maxTtl: maxSeconds,
      grace: defaults.grace,
    };
    this.#scope = ROOT;
  }

  /** The backend this cache stores into. */
  get backend(): CacheBackend {
    return this.#c.io.backend;
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
      const slot = c.engine.l1Fresh(l1, this.#scope, key);
      if (slot !== -1) return l1.resolved(slot);
    }
    return this.#read(key, fallback);
  }

  #read<F>(key: string, fallback: F): Promise<T | F | undefined> {
    const c = this.#c;
    const scope = this.#scope;
    let found: T | Miss | Promise<T | Miss>;
    try {
      // read() checks the rest: before any backend call, or on a synchronous backend only on a miss.
      if (typeof key !== "string") checkKey(GET, key);
      found = c.store.read(scope, key, backendKey(scope, key), GET);
    } catch (error) {
      return Promise.reject(error);
    }
    if (found instanceof Promise) return found.then((value) => this.#served(key, value, fallback));
    const value = this.#served(key, found, fallback);
    return value === undefined ? SETTLED : Promise.resolve(value);
  }

  /**
   * Reads the in-process tier (`l1`) alone, synchronously: the value `get`
   * would return from it, or `undefined`. It never calls the backend, never
   * fills `l1` and never counts a miss; a value found counts as a hit and an
   * `l1` hit (and dispatches a `hit` event with `tier: "l1"`), and becomes the
   * most recently used, as with `get`. Without `l1`, it is always `undefined`.
   *
   * Staleness: the copy is served while it is fresh in this process (within
   * the entry's `ttl`, `l1.ttl` and, while the bus is down, `busDownTtl`) and
   * its tags and namespaces are not invalidated as far as this process knows.
   * So a write by another process is seen once its bus message arrives, or
   * when the copy's `l1.ttl` (or `ttl`) ends if the message is lost or there
   * is no bus. A stale copy (within `grace`) is `undefined` here.
   *
   * @param key The key.
   * @returns The in-process value (the stored object itself; a copy for bytes or with `l1.clone`), or `undefined`.
   * @throws {TypeError} When `key` is not a well-formed string.
   *
   * @example Reading l1 where a Promise cannot be awaited
   * ```ts
   * import assert from "node:assert/strict";
   * import { TTLCache } from "@cachet/cachet";
   * import { JsonSerializer } from "@cachet/cachet/json";
   *
   * const cache = new TTLCache({ serializer: new JsonSerializer(), l1: { maxSize: 1_000 } });
   * await cache.set("greeting", { text: "hello" }); // a write fills l1 too
   * assert.deepEqual(cache.peek("greeting"), { text: "hello" });
   * assert.equal(cache.peek("other"), undefined); // not in l1: no backend read, no miss counted
   * assert.equal(cache.cacheInfo().l1Hits, 1);
   * ```
   */
  peek(key: string): T | undefined {
    const c = this.#c;
    const l1 = c.l1;
    // Only checked keys get into l1: a key found there needs no check.
    if (l1 !== undefined && typeof key === "string") {
      const slot = c.engine.l1Fresh(l1, this.#scope, key);
      if (slot !== -1) return l1.value(l1.valueAt(slot));
    }
    checkKey(PEEK, key);
    return undefined;
  }

  #served<F>(key: string, found: T | Miss, fallback: F): T | F {
    const stats = this.#c.stats;
    if (found !== MISS) {
      stats.hits++;
      if (stats.listening.size > 0) stats.emit("hit", this.#scope.path, { key, tier: "backend" });
      return found as T;
    }
    stats.misses++;
    if (stats.listening.size > 0) stats.emit("miss", this.#scope.path, { key });
    return fallback;
  }

  /**
   * Reads several keys in one backend round trip (`getMany` of the backend,
   * else concurrent `get`s); each hit and miss is counted. Without a
   * serializer, each value is a copy of its bytes; the copies of one call are
   * views of one buffer made for that call (so transfer a value's `.buffer`
   * only after copying it).
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
    const { io, store, l1, clock } = this.#c;
    const scope = this.#scope;
    const bks = backendKeys(scope, keys);
    const records = scope.records;
    const since = l1?.generation ?? 0;
    // Raw values all copied out together (store.plainMany) may be read as the backend's shared arrays.
    const together = records.length === 0 && store.raw;
    const raw = await io.readMany(records.length === 0 ? bks : [...bks, ...records], "get", together);
    if (together) {
      const copies = store.plainMany(raw, clock.now()) as (T | F | undefined)[] | undefined;
      if (copies === undefined) unshare(raw);
      else {
        for (let i = 0; i < copies.length; i++) {
          copies[i] = this.#served(keys[i], copies[i] === undefined ? MISS : copies[i] as T, fallback);
        }
        return copies;
      }
    }
    const tokens: Tokens = new Map();
    for (let i = 0; i < records.length; i++) tokens.set(records[i], raw[bks.length + i]);
    // Without l1 (which keeps decoded headers), an untagged entry is served from its bytes: plain[i] is where its
    // payload starts, -1 for an entry decoded in full.
    const plain: number[] = new Array(bks.length).fill(-1);
    const decoded = new Array<Decoded | undefined>(bks.length);
    let missing: Set<string> | undefined;
    for (let i = 0; i < bks.length; i++) {
      const bytes = raw[i];
      if (l1 === undefined && bytes instanceof Uint8Array) {
        const at = plainPayloadAt(bytes);
        if (at !== -1) {
          plain[i] = at;
          continue;
        }
      }
      const entry = store.decodeOrDrop(scope, keys[i], bks[i], bytes);
      decoded[i] = entry;
      if (entry === undefined) continue;
      for (const stamp of entry.tags) if (!tokens.has(stamp.record)) (missing ??= new Set()).add(stamp.record);
    }
    if (missing !== undefined) {
      const list = [...missing];
      const got = await io.readMany(list, "get");
      list.forEach((record, i) => tokens.set(record, got[i]));
    }
    const now = clock.now();
    // A synchronous serializer makes no promise per key.
    const values: (T | F | undefined)[] = new Array(keys.length);
    let pending: Promise<void>[] | undefined;
    for (let i = 0; i < bks.length; i++) {
      let found: T | Miss | Promise<T | Miss>;
      if (plain[i] !== -1) {
        // Raw hits are served as the backend's bytes (a view), copied out together below: plain[i] stays where the
        // payload starts only for those.
        found = store.loadPlain(scope, keys[i], bks[i], raw[i]!, plain[i], freshAtTime(raw[i]!, now), store.raw);
        if (found === MISS) plain[i] = -1;
      } else {
        const entry = decoded[i];
        const got = entry === undefined ? undefined : store.load(scope, keys[i], bks[i], entry, tokens, now, since);
        found = got instanceof Promise ? got.then(freshValue) : freshValue(got);
      }
      if (found instanceof Promise) {
        (pending ??= []).push(found.then((got) => void (values[i] = this.#served(keys[i], got, fallback))));
      } else values[i] = this.#served(keys[i], found, fallback);
    }
    if (pending !== undefined) await Promise.all(pending);
    if (store.raw) copyOut(values as (Uint8Array | undefined)[], plain, values as (Uint8Array | undefined)[]);
    return values;
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
    const c = this.#c;
    const scope = this.#scope;
    let bk: string;
    let ttl: number;
    let grace: number;
    let records: readonly string[];
    try {
      checkKey(SET, key);
      bk = backendKey(scope, key);
      if (options === undefined) {
        // The common call: the defaults, no options object made or checked.
        ttl = c.ttl;
        grace = c.grace;
        records = scope.records;
      } else {
        const settings = typeof options === "number" ? { ttl: options } : options;
        checkOptions(SET, settings, SET_KEYS);
        ttl = settings.ttl === undefined ? c.ttl : checkTtl(SET, "ttl", settings.ttl, c.maxTtl);
        grace = settings.grace === undefined ? c.grace : checkGrace(SET, "grace", settings.grace, c.maxTtl);
        records = this.#recordsFor(SET, settings.tags);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (records.length === 0) return c.store.write(scope, key, bk, value, ttl, grace, NO_STAMPS, 0);
    return c.records.stamps(records, undefined).then((stamps) =>
      c.store.write(scope, key, bk, value, ttl, grace, stamps, 0)
    );
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
    const scope = this.#scope;
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
        bk: backendKey(scope, entry.key),
        value: entry.value,
        ttl: entry.ttl === undefined ? c.ttl : checkTtl(where, "ttl", entry.ttl, c.maxTtl),
        grace: entry.grace === undefined ? c.grace : checkGrace(where, "grace", entry.grace, c.maxTtl),
        records: this.#recordsFor(where, entry.tags),
      };
    });
    if (plans.length === 0) return;
    const allRecords = [...new Set(plans.flatMap((plan) => plan.records))];
    const tokens: Tokens = new Map();
    if (allRecords.length > 0) await c.records.tokens(allRecords, tokens);
    const now = c.clock.now();
    const stamps = plans.map((plan) => stampsOf(plan.records, tokens));
    const rows: BackendEntry[] = plans.map((plan, i) => ({
      key: plan.bk,
      value: c.store.envelope(plan.value, now, plan.ttl, plan.grace, stamps[i], 0),
      ttl: plan.ttl + plan.grace,
    }));
    await c.store.writeMany(scope, plans.map((plan) => plan.key), rows, stamps);
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
    return this.#c.engine.getOrSet(this.#scope, key, factory, options);
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
    const c = this.#c;
    const bk = backendKey(this.#scope, key);
    await this.#invalidate({ keys: [bk] }, () => c.io.delete(bk, key));
    c.stats.emitKey("delete", this.#scope.path, key);
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
    const c = this.#c;
    const bks = keys.map((key) => backendKey(this.#scope, key));
    await this.#invalidate({ keys: bks }, () => c.io.deleteMany(bks, keys.join(", ")));
    for (const key of keys) c.stats.emitKey("delete", this.#scope.path, key);
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
    await this.#invalidate({ all: true }, () => c.io.clear());
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
    const scope = childScope(this.#scope, name);
    checkRecordName(context, name, scope.records[scope.records.length - 1]);
    if (scope.records.length > MAX_RECORDS) {
      throw new RangeError(`${context}: namespaces nest at most ${MAX_RECORDS} deep: received one more`);
    }
    TTLCache.#viewOf = { core: this.#c as Core<unknown>, scope };
    return new TTLCache<T>();
  }

  /**
   * Returns a snapshot of the statistics (shared with namespace views).
   *
   * @returns A frozen {@linkcode CacheInfo}; `currSize` counts live entries only.
   */
  cacheInfo(): CacheInfo {
    const { stats, bound, clock } = this.#c;
    return Object.freeze({
      hits: stats.hits,
      misses: stats.misses,
      maxSize: bound.maxSize,
      currSize: bound.size(clock.now()),
      evictions: bound.evictions,
      staleHits: stats.staleHits,
      errors: stats.errors,
      l1Hits: stats.l1Hits,
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
    if (listener !== null) c.stats.listen(type, 1);
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
    if (listener !== null && c.stats.listening.has(type)) c.stats.listen(type, -1);
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

  /**
   * Stops listening to the bus (when there is one). The cache stays usable,
   * without invalidations from other processes. A cache owns no timer: only
   * its bus subscription can keep a process alive.
   *
   * @returns A Promise that settles at once.
   */
  close(): Promise<void> {
    if (this.#c.root === this) {
      this.#c.link?.close();
      this.#c.owed.close();
    }
    return Promise.resolve();
  }

  /** Closes the cache at the end of an `await using` scope, see {@linkcode TTLCache.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #recordsFor(context: string, tags: unknown, withScope = true): readonly string[] {
    const scope = withScope ? this.#scope : ROOT;
    if (tags === undefined && withScope) return scope.records;
    return recordsOf(scope, checkTags(context, tags, MAX_RECORDS - scope.records.length));
  }

  // New tokens for `records`: every entry carrying an old one is dead, here and in every process.
  async #renew(records: readonly string[]): Promise<void> {
    const c = this.#c;
    const rows = await this.#invalidate({ records }, () => c.records.renew(records));
    if (c.l1 !== undefined) { for (const row of rows) c.l1.learn(row.key, row.value); }
  }

  // Invalidates locally first, whatever the backend call then does; a call
  // that fails or times out may still be applied, so it is owed: covered
  // entries are misses here, and it is applied again until it succeeds.
  // Either way the other caches are told.
  async #invalidate<R>(what: Invalidation, call: () => Promise<R>): Promise<R> {
    const c = this.#c;
    evict(c, what);
    let result: R;
    try {
      result = await call();
    } catch (error) {
      if (error instanceof CacheError) c.owed.owe(what);
      c.link?.announce(what);
      throw error;
    }
    for (const bk of what.keys ?? []) c.owed.settled(bk);
    c.link?.announce(what);
    return result;
  }
}

// Drops what an invalidation covers from everything this process keeps: the
// l1 copies, the LRU count (dead entries stop counting at once) and the values
// kept during an outage.
function evict<T>(c: Core<T>, what: Invalidation): void {
  if (what.all) {
    c.l1?.clear();
    c.bound.clear();
  }
  if (what.keys !== undefined) {
    c.l1?.evictKeys(what.keys);
    for (const bk of what.keys) c.bound.delete(bk);
  }
  if (what.records !== undefined) {
    c.l1?.evictRecords(what.records);
    c.bound.invalidateRecords(what.records);
  }
  c.engine.invalidated();
}
