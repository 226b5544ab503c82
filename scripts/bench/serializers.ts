// Serializer benchmark: dumps + loads throughput and encoded size for a small,
// a medium (1 KB) and a large (100 KB) object, side by side:
// JsonSerializer, StructuredSerializer, SchemaSerializer (Zod 4 schema),
// structuredClone alone (the floor for an in-memory copy) and, on Node,
// node:v8 serialize + deserialize (reference only).
//
// Usage: node_modules/.bin/node scripts/bench/serializers.ts [--quick]
//        (also runs under deno run -A and bun)
import { Bench } from "tinybench";
import { JsonSerializer } from "../../serializers/json.ts";
import { StructuredSerializer } from "../../serializers/structured.ts";
import { SchemaSerializer } from "../../serializers/schema.ts";
import { Large, Medium, payloads, Small } from "./_serializer_data.ts";

const quick = process.argv.includes("--quick");
const options = quick ? { time: 60, warmupTime: 20 } : { time: 300, warmupTime: 100 };
// Tasks run one after another, so drift (GC, JIT, CPU boost) favours some; the
// median of several rounds, each running every contender, evens that out.
const rounds = quick ? 1 : 5;

type Contender = { name: string; roundTrip: (value: unknown) => unknown; size: (value: unknown) => number | undefined };

function serializer(name: string, s: { dumps(v: unknown): Uint8Array; loads(d: Uint8Array): unknown }): Contender {
  return { name, roundTrip: (value) => s.loads(s.dumps(value)), size: (value) => s.dumps(value).length };
}

const schemas = { small: Small, medium: Medium, large: Large };
const isNode = typeof (globalThis as { Deno?: unknown }).Deno === "undefined" &&
  typeof (globalThis as { Bun?: unknown }).Bun === "undefined";
const v8 = isNode ? await import("node:v8") : undefined;

const runtime = (globalThis as { Deno?: { version: { deno: string } } }).Deno
  ? `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : (globalThis as { Bun?: { version: string } }).Bun
  ? `Bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
  : `Node ${process.versions.node}`;
console.log(`# Serializer benchmark, ${runtime}, ${new Date().toISOString().slice(0, 10)}${quick ? " (--quick)" : ""}`);
console.log(
  `ops/s of dumps + loads (median of ${rounds} round${
    rounds > 1 ? "s" : ""
  }; higher is better); ratio = ops/s ÷ JsonSerializer's; size in bytes\n`,
);
console.log("| payload | serializer | ops/s | ratio | size | size ratio |");
console.log("| ------- | ---------- | ----: | ----: | ---: | ---------: |");

for (const [payloadName, value] of Object.entries(payloads)) {
  const contenders: Contender[] = [
    serializer("JsonSerializer", new JsonSerializer<unknown>()),
    serializer("StructuredSerializer", new StructuredSerializer()),
    serializer("SchemaSerializer (Zod 4)", new SchemaSerializer(schemas[payloadName as keyof typeof schemas])),
    { name: "structuredClone (no bytes)", roundTrip: (v) => structuredClone(v), size: () => undefined },
  ];
  if (v8) {
    contenders.push({
      name: "node:v8 serialize (reference)",
      roundTrip: (v) => v8.deserialize(v8.serialize(v)),
      size: (v) => v8.serialize(v).length,
    });
  }
  for (const contender of contenders) {
    const copy = contender.roundTrip(value);
    if (JSON.stringify(copy) !== JSON.stringify(value)) throw new Error(`${contender.name} does not round-trip`);
  }
  const samples: number[][] = contenders.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench(options);
    // Alternate the order between rounds.
    const order = round % 2 ? [...contenders.keys()].reverse() : [...contenders.keys()];
    for (const i of order) bench.add(String(i), () => contenders[i].roundTrip(value));
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== "completed") throw new Error(`${contenders[Number(task.name)].name}: ${result.state}`);
      samples[Number(task.name)].push(1000 / result.latency.mean);
    }
  }
  const opsPerSecond = samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]);
  const baseSize = contenders[0].size(value)!;
  contenders.forEach((contender, i) => {
    const size = contender.size(value);
    console.log(
      `| ${payloadName} | ${contender.name} | ${Math.round(opsPerSecond[i]).toLocaleString("en-US")} | ${
        (opsPerSecond[i] / opsPerSecond[0]).toFixed(2)
      } | ${size ?? "–"} | ${size === undefined ? "–" : (size / baseSize).toFixed(2)} |`,
    );
  });
}
