// Model-based test of TTLCache's LRU bookkeeping: random operations on an
// LruList and on a Map kept in LRU order (delete + set promotes) must agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { LruList } from "../_lru_list.ts";

type Op =
  | { op: "set"; key: string; expiresAt: number }
  | { op: "touch" | "delete" | "get" | "take" | "useSlot"; key: string }
  | { op: "deleteExpired"; now: number }
  | { op: "clear" };

const key = fc.constantFrom("a", "b", "c", "d", "e", "f");
const time = fc.integer({ min: 0, max: 100 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("set" as const), key, expiresAt: time }), weight: 4 },
  {
    arbitrary: fc.record({
      op: fc.constantFrom("touch" as const, "delete" as const, "get" as const, "take" as const, "useSlot" as const),
      key,
    }),
    weight: 4,
  },
  fc.record({ op: fc.constant("deleteExpired" as const), now: time }),
  fc.record({ op: fc.constant("clear" as const) }),
);

test("LruList keeps keys, expiries and LRU order like a Map in LRU order", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      // Each key's value is its expiry + 1,000, so value reads can be checked against the model.
      const list = new LruList<number>();
      const model = new Map<string, number>();
      for (const o of ops) {
        switch (o.op) {
          case "set":
            list.set(o.key, o.expiresAt, o.expiresAt + 1_000);
            model.delete(o.key);
            model.set(o.key, o.expiresAt);
            break;
          case "touch": {
            list.touch(o.key);
            const expiresAt = model.get(o.key);
            if (expiresAt !== undefined) {
              model.delete(o.key);
              model.set(o.key, expiresAt);
            }
            break;
          }
          case "delete":
            assert.equal(list.delete(o.key), model.delete(o.key));
            break;
          case "take": {
            const expiresAt = model.get(o.key);
            assert.equal(list.take(o.key), expiresAt === undefined ? undefined : expiresAt + 1_000);
            model.delete(o.key);
            break;
          }
          case "useSlot": {
            const slot = list.useSlot(o.key);
            const expiresAt = model.get(o.key);
            if (expiresAt === undefined) {
              assert.equal(slot, -1);
              break;
            }
            assert.equal(list.valueAt(slot), expiresAt + 1_000);
            assert.equal(list.expiryAt(slot), expiresAt);
            model.delete(o.key);
            model.set(o.key, expiresAt);
            break;
          }
          case "get":
            assert.equal(list.get(o.key), model.get(o.key));
            break;
          case "deleteExpired": {
            let earliest = Infinity;
            for (const [k, expiresAt] of model) {
              if (expiresAt <= o.now) model.delete(k);
              else earliest = Math.min(earliest, expiresAt);
            }
            assert.equal(list.deleteExpired(o.now), earliest);
            break;
          }
          case "clear":
            list.clear();
            model.clear();
            break;
        }
        assert.equal(list.size, model.size);
        assert.equal(list.oldest(), model.keys().next().value);
      }
      // Draining from the oldest end gives the whole LRU order.
      const order: string[] = [];
      for (let k = list.oldest(); k !== undefined; k = list.oldest()) {
        order.push(k);
        list.delete(k);
      }
      assert.deepEqual(order, [...model.keys()]);
    }),
    { numRuns: 500 },
  );
});

test("an unordered LruList keeps the same keys, expiries and values as a Map, and no order", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const list = new LruList<string>(false);
      const model = new Map<string, { expiresAt: number; value: string | undefined }>();
      for (const [i, o] of ops.entries()) {
        switch (o.op) {
          case "set": {
            // Some keys get a value, some none: the value column is made on the first one.
            const value = i % 3 === 0 ? undefined : `v${i}`;
            list.set(o.key, o.expiresAt, value);
            model.set(o.key, { expiresAt: o.expiresAt, value });
            break;
          }
          case "touch":
            list.touch(o.key);
            break;
          case "delete":
            assert.equal(list.delete(o.key), model.delete(o.key));
            break;
          case "take":
            assert.equal(list.take(o.key), model.get(o.key)?.value);
            model.delete(o.key);
            break;
          case "useSlot": {
            const slot = list.useSlot(o.key);
            const entry = model.get(o.key);
            assert.equal(slot === -1, entry === undefined);
            if (entry !== undefined) {
              assert.equal(list.valueAt(slot), entry.value);
              assert.equal(list.expiryAt(slot), entry.expiresAt);
            }
            break;
          }
          case "get":
            assert.equal(list.get(o.key), model.get(o.key)?.expiresAt);
            assert.equal(list.peek(o.key), model.get(o.key)?.value);
            break;
          case "deleteExpired": {
            let earliest = Infinity;
            const dropped: string[] = [];
            for (const [k, entry] of model) {
              if (entry.expiresAt <= o.now) {
                model.delete(k);
                dropped.push(`${k}=${entry.value}`);
              } else earliest = Math.min(earliest, entry.expiresAt);
            }
            const told: string[] = [];
            assert.equal(list.deleteExpired(o.now, (k, value) => told.push(`${k}=${value}`)), earliest);
            assert.deepEqual(told.sort(), dropped.sort());
            break;
          }
          case "clear":
            list.clear();
            model.clear();
            break;
        }
        assert.equal(list.size, model.size);
        assert.equal(list.oldest(), undefined);
      }
      for (const [k, entry] of model) {
        const slot = list.useSlot(k);
        assert.ok(slot >= 0 && slot < list.slots);
        assert.deepEqual([list.expiryAt(slot), list.valueAt(slot)], [entry.expiresAt, entry.value]);
      }
    }),
    { numRuns: 500 },
  );
});
