// The chaos suite (issue #13): `cached()` over a private Redis with a
// RedisLock, in several worker processes, while Redis fails.
//   npm run chaos [-- --quick] [--strict] [--scenario kill|stop|coherence]
// Scenarios, each on a fresh redis-server on a free loopback port:
//   kill: SIGKILL, restarted on the same port after the fault window;
//   stop: SIGSTOP for the fault window, then SIGCONT;
//   coherence: 3 processes with l1 + RedisBus, one writing, through a freeze,
//     a kill and restart and a pub/sub kill (chaos/coherence.ts): no process
//     serves a superseded value 1 s after a fault heals (--strict; past 5 s,
//     always a failure).
// Prints a table per scenario. Exits non-zero on a wrong value, an unhandled
// rejection or a worker that did not report; with --strict also on any failed
// call or a call during the fault slower than the bound (backend timeout +
// 100 ms + the origin's delay). The last line reads `chaos: N passed, M failed`
// (the checks), for scripts/test.ts. Bounded by a hard overall deadline; the
// workers and servers are killed on every exit path.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { bin, option } from "./_common.ts";
import { ChaosRedis } from "./chaos/_server.ts";
import { redisServerSkip } from "../tests/_redis_server.ts";
import { type CallRecord, type FromWorker, now, type ToWorker, type WorkerConfig } from "./chaos/_protocol.ts";
import { runCoherence } from "./chaos/coherence.ts";

type Done = Extract<FromWorker, { type: "done" }>;

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const strict = args.includes("--strict");
const only = option("--scenario");
if (only !== undefined && only !== "kill" && only !== "stop" && only !== "coherence") {
  console.error(`--scenario must be kill, stop or coherence: received ${JSON.stringify(only)}`);
  process.exit(2);
}

const missing = redisServerSkip();
if (missing !== false) {
  console.log(`chaos: skipped, ${missing}`);
  process.exit(0);
}

const run = quick
  ? { workers: 2, calls: 300, before: 1_000, after: 1_500, kill: 1_000, stop: 1_000, deadline: 80_000 }
  : { workers: 4, calls: 2_500, before: 2_500, after: 4_000, kill: 2_000, stop: 5_000, deadline: 180_000 };
const base = {
  concurrency: 32,
  keys: 200,
  ttl: 1,
  grace: 30,
  timeout: 500,
  waitTimeout: 500,
  originDelay: [1, 5] as [number, number],
  hangLimit: quick ? 5_000 : 10_000,
};
const bound = base.timeout + 100 + base.originDelay[1];

// Every process this script starts, so that every way out kills them.
const children = new Set<ChildProcess>();
const servers = new Set<ChaosRedis>();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
  for (const server of servers) server.stopNow();
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    console.error(`chaos: ${signal}, stopping`);
    process.exit(130);
  });
}
setTimeout(() => {
  console.error(`chaos: the overall deadline (${run.deadline / 1000} s) passed; stopping`);
  console.log("chaos: 0 passed, 1 failed");
  process.exit(1);
}, run.deadline).unref();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

interface Scenario {
  name: "kill" | "stop";
  title: string;
  fault: number;
}

interface Outcome {
  scenario: Scenario;
  reports: (Done | undefined)[];
  faultStart: number;
  faultEnd: number;
}

async function runScenario(scenario: Scenario): Promise<Outcome> {
  const server = await ChaosRedis.start();
  servers.add(server);
  const spread = run.before + scenario.fault + run.after;
  // One prefix for all workers of a run: they share entries and locks, as the processes of one service do.
  const prefix = `cachet-chaos:${crypto.randomUUID()}:`;
  const workers = Array.from({ length: run.workers }, (_, index) => {
    const config: WorkerConfig = {
      ...base,
      url: server.url,
      prefix,
      calls: run.calls,
      spread,
      seed: index + 1,
    };
    const child = spawn(bin("node"), [
      fileURLToPath(new URL("chaos/_worker.ts", import.meta.url)),
      JSON.stringify(config),
    ], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    children.add(child);
    let ready!: () => void;
    const readyP = new Promise<void>((resolve) => (ready = resolve));
    let report: Done | undefined;
    child.on("message", (message: FromWorker) => {
      if (message.type === "ready") ready();
      else report = message;
    });
    const done = new Promise<Done | undefined>((resolve) => {
      child.on("exit", (code, signal) => {
        children.delete(child);
        if (report === undefined) console.error(`chaos: worker ${index} exited (${signal ?? code}) without a report`);
        ready();
        resolve(report);
      });
    });
    return { child, ready: readyP, done };
  });
  await Promise.all(workers.map((w) => w.ready));
  const start = now() + 100;
  for (const { child } of workers) if (child.connected) child.send({ type: "go", start } satisfies ToWorker);
  await sleep(start + run.before - now());
  const faultStart = now();
  if (scenario.name === "kill") {
    await server.kill();
    await sleep(faultStart + scenario.fault - now());
    await server.restart();
  } else {
    server.pause(true);
    await sleep(scenario.fault);
    server.pause(false);
  }
  const faultEnd = now();
  const reports = await Promise.all(workers.map((w) => w.done));
  server.stopNow();
  servers.delete(server);
  return { scenario, reports, faultStart, faultEnd };
}

const ms = (value: number | undefined) => value === undefined ? "-" : `${Math.round(value)} ms`;

function percentile(sorted: number[], p: number): number | undefined {
  return sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

let passed = 0;
let failed = 0;
function check(ok: boolean, what: string, counted = true): void {
  if (!counted) {
    console.log(`  note ${what}`);
    return;
  }
  if (ok) passed++;
  else failed++;
  console.log(`  ${ok ? "PASS" : "FAIL"} ${what}`);
}

function summarize({ scenario, reports, faultStart, faultEnd }: Outcome): void {
  const got = reports.filter((r): r is Done => r !== undefined);
  const records: CallRecord[] = got.flatMap((r) => r.records);
  const sum = (pick: (r: Done) => number) => got.reduce((total, r) => total + pick(r), 0);
  const latency = (r: CallRecord) => r[1] - r[0];
  // A call counts as during the fault when it overlaps the window: one started before and stuck in it counts.
  const during = records.filter((r) => r[0] <= faultEnd && r[1] >= faultStart);
  const faultLatencies = during.map(latency).sort((a, b) => a - b);
  const failedCalls = records.filter((r) => r[2] === 0);
  const wrong = records.filter((r) => r[3] === 1).length;
  const unhandled = sum((r) => r.unhandled);
  // Recovery, per worker: its first cache hit after the fault ended; the slowest worker decides.
  const firstHits = got.map((r) => r.hitTimes.find((t) => t > faultEnd));
  const recovered = firstHits.every((t) => t !== undefined) && firstHits.length > 0
    ? Math.max(...firstHits.map((t) => t! - faultEnd))
    : undefined;
  const lastTrouble = Math.max(
    faultEnd,
    ...failedCalls.map((r) => r[1]),
    ...got.flatMap((r) => r.errorTimes),
  );
  const rows: [string, string][] = [
    ["calls", `${records.length} of ${run.workers * run.calls}`],
    [
      "failed calls",
      `${failedCalls.length} (${
        failedCalls.filter((r) => r[0] <= faultEnd && r[1] >= faultStart).length
      } during the fault)`,
    ],
    ["wrong values", String(wrong)],
    ["stale hits", String(sum((r) => r.staleHits))],
    ["origin calls", String(sum((r) => r.originCalls))],
    ["backend errors swallowed (fail-open)", String(sum((r) => r.swallowed))],
    ["calls during the fault", String(during.length)],
    ["max latency during the fault", ms(faultLatencies.at(-1))],
    ["p99 latency during the fault", ms(percentile(faultLatencies, 0.99))],
    ["max latency overall", ms(Math.max(0, ...records.map(latency)))],
    ["recovered (first cache hit after the fault, slowest worker)", ms(recovered)],
    ["errors stopped (last failed call or swallowed error, after the fault)", ms(lastTrouble - faultEnd)],
    ["unhandled rejections", String(unhandled)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(`\n### ${scenario.title} (fault window ${ms(faultEnd - faultStart)})\n`);
  console.log(`| ${"metric".padEnd(width)} | value |`);
  console.log(`| ${"-".repeat(width)} | ----- |`);
  for (const [name, value] of rows) console.log(`| ${name.padEnd(width)} | ${value} |`);
  const kinds = new Map<string, number>();
  for (const r of got) {
    for (const [, , ok, , error] of r.records) {
      if (ok === 0) kinds.set(r.errors[error], (kinds.get(r.errors[error]) ?? 0) + 1);
    }
  }
  if (kinds.size > 0) {
    console.log("\nfailed calls by error:");
    for (const [text, count] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`  ${count} × ${text}`);
  }
  for (const sample of got.flatMap((r) => r.unhandledSamples)) console.log(`unhandled rejection: ${sample}`);
  // Where the slow calls sit in the fault tells which wait they paid (one started just before it paid several).
  const slow = during.filter((r) => latency(r) > bound).sort((a, b) => latency(b) - latency(a));
  if (slow.length > 0) {
    const at = (t: number) => `${t < faultStart ? "" : "+"}${Math.round(t - faultStart)} ms`;
    console.log(`
${slow.length} calls during the fault over ${bound} ms; the slowest (times from the fault's start):`);
    for (const r of slow.slice(0, 5)) console.log(`  ${at(r[0])} to ${at(r[1])}: ${ms(latency(r))}`);
  }
  console.log("");
  check(got.length === run.workers, `${scenario.name}: every worker reported (${got.length}/${run.workers})`);
  check(wrong === 0, `${scenario.name}: no wrong value (${wrong})`);
  check(unhandled === 0, `${scenario.name}: no unhandled rejection (${unhandled})`);
  check(failedCalls.length === 0, `${scenario.name}: no failed call (${failedCalls.length})`, strict);
  const max = faultLatencies.at(-1) ?? 0;
  check(max <= bound, `${scenario.name}: max latency during the fault ${ms(max)} <= bound ${bound} ms`, strict);
}

const scenarios: Scenario[] = [
  { name: "kill", title: `(a) SIGKILL, restart after ${run.kill / 1000} s`, fault: run.kill },
  { name: "stop", title: `(b) SIGSTOP for ${run.stop / 1000} s, then SIGCONT`, fault: run.stop },
];
const started = performance.now();
console.log(
  `chaos${
    quick ? " (quick)" : ""
  }: ${run.workers} workers × ${run.calls} cached() calls, ${base.concurrency} concurrent, ` +
    `${base.keys} keys, ttl ${base.ttl} s, grace ${base.grace} s, failOpen on, backend timeout ${base.timeout} ms, ` +
    `RedisLock waitTimeout ${base.waitTimeout} ms, origin ${base.originDelay.join("-")} ms; ` +
    `latency bound ${base.timeout} + 100 + ${base.originDelay[1]} = ${bound} ms${strict ? " (strict)" : ""}`,
);
try {
  for (const scenario of scenarios) {
    if (only === undefined || only === scenario.name) summarize(await runScenario(scenario));
  }
  if (only === undefined || only === "coherence") await runCoherence({ quick, strict, children, servers, check });
} catch (error) {
  console.error("chaos: the run broke:", error);
  failed++;
}
console.log(`\nchaos: ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log(`chaos: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
