// Proves that doc examples can fail: `deno test --doc` (the deno step of npm test) must fail on a module whose JSDoc
// example asserts something false, and pass on its true twin. `console.assert` only prints, so an example using it
// would pass whatever it checks: none may come back in the published modules.
// Usage: node_modules/.bin/node scripts/check_doc_examples.ts
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { bin, root } from "./_common.ts";

const problems: string[] = [];

/** A module with one exported function whose example asserts `add(1, 1)` equals `expected`. */
const moduleWithExample = (expected: number) =>
  `/**
 * Adds two numbers.
 *
 * @example Usage
 * \`\`\`ts
 * import assert from "node:assert/strict";
 * import { add } from "./example.ts";
 *
 * assert.equal(add(1, 1), ${expected});
 * \`\`\`
 */
export function add(a: number, b: number): number {
  return a + b;
}
`;

mkdirSync(join(root, ".tmp"), { recursive: true });
const scratch = mkdtempSync(join(root, ".tmp", "doc-examples-"));
try {
  for (const [expected, shouldPass] of [[2, true], [3, false]] as const) {
    const file = join(scratch, "example.ts");
    writeFileSync(file, moduleWithExample(expected));
    const run = spawnSync(bin("deno"), ["test", "--doc", file], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    const out = run.stdout + run.stderr;
    const passed = run.status === 0;
    if (passed !== shouldPass) {
      problems.push(
        `deno test --doc ${shouldPass ? "failed on a true" : "passed a false"} example (assert.equal(add(1, 1), ` +
          `${expected})):\n${out}`,
      );
    } else if (!shouldPass && !/AssertionError/.test(out)) {
      // Failing for another reason (a type error, a missing import) would not prove that assertions count.
      problems.push(`deno test --doc failed on the false example, but not with an AssertionError:\n${out}`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

// The published modules: the library sources, not tests or scripts.
const sources = [
  ...readdirSync(root).filter((f) => f.endsWith(".ts")).map((f) => join(root, f)),
  ...["backends", "serializers"].flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .map((f) => join(root, dir, f))
  ),
];
for (const file of sources) {
  readFileSync(file, "utf8").split("\n").forEach((line, i) => {
    if (line.includes("console.assert")) {
      problems.push(`${relative(root, file)}:${i + 1} uses console.assert, which never fails: use node:assert/strict`);
    }
  });
}

if (problems.length > 0) {
  console.error(`doc examples: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(
  `doc examples: deno test --doc fails a false example and passes a true one; no console.assert in ${sources.length} modules`,
);
