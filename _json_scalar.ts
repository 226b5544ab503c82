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

/**
 * Whether an object keeps a field of this name as plain data in insertion
 * order: not one that starts with a digit (index keys come first, in number
 * order) nor `__proto__` (assigning it sets the prototype).
 */
export function isPlainFieldName(name: string): boolean {
  const first = name.charCodeAt(0);
  return !(first >= 48 && first <= 57) && name !== "__proto__";
}
