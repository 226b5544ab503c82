import type { FactoryContext } from "./ttl_cache_options.ts";

// How a cached async generator's calls are recorded and replayed: the first consumer drives the generator and gets
// its items live while they are recorded, a completed sequence is stored as an array, later (or concurrent)
// consumers replay it; an error, or a consumer that stops early, stores nothing.

/** What a stream's consumptions need of the cached function: made once per function. */
export interface StreamSource {
  /** The async generator function. */
  readonly run: (this: unknown, ...args: unknown[]) => unknown;
  readonly skip: ((result: unknown) => boolean) | undefined;
  /** The function, as errors name it. */
  readonly label: string;
  /** The key of a call, unchecked. */
  keyOf(self: unknown, args: unknown[]): string | PromiseLike<string>;
  /** The key, once checked to be a string. */
  checked(key: unknown): string;
  /** `getOrSet()` of the call's key in the function's view, with the call's options. */
  getOrSet(
    self: unknown,
    args: unknown[],
    key: string,
    factory: (context: FactoryContext<unknown>) => Promise<unknown[]>,
    signal: AbortSignal | undefined,
  ): Promise<unknown>;
}

// A stream consumer that stopped early: the computation it drove stores nothing.
class Abandoned extends Error {}

/** Collects a whole stream, for refresh() and computations nobody consumes (early refresh). */
export async function drain(generator: AsyncGenerator<unknown>): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of generator) items.push(item);
  return items;
}

function kept(source: StreamSource, items: unknown[], context: FactoryContext<unknown>): unknown[] {
  if (source.skip?.(items)) context.skip();
  return items;
}

/**
 * One consumption of a stream call: replays a stored (or concurrently
 * computed) sequence, or, when getOrSet() asks this call to compute, drives
 * the generator itself, handing each item on as it is recorded.
 */
export async function* consume(
  source: StreamSource,
  self: unknown,
  args: unknown[],
  signal: AbortSignal | undefined,
): AsyncGenerator<unknown> {
  const key = source.checked(await source.keyOf(self, args));
  for (;;) {
    let driving:
      | { generator: AsyncGenerator<unknown>; done: (items: unknown[] | Abandoned | Error) => void }
      | undefined;
    let waiting = true;
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const factory = (context: FactoryContext<unknown>) => {
      const generator = source.run.apply(self, args) as AsyncGenerator<unknown>;
      // With a stale sequence at hand (early refresh, stale-while-revalidate, grace), or no consumer
      // waiting, the generator is collected alone: a caller is then served the stale sequence at once, or
      // the fresh one when it completes, never a fresh stream it may have to abandon for the stale one.
      if (!waiting || context.stale !== undefined) {
        return drain(generator).then((items) => kept(source, items, context));
      }
      waiting = false;
      return new Promise<unknown[]>((resolve, reject) => {
        driving = {
          generator,
          done: (outcome) => outcome instanceof Error ? reject(outcome) : resolve(kept(source, outcome, context)),
        };
        wake();
      });
    };
    const outcome = source.getOrSet(self, args, key, factory, signal).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    const first = await Promise.race([outcome, woken.then(() => undefined)]);
    waiting = false;
    if (driving === undefined) {
      const settled = first ?? await outcome;
      if ("error" in settled) {
        // The consumer driving the computation stopped early: compute again.
        if (settled.error instanceof Abandoned) continue;
        throw settled.error;
      }
      yield* settled.value as unknown[];
      return;
    }
    const { generator, done } = driving;
    const items: unknown[] = [];
    let finished = false;
    try {
      for (;;) {
        let step: IteratorResult<unknown>;
        try {
          step = await generator.next();
        } catch (error) {
          finished = true;
          done(error instanceof Error ? error : new Error(String(error), { cause: error }));
          const settled = await outcome;
          // Failed before its first item: grace may serve the stale sequence.
          if (items.length === 0 && "value" in settled) {
            yield* settled.value as unknown[];
            return;
          }
          throw error;
        }
        if (step.done) break;
        items.push(step.value);
        yield step.value;
      }
      finished = true;
      done(items);
      const settled = await outcome;
      if ("error" in settled) throw settled.error;
      return;
    } finally {
      if (!finished) {
        // The consumer stopped early (break, or threw): close the generator, store nothing.
        done(new Abandoned(`the consumer of ${source.label} stopped early`));
        await generator.return(undefined);
      }
    }
  }
}

/** Reads the whole sequence of a stream call, as its consumers see it. */
export async function collect(source: StreamSource, self: unknown, args: unknown[]): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of consume(source, self, args, undefined)) items.push(item);
  return items;
}
