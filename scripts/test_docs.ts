// Runs the TypeScript examples of README.md and docs/*.md as tests (`deno test --doc`: each block is its own module,
// type-checked, with its own imports; `@cachet/cachet/...` resolve to this repository through deno.json's name and
// exports). A block marked ```ts ignore is not run: the step lists them, so the count stays honest.
// Usage: node_modules/.bin/node scripts/test_docs.ts
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { bin, root } from "./_common.ts";

const files = [
  "README.md",
  ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
];
let runnable = 0;
const ignored: string[] = [];
for (const file of files) {
  readFileSync(join(root, file), "utf8").split("\n").forEach((line, i) => {
    const fence = line.match(/^```(ts|typescript|tsx|js|javascript|jsx|mts)\b(.*)$/);
    if (fence === null) return;
    if (/\bignore\b/.test(fence[2])) ignored.push(`${file}:${i + 1}`);
    else runnable++;
  });
}
const run = spawnSync(bin("deno"), ["test", "-A", "--doc", ...files], {
  cwd: root,
  encoding: "utf8",
  env: { ...process.env, NO_COLOR: "1" },
});
process.stdout.write(run.stdout);
process.stderr.write(run.stderr);
const out = run.stdout + run.stderr;
const passed = Number(out.match(/(\d+) passed/)?.[1] ?? 0);
const failed = Number(out.match(/(\d+) failed/)?.[1] ?? 0);
console.log(
  `\n${runnable} runnable examples in ${files.join(", ")}; not run (ts ignore): ${ignored.join(", ") || "none"}`,
);
let problems = failed;
if (passed + failed !== runnable) {
  console.log(`deno ran ${passed + failed} examples, but the files have ${runnable} runnable blocks`);
  problems++;
}
console.log(`docs: ${passed} passed, ${problems} failed`);
process.exit(run.status === 0 && problems === 0 ? 0 : 1);
