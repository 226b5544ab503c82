// Waiting for a promise, but not past a time limit.

/** Waits for `promise` to settle, but no longer than `ms`; tells whether it settled in time. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    const settled = () => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}

/**
 * Settles as `promise` does, or rejects with `onLate()` when it has not
 * settled within `ms`; the timer is cleared either way.
 */
export function beforeDeadline<R>(promise: Promise<R>, ms: number, onLate: () => unknown): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => reject(onLate()), Math.max(0, ms));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
