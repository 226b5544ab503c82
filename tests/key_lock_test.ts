import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { KeyLock } from "../_key_lock.ts";

describe("KeyLock", () => {
  test("KeyLock runs holders of one key one at a time, in order, and different keys in parallel", async () => {
    const lock = new KeyLock();
    const log: string[] = [];
    const hold = (key: string, name: string) =>
      lock.withLock(key, async () => {
        log.push(`start ${name}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
        log.push(`end ${name}`);
        return name;
      });
    const results = await Promise.all([hold("a", "a1"), hold("a", "a2"), hold("b", "b1")]);
    assert.deepEqual(results, ["a1", "a2", "b1"]);
    assert.deepEqual(log, ["start a1", "start b1", "end a1", "start a2", "end b1", "end a2"]);
  });

  test("KeyLock releases after a rejection or a synchronous throw, and the next holder runs", async () => {
    const lock = new KeyLock();
    const first = lock.withLock("k", () => Promise.reject(new Error("boom")));
    const second = lock.withLock("k", () => {
      throw new Error("sync");
    });
    const third = lock.withLock("k", () => Promise.resolve(3));
    await assert.rejects(first, { message: "boom" });
    await assert.rejects(second, { message: "sync" });
    assert.equal(await third, 3);
  });

  test("KeyLock's table is empty once every call has settled, even after 10,000 keys", async () => {
    const lock = new KeyLock();
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) {
      calls.push(lock.withLock(`k${i % 100}`, () => (i % 7 === 0 ? Promise.reject(new Error()) : Promise.resolve(i))));
    }
    assert.equal(lock.size, 100);
    await Promise.allSettled(calls);
    await Promise.resolve();
    assert.equal(lock.size, 0);
  });
});
