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

  test("KeyLock with a wait limit rejects a caller whose turn has not come by the deadline; later callers keep order", async () => {
    const lock = new KeyLock();
    const log: string[] = [];
    let letGo!: () => void;
    const first = lock.withLock(
      "k",
      () => new Promise<void>((resolve) => (letGo = resolve)).then(() => log.push("first")),
    );
    const started = performance.now();
    const wait = { deadline: performance.now() + 50, timedOut: () => new RangeError("gave up") };
    let ran = false;
    const impatient = lock.withLock("k", () => Promise.resolve(ran = true), wait);
    const patient = lock.withLock("k", () => Promise.resolve(log.push("patient")));
    await assert.rejects(impatient, { name: "RangeError", message: "gave up" });
    const waited = performance.now() - started;
    assert.ok(waited >= 45 && waited < 1_000, `gave up after ${Math.round(waited)} ms`);
    assert.equal(ran, false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(log, [], "the caller behind the one that gave up still waits for the holder");
    letGo();
    await Promise.all([first, patient]);
    assert.deepEqual(log, ["first", "patient"]);
    assert.equal(lock.size, 0);
  });

  test("KeyLock with a wait limit runs at once when the key is free, and when the holder releases in time", async () => {
    const lock = new KeyLock();
    const wait = { deadline: performance.now() + 1_000, timedOut: () => new Error("late") };
    assert.equal(await lock.withLock("k", () => Promise.resolve(1), { deadline: 0, timedOut: () => new Error() }), 1);
    const held = lock.withLock("k", () => new Promise((resolve) => setTimeout(resolve, 20, "held")));
    assert.deepEqual(await Promise.all([held, lock.withLock("k", () => Promise.resolve(2), wait)]), ["held", 2]);
    assert.equal(lock.size, 0);
  });
});
