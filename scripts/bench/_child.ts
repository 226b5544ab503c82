// Runs one suite in this process and writes its SuiteResult as JSON to --out.
// run.ts spawns one child per suite and runtime, so suites never share JIT
// state or heap, and the footprint suite can run with --expose-gc.
import { writeFileSync } from "node:fs";
import process from "node:process";
import type { SuiteOptions, SuiteResult } from "./_harness.ts";

const [suite] = process.argv.slice(2);
const out = process.argv[process.argv.indexOf("--out") + 1];
const options: SuiteOptions = {
  quick: process.argv.includes("--quick"),
  cachetOnly: process.argv.includes("--cachet-only"),
};
const module = (await import(`./${suite}.ts`)) as { run(options: SuiteOptions): Promise<SuiteResult> };
const result = await module.run(options);
writeFileSync(out, JSON.stringify(result, null, 2));
// Peers' clients and timers must not keep a finished suite alive.
process.exit(0);
