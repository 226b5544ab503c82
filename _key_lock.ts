import type { CacheLock } from "./cache_lock.ts";
import { settlesWithin } from "./_deadline.ts";

/** How long a caller of {@linkcode KeyLock.withLock} waits for its turn. */
export interface KeyLockWait {
  /** When the wait ends (performance.now() ms). */
  readonly deadline: number;
  /** The error the call rejects with when its turn has not come by then. */
  timedOut(): Error;
}

/**
 * RedisLock's queue within one process (`cached({ lock: true })` is the read-
 * through engine's single flight, not this): one FIFO mutex per key. Calls on different keys never wait for each
 * other, and a key's entry is removed as soon as its last holder releases it,
 * so the table is empty whenever no call is in flight.
 */
export class KeyLock implements CacheLock {
  // Key -> the promise that settles when the last queued holder releases.
  readonly #tails = new Map<string, Promise<void>>();

  /** The number of keys currently held or waited for. */
  get size(): number {
    return this.#tails.size;
  }

  /**
   * Runs `fn` once every earlier caller of `key` has released it; with
   * `wait`, rejects with `wait.timedOut()` instead when that has not happened
   * by `wait.deadline` (the callers behind it still wait for the earlier ones).
   */
  withLock<R>(key: string, fn: () => Promise<R>, wait?: KeyLockWait): Promise<R> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const tail = new Promise<void>((resolve) => release = resolve);
    this.#tails.set(key, tail);
    let gaveUp = false;
    let run: Promise<R>;
    if (previous === undefined) run = call(fn);
    else if (wait === undefined) run = previous.then(fn);
    else {
      run = settlesWithin(previous, wait.deadline - performance.now()).then((inTime) => {
        if (inTime) return fn();
        gaveUp = true;
        throw wait.timedOut();
      });
    }
    const finish = () => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
      release();
    };
    // A caller that gave up releases its place only once the holders before it have.
    const done = () => gaveUp ? previous!.then(finish) : finish();
    run.then(done, done);
    return run;
  }
}

function call<R>(fn: () => Promise<R>): Promise<R> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}
