/**
 * {@linkcode BroadcastChannelBus}: an invalidation bus over the web-standard
 * `BroadcastChannel`, between the workers and threads of one process, or the
 * tabs, frames and workers of one browser origin.
 *
 * @module
 */
import type { BusSubscriber, InvalidationBus } from "./bus.ts";
import { CacheError } from "./errors.ts";
import { checkBoolean, checkKey, checkMethods, checkOptions, optionNames } from "./_validate.ts";

/** Options of {@linkcode BroadcastChannelBus}. */
export interface BroadcastChannelBusOptions {
  /**
   * Whether a subscribed channel keeps the process alive. By default it does
   * not: a server is kept alive by its own sockets, and a script or a test can
   * exit without closing the bus first. Set it in a worker whose only job is
   * to listen. No effect in browsers, and on a runtime whose channels cannot
   * be unreferenced (see {@linkcode BroadcastChannelBus}).
   *
   * @default {false}
   */
  ref?: boolean;
}

const CREATE = "Cannot create BroadcastChannelBus";
const KNOWN_OPTIONS = optionNames<BroadcastChannelBusOptions>({ ref: true });
const SUBSCRIBER_METHODS = ["message", "down", "up"] as const;

/** What Node and Bun add to a channel; Deno keeps the same switch behind a symbol of its own. */
interface Referable {
  ref?(): void;
  unref?(): void;
  [key: symbol]: unknown;
}

/** Deno's switch between a channel keeping the process alive or not, when this runtime is Deno. */
function denoRefSwitch(): symbol | undefined {
  if (typeof globalThis.BroadcastChannel !== "function") return undefined;
  return Object.getOwnPropertySymbols(BroadcastChannel.prototype).find((s) => s.description === "refBroadcastChannel");
}

const DENO_REF = denoRefSwitch();
// Deno (2.9) drops its subscription when its last channel closes, and a channel opened before that drop completes
// can never send to other threads again ("expected i32"): one idle channel that is never closed avoids the drop.
let denoKeepalive: BroadcastChannel | undefined;

/**
 * Lets `channel` keep the process alive or not: `ref()`/`unref()` on Node and
 * Bun; on Deno (which has no public way) the `refBroadcastChannel` switch its
 * own `node:worker_threads` uses. Elsewhere a no-op.
 */
function setRef(channel: BroadcastChannel, ref: boolean): void {
  const target = channel as unknown as Referable;
  if (typeof target.unref === "function" && typeof target.ref === "function") {
    if (ref) target.ref();
    else target.unref();
    return;
  }
  const toggle = DENO_REF === undefined ? undefined : target[DENO_REF];
  if (typeof toggle !== "function") return;
  // A new Deno channel counts as referenced without referencing the pending receive: switching it off and on
  // again does, so that a referenced channel made after an unreferenced one keeps the process alive.
  toggle.call(channel, false);
  if (ref) toggle.call(channel, true);
}

/** Opens a channel, first (on Deno) the idle one that keeps Deno's subscription. */
function open(name: string): BroadcastChannel {
  if (DENO_REF !== undefined && denoKeepalive === undefined) {
    denoKeepalive = new BroadcastChannel(`cachet:keepalive:${crypto.randomUUID()}`);
    setRef(denoKeepalive, false);
  }
  return new BroadcastChannel(name);
}

/**
 * An {@linkcode InvalidationBus} over `BroadcastChannel` (Deno, Bun, Node ≥ 18,
 * browsers, workers): every bus made with the same `name` in the same process
 * (any thread or worker) or browser origin hears every other.
 *
 * Each `subscribe()` opens a channel of its own and `publish()` posts on yet
 * another, since a channel never receives its own posts: so two caches in one
 * thread hear each other, and a subscriber also hears what its own bus
 * published (the cache ignores its own messages by their sender id). Messages
 * are structured-cloned `Uint8Array`s, copied first when they view part of a
 * larger buffer so that only their bytes travel. Incoming data that is an
 * `ArrayBuffer` is delivered as a `Uint8Array` over it; any other data (posted
 * by foreign code on the same name) is not delivered and only counted in
 * {@linkcode BroadcastChannelBus.dropped}. The transport is in memory and
 * never fails, so `down()` and `up()` are never called.
 *
 * Liveness: by default the bus does not keep the process alive (`unref()` on
 * Node and Bun; on Deno through its internal switch, when the running version
 * has it, else the channels keep Deno alive until `close()`). Pass
 * `ref: true` to keep it alive while subscribed. `close()` (or `await using`)
 * closes every channel and stops delivery.
 *
 * @example Two subscribers in one process
 * ```ts
 * import assert from "node:assert/strict";
 * import { BroadcastChannelBus } from "@cachet/cachet";
 *
 * await using bus = new BroadcastChannelBus(`docs:${crypto.randomUUID()}`);
 * const received = new Promise<Uint8Array>((resolve) => {
 *   bus.subscribe({ message: resolve, down() {}, up() {} });
 * });
 * await bus.publish(new Uint8Array([1, 2, 3]));
 * assert.deepEqual([...await received], [1, 2, 3]);
 * ```
 */
export class BroadcastChannelBus implements InvalidationBus, AsyncDisposable {
  readonly #name: string;
  readonly #ref: boolean;
  readonly #channels = new Set<BroadcastChannel>();
  #publisher: BroadcastChannel | undefined;
  #dropped = 0;
  #closed = false;

  /**
   * Creates a bus; channels open on first `subscribe()` or `publish()`.
   *
   * @param name The channel name: every bus with this name hears every other.
   * @param options Options, see {@linkcode BroadcastChannelBusOptions}.
   * @throws {TypeError} When `name` is not a well-formed string, or an option has the wrong type or an unknown name.
   * @throws {CacheError} When the runtime has no `BroadcastChannel`.
   */
  constructor(name: string, options: BroadcastChannelBusOptions = {}) {
    checkKey(CREATE, name, "name");
    checkOptions(CREATE, options, KNOWN_OPTIONS);
    checkBoolean(CREATE, "ref", options.ref);
    if (typeof globalThis.BroadcastChannel !== "function") {
      throw new CacheError(`${CREATE}: this runtime has no BroadcastChannel`);
    }
    this.#name = name;
    this.#ref = options.ref ?? false;
  }

  /** The channel name. */
  get name(): string {
    return this.#name;
  }

  /** How many incoming messages were not bytes (neither `Uint8Array` nor `ArrayBuffer`) and were not delivered. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Posts `message` to every subscriber of every bus with this name,
   * including this bus' own subscribers.
   *
   * @param message The bytes to send.
   * @returns A Promise that resolves once the message is posted.
   * @throws {TypeError} When `message` is not a `Uint8Array` (as a rejection).
   * @throws {CacheError} When the bus is closed or the message cannot be posted (as a rejection).
   */
  publish(message: Uint8Array): Promise<void> {
    const context = "Cannot publish on BroadcastChannelBus";
    if (!(message instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`${context}: message must be a Uint8Array`));
    }
    if (this.#closed) return Promise.reject(new CacheError(`${context}: the bus is closed`));
    // Structured clone sends a view's whole buffer: send only the viewed bytes.
    const whole = message.byteOffset === 0 && message.byteLength === message.buffer.byteLength;
    try {
      // The publisher needs no listener: it never keeps the process alive.
      if (this.#publisher === undefined) {
        this.#publisher = open(this.#name);
        setRef(this.#publisher, false);
      }
      this.#publisher.postMessage(whole ? message : message.slice());
    } catch (error) {
      return Promise.reject(new CacheError(`${context}: ${(error as Error).message}`, { cause: error }));
    }
    return Promise.resolve();
  }

  /**
   * Opens a channel that delivers to `subscriber` every message posted by
   * any bus of this name (this one included).
   *
   * @param subscriber Told every message; never `down()` or `up()`.
   * @returns A function that closes the channel (idempotent).
   * @throws {TypeError} When `subscriber` lacks a `message`, `down` or `up` method.
   * @throws {CacheError} When the bus is closed.
   */
  subscribe(subscriber: BusSubscriber): () => void {
    const context = "Cannot subscribe to BroadcastChannelBus";
    checkMethods(context, "subscriber", subscriber, SUBSCRIBER_METHODS);
    if (this.#closed) throw new CacheError(`${context}: the bus is closed`);
    const channel = open(this.#name);
    channel.onmessage = (event: MessageEvent) => {
      const data: unknown = event.data;
      if (data instanceof Uint8Array) subscriber.message(data);
      else if (data instanceof ArrayBuffer) subscriber.message(new Uint8Array(data));
      else this.#dropped++;
    };
    // A message that cannot be deserialized here is not bytes either.
    channel.onmessageerror = () => {
      this.#dropped++;
    };
    // After the listener is set: on Node, setting one takes a reference again.
    setRef(channel, this.#ref);
    this.#channels.add(channel);
    return () => {
      if (this.#channels.delete(channel)) channel.close();
    };
  }

  /** Closes every channel of this bus: no message is delivered afterwards. Later calls are no-ops. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const channel of this.#channels) channel.close();
    this.#channels.clear();
    this.#publisher?.close();
    this.#publisher = undefined;
    return Promise.resolve();
  }

  /** Closes the bus at the end of an `await using` scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
