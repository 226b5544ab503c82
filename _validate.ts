// Shared argument checks, so every public entry point words its errors alike:
// "<context>: <name> must be <rule>: received <value>".

/** Renders a received value for an error message without dumping large data. */
export function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
    case "boolean":
      return String(value);
    case "symbol":
      return value.toString();
    case "function":
      return `function ${value.name || "(anonymous)"}`;
    default:
      if (value === null) return "null";
      if (Array.isArray(value)) return "an array";
      return `an object (${typeName(value)})`;
  }
}

/** The constructor name of a value, or its `typeof`. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  const proto = Object.getPrototypeOf(value);
  if (proto === null) return "Object";
  const name = proto.constructor?.name;
  return typeof name === "string" && name !== "" ? name : "Object";
}

/** Checks a TTL in seconds: a finite number > 0. */
export function checkTtl(context: string, name: string, value: unknown): number {
  return checkFinite(context, name, value, "seconds");
}

/**
 * Checks a finite number > `min`, or >= `min` when `inclusive`; `unit` names
 * what it measures in the message.
 */
export function checkFinite(
  context: string,
  name: string,
  value: unknown,
  unit: string,
  min = 0,
  inclusive = false,
): number {
  if (typeof value === "number" && Number.isFinite(value) && (inclusive ? value >= min : value > min)) return value;
  const rule = `${name} must be a finite number ${inclusive ? ">=" : ">"} ${min} (${unit})`;
  const ErrorType = typeof value === "number" ? RangeError : TypeError;
  throw new ErrorType(`${context}: ${rule}: received ${describe(value)}`);
}

/** Checks a count: a non-negative safe integer. */
export function checkCount(context: string, name: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(`${context}: ${name} must be a non-negative integer: received ${describe(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${context}: ${name} must be a non-negative integer: received ${describe(value)}`);
  }
  return value;
}

/** Checks a cache key: a string. */
export function checkKey(context: string, key: unknown): string {
  if (typeof key !== "string") {
    throw new TypeError(`${context}: key must be a string: received ${describe(key)}`);
  }
  return key;
}

/** Checks that `value` is an object with the named methods. */
export function checkMethods(context: string, name: string, value: unknown, methods: readonly string[]): void {
  const missing = value !== null && (typeof value === "object" || typeof value === "function")
    ? methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== "function")
    : methods;
  if (missing.length > 0) {
    throw new TypeError(
      `${context}: ${name} must be an object with methods ${methods.join(", ")} (missing ${
        missing.join(", ")
      }): received ${describe(value)}`,
    );
  }
}

/** Checks an optional function-valued option. */
export function checkFunction(context: string, name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`${context}: ${name} must be a function: received ${describe(value)}`);
  }
}

/** Checks that an options argument is a plain object or undefined. */
export function checkOptions(context: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== "object" || Array.isArray(value))) {
    throw new TypeError(`${context}: options must be an object: received ${describe(value)}`);
  }
}
