// Lets a background timer (a retry, a renewal, a cleanup) not keep the
// process alive, on Node, Bun and Deno alike.

/** Unrefs `timer`: Node's and Bun's timers are objects with `unref()`, Deno's are numbers unref'd by its namespace. */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === "object" && timer !== null && typeof (timer as { unref?: unknown }).unref === "function") {
    (timer as { unref(): void }).unref();
    return;
  }
  // Looked up by name: the core names no runtime.
  const runtime = (globalThis as unknown as Record<string, { unrefTimer?(id: number): void } | undefined>)["Deno"];
  if (typeof timer === "number") runtime?.unrefTimer?.(timer);
}
