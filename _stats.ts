// The statistics and events of one cache (shared by its namespace views). An
// event is created only while someone listens to its type.
import { CacheEvent, type CacheEventInit, type CacheEventType } from "./events.ts";

/** A cache's counters and its event target. */
export class Stats {
  hits = 0;
  misses = 0;
  staleHits = 0;
  errors = 0;
  evictions = 0;
  l1Hits = 0;
  /** Listener counts by event type. */
  readonly listening: Map<string, number> = new Map();
  readonly #target: EventTarget;

  constructor(target: EventTarget) {
    this.#target = target;
  }

  /** A hit served from l1 (get, peek, getOrSet). */
  l1Hit(path: string, key: string): void {
    this.hits++;
    this.l1Hits++;
    if (this.listening.size > 0) this.emit("hit", path, { key, tier: "l1" });
  }

  /** Dispatches an event of `type` from the namespace at `path`, if someone listens. */
  emit(type: CacheEventType, path: string, init: CacheEventInit): void {
    if (!this.listening.has(type)) return;
    this.#target.dispatchEvent(new CacheEvent(type, { namespace: path, ...init }));
  }

  /** The same, about one key. */
  emitKey(type: CacheEventType, path: string, key: string, init?: CacheEventInit): void {
    if (this.listening.size > 0) this.emit(type, path, { key, ...init });
  }

  /** A failure swallowed (fail-open, a background refresh, a bad bus message): counted and reported. */
  swallowed(operation: string, path: string, key: string | undefined, error: unknown): void {
    this.errors++;
    this.emit("error", path, { key, operation, error });
  }

  /** Counts a listener added or removed. */
  listen(type: string, delta: 1 | -1): void {
    const count = (this.listening.get(type) ?? 0) + delta;
    if (count <= 0) this.listening.delete(type);
    else this.listening.set(type, count);
  }
}
