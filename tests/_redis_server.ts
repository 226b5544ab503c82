// Redis for tests: the shared server (REDIS_URL or 127.0.0.1:6379) for
// ordinary tests, each under its own prefix, and private redis-server
// processes on free loopback ports for tests that kill, pause or cluster them.
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Cluster, Redis } from "ioredis";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A prefix no other test (or run) uses. */
export function uniquePrefix(name: string): string {
  return `cachet-test:${name}:${crypto.randomUUID()}:`;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `false` when the shared server answers, else the reason to skip. Under
 * CI=true a missing server throws, so the run fails instead of skipping.
 */
export async function sharedRedisSkip(): Promise<false | string> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0 });
  client.on("error", () => {});
  try {
    await client.ping();
    return false;
  } catch (error) {
    const reason = `Redis at ${REDIS_URL} is unreachable (${(error as Error).message}); start it or set REDIS_URL`;
    if (process.env.CI === "true") throw new Error(`${reason} (CI=true: a missing Redis is a failure)`);
    console.warn(`SKIP: ${reason}`);
    return reason;
  } finally {
    client.disconnect();
  }
}

/**
 * `false` when `redis-server` and `redis-cli` can be run (for tests that start
 * their own servers), else the reason to skip; under CI=true it throws instead.
 */
export function redisServerSkip(): false | string {
  const missing = ["redis-server", "redis-cli"].filter((bin) => spawnSync(bin, ["--version"]).status !== 0);
  if (missing.length === 0) return false;
  const reason = `${missing.join(" and ")} not found on PATH; install Redis 7 (apt-get install redis-server)`;
  if (process.env.CI === "true") throw new Error(`${reason} (CI=true: a missing Redis is a failure)`);
  console.warn(`SKIP: ${reason}`);
  return reason;
}

/** A raw client on the shared server, for inspecting what a backend wrote. */
export function rawClient(url: string = REDIS_URL): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    commandTimeout: 5000,
  });
  client.on("error", () => {});
  return client;
}

/** Counts the writes to `client`'s socket from now on, until `restore()`. */
export function countWrites(client: Redis): { readonly count: number; restore(): void } {
  const stream = (client as unknown as { stream: { write(...args: unknown[]): boolean } }).stream;
  const write = stream.write;
  let count = 0;
  stream.write = function (...args: unknown[]) {
    count++;
    return write.apply(this, args);
  };
  return {
    get count() {
      return count;
    },
    restore() {
      stream.write = write;
    },
  };
}
/** Deletes every key under `prefix` on a standalone server (test cleanup). */
export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
  let cursor = "0";
  do {
    const [next, keys] = await client.scanBuffer(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next.toString();
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== "0");
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free loopback port; with `bus`, port + 10000 (a cluster bus) is free too. */
export async function freePort(bus = false): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (await portIsFree(port) && (!bus || await portIsFree(port + 10_000))) return port;
  }
  throw new Error("no free loopback port found");
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts the server again on the same port. */
  restart(): Promise<void>;
  /** Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open but nothing answers. */
  pause(paused: boolean): void;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

/** Starts `redis-server` on a free loopback port with `args` added, and waits until it answers. */
export async function startRedisServer(args: string[] = [], options: { bus?: boolean } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "cachet-redis-"));
  const password = args.includes("--requirepass") ? args[args.indexOf("--requirepass") + 1] : undefined;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let running = false;
  // process.kill(pid) rather than child.kill(): Deno's child.kill() sends only one signal per child.
  const signal = (name: "SIGSTOP" | "SIGCONT" | "SIGKILL") => {
    try {
      if (running) process.kill(child!.pid!, name);
    } catch {
      // It already exited.
    }
  };
  const kill = async () => {
    signal("SIGCONT");
    signal("SIGKILL");
    running = false;
    await exited;
  };
  /** Starts the server on `port`; false when the port turned out to be taken. */
  const launch = async (port: number): Promise<boolean> => {
    const proc = spawn("redis-server", [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      ...args,
    ], { stdio: "ignore" });
    child = proc;
    running = true;
    exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    const probe = new Redis({
      port,
      host: "127.0.0.1",
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      commandTimeout: 1000,
    });
    probe.on("error", () => {});
    try {
      for (let i = 0; i < 100 && proc.exitCode === null; i++) {
        try {
          // Only our own process counts: another program may have taken the port after freePort() checked it.
          if ((await probe.info("server")).includes(`process_id:${proc.pid}\r\n`)) return true;
          break;
        } catch {
          await sleep(50);
        }
      }
      await kill();
      return false;
    } finally {
      probe.disconnect();
    }
  };
  let port = 0;
  for (let attempt = 0; attempt < 5 && port === 0; attempt++) {
    const candidate = await freePort(options.bus);
    if (await launch(candidate)) port = candidate;
  }
  if (port === 0) throw new Error("could not start redis-server on a free loopback port (5 attempts)");
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      if (!(await launch(port))) throw new Error(`could not restart redis-server on port ${port}`);
    },
    pause(paused: boolean) {
      signal(paused ? "SIGSTOP" : "SIGCONT");
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The command that runs a script with the runtime running this test (Node, Deno or Bun). */
export function runtimeCommand(script: string): { command: string; args: string[] } {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno !== undefined) return { command: deno.execPath(), args: ["run", "-A", script] };
  return { command: process.execPath, args: [script] };
}

export interface RedisCluster {
  /** A connected-on-first-use client of the cluster. */
  readonly client: Cluster;
  readonly servers: readonly RedisServer[];
  /** Disconnects the client and stops every server. */
  stop(): Promise<void>;
}

/** Starts a cluster of `masters` private servers on free loopback ports (no replicas), every slot served. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const servers = await Promise.all(
    Array.from({ length: masters }, () => startRedisServer(["--cluster-enabled", "yes"], { bus: true })),
  );
  const stopAll = () => Promise.all(servers.map((s) => s.stop()));
  try {
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
    await new Promise<void>((resolve, reject) => {
      execFile(
        "redis-cli",
        ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"],
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve()),
      );
    });
    // Every node must agree that all slots are served before the cluster takes commands.
    for (const server of servers) {
      const node = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: true });
      try {
        for (let i = 0; !/cluster_state:ok/.test(await node.cluster("INFO")); i++) {
          if (i > 100) throw new Error(`node ${server.port} did not reach cluster_state:ok`);
          await sleep(50);
        }
      } finally {
        node.disconnect();
      }
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  const client = new Cluster([{ host: "127.0.0.1", port: servers[0].port }], { lazyConnect: true });
  client.on("error", () => {});
  return {
    client,
    servers,
    async stop() {
      client.disconnect();
      await stopAll();
    },
  };
}
