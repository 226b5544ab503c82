// Reads environment variables on Deno, Node and Bun without importing
// `node:process`, so only the modules that need the environment depend on it.

interface DenoEnv {
  env: { get(name: string): string | undefined };
}

/**
 * Reads one environment variable; `undefined` when it is unset or when there
 * is no environment (a browser).
 */
export function readEnv(name: string): string | undefined {
  const deno = (globalThis as { Deno?: DenoEnv }).Deno;
  if (deno !== undefined) return deno.env.get(name);
  const process = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return process?.env?.[name];
}
