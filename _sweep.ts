// When to sweep expired entries out of an unbounded table: once it has doubled
// since the last sweep. That keeps the cost amortized O(1) per write while
// bounding memory to about twice the live data.

const MIN_SWEEP_SIZE = 1024;

/** The size at which an unbounded table is next swept. */
export class SweepSchedule {
  #at = MIN_SWEEP_SIZE;

  /** Whether a table of `size` entries is due for a sweep. */
  due(size: number): boolean {
    return size >= this.#at;
  }

  /** Records a sweep that left `size` entries. */
  swept(size: number): void {
    this.#at = Math.max(MIN_SWEEP_SIZE, size * 2);
  }

  /** Starts over, for an emptied table. */
  reset(): void {
    this.#at = MIN_SWEEP_SIZE;
  }
}
