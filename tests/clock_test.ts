import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { hitClock, monotonicClock, wallClock } from "../_clock.ts";
import type { Clock } from "../types.ts";

const BUILT_IN: [string, Clock, () => number][] = [
  ["wallClock", wallClock, () => Date.now()],
  ["monotonicClock", monotonicClock, () => performance.now()],
];

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* no timer can run meanwhile */ }
}

describe("hitClock", () => {
  test("an injected clock is read as it is, on every call", () => {
    let time = 0;
    const clock: Clock = { now: () => time };
    const hit = hitClock(clock);
    assert.equal(hit.now(), 0);
    time = 5;
    assert.equal(hit.now(), 5);
  });

  for (const [name, clock, read] of BUILT_IN) {
    test(`${name}: a reading is never ahead of the clock, and a timer turn later it is read again`, async () => {
      const hit = hitClock(clock);
      assert.notEqual(hit, clock);
      const first = hit.now();
      assert.ok(first <= read(), `${first} is ahead of the clock`);
      await new Promise((resolve) => setTimeout(resolve, 10));
      const later = hit.now();
      // 10 ms passed (a timer may fire up to 1 ms early): an old reading would be `first`.
      assert.ok(later >= first + 8, `after 10 ms the reading moved from ${first} to ${later} only`);
      assert.ok(later <= read());
    });

    test(`${name}: in a synchronous stretch (no timer runs) the reading still moves every 64 reads`, () => {
      const hit = hitClock(clock);
      const first = hit.now();
      busyWait(10);
      let last = first;
      for (let i = 0; i < 64; i++) last = hit.now();
      assert.ok(last >= first + 9, `after 10 ms and 64 reads the reading moved from ${first} to ${last} only`);
    });
  }
});
