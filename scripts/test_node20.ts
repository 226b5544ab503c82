// Runs the library's own tests on the system Node, the oldest major `engines` allows (20), which cannot strip types:
// esbuild transpiles the library and tests/*.ts (not tests/browser/, which tests a script, nor the decorator-syntax
// files) into .tmp/node20/ with the same layout, relative `.ts` specifiers (imports, `new URL("./x.ts", …)` of workers
// and child processes) become `.js`, and that Node runs them with `node --test`. Bare imports (ioredis, zod, …)
// resolve to the repository's node_modules, above .tmp/.
// Usage: node_modules/.bin/node scripts/test_node20.ts [tests/x_test.ts …]
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { transform } from "esbuild";
import { root } from "./_common.ts";
import { systemNode } from "./_system_node.ts";

const out = join(root, ".tmp", "node20");
// Test files that do not run here, and why (each runs on Node 24, Deno and Bun).
const EXCLUDED: Record<string, string> = {
  // The backend needs node:sqlite (Node >= 22.5) and refuses Node 20 with a clear error, which the file checks by
  // running the system Node itself.
  "tests/sqlite_test.ts": "node:sqlite needs Node >= 22.5",
  // It bundles the TypeScript sources with esbuild itself, to compare a bundled build's keys with the sources'.
  "tests/decorator_bundled_keys_test.ts": "bundles the TypeScript sources itself",
};
const requested = process.argv.slice(2).map((file) => relative(root, join(root, file)));

/** The library's sources, the tests and the scripts they import, relative to the repository. */
function sources(): string[] {
  const list = (dir: string, recursive: boolean): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
      const path = dir === "." ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) return recursive ? list(path, true) : [];
      return entry.name.endsWith(".ts") ? [path] : [];
    });
  // scripts/chaos: the coherence rule that tests/chaos_coherence_check_test.ts checks lives there.
  return [
    ...list(".", false),
    ...list("backends", true),
    ...list("serializers", true),
    ...list("tests", false),
    ...list("scripts/chaos", false),
  ];
}

// `"./x.ts"`, `'../y/z.ts'`: any relative specifier in a string literal (template literals are left alone).
const RELATIVE_TS = /(["'])(\.{1,2}\/[^"'\n]*?)\.ts\1/g;

rmSync(out, { recursive: true, force: true });
const files = sources();
await Promise.all(files.map(async (file) => {
  const code = readFileSync(join(root, file), "utf8");
  // target node20 lowers what that Node cannot parse (`using`); no polyfills: a missing API must fail here.
  // keepNames: esbuild renames a function expression that shadows its binding (`square` -> `square2`), and
  // cached() keys and tests read `fn.name`.
  const result = await transform(code, {
    loader: "ts",
    format: "esm",
    target: "node20",
    keepNames: true,
    sourcefile: file,
  });
  const target = join(out, file.replace(/\.ts$/, ".js"));
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, result.code.replace(RELATIVE_TS, "$1$2.js$1"));
}));
writeFileSync(join(out, "package.json"), JSON.stringify({ type: "module", private: true }));

const tests = (requested.length ? requested : files.filter((f) => /^tests\/[^/]+_test\.ts$/.test(f)))
  .filter((f) => !f.endsWith("_syntax_test.ts") && EXCLUDED[f] === undefined)
  .map((f) => join(out, f.replace(/\.ts$/, ".js")));
const node = systemNode();
console.log(`transpiled ${files.length} files to ${relative(root, out)}/; ${tests.length} test files on ${node}`);
for (const [file, why] of Object.entries(EXCLUDED)) console.log(`# not run on Node 20: ${file} (${why})`);
const run = spawnSync(node, ["--test", "--test-reporter=spec", ...tests], { cwd: root, stdio: "inherit" });
process.exit(run.status ?? 1);
