// Read-through: getOrSet() past the in-process tier. One computation per key
// at a time in this process (a flight several callers wait on), an optional
// lock across processes, grace and soft/hard timeouts, early refresh (XFetch),
// stale-while-revalidate, and one fail-open policy: a backend failure (a
// CacheError) is swallowed and counted, the backend is presumed down for the
// rest of the call, and the value is computed and returned anyway.
import { CacheError, CacheTimeoutError } from "./errors.ts";
import { beforeDeadline } from "./_deadline.ts";
import type { TagStamp } from "./_envelope.ts";
import type { BackendIo } from "./_backend_io.ts";
import { DECLINED, type EntryStore, type Found, MISS, ValueTooLargeError } from "./_entry_store.ts";
import type { L1Tier } from "./_l1.ts";
import { backendKey, recordsOf, type Scope } from "./_key_space.ts";
import type { Records, Tokens } from "./_records.ts";
import type { Stats } from "./_stats.ts";
import {
  checkBoolean,
  checkDuration,
  checkFinite,
  checkGrace,
  checkKey,
  checkLock,
  checkOptions,
  checkTags,
  checkTtl,
  describe,
  MAX_RECORDS,
  optionNames,
} from "./_validate.ts";
import type { CacheLock } from "./cache_lock.ts";
import type { Clock } from "./types.ts";
import type { Factory, FactoryContext, GetOrSetOptions, ReadThroughOptions } from "./ttl_cache_options.ts";

/** The names of the read-through options, for the option lists that include them. */
export const READ_THROUGH_NAMES: { readonly [K in keyof Required<ReadThroughOptions>]: true } = Object.freeze({
  grace: true,
  failOpen: true,
  timeout: true,
  hardTimeout: true,
  staleWhileRevalidate: true,
  earlyRefresh: true,
});

/** The read-through options, checked, with defaults filled in. */
export interface ReadThroughSettings {
  readonly grace: number;
  readonly failOpen: boolean;
  readonly timeout: number | undefined;
  readonly hardTimeout: number | undefined;
  readonly staleWhileRevalidate: boolean;
  readonly earlyRefresh: number;
}

/** Checks the read-through options; those left undefined come from `defaults`. */
export function checkReadThrough(
  context: string,
  options: ReadThroughOptions,
  defaults: ReadThroughSettings | undefined,
  maxTtl: number,
): ReadThroughSettings {
  const { grace, failOpen, timeout, hardTimeout, staleWhileRevalidate, earlyRefresh } = options;
  checkBoolean(context, "failOpen", failOpen);
  checkBoolean(context, "staleWhileRevalidate", staleWhileRevalidate);
  const settings: ReadThroughSettings = {
    grace: grace === undefined ? defaults?.grace ?? 0 : checkGrace(context, "grace", grace, maxTtl),
    failOpen: failOpen ?? defaults?.failOpen ?? true,
    timeout: timeout === undefined ? defaults?.timeout : checkDuration(context, "timeout", timeout),
    hardTimeout: hardTimeout === undefined ? defaults?.hardTimeout : checkDuration(context, "hardTimeout", hardTimeout),
    staleWhileRevalidate: staleWhileRevalidate ?? defaults?.staleWhileRevalidate ?? false,
    earlyRefresh: earlyRefresh === undefined
      ? defaults?.earlyRefresh ?? 0
      : checkFinite(context, "earlyRefresh", earlyRefresh, "a factor", 0, true),
  };
  if (settings.timeout !== undefined && settings.hardTimeout !== undefined && settings.hardTimeout < settings.timeout) {
    throw new RangeError(
      `${context}: hardTimeout must be >= timeout (${settings.timeout} ms): received ${settings.hardTimeout}`,
    );
  }
  return settings;
}

const GET_OR_SET = "Cannot getOrSet in TTLCache";
// While the backend cannot be read, a computed value is served again for this
// long (to this process only), so the origin sees about one call per key per
// second during an outage, not one per request.
const OUTAGE_MS = 1_000;
const OUTAGE_MAX = 10_000;
const LANDED_MAX = 256;
const NO_TAGS: readonly string[] = [];
const NO_STAMPS: readonly TagStamp[] = [];
const GET_OR_SET_KEYS = optionNames<GetOrSetOptions>({
  ttl: true,
  tags: true,
  lock: true,
  signal: true,
  ...READ_THROUGH_NAMES,
});

/** The settings of one getOrSet() call, checked. */
export interface CallSettings extends ReadThroughSettings {
  readonly ttl: number;
  readonly tags: readonly string[];
  readonly lock: CacheLock | boolean;
  readonly signal: AbortSignal | undefined;
}

/** One getOrSet() call past the in-process tier: what its computation needs. */
interface Call<T> {
  readonly scope: Scope;
  readonly key: string;
  readonly bk: string;
  readonly factory: Factory<T>;
  readonly settings: CallSettings;
  readonly records: readonly string[];
  // The records' tokens read with the entry (a remote backend), reused by the store.
  readonly tokens: Tokens | undefined;
  // An early refresh: the entry is fresh on purpose, so the re-check under a lock must not stop it.
  readonly early?: boolean;
  // The number of flights landed when this call's read began (see #landed).
  readonly readAt?: number;
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

/** What the engine needs of its cache. */
export interface EngineParts<T> {
  readonly io: BackendIo;
  readonly store: EntryStore<T>;
  readonly records: Records;
  readonly stats: Stats;
  readonly l1: L1Tier<T> | undefined;
  readonly clock: Clock;
  readonly random: () => number;
  readonly ttl: number;
  readonly maxTtl: number;
  readonly defaults: ReadThroughSettings;
  /** Whether the backend answers synchronously (record tokens need not be kept from the read). */
  readonly local: boolean;
}

/** The read-through of one cache (shared by its namespace views). */
export class ReadThrough<T> {
  readonly #p: EngineParts<T>;
  // The settings of a getOrSet() call without options, made once.
  readonly #defaultCall: CallSettings;
  // Frozen options objects (cached() makes one per function) are validated once.
  readonly #validated = new WeakMap<GetOrSetOptions, CallSettings>();
  // Computations in flight, by backend key.
  readonly #flights = new Map<string, Flight<T>>();
  // Flights that finished lately, numbered in order: a caller whose read began
  // before one landed (a slow backend can answer after the computation and its
  // write are done) joins its result instead of computing again.
  readonly #landed = new Map<string, { promise: Promise<T>; at: number }>();
  #landings = 0;
  // Values computed while the backend was down: backend key -> encoded value and until when it is served.
  readonly #outage = new Map<string, { bytes: Uint8Array; until: number }>();

  constructor(parts: EngineParts<T>) {
    this.#p = parts;
    this.#defaultCall = { ...parts.defaults, ttl: parts.ttl, tags: NO_TAGS, lock: true, signal: undefined };
  }

  // The l1 slot of `key`'s fresh in-process copy, counted as a hit; -1 when
  // there is none (get, peek, getOrSet). Read the slot at once: a write may reuse it.
  l1Fresh(l1: L1Tier<T>, scope: Scope, key: string): number {
    const slot = l1.fresh(backendKey(scope, key), l1.hitClock.now());
    if (slot !== -1) this.#p.stats.l1Hit(scope.path, key);
    return slot;
  }

  // The l1 slot of `key`'s in-process copy (-1: none), counted as a hit when
  // fresh (`now` < its freshUntil). Read the slot at once: a write may reuse it.
  l1Hit(l1: L1Tier<T>, scope: Scope, key: string, now: number): number {
    const slot = l1.find(backendKey(scope, key), now);
    if (slot !== -1 && now < l1.freshUntil(slot)) this.#p.stats.l1Hit(scope.path, key);
    return slot;
  }

  /** See TTLCache.getOrSet. */
  getOrSet(scope: Scope, key: string, factory: Factory<T>, options: GetOrSetOptions | undefined): Promise<T> {
    // The commonest hit, small enough to be inlined into the caller: a fresh l1 copy, for a call with the defaults.
    const l1 = this.#p.l1;
    if (l1 !== undefined && options === undefined && typeof key === "string" && typeof factory === "function") {
      if (!(this.#defaultCall.earlyRefresh > 0)) {
        const slot = this.l1Fresh(l1, scope, key);
        if (slot !== -1) return l1.resolved(slot);
      }
    }
    return this.#front(scope, key, factory, options);
  }

  // The hot path, kept small so that it is optimized on its own, for a call whose settings are known valid and ask
  // for no signal: a fresh l1 copy (without early refresh; getOrSet() tried it for a call with the defaults), or a
  // synchronous backend's entry read from its bytes (#fromBytes). Anything else takes the full path, which judges it
  // again.
  #front(scope: Scope, key: string, factory: Factory<T>, options: GetOrSetOptions | undefined): Promise<T> {
    const p = this.#p;
    const l1 = p.l1;
    if (typeof key === "string" && typeof factory === "function") {
      const settings = options === undefined ? this.#defaultCall : this.#validated.get(options);
      if (settings !== undefined && settings.signal === undefined) {
        if (l1 !== undefined) {
          if (options !== undefined && !(settings.earlyRefresh > 0)) {
            const slot = this.l1Fresh(l1, scope, key);
            if (slot !== -1) return l1.resolved(slot);
          }
        } else if (p.io.sync !== undefined && settings.tags.length === 0 && p.io.breakerError() === undefined) {
          // Only checked keys were written, so what is found needs no key check.
          const served = this.#fromBytes(scope, key, backendKey(scope, key), factory, settings);
          return served ?? this.#getOrSet(scope, key, factory, options, true);
        }
      }
    }
    return this.#getOrSet(scope, key, factory, options, false);
  }

  // `bytesTried`: the front path tried #fromBytes already, and it declined.
  #getOrSet(
    scope: Scope,
    key: string,
    factory: Factory<T>,
    options: GetOrSetOptions | undefined,
    bytesTried: boolean,
  ): Promise<T> {
    const p = this.#p;
    const l1 = p.l1;
    let settings: CallSettings;
    let bk: string;
    let records: readonly string[];
    let found: Found<T> | undefined | Promise<Found<T> | undefined>;
    let l1Stale: Found<T> | undefined;
    try {
      if (typeof factory !== "function") {
        throw new TypeError(`${GET_OR_SET}: factory must be a function: received ${describe(factory)}`);
      }
      settings = options === undefined ? this.#defaultCall : this.#callSettings(options);
      settings.signal?.throwIfAborted();
      // An in-process hit first: only checked keys get in, so the key needs no check here.
      if (l1 !== undefined && typeof key === "string") {
        const now = l1.hitClock.now();
        const slot = this.l1Hit(l1, scope, key, now);
        if (slot !== -1) {
          const value = l1.value(l1.valueAt(slot));
          if (now < l1.freshUntil(slot)) {
            if (
              settings.earlyRefresh > 0 &&
              this.#refreshEarly(l1.delta(slot), l1.staleAt(slot), settings.earlyRefresh)
            ) {
              const call: Call<T> = {
                scope,
                key,
                bk: backendKey(scope, key),
                factory,
                settings,
                records: recordsOf(scope, settings.tags),
                tokens: undefined,
              };
              this.#background(call, value, "early");
            }
            return Promise.resolve(value);
          }
          l1Stale = {
            value,
            fresh: false,
            header: {
              expiresAt: l1.expiresAt(slot),
              freshUntil: l1.staleAt(slot),
              delta: l1.delta(slot),
              tags: NO_STAMPS,
            },
          };
        }
      }
      checkKey(GET_OR_SET, key);
      bk = backendKey(scope, key);
      records = recordsOf(scope, settings.tags);
      if (records.length > MAX_RECORDS) {
        throw new RangeError(
          `${GET_OR_SET}: tags must hold at most ${MAX_RECORDS - scope.records.length} tags in this namespace: ` +
            `received ${settings.tags.length}`,
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (
      !bytesTried && l1 === undefined && p.io.sync !== undefined && records === scope.records &&
      p.io.breakerError() === undefined
    ) {
      const served = this.#fromBytes(scope, key, bk, factory, settings);
      if (served !== undefined) return served;
    }
    // A remote read fetches the records with the entry; keep their tokens for the store.
    const tokens = records.length === 0 || p.local ? undefined : new Map<string, Uint8Array | undefined>();
    const call: Call<T> = { scope, key, bk, factory, settings, records, tokens, readAt: this.#landings };
    if (l1Stale !== undefined && settings.staleWhileRevalidate) {
      p.stats.staleHits++;
      p.stats.emitKey("stale", scope.path, key, { reason: "revalidate" });
      this.#background(call, l1Stale.value, "revalidate");
      return Promise.resolve(l1Stale.value);
    }
    // A backend that just failed slowly is not waited on again: the read counts as failed at once.
    const broken = p.io.breakerError();
    if (broken !== undefined) return this.#readFailed(call, broken, l1Stale);
    try {
      found = p.store.lookup(scope, key, bk, records, tokens);
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

  // getOrSet() without l1 on a synchronous backend, for a call with no tags but its namespace's: a fresh entry untagged
  // or tagged only by still-current records is served from its bytes (no Call, header or Found), and what freshPlain
  // found to be a miss is computed; undefined when freshPlain declined (the full read follows).
  #fromBytes(
    scope: Scope,
    key: string,
    bk: string,
    factory: Factory<T>,
    settings: CallSettings,
  ): Promise<T> | undefined {
    const readAt = this.#landings;
    const hit = this.#p.store.freshPlain(scope, key, bk, settings.earlyRefresh > 0);
    if (hit === DECLINED) return undefined;
    if (hit !== MISS && !(hit instanceof Promise)) return Promise.resolve(this.#plainHit(scope, key, hit));
    const call: Call<T> = { scope, key, bk, factory, settings, records: scope.records, tokens: undefined, readAt };
    if (hit instanceof Promise) {
      return hit.then((value) => value === MISS ? this.#resolve(call, undefined) : this.#plainHit(scope, key, value));
    }
    const value = this.#resolve(call, undefined);
    return value instanceof Promise ? value : Promise.resolve(value);
  }

  /** An invalidation happened: values computed before it are not handed out again. */
  invalidated(): void {
    if (this.#outage.size > 0) this.#outage.clear();
    if (this.#landed.size > 0) this.#landed.clear();
  }

  #keepForOutage(bk: string, value: T): void {
    const outage = this.#outage;
    let bytes: Uint8Array;
    try {
      bytes = this.#p.store.encodeValue(value);
    } catch {
      return;
    }
    if (outage.size >= OUTAGE_MAX) outage.clear();
    outage.set(bk, { bytes, until: this.#p.clock.now() + OUTAGE_MS });
  }

  // A value computed moments ago while the backend was down, as a fresh copy.
  #fromOutage(call: Call<T>): Promise<T> | undefined {
    const kept = this.#outage.get(call.bk);
    if (kept === undefined) return undefined;
    if (this.#p.clock.now() >= kept.until) {
      this.#outage.delete(call.bk);
      return undefined;
    }
    let value: T | Promise<T>;
    try {
      value = this.#p.store.decodeValue(kept.bytes);
    } catch {
      return undefined;
    }
    const stats = this.#p.stats;
    stats.hits++;
    if (stats.listening.size > 0) stats.emit("hit", call.scope.path, { key: call.key, tier: "outage" });
    return Promise.resolve(value);
  }

  // The one fail-open policy: a backend failure (a CacheError) is swallowed,
  // counted and reported when the call fails open; anything else is thrown.
  #failOpen(call: Call<T>, operation: string, error: unknown): void {
    if (!call.settings.failOpen || !(error instanceof CacheError)) throw error;
    this.#p.stats.swallowed(operation, call.scope.path, call.key, error);
  }

  #readFailed(call: Call<T>, error: unknown, stale: Found<T> | undefined): Promise<T> {
    try {
      this.#failOpen(call, "get", error);
    } catch (error) {
      return Promise.reject(error);
    }
    const { scope, key, settings } = call;
    const stats = this.#p.stats;
    const kept = this.#fromOutage(call);
    if (kept !== undefined) return kept;
    // An in-process stale copy is served at once while the backend is down, and refreshed in the background.
    if (stale !== undefined && settings.grace > 0 && settings.staleWhileRevalidate) {
      stats.staleHits++;
      stats.emitKey("stale", scope.path, key, { reason: "backend", error });
      return Promise.resolve(stale.value);
    }
    if (stale === undefined) {
      stats.misses++;
      stats.emitKey("miss", scope.path, key);
    }
    return this.#compute({ ...call, tokens: undefined }, stale, true);
  }

  // A fresh entry's value from freshPlain(), counted as #resolve() counts a hit (it has no compute time to refresh
  // early by). A MISS from freshPlain() (bytes that did not decode, reported already) goes to #resolve() as a miss.
  #plainHit(scope: Scope, key: string, value: T): T {
    const stats = this.#p.stats;
    stats.hits++;
    if (stats.listening.size > 0) stats.emit("hit", scope.path, { key, tier: "backend" });
    return value;
  }

  // What a read found decides: a fresh hit is returned (maybe refreshed early
  // in the background), anything else goes to a computation.
  #resolve(call: Call<T>, found: Found<T> | undefined): T | Promise<T> {
    const stats = this.#p.stats;
    const { scope, key, settings } = call;
    if (found !== undefined && found.fresh) {
      stats.hits++;
      if (stats.listening.size > 0) stats.emit("hit", scope.path, { key, tier: "backend" });
      if (
        settings.earlyRefresh > 0 &&
        this.#refreshEarly(found.header.delta, found.header.freshUntil, settings.earlyRefresh)
      ) {
        this.#background(call, found.value, "early");
      }
      return found.value;
    }
    if (found !== undefined && settings.staleWhileRevalidate) {
      stats.staleHits++;
      stats.emitKey("stale", scope.path, key, { reason: "revalidate" });
      this.#background(call, found.value, "revalidate");
      return found.value;
    }
    if (found === undefined) {
      stats.misses++;
      stats.emitKey("miss", scope.path, key);
    }
    const landed = settings.lock === false ? undefined : this.#landed.get(call.bk);
    if (landed !== undefined && call.readAt !== undefined && landed.at > call.readAt) return landed.promise;
    return this.#compute(call, found);
  }

  // XFetch: refresh when now - delta * beta * ln(random) >= freshUntil.
  #refreshEarly(delta: number, freshUntil: number, beta: number): boolean {
    const { clock, random } = this.#p;
    if (delta <= 0) return false;
    return clock.now() - delta * beta * Math.log(random()) >= freshUntil;
  }

  // A computation no caller waits for; its failure is an event, never an unhandled rejection.
  #background(call: Call<T>, stale: T, reason: string): void {
    const { scope, key, bk, settings } = call;
    if (this.#flights.has(bk)) return;
    const flight = this.#startFlight(
      { ...call, settings: { ...settings, signal: undefined }, early: reason === "early" },
      stale,
    );
    flight.abortable = false;
    const stats = this.#p.stats;
    flight.promise.then(
      () => stats.emitKey("refresh", scope.path, key, { reason, duration: flight.duration }),
      (error) => stats.swallowed("refresh", scope.path, key, error),
    );
  }

  // Waits on the key's computation (starting it if needed), serving the stale
  // value, when there is one, if it fails or outruns a timeout.
  #compute(call: Call<T>, stale: Found<T> | undefined, degraded = false): Promise<T> {
    const stats = this.#p.stats;
    const { scope, key, bk, settings } = call;
    let flight = settings.lock === false ? undefined : this.#flights.get(bk);
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
        stats.staleHits++;
        stats.emitKey("stale", scope.path, key, { reason, error });
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
            stats.misses++;
            stats.emitKey("miss", scope.path, key);
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
    const flights = this.#flights;
    const { bk, key, settings } = call;
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
    // fail-open, and the backend is presumed down too. A lock held past its
    // wait limit (a CacheTimeoutError) is not passed over. Either way the
    // computation still runs once in this process, and the caller waits for
    // one backend timeout at most.
    const promise = typeof lock !== "object" || degraded
      ? run(degraded)
      : lock.withLock(key, () => run(false)).catch((error) => {
        if (ran || error instanceof CacheTimeoutError) throw error;
        this.#failOpen(call, "lock", error);
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
      flights.set(bk, flight);
      const leave = () => {
        if (flights.get(bk) === flight) flights.delete(bk);
      };
      const land = () => {
        leave();
        const landed = this.#landed;
        landed.delete(bk);
        if (landed.size >= LANDED_MAX) landed.delete(landed.keys().next().value!);
        landed.set(bk, { promise, at: ++this.#landings });
      };
      promise.then(land, leave);
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
    const p = this.#p;
    const { scope, key, bk, factory, settings, records } = call;
    const tokens = call.tokens ?? new Map<string, Uint8Array | undefined>();
    // After a failed backend call (fail-open), the backend is presumed down:
    // nothing more is read, and the value is written in the background, so the
    // caller waits for at most one backend timeout.
    let down = degraded;
    const failed = (operation: string, error: unknown) => {
      this.#failOpen(call, operation, error);
      down = true;
    };
    if (typeof settings.lock === "object" && !down && !call.early) {
      // Another process may have computed the value while this one waited for the lock.
      try {
        const found = await p.store.lookup(scope, key, bk, records, tokens);
        if (found !== undefined && found.fresh) return found.value;
      } catch (error) {
        failed("get", error);
      }
    }
    let stamps: readonly TagStamp[] = NO_STAMPS;
    if (records.length > 0 && !down) {
      try {
        stamps = await p.records.stamps(records, tokens);
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
        ttl = checkTtl("Cannot set the TTL of a computed entry", "seconds", seconds, p.maxTtl);
      },
      setGrace: (seconds) => {
        grace = checkGrace("Cannot set the grace of a computed entry", "seconds", seconds, p.maxTtl);
      },
      skip: () => {
        skipped = true;
      },
    };
    const started = p.clock.now();
    const value = await this.#withHardTimeout(call, controller, () => factory(context));
    const delta = Math.max(0, p.clock.now() - started);
    timing.duration = delta;
    if (skipped) return value;
    // An entry whose records could not be read cannot be guarded by them: it is not stored.
    if (records.length > 0 && stamps.length === 0) {
      this.#keepForOutage(bk, value);
      return value;
    }
    // A computed value replaces nothing another process must not serve: a failed write is not owed.
    const written = p.store.write(scope, key, bk, value, ttl, grace, stamps, delta, false);
    if (down) {
      this.#keepForOutage(bk, value);
      written.catch((error) => p.stats.swallowed("set", scope.path, key, error));
      return value;
    }
    try {
      await written;
    } catch (error) {
      // A value over maxValueBytes is returned, not stored: reported as a failed set.
      if (error instanceof ValueTooLargeError) p.stats.swallowed("set", scope.path, key, error);
      else {
        this.#failOpen(call, "set", error);
        this.#keepForOutage(bk, value);
      }
    }
    return value;
  }

  #withHardTimeout(call: Call<T>, controller: AbortController, body: () => T | PromiseLike<T>): Promise<T> {
    const started = new Promise<T>((resolve) => resolve(body()));
    const ms = call.settings.hardTimeout;
    if (ms === undefined) return started;
    return beforeDeadline(started, ms, () => {
      const error = new CacheTimeoutError(
        `Cannot compute ${describe(call.key)} within hardTimeout (${ms} ms): the computation was abandoned`,
      );
      this.#p.stats.emitKey("timeout", call.scope.path, call.key, { error });
      controller.abort(error);
      return error;
    });
  }

  #callSettings(options: GetOrSetOptions): CallSettings {
    const known = this.#validated.get(options);
    if (known !== undefined) return known;
    const settings = this.#checkCall(options);
    if (Object.isFrozen(options) && (options.tags === undefined || Object.isFrozen(options.tags))) {
      this.#validated.set(options, settings);
    }
    return settings;
  }

  #checkCall(options: GetOrSetOptions): CallSettings {
    const p = this.#p;
    checkOptions(GET_OR_SET, options, GET_OR_SET_KEYS);
    const { ttl, tags, lock = true, signal } = options;
    checkLock(GET_OR_SET, lock);
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError(`${GET_OR_SET}: signal must be an AbortSignal: received ${describe(signal)}`);
    }
    if (tags !== undefined) checkTags(GET_OR_SET, tags);
    return {
      ...checkReadThrough(GET_OR_SET, options, p.defaults, p.maxTtl),
      ttl: ttl === undefined ? p.ttl : checkTtl(GET_OR_SET, "ttl", ttl, p.maxTtl),
      tags: tags === undefined ? NO_TAGS : [...new Set(tags)],
      lock,
      signal,
    };
  }
}
