// Where a value that a serializer refuses sits inside the value given to dumps(), for its error message:
// " (at value.users[3].req)". The path is searched for only when an error is thrown, so encoding pays nothing.

// Bounds the search, so that an error about a huge value stays cheap.
const MAX_VISITS = 100_000;

/**
 * ` (at <path>)` for the entry `key` of `holder` inside `root`, `""` when the
 * refused value is `root` itself (`holder` null or undefined with no key), and
 * ` (at key "<key>")` when `holder` cannot be found in `root`.
 */
export function where(root: unknown, holder: unknown, key: unknown): string {
  if (key === undefined || holder === null) return "";
  const path = holder === undefined ? undefined : pathTo(root, holder);
  return path === undefined ? ` (at key ${JSON.stringify(String(key))})` : ` (at ${path}${segment(holder, key)})`;
}

// Breadth first, so the shortest path to a shared object is named; iterative, so a deep value cannot overflow.
function pathTo(root: unknown, target: unknown): string | undefined {
  const queue: [unknown, string][] = [[root, "value"]];
  const seen = new Set<unknown>();
  for (let i = 0; i < queue.length && i < MAX_VISITS; i++) {
    const [value, path] = queue[i];
    if (value === target) return path;
    if (value === null || typeof value !== "object" || seen.has(value)) continue;
    seen.add(value);
    const entries: Iterable<[unknown, unknown]> = value instanceof Map ? value : Object.entries(value);
    for (const [key, item] of entries) {
      if (item !== null && typeof item === "object") queue.push([item, path + segment(value, key)]);
    }
  }
  return undefined;
}

function segment(holder: unknown, key: unknown): string {
  if (holder instanceof Map) return `.get(${typeof key === "string" ? JSON.stringify(key) : String(key)})`;
  if (Array.isArray(holder) && /^\d+$/.test(String(key))) return `[${String(key)}]`;
  const name = String(key);
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}
