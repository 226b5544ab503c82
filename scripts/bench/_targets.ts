// The speed and memory targets of issue #7, checked against a run's results.
import type { Row, SuiteResult } from "./_harness.ts";

interface Target {
  /** What is promised. */
  text: string;
  suite: string;
  /** Groups of the suite the target applies to. */
  groups: RegExp;
  /** The cachet rows measured. */
  cachet: RegExp;
  /** The row compared with, if any. */
  peer?: RegExp;
  /** Whether a measured figure meets the target. */
  met(figure: number): boolean;
  /** The figure: cachet's advantage over the peer, or (without a peer) cachet's value. */
  describe(figure: number): string;
}

const times = (x: number) => `${x.toFixed(2)}×`;
const TARGETS: Target[] = [
  {
    text: "memory `get` hit ≥ 2× cache-manager",
    suite: "memory",
    groups: /^get hit/,
    cachet: /^cachet/,
    peer: /^cache-manager/,
    met: (x) => x >= 2,
    describe: times,
  },
  {
    text: "memory `get` hit ≥ 1.5× bentocache",
    suite: "memory",
    groups: /^get hit/,
    cachet: /^cachet/,
    peer: /^bentocache/,
    met: (x) => x >= 1.5,
    describe: times,
  },
  {
    text: "memory `get` hit within 5× of lru-cache's synchronous get",
    suite: "memory",
    groups: /^get hit/,
    cachet: /^cachet/,
    peer: /^lru-cache/,
    met: (x) => x >= 1 / 5,
    describe: (x) => `${(1 / x).toFixed(1)}× slower`,
  },
  {
    text: "`cached` hit ≥ 2× cache-manager `wrap`",
    suite: "memo",
    groups: /^hit/,
    cachet: /^cachet/,
    peer: /^cache-manager/,
    met: (x) => x >= 2,
    describe: times,
  },
  {
    text: "`cached` hit ≥ 2× bentocache `getOrSet`",
    suite: "memo",
    groups: /^hit/,
    cachet: /^cachet/,
    peer: /^bentocache/,
    met: (x) => x >= 2,
    describe: times,
  },
  {
    text: "Redis get/set ≥ 0.9× raw ioredis at 64 concurrent callers",
    suite: "redis",
    groups: /64 concurrent/,
    cachet: /^cachet/,
    peer: /^ioredis/,
    met: (x) => x >= 0.9,
    describe: times,
  },
  {
    text: "stampede: exactly 1 origin call",
    suite: "stampede",
    groups: /./,
    cachet: /lock: true/,
    met: (x) => x === 1,
    describe: (x) => `${x} call${x === 1 ? "" : "s"}`,
  },
  {
    text: "bytes per entry ≤ 1.5× lru-cache",
    suite: "footprint",
    groups: /./,
    cachet: /^cachet/,
    peer: /^lru-cache/,
    met: (x) => 1 / x <= 1.5,
    describe: (x) => `${(1 / x).toFixed(2)}× lru-cache`,
  },
];

/** A Markdown table: each target, what this run measured for it, and whether it is met. */
export function targetsTable(results: SuiteResult[]): string {
  const lines = ["| target | measured | met |", "|---|---|---|"];
  for (const target of TARGETS) {
    const result = results.find((r) => r.suite === target.suite);
    if (result === undefined) {
      lines.push(`| ${target.text} | not run | — |`);
      continue;
    }
    const figures: { label: string; figure: number }[] = [];
    const groups = new Set(result.rows.filter((r) => target.groups.test(r.group)).map((r) => r.group));
    for (const group of groups) {
      const rows = result.rows.filter((r) => r.group === group);
      const peer = target.peer && rows.find((r) => target.peer!.test(r.peer));
      for (const row of rows.filter((r) => r.cachet && target.cachet.test(r.peer))) {
        if (target.peer && !peer) continue;
        const name = row.peer.replace(/^cachet /, "");
        figures.push({ label: groups.size > 1 ? `${group}, ${name}` : name, figure: figure(row, peer) });
      }
    }
    const measured = figures.map((f) => `${f.label}: ${target.describe(f.figure)}`).join("; ");
    const met = figures.length > 0 && figures.every((f) => target.met(f.figure));
    const some = figures.some((f) => target.met(f.figure));
    lines.push(`| ${target.text} | ${measured || "no rows"} | ${met ? "met" : some ? "partly" : "not met"} |`);
  }
  return lines.join("\n");
}

// cachet's advantage over the peer (oriented so that > 1 is better), or cachet's own value.
function figure(row: Row, peer: Row | undefined): number {
  if (peer === undefined) return row.value;
  return row.higherIsBetter ? row.value / peer.value : peer.value / row.value;
}
