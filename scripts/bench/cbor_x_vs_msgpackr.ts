// Side-by-side check behind the choice of msgpackr over cbor-x for
// StructuredSerializer: encode + decode throughput, size and fidelity on the
// payloads of scripts/bench/serializers.ts. cbor-x cannot be a dependency of
// this repo (its optional native packages break Deno's npm resolution), so it is
// loaded from the current directory. Run it from a scratch folder:
//
//   mkdir /tmp/cborbench && cd /tmp/cborbench && npm init -y && npm install cbor-x@1.6.9
//   <repo>/node_modules/.bin/node <repo>/scripts/bench/cbor_x_vs_msgpackr.ts [--quick]
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { Bench } from "tinybench";
import { Packr } from "msgpackr/pack";
import { StructuredSerializer } from "../../serializers/structured.ts";
import { payloads } from "./_serializer_data.ts";

type Codec = { encode(value: unknown): Uint8Array; decode(bytes: Uint8Array): unknown };
const cborPath = createRequire(join(process.cwd(), "_")).resolve("cbor-x");
const { Encoder } = await import(pathToFileURL(cborPath).href) as { Encoder: new (options: object) => Codec };
const quick = process.argv.includes("--quick");

// msgpackr configured as StructuredSerializer configures it, without its checks.
const options = { structuredClone: true, moreTypes: true, useRecords: true, mapsAsObjects: false, copyBuffers: true };
const packr = new Packr(options);
const unpackr = new Packr(options);
const cbor = new Encoder({ structuredClone: true });
const ours = new StructuredSerializer();
const contenders: Record<string, [(value: unknown) => Uint8Array, (bytes: Uint8Array) => unknown]> = {
  "msgpackr (structuredClone, records)": [(v) => packr.pack(v), (b) => unpackr.unpack(b)],
  "StructuredSerializer (msgpackr + checks)": [(v) => ours.dumps(v), (b) => ours.loads(b)],
  "cbor-x (structuredClone)": [(v) => cbor.encode(v), (b) => cbor.decode(b)],
};

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;
const fidelity: Record<string, [unknown, (copy: unknown) => boolean]> = {
  "-0": [-0, (copy) => Object.is(copy, -0)],
  "Map vs object": [
    { m: new Map([["k", { x: 1 }]]) },
    (copy) => isDeepStrictEqual(copy, { m: new Map([["k", { x: 1 }]]) }),
  ],
  "Error class and cause": [
    new TypeError("t", { cause: new Error("c") }),
    (copy) => copy instanceof TypeError && (copy.cause as Error)?.message === "c",
  ],
  "cycle": [cyclic, (copy) => (copy as Record<string, unknown>).self === copy],
  "bigint > 64 bits": [2n ** 70n, (copy) => copy === 2n ** 70n],
};
for (const [name, [encode, decode]] of Object.entries(contenders)) {
  const lost = Object.entries(fidelity).filter(([, [value, ok]]) => {
    try {
      return !ok(decode(encode(value)));
    } catch {
      return true;
    }
  }).map(([what]) => what);
  console.log(`${name} loses: ${lost.join(", ") || "nothing checked here"}`);
}

console.log("\n| payload | codec | ops/s (encode + decode) | size |\n| --- | --- | ---: | ---: |");
for (const [payload, value] of Object.entries(payloads)) {
  const bench = new Bench(quick ? { time: 60, warmupTime: 20 } : { time: 1000, warmupTime: 200 });
  for (const [name, [encode, decode]] of Object.entries(contenders)) bench.add(name, () => decode(encode(value)));
  await bench.run();
  for (const task of bench.tasks) {
    if (task.result.state !== "completed") throw new Error(`${task.name}: ${task.result.state}`);
    const ops = Math.round(1000 / task.result.latency.mean).toLocaleString("en-US");
    console.log(`| ${payload} | ${task.name} | ${ops} | ${contenders[task.name][0](value).length} |`);
  }
}
