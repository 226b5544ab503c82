// What every script needs to find the repository and its tools, whatever folder it runs from.
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The repository's root folder, with a trailing separator. */
export const root: string = fileURLToPath(new URL("..", import.meta.url));

/** The path of a tool installed by npm (`node_modules/.bin/<name>`): Node 24, Deno, Bun, tsc, … */
export const bin = (name: string): string => join(root, "node_modules", ".bin", name);

/** The value after `name` on the command line (`--suite memory` → `"memory"`), if `name` is there. */
export const option = (name: string, args: string[] = process.argv.slice(2)): string | undefined =>
  args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
