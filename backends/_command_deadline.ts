// A cheaper ioredis commandTimeout for the clients RedisCacheBackend creates.
import type { Command, Redis } from "ioredis";
import { unrefTimer } from "./_redis_client.ts";

interface Batch {
  /** When the commands still pending in it fail (performance.now() ms). */
  deadline: number;
  commands: Command[];
  /** Commands before this index have a reply. */
  settled: number;
}

/**
 * Makes every command of `client` (sent, queued offline, pipelined, or raw
 * through the client) fail with "Command timed out" when it has no reply
 * within `timeoutMs`: between `timeoutMs - tick` and `timeoutMs` after it was
 * issued (later only while the event loop is blocked), where tick is a tenth
 * of the timeout, at most 100 ms.
 *
 * ioredis' own `commandTimeout` arms and clears a timer for each command; here
 * the commands issued within one tick share a batch, and one unref'd timer,
 * running only while commands are in flight, checks the oldest batches.
 */
export function boundCommands(client: Redis, timeoutMs: number): void {
  const tick = Math.max(1, Math.min(100, Math.floor(timeoutMs / 10)));
  const closed: Batch[] = [];
  let open: Batch | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (ms: number) => {
    timer = setTimeout(check, ms);
    unrefTimer(timer);
  };
  const check = () => {
    timer = undefined;
    const now = performance.now();
    if (open !== undefined) {
      // Its commands were issued at most one tick ago (unless the loop was blocked).
      open.deadline = now + timeoutMs - tick;
      closed.push(open);
      open = undefined;
    }
    while (closed.length > 0) {
      const oldest = closed[0];
      const { commands } = oldest;
      while (oldest.settled < commands.length && commands[oldest.settled].isResolved) oldest.settled++;
      if (oldest.settled < commands.length) {
        if (oldest.deadline > now) break;
        for (let i = oldest.settled; i < commands.length; i++) {
          // A command rejected before (an error reply, a flushed queue) ignores this.
          if (!commands[i].isResolved) commands[i].reject(new Error(`Command timed out after ${timeoutMs} ms`));
        }
      }
      closed.shift();
    }
    if (closed.length > 0) arm(Math.max(1, Math.min(tick, closed[0].deadline - now)));
  };
  const send = client.sendCommand;
  client.sendCommand = function (this: Redis, command: Command, stream?: Parameters<Redis["sendCommand"]>[1]) {
    if (open === undefined) {
      open = { deadline: Infinity, commands: [], settled: 0 };
      if (timer === undefined) arm(tick);
    }
    open.commands.push(command);
    return send.call(this, command, stream);
  };
}
