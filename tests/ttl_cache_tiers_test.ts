// The two tiers across processes and threads: TTLCache's in-process tier (l1) over a shared Redis, kept coherent by
// RedisBus between OS processes and by BroadcastChannelBus between worker threads, on a private redis-server.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import process from "node:process";
import type { Redis } from "ioredis";
import {
  rawClient,
  type RedisServer,
  redisServerSkip,
  runtimeCommand,
  sleep,
  startRedisServer,
  uniquePrefix,
} from "./_redis_server.ts";

const KEYS = ["k0", "k1", "k2"];
const LATENCY_BOUND_MS = 50;

type Line = Record<string, unknown> & { t: string };

/** A child process of _tiers_child.ts: its stdout JSON lines, in order. */
interface Child {
  readonly name: string;
  readonly lines: Line[];
  send(command: string): void;
  /** Waits until a line matches, at most `ms`; fails with what the child said otherwise. */
  waitFor(predicate: (line: Line) => boolean, ms: number): Promise<Line>;
  readonly exited: Promise<void>;
  kill(): void;
}

function startChild(name: string, settings: Record<string, unknown>): Child {
  const { command, args } = runtimeCommand(fileURLToPath(new URL("./_tiers_child.ts", import.meta.url)));
  const proc: ChildProcess = spawn(command, [...args, JSON.stringify(settings)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines: Line[] = [];
  let stderr = "";
  let buffered = "";
  proc.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let end;
    while ((end = buffered.indexOf("\n")) >= 0) {
      const text = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      try {
        lines.push(JSON.parse(text));
      } catch {
        stderr += `${text}\n`;
      }
    }
  });
  proc.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // A child that already exited has closed its stdin: a late "stop" is moot.
  proc.stdin!.on("error", () => {});
  let done = false;
  const exited = new Promise<void>((resolve) =>
    proc.once("exit", () => {
      done = true;
      resolve();
    })
  );
  return {
    name,
    lines,
    send(command) {
      if (!done) proc.stdin!.write(`${command}\n`);
    },
    async waitFor(predicate, ms) {
      const until = Date.now() + ms;
      for (;;) {
        const found = lines.find(predicate);
        if (found !== undefined) return found;
        if (done || Date.now() > until) {
          throw new Error(
            `${name}: no expected line within ${ms} ms (exited: ${done})\nstderr: ${stderr.slice(-2000)}`,
          );
        }
        await sleep(10);
      }
    },
    exited,
    kill() {
      // process.kill(pid) rather than proc.kill(): see _redis_server.ts.
      try {
        if (!done) process.kill(proc.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
    },
  };
}

/** Starts a writer and two readers on `server`, runs `body`, and always ends the three processes. */
async function withProcesses(
  server: RedisServer,
  writer: Record<string, unknown>,
  body: (writer: Child, readers: Child[]) => Promise<void>,
): Promise<void> {
  const common = { url: server.url, prefix: uniquePrefix("tiers"), keys: KEYS, steps: 0, intervalMs: 0, maxMs: 60_000 };
  const children = [
    startChild("writer", { ...common, role: "writer", ...writer }),
    startChild("reader 1", { ...common, role: "reader", source: writer.source }),
    startChild("reader 2", { ...common, role: "reader", source: writer.source }),
  ];
  try {
    // Starting three runtimes on a loaded 2-core machine takes a while.
    for (const child of children) await child.waitFor((l) => l.t === "ready", 30_000);
    await body(children[0], children.slice(1));
  } finally {
    for (const child of children) child.send("stop");
    await Promise.race([Promise.all(children.map((c) => c.exited)), sleep(5_000)]);
    for (const child of children) child.kill();
    await Promise.all(children.map((c) => c.exited));
  }
}

interface Op {
  op: string;
  key: string;
  state: number | null;
  start: number;
  done: number;
}

const ops = (writer: Child) => writer.lines.filter((l) => l.t === "op") as unknown as Op[];
const seen = (reader: Child) =>
  reader.lines.filter((l) => l.t === "seen") as unknown as { key: string; state: number | null; at: number }[];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

/**
 * Per op kind, how long after the write completed each reader first saw its result or a later op's (0 when it saw it
 * sooner, as a reader without an l1 copy can). A version that the next write replaced before a stalled reader looked
 * again is covered by that reader's first view of a later version: the reader never served it stale, and the wait
 * until that view counts. An op followed by no such view counts as Infinity.
 */
function latencies(writer: Child, readers: Child[]): Map<string, number[]> {
  const byOp = new Map<string, number[]>();
  for (const reader of readers) {
    for (const key of KEYS) {
      const views = seen(reader).filter((s) => s.key === key);
      const keyOps = ops(writer).filter((o) => o.key === key);
      // A view shows op k's result when it has k's state and came after k began (deletes share the state null).
      const covers = (view: { state: number | null; at: number }, j: number) =>
        keyOps.slice(j).some((later) => later.state === view.state && view.at >= later.start);
      let from = 0;
      keyOps.forEach((op, j) => {
        const index = views.findIndex((v, i) => i >= from && covers(v, j));
        const list = byOp.get(op.op) ?? byOp.set(op.op, []).get(op.op)!;
        if (index < 0) {
          list.push(Infinity);
          return;
        }
        list.push(Math.max(0, views[index].at - op.done));
        from = index;
      });
    }
  }
  return byOp;
}

/** Reads per second of all readers together. */
function readRate(readers: Child[]): number {
  let rate = 0;
  for (const reader of readers) {
    const { reads, ms } = reader.lines.find((l) => l.t === "reads") as unknown as { reads: number; ms: number };
    rate += reads / (ms / 1000);
  }
  return rate;
}

/** Checks that after each reader's bus reported up, it read nothing older than the writes completed before that. */
function checkNoStaleAfterUp(writer: Child, readers: Child[], allowMiss: boolean): number {
  const completed = ops(writer);
  let checked = 0;
  for (const reader of readers) {
    const lines = reader.lines;
    const ups = lines.map((l, i) => [l, i] as const).filter(([l]) => l.t === "up");
    assert.ok(ups.length > 0, `${reader.name}: its bus never reported up`);
    for (const [up, index] of ups) {
      for (const key of KEYS) {
        // Strictly earlier: at equal milliseconds the order of the two events is unknown.
        const floor = Math.max(
          0,
          ...completed.filter((o) => o.key === key && o.done < (up.at as number)).map((o) => o.state ?? 0),
        );
        for (const line of lines.slice(index + 1)) {
          if (line.t !== "seen" || line.key !== key) continue;
          checked++;
          if (line.state === null && allowMiss) continue;
          assert.ok(
            line.state !== null && (line.state as number) >= floor,
            `${reader.name} read ${key} = ${line.state} at ${line.at}, after its bus came back at ${up.at}, ` +
              `when version ${floor} had been written`,
          );
        }
      }
    }
  }
  return checked;
}

describe("TTLCache tiers across 3 processes over a private Redis (RedisBus)", { skip: redisServerSkip() }, () => {
  acrossProcesses("bus");
});

// The same with the server's own invalidations (CLIENT TRACKING) instead of the bus: the pub/sub connections killed
// are the trackings' invalidation connections.
describe("TTLCache tiers across 3 processes over a private Redis (RedisTracking)", { skip: redisServerSkip() }, () => {
  acrossProcesses("tracking");
});

function acrossProcesses(source: "bus" | "tracking"): void {
  let server: RedisServer;
  let admin: Redis;
  before(async () => {
    server = await startRedisServer();
    admin = rawClient(server.url);
  });
  after(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it(`makes set, delete and deleteTags visible in the other processes' l1 within ${LATENCY_BOUND_MS} ms at p99`, async () => {
    const measure = async () => {
      let result: { byOp: Map<string, number[]>; rate: number } | undefined;
      await withProcesses(server, { mode: "sequence", steps: 300, intervalMs: 20, source }, async (writer, readers) => {
        for (const reader of readers) reader.send("go");
        // Every reader has seen every key once (its l1 holds version 0) before the first write.
        for (const reader of readers) {
          for (const key of KEYS) await reader.waitFor((l) => l.t === "seen" && l.key === key && l.state === 0, 10_000);
        }
        writer.send("go");
        await writer.waitFor((l) => l.t === "finished", 30_000);
        await sleep(300);
        for (const reader of readers) reader.send("stop");
        for (const reader of readers) await reader.waitFor((l) => l.t === "reads", 10_000);
        result = { byOp: latencies(writer, readers), rate: readRate(readers) };
      });
      const all = [...result!.byOp.values()].flat().sort((a, b) => a - b);
      const summary = [...result!.byOp].map(([op, list]) => {
        const sorted = list.sort((a, b) => a - b);
        return {
          op,
          n: sorted.length,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          max: sorted.at(-1)!,
        };
      });
      console.log(
        `invalidation latency (ms, write completed -> reader sees it) at ${Math.round(result!.rate)} reads/s: ` +
          `all n=${all.length} p50=${percentile(all, 0.5)} p99=${percentile(all, 0.99)} max=${all.at(-1)}; ` +
          summary.map((s) => `${s.op} n=${s.n} p50=${s.p50} p99=${s.p99} max=${s.max}`).join("; "),
      );
      return { summary, rate: result!.rate };
    };
    let { summary, rate } = await measure();
    // One retry of the measurement: a 2-core machine shared with other jobs can stall a process for a while.
    if (summary.some((s) => s.p99 > LATENCY_BOUND_MS)) {
      console.log("p99 above the bound: measuring once more");
      ({ summary, rate } = await measure());
    }
    assert.ok(rate >= 1000, `the readers made ${Math.round(rate)} reads/s, fewer than 1,000`);
    assert.deepEqual(summary.map((s) => s.op).sort(), ["delete", "deleteTags", "set"]);
    for (const { op, p99 } of summary) {
      assert.ok(p99 <= LATENCY_BOUND_MS, `${op}: p99 ${p99} ms > ${LATENCY_BOUND_MS} ms`);
    }
  });

  /** Runs a continuous writer and two readers, with `fault` done while writes continue. */
  async function underFault(fault: () => Promise<void>, allowMiss: boolean): Promise<void> {
    const continuous = { mode: "continuous", steps: 5_000, intervalMs: 5, source };
    await withProcesses(server, continuous, async (writer, readers) => {
      for (const reader of readers) reader.send("go");
      writer.send("go");
      await writer.waitFor((l) => l.t === "op" && (l.state as number) > 60, 10_000);
      const faultAt = Date.now();
      await fault();
      for (const reader of readers) {
        await reader.waitFor((l) => l.t === "up" && (l.at as number) >= faultAt, 15_000);
      }
      // Writes go on for a while after the restore.
      const last = ops(writer).length;
      await writer.waitFor((l) => l.t === "op" && ops(writer).length > last + 100, 10_000);
      writer.send("stop");
      await writer.waitFor((l) => l.t === "finished", 10_000);
      await sleep(300);
      for (const reader of readers) reader.send("stop");
      for (const reader of readers) await reader.waitFor((l) => l.t === "reads", 10_000);
      for (const reader of readers) {
        assert.ok(reader.lines.some((l) => l.t === "down"), `${reader.name}: its bus never reported down`);
      }
      const checked = checkNoStaleAfterUp(writer, readers, allowMiss);
      // After the writes stopped, every reader converged on the last version of every key.
      for (const reader of readers) {
        for (const key of KEYS) {
          const lastWrite = ops(writer).filter((o) => o.key === key).at(-1)!;
          const lastSeen = seen(reader).filter((s) => s.key === key).at(-1)!;
          assert.equal(lastSeen.state, lastWrite.state, `${reader.name} ended on ${key} = ${lastSeen.state}`);
        }
      }
      console.log(
        `${ops(writer).length} writes, ${checked} changes of value read after the bus came back, all checked ` +
          `(${Math.round(readRate(readers))} reads/s)`,
      );
    });
  }

  it("serves nothing older than the last completed write once the pub/sub connections come back", async () => {
    await underFault(async () => {
      const killed = await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
      assert.ok(Number(killed) >= 3, `CLIENT KILL TYPE pubsub killed ${killed} connections`);
    }, false);
  });

  it("serves nothing older than the last completed write when only the readers' pub/sub connections drop", async () => {
    // The writer's bus stays up, so what it publishes meanwhile is lost for the readers: only dropping their l1 on
    // up() keeps them from serving their old copies.
    await underFault(async () => {
      const list = String(await admin.call("CLIENT", "LIST", "TYPE", "pubsub"));
      const ids = [...list.matchAll(/^id=(\d+) .*name=cachet-tiers-reader /gm)].map((m) => m[1]);
      assert.equal(ids.length, 2, `the readers' pub/sub connections:\n${list}`);
      for (const id of ids) await admin.client("KILL", "ID", id);
    }, false);
  });

  it("serves nothing older than the last completed write after the server is killed and restarted", async () => {
    await underFault(async () => {
      await server.kill();
      await sleep(300);
      await server.restart();
    }, true);
  });
}

/** A worker of _tiers_worker.ts, driven by request/reply messages. */
function startWorker(workerData: Record<string, unknown>) {
  const worker = new Worker(new URL("./_tiers_worker.ts", import.meta.url), { workerData });
  let next = 0;
  const pending = new Map<number, (reply: Record<string, unknown>) => void>();
  const errors: unknown[] = [];
  // A worker first loads (on Deno: type-checks and compiles) the library and ioredis, which took over 10 s on a loaded
  // 2-core machine: requests wait for its "ready", under a bound of its own, so that their bound measures only them.
  let signalReady = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start within 60 s: ${errors}`)), 60_000);
    signalReady = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  ready.catch(() => {}); // handled by every call(), which awaits it
  worker.on("message", (reply: { id?: number; ready?: true }) => {
    if (reply.ready) return signalReady();
    pending.get(reply.id!)?.(reply);
    pending.delete(reply.id!);
  });
  worker.on("error", (error) => errors.push(error));
  return {
    async call(request: Record<string, unknown>): Promise<Record<string, unknown>> {
      await ready;
      const id = next++;
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no reply to ${JSON.stringify(request)}: ${errors}`)), 20_000);
        pending.set(id, (reply) => {
          clearTimeout(timer);
          if (reply.error !== undefined) reject(new Error(String(reply.error)));
          else resolve(reply);
        });
        worker.postMessage({ id, ...request });
      });
    },
    async stop(): Promise<void> {
      await this.call({ op: "close" }).catch(() => {});
      await worker.terminate();
    },
  };
}

describe("TTLCache tiers across worker threads (BroadcastChannelBus over a private Redis)", {
  skip: redisServerSkip(),
}, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer();
  });
  after(() => server?.stop());

  it("a write in one worker invalidates the other worker's l1", async () => {
    const shared = { url: server.url, prefix: uniquePrefix("tiers-bc"), name: `tiers:${crypto.randomUUID()}` };
    const a = startWorker(shared);
    const b = startWorker(shared);
    try {
      const get = async (w: typeof a, key: string) =>
        (await w.call({ op: "get", key })) as { value: unknown; control: unknown; l1Hits: number };
      /** Reads through `w` until it sees `value`; returns how long that took. */
      const until = async (w: typeof a, key: string, value: unknown): Promise<number> => {
        const start = performance.now();
        for (let i = 0; i < 400; i++) {
          if ((await get(w, key)).value === value) return performance.now() - start;
          await sleep(5);
        }
        assert.fail(`the worker still did not see ${key} = ${value} after 400 reads`);
      };
      /** Reads `key` twice through `w`: the second read must come from its l1. */
      const warm = async (w: typeof a, key: string, value: unknown) => {
        assert.equal((await get(w, key)).value, value);
        const before = (await get(w, key)).l1Hits;
        const again = await get(w, key);
        assert.equal(again.value, value);
        assert.equal(again.l1Hits, before + 1, "the read was an l1 hit");
      };
      await a.call({ op: "set", key: "k", value: 1, tags: ["t"] });
      await warm(b, "k", 1);
      assert.equal((await get(b, "k")).control, 1);
      const waits: number[] = [];
      await a.call({ op: "set", key: "k", value: 2, tags: ["t"] });
      waits.push(await until(b, "k", 2));
      // The same worker's cache without a bus still serves its l1 copy: only the bus made b see the change.
      assert.equal((await get(b, "k")).control, 1);
      await warm(b, "k", 2);
      await a.call({ op: "delete", key: "k" });
      waits.push(await until(b, "k", undefined));
      await a.call({ op: "set", key: "k", value: 3, tags: ["t"] });
      await warm(b, "k", 3);
      await a.call({ op: "deleteTags", tags: ["t"] });
      waits.push(await until(b, "k", undefined));
      // And the other way round: a's l1 holds its own write.
      await a.call({ op: "set", key: "j", value: 10 });
      await warm(a, "j", 10);
      await b.call({ op: "set", key: "j", value: 11 });
      waits.push(await until(a, "j", 11));
      console.log(`worker invalidations seen after ${waits.map((w) => w.toFixed(1)).join(", ")} ms`);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
