import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Deadlines, type Expirable } from "../backends/redis/_command_deadline.ts";
import { collectGarbage } from "./_helpers.ts";

const TIMEOUT_MS = 50;

/** Waits for `promise`, keeping the process alive meanwhile: the deadlines' timer is unref'd (Deno would exit). */
async function settled<T>(promise: Promise<T>): Promise<T> {
  const alive = setInterval(() => {}, 1_000);
  try {
    return await promise;
  } finally {
    clearInterval(alive);
  }
}

/** An item that settles when told, or fails at its deadline (`failed` then resolves with the error). */
function pending(): Expirable & { settle(): void; failed: Promise<Error>; readonly reads: number } {
  let fail!: (error: Error) => void;
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  let resolved = false;
  let reads = 0;
  return {
    get isResolved() {
      reads++;
      return resolved;
    },
    get reads() {
      return reads;
    },
    reject(error: Error) {
      assert.equal(resolved, false, "a settled item is never failed");
      resolved = true;
      fail(error);
    },
    settle() {
      resolved = true;
    },
    failed,
  };
}

describe("Deadlines", () => {
  test("an item still pending at its deadline fails, one settled before does not", async () => {
    const deadlines = new Deadlines(TIMEOUT_MS);
    const late = pending();
    const answered = pending();
    const started = performance.now();
    deadlines.add(late);
    deadlines.add(answered);
    answered.settle();
    const error = await settled(late.failed);
    const waited = performance.now() - started;
    assert.equal(error.message, `Command timed out after ${TIMEOUT_MS} ms`);
    // No earlier than the timeout less one tick (a tenth of it); the upper bound only says it came (a loaded machine).
    assert.ok(waited >= TIMEOUT_MS - TIMEOUT_MS / 10 - 1, `failed after ${waited} ms`);
    assert.ok(waited < 5_000, `failed after ${waited} ms`);
  });

  test("items settled at the front are let go at the next add, not read again at the check", async () => {
    const deadlines = new Deadlines(TIMEOUT_MS);
    const first = pending();
    const second = pending();
    deadlines.add(first);
    deadlines.add(second);
    first.settle();
    second.settle();
    const third = pending();
    deadlines.add(third);
    // The add read both (the first also when the second came) and let them go: a kept one would be read by the check.
    assert.deepEqual([first.reads, second.reads], [2, 1]);
    const error = await settled(third.failed);
    assert.match(error.message, /timed out/);
    assert.deepEqual([first.reads, second.reads], [2, 1]);
  });

  test("an item settled behind a pending one is kept in order, and only the pending one fails", async () => {
    const deadlines = new Deadlines(TIMEOUT_MS);
    const slow = pending();
    const quick = pending();
    deadlines.add(slow);
    deadlines.add(quick);
    quick.settle();
    const next = pending();
    deadlines.add(next);
    next.settle();
    // The front is pending: nothing behind it was dropped, so the check still sees (and skips) the settled ones.
    assert.equal(quick.reads, 0);
    await settled(slow.failed);
    assert.ok(quick.reads >= 1, "the check read the settled item behind the pending one");
  });

  test("an item let go at an add can be collected (what it holds is not kept for a tick)", async () => {
    const deadlines = new Deadlines(TIMEOUT_MS);
    const done = { value: false };
    // Made in a function of its own, so that nothing of the test holds the item itself.
    const add = (): WeakRef<object> => {
      const item = {
        get isResolved() {
          return done.value;
        },
        reject() {},
        reply: new Uint8Array(1_000),
      };
      deadlines.add(item);
      return new WeakRef(item);
    };
    const ref = add();
    const slow = pending();
    deadlines.add(slow);
    done.value = true;
    // The item settled at the front goes; the pending one behind it stays.
    deadlines.add(pending());
    // A WeakRef holds its target until the current job ends: collect in a later one.
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
    assert.equal(ref.deref(), undefined, "the settled item is still held");
    slow.settle();
  });
});
