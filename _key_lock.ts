import type { CacheLock } from "./cache_lock.ts";

/**
 * The lock of `cached({ lock: true })`: one FIFO mutex per key, in this
 * process. Calls on different keys never wait for each other, and a key's
 * entry is removed as soon as its last holder releases it, so the table is
 * empty whenever no call is in flight.
 */
export class KeyLock implements CacheLock {
  // Key -> the promise that settles when the last queued holder releases.
  readonly #tails = new Map<string, Promise<void>>();

  /** The number of keys currently held or waited for. */
  get size(): number {
    return this.#tails.size;
  }

  withLock<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const previous = this.#tails.get(key);
    let release!: () => void;
    const tail = new Promise<void>((resolve) => release = resolve);
    this.#tails.set(key, tail);
    const run = previous === undefined ? call(fn) : previous.then(fn);
    const done = () => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
      release();
    };
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
