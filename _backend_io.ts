// Every call TTLCache makes to its backend goes through here: batches fall
// back to single calls, a backend that breaks its contract is a TypeError, and
// any other failure becomes a CacheError naming the operation and key.
import { CacheError } from "./errors.ts";
import { type SyncView, syncViewOf } from "./_sync_view.ts";
import { type SharedReads, sharedReadsOf, unshare, unshared } from "./_shared_reads.ts";
import { describe } from "./_validate.ts";
import type { BackendEntry, CacheBackend, Clock } from "./types.ts";

// A call that failed only after this long waited on a server that does not
// answer (a freeze, a timeout): read-through then skips the backend for a
// while instead of each call waiting as long. A call refused at once needs no
// breaker: it is fast already.
const SLOW_FAILURE_MS = 50;

/** A backend's calls, as the cache makes them. */
export class BackendIo {
  readonly backend: CacheBackend;
  /** The backend's synchronous view, when it offers one. */
  readonly sync: SyncView | undefined;
  readonly #shared: SharedReads | undefined;
  readonly #clock: Clock;
  readonly #breakMs: number;
  #openUntil = 0;
  #openedBy: Error | undefined;

  /**
   * @param breakMs How long read-through skips the backend after a slow failure (0: never).
   */
  constructor(backend: CacheBackend, clock: Clock, breakMs: number) {
    this.backend = backend;
    this.sync = syncViewOf(backend);
    this.#shared = sharedReadsOf(backend);
    this.#clock = clock;
    this.#breakMs = breakMs;
  }

  /**
   * While the breaker is open (a call failed slowly less than breakMs ago), the error that read-through reports
   * instead of calling the backend; undefined while it is closed. Plain calls are never skipped.
   */
  breakerError(): CacheError | undefined {
    if (this.#openUntil === 0) return undefined;
    const now = this.#clock.now();
    if (now >= this.#openUntil) {
      this.#openUntil = 0;
      return undefined;
    }
    return new CacheError(
      `Cannot reach the cache backend: a call failed slowly ${Math.round(now - this.#openUntil + this.#breakMs)} ms ` +
        `ago, so read-through skips it for ${this.#breakMs} ms (circuitBreaker)`,
      { cause: this.#openedBy },
    );
  }

  // Runs a backend call; one that fails slowly opens the breaker. Chained rather than async: a hop fewer per call.
  #call<R>(body: () => Promise<R>): Promise<R> {
    const started = this.#breakMs === 0 ? 0 : this.#clock.now();
    let pending: Promise<R>;
    try {
      pending = body();
    } catch (error) {
      // Thrown at once: no wait for the breaker to spare anyone.
      return Promise.reject(error);
    }
    return pending.then(this.#answered, (error) => this.#failed(error, started));
  }

  // The backend answers again: read-through need not wait out the breaker.
  readonly #answered = <R>(result: R): R => {
    if (this.#openUntil !== 0) this.#openUntil = 0;
    return result;
  };

  #failed(error: unknown, started: number): never {
    if (this.#breakMs > 0 && error instanceof CacheError) {
      const now = this.#clock.now();
      if (now - started >= SLOW_FAILURE_MS) {
        this.#openUntil = now + this.#breakMs;
        this.#openedBy = error;
      }
    }
    throw error;
  }

  /** Reads one key, as readMany() of it would, without an array. */
  read(bk: string, operation: string): Promise<Uint8Array | undefined> {
    return this.#call(() => this.#read(bk, operation));
  }

  #read(bk: string, operation: string): Promise<Uint8Array | undefined> {
    let pending: Promise<Uint8Array | undefined>;
    try {
      pending = thenable(this.backend.get(bk), "get");
    } catch (cause) {
      return Promise.reject(backendError(operation, bk, cause));
    }
    return pending.then(unshared, (cause) => Promise.reject(backendError(operation, bk, cause)));
  }

  /**
   * Reads `keys` in one round trip when the backend can. With `shared`, the backend's shared reads when it offers
   * them (see _shared_reads.ts): the caller then copies every value or unshares them.
   */
  readMany(keys: readonly string[], operation: string, shared = false): Promise<(Uint8Array | undefined)[]> {
    return this.#call(() => this.#readMany(keys, operation, shared));
  }

  async #readMany(keys: readonly string[], operation: string, shared: boolean): Promise<(Uint8Array | undefined)[]> {
    const { backend } = this;
    let pending: Promise<(Uint8Array | undefined)[]>;
    try {
      pending = keys.length === 1
        ? this.#read(keys[0], operation).then((bytes) => [bytes])
        : shared && this.#shared !== undefined
        ? thenable(this.#shared(keys), "getMany")
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
    // A backend's Buffer (whose slice() is a view of the backend's memory) becomes a plain Uint8Array here, so every
    // copy the cache makes of it further on is a copy.
    if (!shared) unshare(got);
    return got;
  }

  /** Writes `rows` in one round trip when the backend can. */
  writeMany(rows: readonly BackendEntry[]): Promise<void> {
    return this.#call(() => this.#writeMany(rows));
  }

  async #writeMany(rows: readonly BackendEntry[]): Promise<void> {
    const { backend } = this;
    try {
      if (rows.length === 1) await backend.set(rows[0].key, rows[0].value, rows[0].ttl);
      else if (typeof backend.setMany === "function") await backend.setMany(rows);
      else await Promise.all(rows.map((row) => backend.set(row.key, row.value, row.ttl)));
    } catch (cause) {
      throw backendError("set", rows[0].key, cause);
    }
  }

  /** Writes one entry; `key` is the user's, for the error message. */
  write(key: string, bk: string, bytes: Uint8Array, ttl: number): Promise<void> {
    return this.#call(() => this.#write(key, bk, bytes, ttl));
  }

  #write(key: string, bk: string, bytes: Uint8Array, ttl: number): Promise<void> {
    let pending: Promise<void>;
    try {
      pending = thenable(this.backend.set(bk, bytes, ttl), "set");
    } catch (cause) {
      return Promise.reject(backendError("set", key, cause));
    }
    return pending.catch((cause) => Promise.reject(backendError("set", key, cause)));
  }

  /** Deletes one key; `key` is the user's, for the error message. */
  delete(bk: string, key: string): Promise<void> {
    return this.#call(async () => {
      try {
        await this.backend.delete(bk);
      } catch (cause) {
        throw backendError("delete", key, cause);
      }
    });
  }

  /** Deletes `keys` in one round trip when the backend can; `label` names them in an error. */
  deleteMany(keys: readonly string[], label: string): Promise<void> {
    return this.#call(() => this.#deleteMany(keys, label));
  }

  async #deleteMany(keys: readonly string[], label: string): Promise<void> {
    const { backend } = this;
    try {
      if (typeof backend.deleteMany === "function") await backend.deleteMany(keys);
      else await Promise.all(keys.map((key) => backend.delete(key)));
    } catch (cause) {
      throw backendError("delete", label, cause);
    }
  }

  /** Empties the backend. */
  clear(): Promise<void> {
    return this.#call(async () => {
      try {
        await this.backend.clear();
      } catch (cause) {
        throw backendError("clear", undefined, cause);
      }
    });
  }

  /** Deletes `bk` without waiting or failing: an undecodable entry is deleted again on its next read. */
  forget(bk: string): void {
    try {
      Promise.resolve(this.backend.delete(bk)).catch(() => {});
    } catch {
      // As above.
    }
  }
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

/** A backend failure as the cache reports it: a CacheError naming the operation and key, the failure as cause. */
export function backendError(operation: string, key: string | undefined, cause: unknown): Error {
  if (cause instanceof CacheError || cause instanceof BackendContractError) return cause;
  const target = key === undefined ? "" : ` key ${JSON.stringify(key)}`;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CacheError(`Cannot ${operation}${target} in the cache backend: ${reason}`, { cause });
}
