import { describe, typeName } from "./_validate.ts";
import { CREATE } from "./_cached_settings.ts";

// How a cached function's entries are named: its own name, or for a method the class found from `this`, and why
// a shared backend needs an explicit one.

/**
 * `Class#method`, or `Class.method` for a static method, from the object of
 * `self`'s prototype chain that owns the decorated method.
 *
 * @throws {TypeError} When no named class on the chain defines the method.
 */
export function methodNamespace(self: unknown, wrapper: unknown, method: string): string {
  for (
    let owner = self === null || self === undefined ? null : Object(self);
    owner !== null;
    owner = Object.getPrototypeOf(owner)
  ) {
    if (Object.getOwnPropertyDescriptor(owner, method)?.value !== wrapper) continue;
    const isClass = typeof owner === "function";
    const className = isClass ? owner.name : owner.constructor?.name;
    if (typeof className === "string" && className !== "") return `${className}${isClass ? "." : "#"}${method}`;
    break;
  }
  throw new TypeError(
    `Cannot call ${method}: cannot find the named class that defines it from this (${
      describe(self)
    }); call it on an instance of the class, or pass the name option to cached()`,
  );
}

/** The error message when a function cached in `backend`, which other processes read, has no `name` option. */
export function unstableName(name: string, backend: unknown): string {
  return `${CREATE} ${name}: pass the name option (cached(cache, { name: "${name}" })): its entries live in ` +
    `${typeName(backend)}, which other processes read, and a function's own name is not stable across builds ` +
    `(bundlers and minifiers rename functions: getUser may become getUser2), so two builds would stop sharing entries`;
}
