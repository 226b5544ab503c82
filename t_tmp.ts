import { StructuredSerializer } from "./serializers/structured.ts";
const s = new StructuredSerializer();
const r = (v: unknown) => s.loads(s.dumps(v));
console.log(JSON.stringify(r("a\ud800b")), JSON.stringify(r({ "k\udc00": 1 })));
const big: Record<string, number> = {};
for (let i = 0; i < 70000; i++) big["k" + i] = i;
try {
  const o = r(big) as Record<string, number>;
  console.log("70k keys", Object.keys(o).length, o.k69999);
} catch (e) {
  console.log("70k keys ERR", (e as Error).name, (e as Error).message);
}
const m = new Map(Object.entries(big));
const om = r(m) as Map<string, number>;
console.log("map", om.size);
console.log("arr", (r(new Array(70000).fill(1)) as unknown[]).length);
const wide: Record<string, unknown>[] = [];
for (let i = 0; i < 5000; i++) wide.push({ ["a" + i]: i, ["b" + (i % 100)]: 1 });
const ow = r(wide) as typeof wide;
console.log("shapes", ow.length, JSON.stringify(ow[4999]));
