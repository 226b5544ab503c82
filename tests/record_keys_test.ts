import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RecordKeys } from "../_record_keys.ts";

describe("RecordKeys", () => {
  test("keeps a key by the argument's field values, and makes it once per distinct values", () => {
    const keys = new RecordKeys(100);
    const made: unknown[] = [];
    const make = (copy: Record<string, unknown>) => (made.push(copy), JSON.stringify(copy));
    assert.equal(keys.keyOf({ team: "core", page: 1 }, make), '{"team":"core","page":1}');
    assert.equal(keys.keyOf({ team: "core", page: 1 }, make), '{"team":"core","page":1}');
    assert.equal(keys.keyOf({ team: "core", page: "1" }, make), '{"team":"core","page":"1"}');
    assert.equal(keys.keyOf({ page: 1, team: "core" }, make), '{"page":1,"team":"core"}', "another field order");
    assert.equal(made.length, 3);
  });

  test("forgets every kept key past its bound, and every shape past eight", () => {
    const keys = new RecordKeys(4);
    let made = 0;
    const make = (copy: Record<string, unknown>) => (made++, JSON.stringify(copy));
    for (let i = 0; i < 4; i++) keys.keyOf({ i }, make);
    keys.keyOf({ i: 0 }, make);
    assert.equal(made, 4, "within the bound: kept");
    keys.keyOf({ i: 4 }, make);
    keys.keyOf({ i: 0 }, make);
    assert.equal(made, 6, "past it: forgotten");
    const shapes = new RecordKeys(100);
    made = 0;
    for (let i = 0; i < 9; i++) shapes.keyOf({ [`f${i}`]: 1 }, make);
    shapes.keyOf({ f8: 1 }, make);
    assert.equal(made, 9, "the ninth shape is kept");
    shapes.keyOf({ f0: 1 }, make);
    assert.equal(made, 10, "the first is forgotten");
  });

  test("leaves to the general path what it cannot key by values", () => {
    const keys = new RecordKeys(100);
    const make = (copy: Record<string, unknown>) => JSON.stringify(copy);
    const nested = { a: { b: 1 } };
    const cases: object[] = [
      {},
      nested,
      { a: undefined },
      { a: NaN },
      { a: 1n },
      { 1: "index" },
      Object.defineProperty({}, "__proto__", { value: 1, enumerable: true }),
      { a: 1, [Symbol("s")]: 2 },
      new (class Point {
        x = 1;
      })(),
      [1],
      Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`f${i}`, i])),
    ];
    for (const [i, arg] of cases.entries()) assert.equal(keys.keyOf(arg, make), undefined, `case ${i}`);
    assert.equal(keys.keyOf({ a: 1 }, () => undefined), undefined, "nothing made: nothing kept");
  });
});
