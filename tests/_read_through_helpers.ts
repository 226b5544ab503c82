// Shared set-up of the getOrSet / batch / tags / fail-safe tests: a cache over
// a memory backend that share one manual clock, so timing is decided by the test.
import { type CacheEvent, type CacheEventType, TTLCache, type TTLCacheOptions } from "../mod.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { StructuredSerializer } from "../serializers/structured.ts";
import { type ManualClock, manualClock } from "./_helpers.ts";

export interface Setup {
  cache: TTLCache<unknown>;
  clock: ManualClock;
  backend: MemoryCacheBackend;
}

/** A cache storing any structured-clonable value, with its backend on the same manual clock. */
export function setup(options: Omit<TTLCacheOptions<unknown>, "clock" | "serializer"> = {}): Setup {
  const clock = manualClock();
  const backend = new MemoryCacheBackend({ clock });
  const cache = new TTLCache<unknown>({ backend, ...options, clock, serializer: new StructuredSerializer() });
  return { cache, clock, backend };
}

/** Another cache over the same backend and clock (another process, as far as the cache can tell). */
export function twin(
  { backend, clock }: Setup,
  options: Omit<TTLCacheOptions<unknown>, "clock" | "serializer" | "backend"> = {},
): TTLCache<unknown> {
  return new TTLCache<unknown>({ ...options, backend, clock, serializer: new StructuredSerializer() });
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets every pending promise job and timer-0 callback run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await sleep(0);
}

/** Records the events of the given types dispatched by `cache`. */
export function record(cache: TTLCache<unknown>, types: readonly CacheEventType[]): CacheEvent[] {
  const seen: CacheEvent[] = [];
  for (const type of types) cache.addEventListener(type, (event) => seen.push(event as CacheEvent));
  return seen;
}

/** Collects unhandled rejections through whatever hook the runtime offers; call the result to stop. */
export function watchUnhandled(): { reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const onProcess = (reason: unknown) => reasons.push(reason);
  const onGlobal = (event: Event) => {
    reasons.push((event as PromiseRejectionEvent).reason);
    event.preventDefault();
  };
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  proc?.on("unhandledRejection", onProcess);
  const target = globalThis as unknown as Partial<EventTarget>;
  // Node has no global unhandledrejection event; Deno and Bun do (Deno's process.on is a shim of it).
  const hasGlobal = typeof target.addEventListener === "function" && "Deno" in globalThis;
  if (hasGlobal) target.addEventListener!("unhandledrejection", onGlobal);
  return {
    reasons,
    stop() {
      proc?.off("unhandledRejection", onProcess);
      if (hasGlobal) target.removeEventListener!("unhandledrejection", onGlobal);
    },
  };
}
