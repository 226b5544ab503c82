// memoizee ships no types; this declares the part the benchmarks use.
declare module "memoizee" {
  interface Options {
    max?: number;
    maxAge?: number;
    length?: number | false;
    promise?: boolean;
    normalizer?: (args: ArrayLike<unknown>) => string;
  }
  export default function memoizee<F extends (...args: never[]) => unknown>(fn: F, options?: Options): F;
}
