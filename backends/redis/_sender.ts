// How RedisCacheBackend sends GET and SET on the client it creates. With
// auto-pipelining, ioredis holds every command until setImmediate and wraps it
// in a pipeline: more throughput for many concurrent callers, but a lone caller
// waits a turn of the event loop and the pipeline's bookkeeping, ~20 µs more
// than a client without auto-pipelining on a ~75 µs loopback round trip.
import type { Buffer } from "node:buffer";
import { type Cluster, Command, Redis } from "ioredis";
import { bytesReplyOptions } from "./_client.ts";

/**
 * Sends a client's GET and SET so that a lone call is written at once: on an
 * auto-pipelining client, a command its owner says is lone (see `lone`) and
 * made while nothing waits in the auto-pipeline goes out directly, as on a
 * client without auto-pipelining; any other is auto-pipelined, so concurrent
 * callers still share writes, and no command overtakes one made before it.
 * Without `lone` (a client the caller passed in), or on another client (no
 * auto-pipelining, a cluster, another copy of ioredis), the client's own
 * methods, as configured.
 */
export class Sender {
  readonly #client: Redis | Cluster;
  readonly #lone: (() => boolean) | undefined;

  /**
   * @param client The client.
   * @param lone Whether a call made now is a lone one: none of the owner's calls in flight (the call being made
   * counted only once sent), and no sign of others about to be made with it.
   */
  constructor(client: Redis | Cluster, lone?: () => boolean) {
    this.#client = client;
    // Our Command class is foreign to a client of another copy of ioredis; a cluster routes by slot itself.
    const direct = client instanceof Redis && client.options.enableAutoPipelining === true;
    this.#lone = direct ? lone : undefined;
  }

  /** `GET key`, the reply as a Buffer. */
  getBuffer(key: string): Promise<Buffer | null> {
    if (this.#now()) return this.#send("get", [key]) as Promise<Buffer | null>;
    return this.#client.getBuffer(key);
  }

  /** `SET key value PX ms`. */
  set(key: string, value: Buffer, ms: number): Promise<unknown> {
    if (this.#now()) return this.#send("set", [key, value, "PX", ms]);
    return this.#client.set(key, value, "PX", ms);
  }

  #now(): boolean {
    return this.#lone !== undefined && (this.#client as Redis).autoPipelineQueueSize === 0 && this.#lone();
  }

  #send(name: string, args: (string | Buffer | number)[]): Promise<unknown> {
    const client = this.#client as Redis;
    return client.sendCommand(new Command(name, args, bytesReplyOptions(client))) as Promise<unknown>;
  }
}
