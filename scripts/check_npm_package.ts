// Lints the packed npm tarball (dist/, from scripts/build_npm.ts) with publint (warnings are errors) and
// @arethetypeswrong/cli (ESM-only profile: node16 from ESM and bundler resolution must find the types).
// Usage: node_modules/.bin/node scripts/check_npm_package.ts
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { bin } from "./_common.ts";
import { tarballPath } from "./build_npm.ts";

const tarball = tarballPath();
if (!existsSync(tarball)) throw new Error(`${tarball} is missing: run scripts/build_npm.ts first`);
let ok = true;
for (
  const [cmd, args] of [
    [bin("publint"), ["run", tarball, "--strict"]],
    [bin("attw"), [tarball, "--profile", "esm-only", "--no-emoji", "--no-color"]],
  ] as const
) {
  console.log(`--- ${cmd.split("/").at(-1)} ${args.join(" ")}`);
  const result = spawnSync(cmd, args, { stdio: "inherit" });
  if (result.status !== 0) {
    ok = false;
    console.error(`FAILED: ${cmd.split("/").at(-1)} exited ${result.status ?? result.error}`);
  }
}
process.exit(ok ? 0 : 1);
