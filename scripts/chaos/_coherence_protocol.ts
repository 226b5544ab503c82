// What the coherence scenario's parent and processes say to each other, and
// the key layout they share.

/** How one process runs: its only command-line argument (JSON). */
export interface ChildConfig extends Layout {
  url: string;
  prefix: string;
  /** Whether this process also writes (one of the three does). */
  writer: boolean;
  /** RedisCacheBackend and RedisBus timeout, ms. */
  timeout: number;
  /** The writer starts an operation every this many ms (or when the previous one ends, if later). */
  writeEveryMs: number;
  /** Pause between two rounds of reads over every key, ms. */
  readPauseMs: number;
  seed: number;
}

/**
 * Keys are numbers 0..keys-1, named `k<n>`; key n carries the tag `g<n % tags>`,
 * and the last `namespaced` keys live in namespace `ns<n % namespaces>`. The
 * odd keys are "quiet": the writer leaves them (and their tags and namespaces,
 * so `tags` and `namespaces` are even) alone from each fault's heal until
 * shortly before the next fault, so that a write of theirs that failed during
 * a fault is not hidden by a later one.
 */
export interface Layout {
  keys: number;
  namespaced: number;
  tags: number;
  namespaces: number;
}

export const keyName = (key: number): string => `k${key}`;
export const tagOf = (group: number): string => `g${group}`;
export const namespaceName = (index: number): string => `ns${index}`;
export const namespaced = (key: number, layout: Layout): boolean => key >= layout.keys - layout.namespaced;
export const quiet = (n: number): boolean => n % 2 === 1;

export const OP_KINDS = ["set", "delete", "deleteTags", "clearNamespace"] as const;
export type OpKind = (typeof OP_KINDS)[number];

/**
 * One write or invalidation, in the writer's order: [op number (a set stores
 * it as the value), kind (index into OP_KINDS), key (set, delete), tag group
 * (deleteTags) or namespace (clearNamespace), started, returned or failed (ms
 * since the epoch), 1 when the call succeeded, 0 when it failed or timed out,
 * and then the error (an index into the report's `errors`)].
 */
export type Write = [op: number, kind: number, target: number, start: number, end: number, ok: 0 | 1, error?: number];

/**
 * Reads of one key that served one value (`null`: a miss), in one run: [key,
 * value, first read's start, last read's start, reads]. A run lasts at most
 * 50 ms.
 */
export type Read = [key: number, value: number | null, first: number, last: number, count: number];

/** To every process: go (at `start`), stop; to the writer: leave the quiet keys alone, or not; to a reader: stop
 * reading for a while, or read again. */
export type ToChild =
  | { type: "go"; start: number }
  | { type: "stop" }
  | { type: "quiet"; on: boolean }
  | { type: "idle"; on: boolean };

export type FromChild =
  | { type: "ready" }
  | {
    type: "done";
    writes: Write[];
    /** The distinct messages of the writes that failed. */
    errors: string[];
    reads: Read[];
    readCount: number;
    /** Start times of reads that failed (a backend error). */
    readErrors: number[];
    busEvents: [kind: "down" | "up", at: number][];
    l1Hits: number;
    /** Backend errors swallowed (cacheInfo().errors: owed retries that failed, publishes refused, …). */
    swallowed: number;
    unhandled: number;
  };
