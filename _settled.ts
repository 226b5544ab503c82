// The promise every call resolving to `undefined` on a synchronous path hands
// out (a get that finds nothing and has no fallback, a set on an in-process
// backend): one made per call costs an allocation and ~90 instructions
// (callgrind). Not frozen: Node's async hooks tag each promise they see with a
// property, and a frozen one makes every `then` on it throw there.
export const SETTLED: Promise<undefined> = Promise.resolve(undefined);
