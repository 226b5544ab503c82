// The chaos suite's coherence rule (scripts/chaos/_coherence_check.ts), on made-up logs: what counts as serving a
// superseded value, so that a scenario that finds nothing found nothing for a reason.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BEFORE, covered, type Fault, judge } from "../scripts/chaos/_coherence_check.ts";
import { type Layout, OP_KINDS, type Read, type Write } from "../scripts/chaos/_coherence_protocol.ts";

const layout: Layout = { keys: 6, namespaced: 2, tags: 2, namespaces: 2 };
const BOUND = 1_000;
const kind = (name: (typeof OP_KINDS)[number]) => OP_KINDS.indexOf(name);
// [op, kind, target, start, end, ok]
const set = (op: number, key: number, end: number, ok: 0 | 1 = 1): Write => [op, kind("set"), key, end - 5, end, ok];
const del = (op: number, key: number, end: number, ok: 0 | 1 = 1): Write => [op, kind("delete"), key, end - 5, end, ok];
const read = (key: number, value: number | null, first: number, last = first): Read => [key, value, first, last, 1];

describe("the coherence rule of the chaos suite", () => {
  it("names the keys each operation covers", () => {
    assert.deepEqual(covered(set(1, 3, 0), layout), [3]);
    assert.deepEqual(covered(del(1, 5, 0), layout), [5]);
    assert.deepEqual(covered([1, kind("deleteTags"), 1, 0, 0, 1], layout), [1, 3, 5]);
    assert.deepEqual(covered([1, kind("clearNamespace"), 0, 0, 0, 1], layout), [4]);
    assert.deepEqual(covered([1, kind("clearNamespace"), 1, 0, 0, 1], layout), [5]);
  });

  it("counts a value served past the bound after a later write returned, and not before", () => {
    const writes = [set(1, 0, 1_000), del(2, 0, 2_000), set(3, 1, 2_100)];
    const ok = judge(layout, writes, [[read(0, 1, 2_900), read(0, null, 3_100), read(1, 3, 9_000)]], [], BOUND);
    assert.deepEqual(ok.violations, []);
    assert.equal(ok.judged.get(BEFORE), 3);
    // Value 1 was read 900 ms after the delete superseding it returned.
    assert.deepEqual([...ok.latest].map(([phase, v]) => [phase, v.at - v.due + BOUND, v.by[0]]), [[BEFORE, 900, 2]]);
    const late = judge(layout, writes, [[], [read(0, 1, 2_950, 3_050)]], [], BOUND);
    assert.equal(late.violations.length, 1);
    assert.deepEqual(
      { ...late.violations[0], by: late.violations[0].by[0] },
      { process: 1, key: 0, value: 1, at: 3_050, by: 2, due: 3_000, phase: BEFORE },
    );
  });

  it("treats a failed write as applied, and waits for the fault to heal", () => {
    const faults: Fault[] = [{ name: "freeze", start: 5_000, heal: 8_000 }];
    // Failed during the freeze: due 1 s after the heal; reads in the freeze and that second are not judged.
    const writes = [set(1, 2, 1_000), [2, kind("deleteTags"), 0, 5_500, 6_000, 0] as Write];
    const during = judge(layout, writes, [[read(2, 1, 5_100, 8_990)]], faults, BOUND);
    assert.deepEqual(during.violations, []);
    assert.equal(during.judged.size, 0);
    const after = judge(layout, writes, [[read(2, 1, 8_990, 9_010)]], faults, BOUND);
    assert.equal(after.violations.length, 1);
    assert.equal(after.violations[0].due, 9_000);
    assert.equal(after.violations[0].phase, "freeze");
    // Served 1,010 ms after the heal (the first read, at 8,990, is within the bound).
    assert.deepEqual([...after.latest].map(([phase, v]) => [phase, v.at - v.due + BOUND]), [["freeze", 1_010]]);
    // Returned 1 s or less before the fault: also due 1 s after the heal.
    const justBefore = judge(layout, [set(1, 2, 1_000), del(2, 2, 4_500)], [[read(2, 1, 4_990)]], faults, BOUND);
    assert.deepEqual(justBefore.violations, []);
  });

  it("never counts a miss, and reports a value no set of that key wrote", () => {
    const writes = [set(1, 0, 1_000), del(2, 0, 1_100)];
    const result = judge(layout, writes, [[read(0, null, 9_000), read(1, 1, 9_000), read(0, 7, 9_000)]], [], BOUND);
    assert.deepEqual(result.violations, []);
    assert.deepEqual(result.impossible.map((x) => x.value), [1, 7]);
  });

  it("supersedes a namespaced key by a clear of its namespace only", () => {
    const writes = [set(1, 4, 1_000), set(2, 5, 1_000), [3, kind("clearNamespace"), 1, 1_000, 1_100, 1] as Write];
    const result = judge(layout, writes, [[read(4, 1, 5_000), read(5, 2, 5_000)]], [], BOUND);
    assert.deepEqual(result.violations.map((v) => [v.key, v.by[0]]), [[5, 3]]);
  });
});
