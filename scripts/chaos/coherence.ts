// The coherence scenario of the chaos suite (issue #18): 3 processes, each a
// TTLCache with an in-process tier over one private Redis, kept coherent by a
// RedisBus. One process writes (sets, deletes, deleteTags, namespace clears,
// one at a time on a fixed schedule) and all three read every key in a loop,
// while Redis is frozen (SIGSTOP), killed and restarted, and the pub/sub
// connections are killed (CLIENT KILL TYPE pubsub). After each fault heals, no
// process may serve a superseded value more than `bound` ms later: see
// _coherence_check.ts for the exact rule. Run by scripts/chaos.ts.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { bin } from "../_common.ts";
import { rawClient } from "../../tests/_redis_server.ts";
import { ChaosRedis } from "./_server.ts";
import { now } from "./_protocol.ts";
import {
  type ChildConfig,
  type FromChild,
  keyName,
  type Layout,
  namespaceName,
  OP_KINDS,
  tagOf,
  type ToChild,
} from "./_coherence_protocol.ts";
import { BEFORE, type Fault, judge, type Violation } from "./_coherence_check.ts";

type Done = Extract<FromChild, { type: "done" }>;

/** What the scenario needs of the suite that runs it. */
export interface CoherenceHost {
  quick: boolean;
  strict: boolean;
  /** Every process and server started is added here, so that every way out of the suite ends them. */
  children: Set<ChildProcess>;
  servers: Set<ChaosRedis>;
  /** Records a check (counted: a failure fails the run; else printed as a note). */
  check(ok: boolean, what: string, counted?: boolean): void;
}

const PROCESSES = 3;
// The promise of issue #18: a superseded value is gone from every process this long after the fault healed.
const BOUND_MS = 1_000;
// Served this long past its due time, a superseded value was not merely late: its invalidation was lost.
const LOST_MS = 5_000;
// The writer leaves the quiet (odd) keys alone from each heal until this long before the next fault.
const QUIET_UNTIL_MS = 1_000;
const LAYOUT: Layout = { keys: 12, namespaced: 4, tags: 4, namespaces: 2 };

/** The settings of a run, for the suite's header line. */
export function coherenceSettings(quick: boolean) {
  return quick
    ? { warm: 1_500, freeze: 1_500, kill: 1_000, gap: 3_000, timeout: 500, writeEveryMs: 25, readPauseMs: 5 }
    : { warm: 3_000, freeze: 5_000, kill: 2_000, gap: 5_000, timeout: 500, writeEveryMs: 20, readPauseMs: 3 };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function startProcess(host: CoherenceHost, config: ChildConfig) {
  const child = spawn(bin("node"), [
    fileURLToPath(new URL("_coherence_child.ts", import.meta.url)),
    JSON.stringify(config),
  ], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  host.children.add(child);
  let ready!: () => void;
  const readyP = new Promise<void>((resolve) => (ready = resolve));
  let report: Done | undefined;
  child.on("message", (message: FromChild) => {
    if (message.type === "ready") ready();
    else report = message;
  });
  const done = new Promise<Done | undefined>((resolve) => {
    child.on("exit", (code, signal) => {
      host.children.delete(child);
      if (report === undefined) {
        console.error(`coherence: process ${config.seed} exited (${signal ?? code}) without a report`);
      }
      ready();
      resolve(report);
    });
  });
  const say = (message: ToChild) => {
    if (child.connected) child.send(message);
  };
  return { child, ready: readyP, done, say };
}

/** Runs the scenario and records its checks with `host.check`. */
export async function runCoherence(host: CoherenceHost): Promise<void> {
  const run = coherenceSettings(host.quick);
  const server = await ChaosRedis.start();
  host.servers.add(server);
  const prefix = `cachet-chaos-coherence:${crypto.randomUUID()}:`;
  const processes = Array.from({ length: PROCESSES }, (_, index) =>
    startProcess(host, {
      ...LAYOUT,
      url: server.url,
      prefix,
      writer: index === 0,
      timeout: run.timeout,
      writeEveryMs: run.writeEveryMs,
      readPauseMs: run.readPauseMs,
      seed: index + 1,
    }));
  const faults: Fault[] = [];
  let start = 0;
  try {
    await Promise.all(processes.map((p) => p.ready));
    start = now() + 100;
    for (const p of processes) p.say({ type: "go", start });
    // At a fault's start, the last process stops reading (a process without traffic meanwhile) until it heals,
    // when the writer starts leaving the quiet keys alone (see Layout).
    const began = () => {
      processes[PROCESSES - 1].say({ type: "idle", on: true });
      return now();
    };
    const healed = (name: string, start: number) => {
      processes[PROCESSES - 1].say({ type: "idle", on: false });
      processes[0].say({ type: "quiet", on: true });
      faults.push({ name, start, heal: now() });
    };
    const nextFaultIn = async (ms: number) => {
      await sleep(ms - QUIET_UNTIL_MS);
      processes[0].say({ type: "quiet", on: false });
      await sleep(QUIET_UNTIL_MS);
    };
    await sleep(start + run.warm - now());

    let at = began();
    server.pause(true);
    await sleep(run.freeze);
    server.pause(false);
    healed("freeze", at);
    await nextFaultIn(run.gap);

    at = began();
    await server.kill();
    await sleep(at + run.kill - now());
    await server.restart();
    healed("kill+restart", at);
    await nextFaultIn(run.gap);

    const admin = rawClient(server.url);
    try {
      await admin.ping();
      at = now();
      const killed = Number(await admin.client("KILL", "TYPE", "pubsub"));
      processes[0].say({ type: "quiet", on: true });
      faults.push({ name: "pubsub kill", start: at, heal: at });
      host.check(
        killed >= PROCESSES,
        `coherence: CLIENT KILL TYPE pubsub killed ${killed} connections (>= ${PROCESSES})`,
      );
    } finally {
      admin.disconnect();
    }
    await sleep(run.gap);
  } finally {
    for (const p of processes) p.say({ type: "stop" });
    const reported = Promise.all(processes.map((p) => p.done));
    // A process that does not report within 10 s is ended: its missing report is a failed check below.
    const timer = setTimeout(() => processes.forEach((p) => p.child.kill("SIGKILL")), 10_000);
    await reported;
    clearTimeout(timer);
    server.stopNow();
    host.servers.delete(server);
  }
  summarize(host, start, faults, await Promise.all(processes.map((p) => p.done)));
}

const seconds = (t: number, start: number) => `+${((t - start) / 1000).toFixed(3)} s`;

function summarize(host: CoherenceHost, start: number, faults: Fault[], reports: (Done | undefined)[]): void {
  const { check, strict } = host;
  const got = reports.filter((r): r is Done => r !== undefined);
  check(got.length === PROCESSES, `coherence: every process reported (${got.length}/${PROCESSES})`);
  const writer = reports[0];
  if (writer === undefined || got.length !== PROCESSES) return;
  const writes = writer.writes;
  const { violations, judged, latest, impossible } = judge(
    LAYOUT,
    writes,
    reports.map((r) => r!.reads),
    faults,
    BOUND_MS,
  );

  const phases = [BEFORE, ...faults.map((f) => f.name)];
  const phaseOf = (t: number) => faults.findLast((f) => f.start <= t)?.name ?? BEFORE;
  const late = (v: Violation) => v.at - (v.due - BOUND_MS);
  const rows: string[][] = phases.map((phase) => {
    const inPhase = writes.filter((w) => phaseOf(w[3]) === phase);
    const mine = violations.filter((v) => v.phase === phase);
    const episodes = new Set(mine.map((v) => `${v.process}:${v.key}:${v.value}`)).size;
    const fault = faults.find((f) => f.name === phase);
    return [
      phase,
      fault === undefined ? "-" : `${Math.round(fault.heal - fault.start)} ms`,
      `${inPhase.length} (${inPhase.filter((w) => w[5] === 0).length} failed)`,
      String(judged.get(phase) ?? 0),
      String(got.reduce((n, r) => n + r.readErrors.filter((t) => phaseOf(t) === phase).length, 0)),
      latest.has(phase) ? `${Math.round(late(latest.get(phase)!))} ms` : "-",
      String(episodes),
    ];
  });
  const header = [
    "phase",
    "fault",
    "writes",
    "reads judged",
    "read errors",
    "superseded value served until",
    `stale values past ${BOUND_MS} ms`,
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(
    `\n### (c) coherence: ${PROCESSES} processes (l1 + RedisBus; process 0 also writes, process ${
      PROCESSES - 1
    } does not read during the faults), ` +
      `${LAYOUT.keys} keys (${LAYOUT.namespaced} in ${LAYOUT.namespaces} namespaces, ${LAYOUT.tags} tags; ` +
      `the odd ones left alone from each heal until 1 s before the next fault)\n`,
  );
  console.log(line(header));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(row));
  const reads = got.reduce((n, r) => n + r.readCount, 0);
  const l1Hits = got.map((r) => r.l1Hits);
  console.log(
    `\n${reads} reads (${l1Hits.join(", ")} l1 hits per process). Superseded value served until: the latest read ` +
      `(outside the fault itself) of a value after the write superseding it returned or failed, or after the heal ` +
      `for a write that returned during the fault or up to ${BOUND_MS} ms before it. Stale values past ` +
      `${BOUND_MS} ms: distinct process, key and value served later than that (the reads judged exclude the fault ` +
      `and the ${BOUND_MS} ms after it heals).`,
  );
  for (const r of got) {
    const events = r.busEvents.map(([kind, t]) => `${kind} ${seconds(t, start)}`).join(", ");
    console.log(`process ${got.indexOf(r)}: bus ${events || "(no down/up)"}; ${r.swallowed} backend errors swallowed`);
  }
  const byEpisode = new Map<string, Violation>();
  for (const v of violations) {
    const id = `${v.process}:${v.key}:${v.value}`;
    const seen = byEpisode.get(id);
    if (seen === undefined || v.at > seen.at) byEpisode.set(id, v);
  }
  const describe = (v: Violation) => {
    const [op, kind, target, , end, ok] = v.by;
    const what = OP_KINDS[kind] === "deleteTags"
      ? `deleteTags ${tagOf(target)}`
      : OP_KINDS[kind] === "clearNamespace"
      ? `clear of namespace ${namespaceName(target)}`
      : `${OP_KINDS[kind]} ${keyName(target)}`;
    return `process ${v.process} served ${keyName(v.key)} = ${v.value} at ${seconds(v.at, start)} (${v.phase}); ` +
      `op ${op} (${what}) ${ok ? "returned" : "failed"} at ${seconds(end, start)}, due ${seconds(v.due, start)}: ` +
      `${Math.round(late(v))} ms after`;
  };
  for (const v of latest.values()) console.log(`  latest superseded read: ${describe(v)}`);
  const worst = [...byEpisode.values()].sort((a, b) => late(b) - late(a)).slice(0, 8);
  for (const v of worst) console.log(`  stale: ${describe(v)}`);
  // Writes that failed outside the faults and the second after each: the machine's load, or a fault of its own.
  const outside = writes.filter((w) => w[5] === 0 && !faults.some((f) => w[4] >= f.start && w[3] <= f.heal + BOUND_MS));
  for (const w of outside.slice(0, 5)) {
    console.log(
      `  failed outside the faults: op ${w[0]} (${OP_KINDS[w[1]]}) ${seconds(w[3], start)} to ` +
        `${seconds(w[4], start)}: ${writer.errors[w[6]!]}`,
    );
  }
  for (const x of impossible.slice(0, 5)) {
    console.log(`  impossible: process ${x.process} served ${keyName(x.key)} = ${x.value} at ${seconds(x.at, start)}`);
  }
  console.log("");

  const unhandled = got.reduce((n, r) => n + r.unhandled, 0);
  check(unhandled === 0, `coherence: no unhandled rejection (${unhandled})`);
  check(impossible.length === 0, `coherence: no value that no set of that key wrote (${impossible.length})`);
  // The scenario proves something only if the faults made writes fail (owed) and readers held copies to invalidate.
  for (const fault of faults.filter((f) => f.start < f.heal)) {
    const failed = writes.filter((w) => w[5] === 0 && w[4] >= fault.start && w[3] <= fault.heal).length;
    check(failed > 0, `coherence: ${fault.name}: writes failed or timed out during the fault (${failed})`);
  }
  check(l1Hits.every((n) => n > 0), `coherence: every process served l1 hits (${l1Hits.join(", ")})`);
  for (const phase of phases) {
    const mine = violations.filter((v) => v.phase === phase);
    const episodes = new Set(mine.map((v) => `${v.process}:${v.key}:${v.value}`)).size;
    const lost = new Set(mine.filter((v) => late(v) > LOST_MS).map((v) => `${v.process}:${v.key}:${v.value}`)).size;
    check((judged.get(phase) ?? 0) > 0, `coherence: ${phase}: reads judged (${judged.get(phase) ?? 0})`);
    check(episodes === 0, `coherence: ${phase}: no superseded value served past ${BOUND_MS} ms (${episodes})`, strict);
    check(lost === 0, `coherence: ${phase}: no superseded value served past ${LOST_MS} ms (${lost})`);
  }
}
