// Before/after: cachet's own rows of some suites on another checkout of the
// library (an older commit's worktree) and on this one, alternating, with the
// same benchmark code for both:
//
//   node_modules/.bin/node scripts/bench/compare.ts --against ../old [--suite memory,memo] [--rounds 3] [--quick]
//
// The other checkout's library files are linked into a scratch folder beside a
// copy of this checkout's scripts/bench, so only the library differs. Each
// round runs every suite on both, in alternating order; a row's figure is its
// median over the rounds. Prints a Markdown table of the after ÷ before ratios.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { formatNumber, type SuiteResult } from "./_harness.ts";
import { bin, option, root } from "../_common.ts";

const against = option("--against");
if (against === undefined) {
  console.error("usage: compare.ts --against <checkout> [--suite memory,memo] [--rounds 3] [--quick]");
  process.exit(2);
}
const suites = (option("--suite") ?? "memory,memo").split(",");
const rounds = Number(option("--rounds") ?? 3);
const quick = process.argv.includes("--quick");
const before = resolve(against);

// A tree with the other checkout's library and this checkout's benchmark code.
const scratch = mkdtempSync(join(tmpdir(), "cachet-compare-"));
const shadow = join(scratch, "before");
mkdirSync(join(shadow, "scripts"), { recursive: true });
for (const entry of readdirSync(before)) {
  if (entry === "scripts" || entry === "node_modules" || entry.startsWith(".")) continue;
  symlinkSync(join(before, entry), join(shadow, entry));
}
symlinkSync(join(root, "node_modules"), join(shadow, "node_modules"));
cpSync(join(root, "scripts/_common.ts"), join(shadow, "scripts/_common.ts"));
cpSync(join(root, "scripts/bench"), join(shadow, "scripts/bench"), { recursive: true });

const trees = { before: shadow, after: root };
const figures = new Map<string, { before: number[]; after: number[]; unit: string }>();
try {
  for (let round = 0; round < rounds; round++) {
    const order = (round % 2 === 0 ? ["before", "after"] : ["after", "before"]) as (keyof typeof trees)[];
    for (const suite of suites) {
      for (const side of order) {
        const out = join(scratch, `${suite}-${side}.json`);
        const args = [join(trees[side], "scripts/bench/_child.ts"), suite, "--out", out, "--cachet-only"];
        if (quick) args.push("--quick");
        console.error(`… round ${round + 1}/${rounds}: ${suite} on ${side}`);
        const status = spawnSync(bin("node"), args, { cwd: trees[side], stdio: "inherit" }).status;
        if (status !== 0) throw new Error(`${suite} on ${side} exited with ${status}`);
        const result = JSON.parse(readFileSync(out, "utf8")) as SuiteResult;
        for (const row of result.rows.filter((r) => r.cachet)) {
          const name = `${suite} | ${row.group} | ${row.peer}`;
          const entry = figures.get(name) ?? { before: [], after: [], unit: row.unit };
          entry[side].push(row.value);
          figures.set(name, entry);
        }
      }
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const lines = [
  `Before: ${before}; after: ${root} (median of ${rounds} alternating rounds, Node).`,
  "",
  "| suite | case | cachet row | before | after | after ÷ before |",
  "|---|---|---|---:|---:|---:|",
];
for (const [name, entry] of figures) {
  if (entry.before.length === 0 || entry.after.length === 0) continue;
  const [b, a] = [median(entry.before), median(entry.after)];
  lines.push(
    `| ${name} | ${formatNumber(b)} ${entry.unit} | ${formatNumber(a)} ${entry.unit} | ${(a / b).toFixed(2)}× |`,
  );
}
console.log(lines.join("\n"));
