import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { BroadcastChannelBus } from "../broadcast_channel_bus.ts";
import type { BusSubscriber } from "../bus.ts";
import { CacheError } from "../errors.ts";
import { runtimeCommand } from "./_redis_server.ts";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const uniqueName = (): string => `cachet-test:${crypto.randomUUID()}`;

/** A subscriber that records everything it is told. */
function recorder(): BusSubscriber & { messages: number[][]; events: string[]; next(): Promise<number[]> } {
  const messages: number[][] = [];
  const events: string[] = [];
  let waiting: ((m: number[]) => void) | undefined;
  return {
    messages,
    events,
    message(bytes) {
      assert(bytes instanceof Uint8Array);
      messages.push([...bytes]);
      waiting?.([...bytes]);
      waiting = undefined;
    },
    down: () => events.push("down"),
    up: () => events.push("up"),
    next: () => new Promise((resolve) => (waiting = resolve)),
  };
}

describe("BroadcastChannelBus", () => {
  // The buses do not keep the process alive (that is tested below, in a child); on Node 20 a message in flight between
  // two unreferenced channels does not either, so node:test would see an idle event loop while a test awaits it.
  let alive: ReturnType<typeof setInterval> | undefined;
  before(() => (alive = setInterval(() => {}, 60_000)));
  after(() => clearInterval(alive));

  it("delivers between two buses and two subscribers in one thread, each hearing every publisher", async () => {
    const name = uniqueName();
    await using a = new BroadcastChannelBus(name);
    await using b = new BroadcastChannelBus(name);
    const fromA = recorder();
    const fromB = recorder();
    a.subscribe(fromA);
    b.subscribe(fromB);
    const both = Promise.all([fromA.next(), fromB.next()]);
    await a.publish(new Uint8Array([1, 2, 3]));
    assert.deepEqual(await both, [[1, 2, 3], [1, 2, 3]]);
    const again = Promise.all([fromA.next(), fromB.next()]);
    await b.publish(new Uint8Array([4]));
    assert.deepEqual(await again, [[4], [4]]);
    await sleep(20);
    assert.deepEqual(fromA.messages, [[1, 2, 3], [4]]);
    assert.deepEqual(fromB.messages, [[1, 2, 3], [4]]);
    assert.deepEqual([...fromA.events, ...fromB.events], [], "never down() or up()");
  });

  it("sends only the bytes a view covers, and all 256 byte values intact", async () => {
    const name = uniqueName();
    await using bus = new BroadcastChannelBus(name);
    const seen = recorder();
    bus.subscribe(seen);
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    let next = seen.next();
    await bus.publish(all);
    assert.deepEqual(await next, [...all]);
    next = seen.next();
    await bus.publish(all.subarray(10, 13));
    assert.deepEqual(await next, [10, 11, 12]);
  });

  it("hands ArrayBuffer data over as bytes and counts foreign data without delivering it", async () => {
    const name = uniqueName();
    await using bus = new BroadcastChannelBus(name);
    const seen = recorder();
    bus.subscribe(seen);
    const foreign = new BroadcastChannel(name);
    try {
      for (const data of ["text", 42, { a: 1 }, null, [1, 2], new Uint16Array([1])]) foreign.postMessage(data);
      const next = seen.next();
      foreign.postMessage(new Uint8Array([7, 8]).buffer);
      assert.deepEqual(await next, [7, 8]);
      await sleep(20);
      assert.deepEqual(seen.messages, [[7, 8]]);
      assert.equal(bus.dropped, 6);
    } finally {
      foreign.close();
    }
  });

  it("stops delivering after unsubscribe and after close(); publish and subscribe then fail", async () => {
    const name = uniqueName();
    const publisher = new BroadcastChannelBus(name);
    const bus = new BroadcastChannelBus(name);
    const stopped = recorder();
    const closed = recorder();
    const probe = recorder();
    const stop = bus.subscribe(stopped);
    bus.subscribe(closed);
    publisher.subscribe(probe);
    stop();
    stop();
    let next = probe.next();
    await publisher.publish(new Uint8Array([1]));
    await next;
    await sleep(20);
    assert.deepEqual(stopped.messages, []);
    assert.deepEqual(closed.messages, [[1]]);
    await bus.close();
    await bus.close();
    assert.equal(bus.closed, true);
    next = probe.next();
    await publisher.publish(new Uint8Array([2]));
    await next;
    await sleep(20);
    assert.deepEqual(closed.messages, [[1]]);
    await assert.rejects(bus.publish(new Uint8Array([3])), CacheError);
    assert.throws(() => bus.subscribe(recorder()), CacheError);
    await publisher.close();
  });

  it("refuses bad arguments with a TypeError", async () => {
    const create = /^TypeError: Cannot create BroadcastChannelBus: /;
    assert.throws(() => new BroadcastChannelBus(42 as unknown as string), create);
    assert.throws(() => new BroadcastChannelBus("\uD800"), create);
    assert.throws(() => new BroadcastChannelBus("n", null as unknown as object), create);
    assert.throws(
      () => new BroadcastChannelBus("n", { reff: true } as unknown as object),
      /unknown option "reff" \(did you mean ref\?\)/,
    );
    assert.throws(() => new BroadcastChannelBus("n", { ref: "yes" as unknown as boolean }), create);
    await using bus = new BroadcastChannelBus(uniqueName());
    assert.throws(() => bus.subscribe({ message() {} } as unknown as BusSubscriber), /missing down, up/);
    await assert.rejects(bus.publish("bytes" as unknown as Uint8Array), TypeError);
  });

  it("carries messages to and from a worker thread", async () => {
    const name = uniqueName();
    await using toWorker = new BroadcastChannelBus(`${name}:to-worker`);
    // ref: the test waits on nothing else but these replies.
    await using fromWorker = new BroadcastChannelBus(`${name}:from-worker`, { ref: true });
    const replies = recorder();
    fromWorker.subscribe(replies);
    const ready = replies.next();
    const worker = new Worker(new URL("./_broadcast_channel_worker.ts", import.meta.url), { workerData: { name } });
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    try {
      assert.deepEqual(await ready, [255]);
      let next = replies.next();
      await toWorker.publish(new Uint8Array([1, 2, 3]));
      assert.deepEqual(await next, [3, 2, 1]);
      next = replies.next();
      await toWorker.publish(new Uint8Array([0]));
      assert.deepEqual(await next, [0]);
      // The worker closed its buses: with nothing else to do it exits by itself.
      // 20 s: a worker's exit took seconds on a loaded machine; one that never exits still fails.
      await Promise.race([exited, sleep(20_000).then(() => assert.fail("the worker did not exit after close()"))]);
    } finally {
      await worker.terminate();
    }
  });

  it("does not keep the process alive unless ref is set", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cachet-bc-"));
    try {
      const module = fileURLToPath(new URL("../broadcast_channel_bus.ts", import.meta.url));
      const run = async (options: string): Promise<"exited" | "alive"> => {
        // Plain JavaScript (.mjs), so that a Node that cannot strip types runs it too.
        const script = join(dir, `child_${options === "" ? "unref" : "ref"}.mjs`);
        writeFileSync(
          script,
          `import { BroadcastChannelBus } from ${JSON.stringify(module)};\n` +
            `const bus = new BroadcastChannelBus("${uniqueName()}"${options});\n` +
            `bus.subscribe({ message() {}, down() {}, up() {} });\n` +
            `await bus.publish(new Uint8Array([1]));\n` +
            `console.log("published");\n`,
        );
        const { command, args } = runtimeCommand(script);
        const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
        let stdout = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        const exited = new Promise<"exited">((resolve) => child.once("exit", () => resolve("exited")));
        const outcome = await Promise.race([exited, sleep(3_000).then(() => "alive" as const)]);
        if (outcome === "alive") child.kill("SIGKILL");
        await exited;
        // Either way the script must have run to its end: a crash exits too.
        assert.equal(stdout.trim(), "published", `the child ${script} ran`);
        return outcome;
      };
      assert.equal(await run(""), "exited", "an unref'd bus let the process exit");
      assert.equal(await run(", { ref: true }"), "alive", "a ref'd bus kept the process alive");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
