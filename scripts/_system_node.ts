// The Node on PATH outside node_modules (the system one), which must be the oldest major package.json `engines` allows.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import { root } from "./_common.ts";

/** The path of the system Node; throws when there is none or it is not the oldest major `engines` allows. */
export function systemNode(): string {
  const { engines } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { engines: { node: string } };
  const oldest = Number(engines.node.match(/>=\s*(\d+)/)?.[1]);
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "node");
    if (dir.includes("node_modules") || !existsSync(candidate)) continue;
    const version = execFileSync(candidate, ["--version"], { encoding: "utf8" }).trim();
    if (Number(version.slice(1).split(".")[0]) !== oldest) {
      throw new Error(`${candidate} is ${version}; this step needs Node ${oldest}, the oldest engines allows`);
    }
    return candidate;
  }
  throw new Error("no system node on PATH");
}
