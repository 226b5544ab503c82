// A private redis-server for the chaos suite, on a free loopback port. Unlike
// tests/_redis_server.ts it can be killed synchronously (killNow), so the
// parent's exit and signal handlers never leave a server behind.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Redis } from "ioredis";
import { freePort, sleep } from "../../tests/_redis_server.ts";

export class ChaosRedis {
  readonly port: number;
  readonly url: string;
  #dir: string;
  #proc: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#dir = dir;
  }

  /** Starts a server on a free loopback port and waits until it answers. */
  static async start(): Promise<ChaosRedis> {
    const dir = mkdtempSync(join(tmpdir(), "cachet-chaos-"));
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = new ChaosRedis(await freePort(), dir);
      if (await server.#launch()) return server;
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error("could not start redis-server on a free loopback port (5 attempts)");
  }

  /** The running server's process id, if any. */
  get pid(): number | undefined {
    return this.#proc?.exitCode === null ? this.#proc.pid : undefined;
  }

  async #launch(): Promise<boolean> {
    const proc = spawn("redis-server", [
      ...["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      ...["--dir", this.#dir, "--maxclients", "1000"],
    ], { stdio: "ignore" });
    this.#proc = proc;
    const probe = new Redis({
      port: this.port,
      host: "127.0.0.1",
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
          await sleep(20);
        }
      }
    } finally {
      probe.disconnect();
    }
    await this.kill();
    return false;
  }

  /** SIGKILL at once (a crash), synchronously; safe to call at any time. */
  killNow(): void {
    const pid = this.pid;
    if (pid === undefined) return;
    for (const signal of ["SIGCONT", "SIGKILL"] as const) {
      try {
        process.kill(pid, signal);
      } catch {
        // It already exited.
      }
    }
  }

  /** SIGKILL, then waits until the process is gone. */
  async kill(): Promise<void> {
    const proc = this.#proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    this.killNow();
    await exited;
  }

  /** Starts the server again on the same port; resolves once it answers. */
  async restart(): Promise<void> {
    await this.kill();
    if (!(await this.#launch())) throw new Error(`could not restart redis-server on port ${this.port}`);
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open but nothing answers. */
  pause(paused: boolean): void {
    const pid = this.pid;
    if (pid !== undefined) process.kill(pid, paused ? "SIGSTOP" : "SIGCONT");
  }

  /** Kills the server and removes its folder, synchronously. */
  stopNow(): void {
    this.killNow();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
