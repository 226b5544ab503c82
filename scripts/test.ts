// Runs every check and the whole suite on Node 24, Deno and Bun; exits non-zero
// when any step fails. Usage: npm test [-- --only node|node20|deno|docs|bun|checks|chaos|dist]
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { bin, option, root } from "./_common.ts";

const only = option("--only");

const denoJson = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
const entryPoints: string[] = Object.values(denoJson.exports as Record<string, string>);
// Every published module, so `deno test --doc` runs the examples of symbols that
// entry points re-export from other files too.
const modules: string[] = [
  ...readdirSync(root).filter((f) => f.endsWith(".ts")).map((f) => `./${f}`),
  ...["backends", "serializers"].flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))
      .map((f) => `./${dir}/${f}`)
  ),
];

function testFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith("_test.ts")) found.push(path);
    }
  };
  walk("tests");
  return found.sort();
}

interface Result {
  step: string;
  ok: boolean;
  passed?: number;
  failed?: number;
  skipped?: number;
  /** Why the whole step was skipped. */
  skip?: string;
  seconds: number;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, NO_COLOR: "1", ...env } });
    let out = "";
    const tee = (chunk: Buffer, sink: NodeJS.WriteStream) => {
      out += chunk.toString();
      sink.write(chunk);
    };
    child.stdout.on("data", (c) => tee(c, process.stdout));
    child.stderr.on("data", (c) => tee(c, process.stderr));
    child.on("error", (error) => {
      out += String(error);
      resolve({ code: 127, out });
    });
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

const num = (out: string, re: RegExp) => {
  const m = [...out.matchAll(re)].at(-1);
  return m ? Number(m[1]) : undefined;
};

// For scripts that end with a line `<name>: N passed, M failed`.
const counted = (out: string) => ({
  passed: num(out, /: (\d+) passed, \d+ failed$/gm),
  failed: num(out, /: \d+ passed, (\d+) failed$/gm),
});

const results: Result[] = [];
const suiteStarted = performance.now();
async function step(
  name: string,
  cmd: string,
  args: string[],
  parse?: (out: string) => Pick<Result, "passed" | "failed" | "skipped">,
) {
  console.log(`\n=== ${name}: ${[cmd.replace(root, ""), ...args].join(" ")}`);
  const started = performance.now();
  const { code, out } = await run(cmd, args);
  const counts = parse?.(out) ?? {};
  // A runner that exits 0 having run nothing has not passed, unless it said why it skipped (`<step>: skipped, why`).
  const skip = out.match(/^[\w ]+: skipped, (.+)$/m)?.[1];
  const ok = code === 0 && (parse === undefined || (counts.passed ?? 0) > 0 || skip !== undefined);
  results.push({ step: name, ok, ...counts, skip, seconds: (performance.now() - started) / 1000 });
}

const files = testFiles();
// TC39 decorator syntax cannot be type-stripped by Node; those files run on Deno and Bun only.
const nodeFiles = files.filter((f) => !f.endsWith("_syntax_test.ts"));

if (!only || only === "checks") {
  await step("tsc (erasable syntax, strict)", bin("tsc"), ["-p", "tsconfig.json"]);
  await step("deno fmt --check", bin("deno"), ["fmt", "--check"]);
  await step("deno lint", bin("deno"), ["lint"]);
  await step("deno check", bin("deno"), ["check", ...entryPoints, ...files]);
  await step("deno doc --lint", bin("deno"), ["doc", "--lint", ...entryPoints]);
  await step("doc examples can fail (deno test --doc)", bin("node"), ["scripts/check_doc_examples.ts"]);
  await step("deno publish --dry-run", bin("deno"), ["publish", "--dry-run", "--allow-dirty"]);
}
if (!only || only === "node") {
  await step("node 24 tests", bin("node"), ["--test", "--test-reporter=spec", ...nodeFiles], (out) => ({
    passed: num(out, /ℹ pass (\d+)/g),
    failed: num(out, /ℹ fail (\d+)/g),
    skipped: num(out, /ℹ skipped (\d+)/g),
  }));
}
if (!only || only === "node" || only === "node20") {
  // The system Node 20 cannot strip types: the step transpiles the library and the tests with esbuild first.
  await step("node 20 tests (esbuild-transpiled)", bin("node"), ["scripts/test_node20.ts"], (out) => ({
    passed: num(out, /ℹ pass (\d+)/g),
    failed: num(out, /ℹ fail (\d+)/g),
    skipped: num(out, /ℹ skipped (\d+)/g),
  }));
}
if (!only || only === "deno") {
  await step("deno tests + doc examples", bin("deno"), ["test", "-A", "--doc", ...modules, ...files], (out) => ({
    // Deno reports describe() blocks as tests and the tests inside them as steps.
    passed: (num(out, /(\d+) passed/g) ?? 0) + (num(out, /passed \((\d+) steps?\)/g) ?? 0),
    failed: (num(out, /(\d+) failed/g) ?? 0) + (num(out, /failed \((\d+) steps?\)/g) ?? 0),
    skipped: num(out, /(\d+) ignored/g),
  }));
}
if (!only || only === "deno" || only === "docs") {
  // The Markdown examples run as pasted: README.md and docs/*.md.
  await step("docs examples (deno test --doc README.md docs/*.md)", bin("node"), ["scripts/test_docs.ts"], counted);
}
if (!only || only === "bun") {
  // Bun alone caps each test and hook at 5 s; starting a Redis cluster on a busy 2-core machine takes longer.
  await step("bun tests", bin("bun"), ["test", "--timeout", "60000", ...files.map((f) => `./${f}`)], (out) => ({
    passed: num(out, /^\s*(\d+) pass$/gm),
    failed: num(out, /^\s*(\d+) fail$/gm),
    skipped: num(out, /^\s*(\d+) skip$/gm),
  }));
}
if (!only || only === "bench") {
  // Benchmarks are not tests, but their smoke mode runs every suite briefly so they never rot.
  await step("bench smoke (npm run bench -- --quick)", bin("node"), ["scripts/bench/run.ts", "--quick"]);
}
if (!only || only === "chaos") {
  // A few seconds of the chaos suite (npm run chaos): Redis killed and frozen under cached() + RedisLock.
  await step("chaos (quick)", bin("node"), ["scripts/chaos.ts", "--quick"], counted);
}

// Distribution: the npm package built from the same sources, checked, installed and run as users will.
if (!only || only === "dist") {
  await step("npm build (tsc) + pack", bin("node"), ["scripts/build_npm.ts"]);
  await step("exports: deno.json = npm = README", bin("node"), ["scripts/check_exports.ts"]);
  await step("core purity (DOM lib only)", bin("node"), ["scripts/check_core_purity.ts"]);
  await step("publint + attw (tarball)", bin("node"), ["scripts/check_npm_package.ts"]);
  await step(
    "smoke: npm install (node 20, node 24, tsc; two tiers)",
    bin("node"),
    ["scripts/smoke_install.ts", "npm"],
    counted,
  );
  await step("smoke: bun add", bin("node"), ["scripts/smoke_install.ts", "bun"], counted);
  await step("browser: headless chromium", bin("node"), ["scripts/smoke_browser.ts"], counted);
}

console.log("\n=== Summary");
let passed = 0;
let failed = 0;
for (const r of results) {
  const counts = r.passed === undefined && r.failed === undefined
    ? ""
    : ` ${r.passed ?? 0} passed, ${r.failed ?? 0} failed${r.skipped ? `, ${r.skipped} skipped` : ""}`;
  const status = r.skip !== undefined && r.ok ? "skip" : r.ok ? "ok  " : "FAIL";
  console.log(`${status} ${r.step}${r.skip ? `: ${r.skip}` : counts} (${r.seconds.toFixed(1)}s)`);
  passed += r.passed ?? 0;
  failed += r.failed ?? 0;
}
// Tests and steps are counted apart: a step that fails without a failed test (a check, a crash, a run of no test)
// is a failed step, not an extra failed test.
const failedSteps = results.filter((r) => !r.ok).length;
const minutes = (performance.now() - suiteStarted) / 60_000;
console.log(`\nsteps: ${results.length - failedSteps}/${results.length} ok in ${minutes.toFixed(1)} min`);
console.log(`${passed} passed, ${failed} failed tests; ${failedSteps} failed step${failedSteps === 1 ? "" : "s"}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failedSteps === 0 ? 0 : 1);
