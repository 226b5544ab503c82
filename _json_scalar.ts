// What JSON.stringify writes as itself, with nothing to check or drop: shared by
// the JSON serializer's fast path and the key maker's JSON-written keys.

/** Whether `value` is a string, a finite number, a boolean or `null`. */
export function isJsonScalar(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    default:
      return value === null;
  }
}
