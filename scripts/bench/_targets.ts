// The speed and memory targets of issues #7, #12, #13, #14, #21 and #23, checked against a run's results.
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
// For a cachet variant measured against cachet's reference row: how many times the reference's cost it has.
const cost = (x: number) => `${x.toFixed(2)}× the cost`;
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
    text: "#21 Postgres get/set ≥ 0.9× the postgres driver's own prepared statement at 64 concurrent callers",
    suite: "postgres",
    groups: /64 concurrent/,
    cachet: /^cachet/,
    peer: /^postgres driver, same/,
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
    // The small values' group; the 80-byte records' shows what a memory entry keeps once read (docs/api.md).
    groups: /^bytes per entry \(/,
    cachet: /^cachet TTLCache/,
    peer: /^lru-cache/,
    met: (x) => 1 / x <= 1.5,
    describe: (x) => `${(1 / x).toFixed(2)}× lru-cache`,
  },
  {
    text: "#12 `getOrSet` hit ≥ 2× bentocache `getOrSet` (memory, JSON)",
    suite: "read_through",
    groups: /^getOrSet hit$/,
    cachet: /^cachet/,
    peer: /^bentocache/,
    met: (x) => x >= 2,
    describe: times,
  },
  {
    text: "#12 a tagged entry's `get` hit ≤ 1.3× an untagged one's (memory)",
    suite: "read_through",
    groups: /^get hit: tagged/,
    cachet: /^cachet/,
    peer: /1 tag/,
    met: (x) => x <= 1.3,
    describe: cost,
  },
  {
    text: "#12 `deleteTags` constant: 100,000 entries ≤ 2× the time of 1,000 (memory)",
    suite: "read_through",
    groups: /^deleteTags/,
    cachet: /^cachet/,
    peer: /^1,000 /,
    met: (x) => 1 / x <= 2,
    describe: (x) => `${(1 / x).toFixed(2)}× the 1,000-entry time`,
  },
  {
    text: "#12 Redis `getMany` of 100 keys ≥ 0.9× raw ioredis `mgetBuffer`",
    suite: "redis_batch",
    groups: /^read 100 keys/,
    cachet: /^cachet/,
    peer: /mgetBuffer \(floor\)/,
    met: (x) => x >= 0.9,
    describe: times,
  },
  {
    text: "#12 `deleteTags` constant: 100,000 entries ≤ 2× the time of 1,000 (Redis)",
    suite: "redis_batch",
    groups: /^deleteTags/,
    cachet: /^cachet/,
    peer: /^1,000 /,
    met: (x) => 1 / x <= 2,
    describe: (x) => `${(1 / x).toFixed(2)}× the 1,000-entry time`,
  },
  {
    text: "#13 `getOrSet` hit with grace ≤ 1.1× without",
    suite: "read_through",
    groups: /^getOrSet hit: cost/,
    cachet: /^cachet getOrSet$/,
    peer: /grace/,
    met: (x) => x <= 1.1,
    describe: cost,
  },
  {
    text: "#13 `cached()` hit with grace ≤ 1.1× without",
    suite: "read_through",
    groups: /^cached\(\) hit: cost/,
    cachet: /^cachet cached\(\)$/,
    peer: /grace/,
    met: (x) => x <= 1.1,
    describe: cost,
  },
  {
    text: "#14 L1 hit ≥ 0.3× the `await Map.get` floor",
    suite: "tiers",
    groups: /^L1 hit/,
    cachet: /^cachet/,
    peer: /^await Map\.get/,
    met: (x) => x >= 0.3,
    describe: times,
  },
  {
    text: "#14 L1 hit ≥ 1× cache-manager 7 `createCache()` default store `get`",
    suite: "tiers",
    groups: /^L1 hit/,
    cachet: /^cachet/,
    peer: /^cache-manager 7 createCache\(\)/,
    met: (x) => x >= 1,
    describe: times,
  },
  {
    text: "#14 L1 hit ≥ 3× bentocache L1 + L2 `getOrSet` hit",
    suite: "tiers",
    groups: /^L1 hit/,
    cachet: /^cachet/,
    peer: /^bentocache .*getOrSet/,
    met: (x) => x >= 3,
    describe: times,
  },
  {
    text: "#14 L2 hit through the tiers ≤ 1.1× a single-tier Redis `get`",
    suite: "tiers",
    groups: /^L2 hit/,
    cachet: /^cachet/,
    peer: /single-tier/,
    met: (x) => 1 / x <= 1.1,
    describe: (x) => `${(1 / x).toFixed(2)}× the cost`,
  },
  {
    text: "#14 L1 bytes per entry ≤ 1.5× lru-cache",
    suite: "footprint",
    groups: /./,
    cachet: /l1 tier/,
    peer: /^lru-cache/,
    met: (x) => 1 / x <= 1.5,
    describe: (x) => `${(1 / x).toFixed(2)}× lru-cache`,
  },
  {
    text: "#23 memory `get` hit (JSON) ≥ 2× bentocache",
    suite: "memory",
    groups: /^get hit/,
    cachet: /^cachet TTLCache \(JSON\)/,
    peer: /^bentocache/,
    met: (x) => x >= 2,
    describe: times,
  },
  {
    text: "#23 L1 hit ≥ 0.8× the `await Map.get` floor",
    suite: "tiers",
    groups: /^L1 hit/,
    cachet: /^cachet/,
    peer: /^await Map\.get/,
    met: (x) => x >= 0.8,
    describe: times,
  },
  {
    text: "#23 `peek` ≥ 1/3 of lru-cache `get`",
    suite: "tiers",
    groups: /^synchronous L1 hit/,
    cachet: /peek/,
    peer: /^lru-cache get/,
    met: (x) => x >= 1 / 3,
    describe: times,
  },
  {
    text: "#23 l1 bytes per entry ≤ 1.5× lru-cache untagged",
    suite: "footprint",
    groups: /./,
    cachet: /^cachet l1 tier \(/,
    peer: /^lru-cache/,
    met: (x) => 1 / x <= 1.5,
    describe: (x) => `${(1 / x).toFixed(2)}× lru-cache`,
  },
  {
    text: "#23 l1 bytes per entry ≤ 2× lru-cache tagged, or namespaced and tagged",
    suite: "footprint",
    groups: /./,
    cachet: /^cachet l1 tier, .*tag/,
    peer: /^lru-cache/,
    met: (x) => 1 / x <= 2,
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
