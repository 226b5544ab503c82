// Installs the packed tarball (dist/, from scripts/build_npm.ts) into scratch projects the way users do, and runs
// tests/consumers/ there. Usage: node_modules/.bin/node scripts/smoke_install.ts npm|bun
//   npm: `npm install ./cachet-x.y.z.tgz` alone (must pull no dependency; the system Node, the oldest one `engines`
//        allows, runs the core-only smoke), then with every optional peer: the plain JavaScript smoke on that Node
//        and on Node 24, the TypeScript consumer through `tsc --noEmit` (nodenext and bundler) and on Node 24.
//   bun: the same with `bun add ./cachet-x.y.z.tgz`, run by Bun.
// Peers are installed at the versions the repository has, so npm and Bun serve them from their caches.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { bin, root } from "./_common.ts";
import { moduleExports, npmDir, type NpmPackageJson, readJson, subpathNeeds, tarballPath } from "./build_npm.ts";
import { systemNode } from "./_system_node.ts";

const tool = process.argv[2];
if (tool !== "npm" && tool !== "bun") throw new Error("usage: smoke_install.ts npm|bun");

const tarball = tarballPath();
if (!existsSync(tarball)) throw new Error(`${tarball} is missing: run scripts/build_npm.ts first`);
const pkg = readJson<NpmPackageJson>(join(npmDir, "package.json"));
const needs = JSON.stringify(
  Object.fromEntries(Object.entries(subpathNeeds(pkg)).map(([subpath, { runtime }]) => [subpath, runtime])),
);
const peers = Object.keys(pkg.peerDependencies ?? {});
const installedVersion = (name: string) =>
  readJson<{ version: string }>(join(root, "node_modules", name, "package.json")).version;
// @types/node: ioredis's declarations reference it, and Node users have it.
const extras = [...peers, "@types/node"].map((name) => `${name}@${installedVersion(name)}`);

let passed = 0;
let failed = 0;
function run(label: string, cmd: string, args: string[], cwd: string): void {
  console.log(`\n--- ${label}: ${cmd} ${args.join(" ")}`);
  const result = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  process.stdout.write(result.stdout ?? "");
  process.stderr.write(result.stderr ?? "");
  // A smoke run counts its own checks; anything else counts as one.
  const counts = result.stdout?.match(/^smoke: (\d+) passed, (\d+) failed$/m);
  passed += counts ? Number(counts[1]) : result.status === 0 ? 1 : 0;
  failed += counts ? Number(counts[2]) : 0;
  if (result.status === 0) console.log(`ok ${label}`);
  else {
    if (!counts || Number(counts[2]) === 0) failed++;
    console.log(`not ok ${label} (exit ${result.status ?? result.error})`);
  }
}

/** The packages installed at the top of node_modules, besides cachet. */
function strayPackages(dir: string): string[] {
  const top = readdirSync(join(dir, "node_modules")).filter((name) => !name.startsWith("."));
  return top.flatMap((name) =>
    name.startsWith("@") ? readdirSync(join(dir, "node_modules", name)).map((n) => `${name}/${n}`) : [name]
  )
    .filter((name) => name !== "cachet");
}

const scratch = mkdtempSync(join(tmpdir(), `cachet-smoke-${tool}-`));
try {
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  for (const file of ["smoke.mjs", "consumer.mts", "decorator.mts"]) {
    copyFileSync(join(root, "tests", "consumers", file), join(scratch, file));
  }
  const local = `./${tarball.split("/").at(-1)}`;
  copyFileSync(tarball, join(scratch, local));
  const npmFlags = ["--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"];
  const install = (packages: string[]) =>
    tool === "npm"
      ? run(`npm install ${packages.join(" ")}`, "npm", ["install", ...npmFlags, ...packages], scratch)
      : run(`bun add ${packages.join(" ")}`, bin("bun"), ["add", "--no-summary", ...packages], scratch);

  install([local]);
  const stray = strayPackages(scratch);
  if (stray.length === 0) {
    passed++;
    console.log("ok a core-only install pulls no other package");
  } else {
    failed++;
    console.log(`not ok a core-only install pulled ${stray.join(", ")}`);
  }
  const js = tool === "npm" ? systemNode() : bin("bun");
  run(`${tool === "npm" ? "node 20" : "bun"}: core-only smoke`, js, ["smoke.mjs", needs, "--core-only"], scratch);

  install(extras);
  run(`${tool === "npm" ? "node 20" : "bun"}: smoke, every subpath`, js, ["smoke.mjs", needs], scratch);
  if (tool === "npm") {
    run("node 24: smoke, every subpath", bin("node"), ["smoke.mjs", needs], scratch);
    // Every subpath's declarations must resolve and check (skipLibCheck off) under both resolutions.
    writeFileSync(
      join(scratch, "all.mts"),
      Object.keys(moduleExports(pkg)).map((s, i) => `export * as m${i} from "cachet${s.slice(1)}";\n`).join(""),
    );
    // A Node project (Node's types, no DOM) and a browser project (DOM, no Node types): README's "TypeScript" lines.
    const projects = {
      nodenext: { module: "nodenext", moduleResolution: "nodenext", lib: ["ES2022"], types: ["node"] },
      bundler: {
        module: "esnext",
        moduleResolution: "bundler",
        lib: ["ES2022", "DOM", "ESNext.Disposable"],
        types: [],
      },
    };
    for (const [moduleResolution, options] of Object.entries(projects)) {
      const config = `tsconfig.${moduleResolution}.json`;
      writeFileSync(
        join(scratch, config),
        JSON.stringify({
          compilerOptions: { ...options, target: "ES2022", strict: true, noEmit: true, skipLibCheck: false },
          files: ["consumer.mts", "decorator.mts", "all.mts"],
        }),
      );
      run(`tsc --noEmit, moduleResolution ${moduleResolution}`, bin("tsc"), ["-p", config], scratch);
    }
    // tsc lowers the standard decorator; the output runs on the oldest Node.
    writeFileSync(
      join(scratch, "tsconfig.emit.json"),
      JSON.stringify({ extends: "./tsconfig.nodenext.json", compilerOptions: { noEmit: false, outDir: "out" } }),
    );
    run("tsc: compile the @cached consumer", bin("tsc"), ["-p", "tsconfig.emit.json"], scratch);
    run("node 20: compiled @cached consumer", systemNode(), ["out/decorator.mjs"], scratch);
  }
  run(
    `${tool === "npm" ? "node 24" : "bun"}: TypeScript consumer`,
    tool === "npm" ? bin("node") : bin("bun"),
    ["consumer.mts"],
    scratch,
  );
  if (tool === "bun") run("bun: @cached consumer (decorator syntax)", bin("bun"), ["decorator.mts"], scratch);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`\nsmoke ${tool}: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
