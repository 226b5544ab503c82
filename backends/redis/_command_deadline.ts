// Command timeouts for the clients RedisCacheBackend creates, cheaper than
// ioredis' commandTimeout (a timer per command), and timed from when the
// caller made the call rather than from when ioredis writes it.
import { setImmediate } from "node:timers";
import type { Redis } from "ioredis";
import { unrefTimer } from "./_client.ts";

/** What a deadline can fail: an ioredis `Command`, or a call the backend made. */
export interface Expirable {
  readonly isResolved: boolean;
  reject(error: Error): void;
}

// What stands in for an item dropped after it settled.
const SETTLED: Expirable = { isResolved: true, reject() {} };

interface Batch {
  /** When the items still pending in it fail (performance.now() ms). */
  deadline: number;
  items: Expirable[];
  /** Items before this index are resolved. */
  settled: number;
}

/**
 * Fails every item added, unless it resolved first, with "Command timed out"
 * between `timeoutMs - tick` and `timeoutMs` after it was added (later only
 * while the event loop is blocked), where tick is a tenth of the timeout, at
 * most 100 ms. The items added within one tick share a batch, and one unref'd
 * timer, running only while items are pending, checks the oldest batches.
 */
export class Deadlines {
  readonly #timeoutMs: number;
  readonly #tick: number;
  readonly #closed: Batch[] = [];
  #open: Batch | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#tick = Math.max(1, Math.min(100, Math.floor(timeoutMs / 10)));
  }

  add(item: Expirable): void {
    const open = this.#open;
    if (open === undefined) {
      this.#open = { deadline: Infinity, items: [item], settled: 0 };
      if (this.#timer === undefined) this.#arm(this.#tick);
      return;
    }
    // Replies come mostly in order: the items settled at the front go now, not at the next check, so the replies they
    // hold (a command keeps its promise, and that its value) die young. Kept a whole tick, each outlived a scavenge
    // and was copied into the old generation: twice the GC time of a client without deadlines.
    const items = open.items;
    let settled = open.settled;
    while (settled < items.length && items[settled].isResolved) items[settled++] = SETTLED;
    if (settled === items.length) settled = items.length = 0;
    open.settled = settled;
    items.push(item);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#check, ms);
    unrefTimer(this.#timer);
  }

  #check = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    const closed = this.#closed;
    if (this.#open !== undefined) {
      // Its items were added at most one tick ago (unless the loop was blocked).
      this.#open.deadline = now + this.#timeoutMs - this.#tick;
      closed.push(this.#open);
      this.#open = undefined;
    }
    while (closed.length > 0) {
      const oldest = closed[0];
      const { items } = oldest;
      while (oldest.settled < items.length && items[oldest.settled].isResolved) oldest.settled++;
      if (oldest.settled < items.length) {
        if (oldest.deadline > now) break;
        const error = new Error(`Command timed out after ${this.#timeoutMs} ms`);
        // An item settled before (a reply, an error reply, a flushed queue) ignores this.
        for (let i = oldest.settled; i < items.length; i++) if (!items[i].isResolved) items[i].reject(error);
      }
      closed.shift();
    }
    if (closed.length > 0) this.#arm(Math.max(1, Math.min(this.#tick, closed[0].deadline - now)));
  };
}

/**
 * Makes every command of `client` (sent, queued offline, pipelined, or raw
 * through the client) fail at its deadline, timed from when ioredis sends it:
 * this frees ioredis' queues of a frozen server's commands. A call queued in
 * an auto-pipeline behind another one is sent only when that one finishes, so
 * the backend times its own calls from when they are made ({@linkcode Calls}).
 */
export function boundCommands(client: Redis, deadlines: Deadlines): void {
  const send = client.sendCommand;
  client.sendCommand = function (this: Redis, command, stream) {
    deadlines.add(command);
    return send.call(this, command, stream);
  };
}

/**
 * The backend's calls in flight: each settles with its reply or, when bounded,
 * fails at its deadline counted from the call, whatever ioredis still queues;
 * `idle()` tells when none is pending, for `close()`.
 */
export class Calls {
  readonly #deadlines: Deadlines | undefined;
  #pending = 0;
  #idle: (() => void) | undefined;
  // The calls settled in this turn of the event loop.
  #settledNow = 0;
  readonly #turnEnded = (): void => {
    this.#settledNow = 0;
  };

  /** @param deadlines Where bounded calls get their deadline; none when the client times commands itself. */
  constructor(deadlines: Deadlines | undefined) {
    this.#deadlines = deadlines;
  }

  /** Settles like `reply`, or (when `bounded`) fails with a timeout first. */
  track<T>(reply: Promise<T>, bounded = true): Promise<T> {
    this.#pending++;
    return new Promise<T>((resolve, reject) => {
      const call = {
        isResolved: false,
        reject: (error: unknown) => {
          if (call.isResolved) return;
          call.isResolved = true;
          this.#settled();
          reject(error);
        },
      };
      reply.then((value) => {
        if (call.isResolved) return;
        call.isResolved = true;
        this.#settled();
        resolve(value);
      }, call.reject);
      if (bounded) this.#deadlines?.add(call);
    });
  }

  /**
   * Whether a call made now is a lone one: none is pending, and at most one settled in this turn of the event loop
   * (when many settle together, their callers are likely to call again together).
   */
  get lone(): boolean {
    return this.#pending === 0 && this.#settledNow <= 1;
  }

  /** Resolves once no tracked call is pending. */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#idle;
      this.#idle = () => {
        previous?.();
        resolve();
      };
    });
  }

  #settled(): void {
    if (this.#settledNow++ === 0) setImmediate(this.#turnEnded);
    if (--this.#pending > 0 || this.#idle === undefined) return;
    const idle = this.#idle;
    this.#idle = undefined;
    idle();
  }
}
