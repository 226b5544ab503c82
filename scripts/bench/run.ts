// The benchmark entry point:
//   npm run bench [-- --quick] [--runtime deno|bun|deno,bun] [--suite a,b] [--out dir] [--docs]
//
// Runs every suite side by side with the peers on Node 24, each in its own
// child process, prints Markdown tables (ops/s, mean, p99, ratio to cachet),
// and writes results.json, results.md and one SVG chart per suite to
// docs/bench/ (to .tmp/bench/ with --quick, so the smoke run leaves the repo alone).
// `--runtime` also runs cachet's own cases on Deno and/or Bun and compares them with Node;
// `--docs` writes the tables into docs/benchmarks.md between its bench markers.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { markdownTable, type Row, runtimeName, type SuiteResult, svgChart } from "./_harness.ts";
import { targetsTable } from "./_targets.ts";
import { bin, option, root } from "../_common.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
if (args.includes("--readme")) {
  console.error("--readme is now --docs: the tables live in docs/benchmarks.md");
  process.exit(2);
}

/**
 * The suites in the order they run; `gc` ones need --expose-gc. An `external`
 * suite is a standalone script (owned elsewhere) that prints its own report.
 */
const SUITES: { name: string; gc?: boolean; external?: boolean }[] = [
  { name: "memory" },
  { name: "memo" },
  { name: "read_through" },
  { name: "redis" },
  { name: "redis_batch" },
  { name: "sqlite" },
  { name: "postgres" },
  { name: "tiers" },
  { name: "stampede" },
  { name: "footprint", gc: true },
  { name: "serializers", external: true },
];

const wanted = option("--suite")?.split(",");
const runtimes = option("--runtime")?.split(",") ?? [];
for (const runtime of runtimes) {
  if (runtime !== "deno" && runtime !== "bun") {
    console.error(`--runtime must be deno, bun or deno,bun: received ${JSON.stringify(runtime)}`);
    process.exit(2);
  }
}
const outDir = option("--out") ?? join(root, quick ? ".tmp/bench" : "docs/bench");
const scratch = mkdtempSync(join(tmpdir(), "cachet-bench-"));

function command(runtime: string, gc: boolean): [string, string[]] {
  switch (runtime) {
    case "deno":
      return [bin("deno"), ["run", "-A", ...(gc ? ["--v8-flags=--expose-gc"] : [])]];
    case "bun":
      return [bin("bun"), ["run"]];
    default:
      return [bin("node"), gc ? ["--expose-gc"] : []];
  }
}

function runChild(suite: string, runtime: string, gc: boolean, cachetOnly: boolean): Promise<SuiteResult> {
  const out = join(scratch, `${suite}-${runtime}.json`);
  const [cmd, pre] = command(runtime, gc);
  const childArgs = [...pre, join(root, "scripts/bench/_child.ts"), suite, "--out", out];
  if (quick) childArgs.push("--quick");
  if (cachetOnly) childArgs.push("--cachet-only");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, childArgs, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`suite ${suite} on ${runtime} exited with ${code}`));
      else resolve(JSON.parse(readFileSync(out, "utf8")));
    });
  });
}

// Joins cachet's rows from each runtime into one result: cachet on Node is the reference.
function compareRuntimes(node: SuiteResult, others: SuiteResult[]): SuiteResult {
  const rows: Row[] = [];
  for (const ref of node.rows.filter((r) => r.cachet)) {
    const group = `${ref.group}: ${ref.peer}`;
    rows.push({ ...ref, group, peer: node.runtime });
    for (const other of others) {
      const row = other.rows.find((r) => r.cachet && r.group === ref.group && r.peer === ref.peer);
      if (row) rows.push({ ...row, group, cachet: false, peer: other.runtime });
    }
  }
  return {
    suite: `${node.suite}-runtimes`,
    title: `${node.title}: cachet per runtime`,
    runtime: [node, ...others].map((r) => r.runtime).join(", "),
    rows,
    notes: ["The ratio column compares Node with each runtime: > 1 means cachet does better on Node."],
  };
}

const started = performance.now();
const results: SuiteResult[] = [];
const skipped: string[] = [];
const failed: string[] = [];
const externals: string[] = [];
for (const suite of SUITES) {
  if (wanted && !wanted.includes(suite.name)) continue;
  if (!existsSync(join(root, "scripts/bench", `${suite.name}.ts`))) {
    skipped.push(suite.name);
    continue;
  }
  console.error(`\n… ${suite.name} on ${runtimeName()}`);
  if (suite.external) {
    const script = join(root, "scripts/bench", `${suite.name}.ts`);
    const status =
      spawnSync(bin("node"), [script, ...(quick ? ["--quick"] : [])], { cwd: root, stdio: "inherit" }).status;
    if (status === 0) {
      externals.push(`${suite.name} (printed on the console only; \`node ${script.replace(root, "")}\`)`);
    } else failed.push(suite.name);
    continue;
  }
  try {
    const node = await runChild(suite.name, "node", suite.gc ?? false, false);
    results.push(node);
    if (runtimes.length > 0) {
      const others: SuiteResult[] = [];
      for (const runtime of runtimes) {
        console.error(`… ${suite.name} (cachet only) on ${runtime}`);
        others.push(await runChild(suite.name, runtime, suite.gc ?? false, true));
      }
      results.push(compareRuntimes(node, others));
    }
  } catch (error) {
    console.error(String(error));
    failed.push(suite.name);
  }
}
rmSync(scratch, { recursive: true, force: true });

const cpu = cpus();
const meta = {
  date: new Date().toISOString(),
  command: `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`,
  runtime: runtimeName(),
  machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${
    (totalmem() / 2 ** 30).toFixed(0)
  } GiB RAM, ${process.platform}-${process.arch}`,
  seconds: Math.round((performance.now() - started) / 1000),
  quick,
};
const markdown = [
  `Measured ${meta.date.slice(0, 16).replace("T", " ")} UTC on ${meta.machine}; ${meta.runtime}; \`${meta.command}\`` +
  ` (${meta.seconds} s).`,
  "",
  "### Targets",
  "",
  targetsTable(results),
  "",
];
for (const result of results) {
  markdown.push(`### ${result.title} (${result.runtime})`, "", markdownTable(result));
  for (const note of result.notes) markdown.push(`- ${note}`);
  markdown.push("");
}
if (externals.length) markdown.push(`Also run: ${externals.join(", ")}.`, "");
if (skipped.length) markdown.push(`Not run (script missing): ${skipped.join(", ")}.`, "");
console.log(`\n${markdown.join("\n")}`);

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "results.json"), JSON.stringify({ ...meta, skipped, failed, results }, null, 2) + "\n");
writeFileSync(join(outDir, "results.md"), markdown.join("\n"));
for (const result of results) {
  const subtitle = `${result.runtime}, ${meta.machine.split(",")[0]}, ${meta.date.slice(0, 10)}`;
  writeFileSync(join(outDir, `${result.suite}.svg`), svgChart(result, subtitle));
}
console.error(`wrote ${outDir}/results.json, results.md and ${results.length} SVG charts in ${meta.seconds} s`);
if (args.includes("--docs")) {
  // Replaces the measured tables in docs/benchmarks.md, between the markers, with this run's, formatted as deno fmt
  // wants them (npm test checks it).
  const docs = join(root, "docs", "benchmarks.md");
  const [start, end] = ["<!-- bench:start -->", "<!-- bench:end -->"];
  const text = readFileSync(docs, "utf8");
  if (!text.includes(start) || !text.includes(end)) throw new Error(`${docs} lacks the ${start} and ${end} markers`);
  writeFileSync(
    docs,
    `${text.slice(0, text.indexOf(start) + start.length)}\n\n${markdown.join("\n")}\n${text.slice(text.indexOf(end))}`,
  );
  spawnSync(bin("deno"), ["fmt", docs], { cwd: root, stdio: "inherit" });
  console.error(`updated the tables in ${docs}`);
}
if (failed.length) {
  console.error(`FAILED suites: ${failed.join(", ")}`);
  process.exit(1);
}
