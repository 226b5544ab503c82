// The link between a cache's in-process tier and the other caches': what this
// cache changed goes out on the bus, what others changed comes in and is
// applied to l1. A message the bus refuses is kept and sent again when the
// bus is back; when the bus comes back after a loss, l1 is dropped, since
// messages may have been lost meanwhile.
import { CacheError } from "./errors.ts";
import type { InvalidationBus } from "./bus.ts";
import { decodeMessage, encodeMessages, type Invalidation } from "./_bus_message.ts";

const OUTBOX_MAX = 1_000;

/**
 * Where invalidations arrive, whatever their source (the bus, or another
 * source of change notices): the in-process tier implements it.
 */
export interface InvalidationSink {
  /** Drops the copies of these backend keys. */
  evictKeys(bks: Iterable<string>): void;
  /** Forgets these records' tokens: copies stamped with them are dropped. */
  evictRecords(records: Iterable<string>): void;
  /** Drops every copy. */
  clear(): void;
  /** The source may lose notices from now on (copies made meanwhile live briefly). */
  sourceDown: boolean;
}

/** A cache's side of the bus. */
export class InvalidationLink {
  // Tells this cache's messages apart from other caches' (in this process too).
  readonly #sender = crypto.randomUUID();
  readonly #bus: InvalidationBus;
  // The backend's key space: messages about another one are not for this cache.
  readonly #scope: string | undefined;
  readonly #sink: InvalidationSink;
  readonly #report: (operation: string, error: unknown) => void;
  #outbox: Uint8Array[] = [];
  #unsubscribe: (() => void) | undefined;

  constructor(
    bus: InvalidationBus,
    scope: string | undefined,
    sink: InvalidationSink,
    report: (operation: string, error: unknown) => void,
  ) {
    this.#bus = bus;
    this.#scope = scope;
    this.#sink = sink;
    this.#report = report;
    this.#unsubscribe = bus.subscribe({
      message: (bytes) => this.#received(bytes),
      down: () => {
        sink.sourceDown = true;
      },
      up: () => {
        sink.sourceDown = false;
        sink.clear();
        this.flush();
      },
    });
  }

  /** Tells the other caches what changed here. */
  announce(what: Invalidation): void {
    for (const message of encodeMessages(this.#sender, this.#scope, what)) this.#publish(message);
  }

  /** Sends again the messages the bus refused. */
  flush(): void {
    const waiting = this.#outbox;
    this.#outbox = [];
    for (const message of waiting) this.#publish(message);
  }

  /** Stops listening. */
  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #publish(message: Uint8Array): void {
    const keep = (error?: unknown) => {
      if (error !== undefined) this.#report("publish", error);
      // The oldest are superseded by a full clear past OUTBOX_MAX.
      if (this.#outbox.length >= OUTBOX_MAX) this.#outbox = encodeMessages(this.#sender, this.#scope, { all: true });
      else this.#outbox.push(message);
    };
    try {
      Promise.resolve(this.#bus.publish(message)).catch(keep);
    } catch (error) {
      keep(error);
    }
  }

  // A bus message: untrusted bytes. A bad one is dropped and reported.
  #received(bytes: Uint8Array): void {
    let message: ReturnType<typeof decodeMessage>;
    try {
      message = decodeMessage(bytes);
    } catch (cause) {
      this.#report("bus", new CacheError("Cannot apply a bus message: it is malformed", { cause }));
      return;
    }
    if (message.sender === this.#sender || message.scope !== this.#scope) return;
    const sink = this.#sink;
    if (message.all) sink.clear();
    else {
      if (message.keys !== undefined) sink.evictKeys(message.keys);
      if (message.records !== undefined) sink.evictRecords(message.records);
    }
  }
}
