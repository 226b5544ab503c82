// What the chaos parent and its workers say to each other over IPC.

/** How a worker runs: sent as its only command-line argument (JSON). */
export interface WorkerConfig {
  /** The private server's URL (loopback). */
  url: string;
  /** Prefix of every key this run writes. */
  prefix: string;
  /** Calls this worker makes. */
  calls: number;
  /** Calls in flight at most. */
  concurrency: number;
  /** Size of the keyspace the keys are drawn from. */
  keys: number;
  /** The calls are spread evenly over this many ms after the start. */
  spread: number;
  /** Entry lifetime and grace, seconds. */
  ttl: number;
  grace: number;
  /** RedisCacheBackend timeout, ms. */
  timeout: number;
  /** RedisLock waitTimeout, ms. */
  waitTimeout: number;
  /** The origin's delay is drawn from [min, max] ms. */
  originDelay: [number, number];
  /** Seeds the key sequence. */
  seed: number;
  /** After the last scheduled call, calls still unsettled this many ms later are reported as hung. */
  hangLimit: number;
}

/** One call: [start, end] (ms since the epoch, fractional), ok, wrong value, error kind (index into errors). */
export type CallRecord = [start: number, end: number, ok: 0 | 1, wrong: 0 | 1, error: number];

export type FromWorker =
  | { type: "ready" }
  | {
    type: "done";
    records: CallRecord[];
    /** Distinct error descriptions, keys masked; CallRecord.error indexes them (-1: none). */
    errors: string[];
    originCalls: number;
    staleHits: number;
    /** Backend errors swallowed by fail-open (cacheInfo().errors). */
    swallowed: number;
    /** Times of "hit" and "error" events. */
    hitTimes: number[];
    errorTimes: number[];
    unhandled: number;
    unhandledSamples: string[];
  };

export type ToWorker = { type: "go"; start: number };

/** The origin's value for a key: what every call must return. */
export function expected(key: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return `v:${key}:${hash.toString(16)}`;
}

/** Wall-clock ms with sub-ms precision, comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now();
