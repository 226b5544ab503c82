// Shared measuring and reporting for the benchmark suites: each suite module
// exports `run(options)` returning a SuiteResult; run.ts prints, saves and charts them.
import process from "node:process";
import { Bench } from "tinybench";

/** What every suite receives. */
export interface SuiteOptions {
  /** Smoke mode: tiny time budgets and sizes, to prove the suite still runs. */
  quick: boolean;
  /** Only cachet's own cases (used under Deno and Bun). */
  cachetOnly: boolean;
}

/** One row of a result table. */
export interface Row {
  /** The operation compared, e.g. "get hit". Ratios are computed within a group. */
  group: string;
  /** Who was measured, e.g. "lru-cache". */
  peer: string;
  /** Whether the row measures cachet (the reference of the ratios). */
  cachet: boolean;
  /** The figure the chart and the ratios use. */
  value: number;
  /** Its unit, e.g. "ops/s" or "bytes/entry". */
  unit: string;
  /** Whether a larger value is better (throughput) or worse (bytes). */
  higherIsBetter: boolean;
  /** Mean latency of one operation, in nanoseconds (throughput rows only). */
  meanNs?: number;
  /** 99th percentile latency of one operation, in nanoseconds (throughput rows only). */
  p99Ns?: number;
  /** Relative margin of error of the mean, in percent. */
  rme?: number;
  /** Anything the reader should know about this row. */
  note?: string;
}

/** What one suite produced. */
export interface SuiteResult {
  suite: string;
  title: string;
  runtime: string;
  rows: Row[];
  notes: string[];
}

/** One benchmarked case: `fn` performs `ops` operations per call. */
export interface Case {
  group: string;
  peer: string;
  cachet?: boolean;
  ops: number;
  fn: () => unknown;
  note?: string;
}

/** The name and version of the JavaScript runtime running this process. */
export function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

/**
 * Measures the cases with tinybench (warm-up included), `rounds` times with
 * the order rotated each round, and keeps each case's median round, so a
 * burst of load from elsewhere on the machine skews one round, not the result.
 *
 * Operations far below the timer's resolution are timed in batches of
 * `case.ops`: the mean is the batch time divided by `ops`, and the p99 is the
 * 99th percentile over batches of that per-operation time.
 */
export async function measure(
  cases: Case[],
  options: SuiteOptions & { time?: number; rounds?: number },
): Promise<Row[]> {
  const rounds = options.quick ? 1 : (options.rounds ?? 3);
  const time = options.quick ? 20 : (options.time ?? 400);
  const perCase = new Map<Case, { meanMs: number; p99Ms: number; rme: number }[]>();
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({
      time,
      warmupTime: options.quick ? 5 : time / 2,
      iterations: options.quick ? 2 : 16,
      warmupIterations: options.quick ? 1 : 8,
      throws: true,
    });
    const order = cases.map((_, i) => cases[(i + round) % cases.length]);
    for (const [i, c] of order.entries()) bench.add(String(i), c.fn);
    await bench.run();
    for (const [i, task] of bench.tasks.entries()) {
      const result = task.result;
      if (result.state !== "completed") {
        throw new Error(`benchmark ${order[i].peer} / ${order[i].group} did not complete: ${result.state}`);
      }
      const list = perCase.get(order[i]) ?? [];
      list.push({ meanMs: result.latency.mean, p99Ms: result.latency.p99, rme: result.latency.rme });
      perCase.set(order[i], list);
    }
  }
  return cases.map((c) => {
    const list = perCase.get(c)!.sort((a, b) => a.meanMs - b.meanMs);
    const median = list[Math.floor(list.length / 2)];
    return {
      group: c.group,
      peer: c.peer,
      cachet: c.cachet ?? false,
      value: (c.ops * 1000) / median.meanMs,
      unit: "ops/s",
      higherIsBetter: true,
      meanNs: (median.meanMs * 1e6) / c.ops,
      p99Ns: (median.p99Ms * 1e6) / c.ops,
      rme: median.rme,
      note: c.note,
    };
  });
}

/** Throws when `condition` is false: a benchmark that measures the wrong thing must fail, not report. */
export function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`benchmark sanity check failed: ${message}`);
}

/** Forces a full garbage collection (Node and Deno need `--expose-gc`). */
export function collectGarbage(): void {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun) g.Bun.gc(true);
  else if (g.gc) {
    g.gc();
    g.gc();
  } else throw new Error("garbage collection is not exposed: run with --expose-gc");
}

/** Bytes in use by the JS heap plus memory held outside it by ArrayBuffers. */
export function heapBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

// ---------------------------------------------------------------- output

/** The ratio cachet ÷ peer for `row` against one cachet row of its group, oriented so > 1 means cachet is better. */
export function advantage(cachet: Row, row: Row): number {
  return cachet.higherIsBetter ? cachet.value / row.value : row.value / cachet.value;
}

/** 1234567 -> "1.23M". */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (abs >= 100 || Number.isInteger(n)) return n.toFixed(0);
  return n.toFixed(2);
}

/** 1234 ns -> "1.23 µs". */
export function formatDuration(ns: number | undefined): string {
  if (ns === undefined) return "";
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(ns >= 100 ? 0 : 1)} ns`;
}

/**
 * Renders a suite as Markdown tables, one per group: value, mean, p99 and,
 * for every cachet row of the group, its advantage over each row: how many
 * times better it is (ops/s ÷ ops/s, or bytes ÷ bytes for lower-is-better rows).
 */
export function markdownTable(result: SuiteResult): string {
  const lines: string[] = [];
  for (const group of groups(result.rows)) {
    const rows = result.rows.filter((r) => r.group === group);
    const refs = rows.filter((r) => r.cachet);
    const throughput = rows[0].unit === "ops/s";
    const header = ["`" + group + "`", throughput ? "ops/s" : rows[0].unit];
    if (throughput) header.push("mean", "p99");
    for (const ref of refs) header.push(`${ref.peer} advantage`);
    lines.push(`| ${header.join(" | ")} |`, `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
    for (const row of rows) {
      const cells = [row.peer + (row.note ? ` (${row.note})` : ""), formatNumber(row.value)];
      if (throughput) cells.push(formatDuration(row.meanNs), formatDuration(row.p99Ns));
      for (const ref of refs) cells.push(ref === row ? "—" : `${advantage(ref, row).toFixed(2)}×`);
      lines.push(`| ${cells.join(" | ")} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

function groups(rows: Row[]): string[] {
  return [...new Set(rows.map((r) => r.group))];
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * Renders a suite as a horizontal bar chart: one block per group, bars scaled
 * to the group's largest value, cachet's bars highlighted.
 */
export function svgChart(result: SuiteResult, subtitle: string): string {
  // About 6.5 px per character of 12 px system-ui text.
  const labelWidth = Math.max(160, 16 + 6.5 * Math.max(...result.rows.map((r) => r.peer.length)));
  const width = labelWidth + 520;
  const barMax = width - labelWidth - 130;
  const barHeight = 18;
  const gap = 6;
  const parts: string[] = [];
  let y = 52;
  for (const group of groups(result.rows)) {
    const rows = result.rows.filter((r) => r.group === group);
    const max = Math.max(...rows.map((r) => r.value));
    const min = Math.min(...rows.map((r) => r.value));
    // Async caches and a bare Map differ by 100×: a log scale keeps every bar readable.
    const log = min > 0 && max / min > 20;
    const floor = min / 3;
    const scale = (v: number) => (log ? Math.log(v / floor) / Math.log(max / floor) : v / max);
    const better = rows[0].higherIsBetter ? "higher is better" : "lower is better";
    parts.push(
      `<text x="10" y="${y + 14}" class="group">${escapeXml(group)} (${escapeXml(rows[0].unit)}, ${better}${
        log ? ", log scale" : ""
      })</text>`,
    );
    y += 24;
    for (const row of rows) {
      const w = Math.max(1, scale(row.value) * barMax);
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 13}" class="label" text-anchor="end">${escapeXml(row.peer)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" class="${
          row.cachet ? "cachet" : "peer"
        }"/>`,
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 13}" class="value">${
          escapeXml(formatNumber(row.value))
        }</text>`,
      );
      y += barHeight + gap;
    }
    y += 10;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" viewBox="0 0 ${width} ${y + 10}" ` +
    `font-family="system-ui, sans-serif" font-size="12">`,
    "<style>.title{font-size:15px;font-weight:600}.group{font-weight:600}.cachet{fill:#d9480f}" +
    ".peer{fill:#868e96}.label,.value{fill:#212529}.sub{fill:#495057}</style>",
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" class="title">${escapeXml(result.title)}</text>`,
    `<text x="10" y="38" class="sub">${escapeXml(subtitle)}</text>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
