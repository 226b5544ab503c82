// Builds the npm package in npm/ from the same sources as the JSR package and
// packs it to dist/cachet-<version>.tgz, which another project installs from a
// clone (`npm install /path/to/cachet/dist/cachet-<version>.tgz`). Everything is
// derived from deno.json: a new entry in its `exports` becomes an npm subpath
// with no change here. Usage: npm run build (node_modules/.bin/node scripts/build_npm.ts)
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { bin, root } from "./_common.ts";

export const npmDir: string = join(root, "npm");
export const packDir: string = join(root, "dist");

/**
 * What each bare import of the sources becomes in the npm package. A core-only
 * install must pull nothing, so every library that only one subpath needs is
 * an optional peer dependency: the user installs it with that subpath.
 * `browser` says whether the library runs in a browser, i.e. whether a
 * runtime-neutral subpath may import it (checked by check_core_purity.ts).
 * `range` is the npm range when it is wider than deno.json's import (Deno's
 * `npm:` specifiers take no `||`).
 */
export const DEPENDENCIES: Record<string, { as: "optional peer" | "dependency"; browser: boolean; range?: string }> = {
  // A wide peer range, so that `npm i cachet ioredis` takes the latest ioredis without a conflict. The suite runs
  // 5.11.1, and tests/redis_ioredis6_test.ts runs the wing with an ioredis 6.1.0 client (RESP3 by default); the
  // Redis suites (redis, faults, batch, lock, cluster, tracking) also passed on Node, Deno and Bun against 5.3.1 and
  // 6.0.0 in a scratch install (2026-12-05). Not 5.3.0: with auto-pipelining it ignores the db option (ioredis PR
  // #1721, fixed in 5.3.1), so a backend given db 3 wrote to db 0.
  "ioredis": { as: "optional peer", browser: false, range: "^5.3.1 || ^6.0.0" },
  "msgpackr": { as: "optional peer", browser: true },
  // ./postgres: porsager's driver, pure JS on Node, Deno and Bun (see docs/postgres.md for why not pg).
  "postgres": { as: "optional peer", browser: false },
  // Types only: ./schema spells the Standard Schema types out today; a module importing them would need it.
  "@standard-schema/spec": { as: "optional peer", browser: true },
};

/** Subpaths that need a server runtime: not held to the core's purity, not bundled for the browser. */
export const SERVER_ONLY: ReadonlySet<string> = new Set(["./redis", "./postgres", "./sqlite", "./deno-kv"]);

/**
 * Subpaths published on JSR only: `./deno-kv` runs on Deno alone, whose users install from JSR; in the npm package
 * it would be a module that throws on every runtime npm installs for.
 */
export const JSR_ONLY: ReadonlySet<string> = new Set(["./deno-kv"]);

/** The deno.json exports the npm package ships (all but {@linkcode JSR_ONLY}). */
export const npmSources = (deno: DenoJson): [string, string][] =>
  Object.entries(deno.exports).filter(([subpath]) => !JSR_ONLY.has(subpath));

export interface DenoJson {
  name: string;
  version: string;
  description: string;
  license: string;
  exports: Record<string, string>;
  imports?: Record<string, string>;
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

export const denoJson = (): DenoJson => readJson<DenoJson>(join(root, "deno.json"));

/** The npm name is the repository's package.json name ("cachet"); JSR's is deno.json's ("@cachet/cachet"). */
export const npmName = (): string => readJson<{ name: string }>(join(root, "package.json")).name;

export const tarballPath = (): string => join(packDir, `${npmName()}-${denoJson().version}.tgz`);

/** `./backends/memory.ts` -> `./backends/memory` (the path of its .js and .d.ts). */
const stem = (source: string) => source.replace(/\.ts$/, "");

/** The package name of a bare specifier: `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;

/** Every module specifier a JavaScript or TypeScript text imports or re-exports (comments removed first). */
export function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  return [...code.matchAll(SPECIFIER)].map((m) => m[1]);
}

/**
 * The files a module reaches through relative imports (itself included), and
 * the bare specifiers those files import.
 */
export function moduleGraph(entry: string): { files: string[]; bare: Set<string> } {
  const files: string[] = [];
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (files.includes(file)) return;
    files.push(file);
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) visit(join(dirname(file), spec));
      else bare.add(spec);
    }
  };
  visit(entry);
  return { files, bare };
}

/**
 * For each npm subpath, the packages its JavaScript imports (needed at run time) and those only its declarations
 * import (needed by TypeScript users), from the built npm/ tree. Node built-ins (`node:*`) are not packages.
 */
export function subpathNeeds(pkg: NpmPackageJson): Record<string, { runtime: string[]; types: string[] }> {
  const needs: Record<string, { runtime: string[]; types: string[] }> = {};
  const packages = (entry: string) =>
    new Set([...moduleGraph(entry).bare].filter((spec) => !spec.startsWith("node:")).map(packageName));
  for (const [subpath, target] of Object.entries(moduleExports(pkg))) {
    const runtime = packages(join(npmDir, target.default));
    const types = [...packages(join(npmDir, target.types))].filter((name) => !runtime.has(name));
    needs[subpath] = { runtime: [...runtime].sort(), types: types.sort() };
  }
  return needs;
}

export interface NpmPackageJson {
  name: string;
  version: string;
  /** The module subpaths, plus `"./package.json": "./package.json"` (tools read the version through it). */
  exports: Record<string, { types: string; default: string } | string>;
  peerDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** The package's module subpaths (its `exports` without `./package.json`). */
export function moduleExports(pkg: NpmPackageJson): Record<string, { types: string; default: string }> {
  return Object.fromEntries(
    Object.entries(pkg.exports).filter((entry): entry is [string, { types: string; default: string }] =>
      typeof entry[1] === "object"
    ),
  );
}

/**
 * The files besides the code that the npm package ships, so that the README's relative links reach them in the
 * tarball. Links to other files of the repository (CONTRIBUTING.md: publint counts it as internal) become absolute.
 */
const DOCUMENTS = ["README.md", "LICENSE", "CHANGELOG.md", "docs/*.md", "docs/bench/*.svg"];

/**
 * The repository's URL, from package.json `repository` (`git+https://host/owner/name.git`), for `homepage` and
 * `bugs`. Returns it without `git+` and `.git`.
 */
export function repositoryUrl(): string {
  const { repository } = readJson<{ repository?: { url?: string } }>(join(root, "package.json"));
  const url = repository?.url?.replace(/^git\+/, "").replace(/\.git$/, "");
  if (url === undefined || !/^https:\/\/[^/]+\/[^/]+\/[^/]+$/.test(url)) {
    throw new Error(`package.json needs "repository": { "type": "git", "url": "git+https://host/owner/name.git" }`);
  }
  return url;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]
  );
}

/**
 * The npm version range of a library: its `range` above, else deno.json's `npm:` import when mapped there (so JSR
 * and npm declare the same range), else ^ the version the repository's package.json pins.
 */
function versionRange(name: string, deno: DenoJson): string {
  if (DEPENDENCIES[name]?.range) return DEPENDENCIES[name].range;
  const match = deno.imports?.[name]?.match(/^npm:(?:@[^/@]+\/)?[^/@]+@([^/]+)/);
  if (match) return match[1];
  const { dependencies, devDependencies } = readJson<Record<string, Record<string, string> | undefined>>(
    join(root, "package.json"),
  );
  const pinned = dependencies?.[name] ?? devDependencies?.[name];
  if (pinned === undefined) throw new Error(`No version for ${name}: map it in deno.json "imports"`);
  return /^\d/.test(pinned) ? `^${pinned}` : pinned;
}

/**
 * Writes .tmp/tsconfig.<name>.json: the repository's compiler options without its Node types, plus `options`, for
 * `files` (paths relative to the repository). Returns its path.
 */
export function writeTsconfig(name: string, options: Record<string, unknown>, files: string[]): string {
  const path = join(root, ".tmp", `tsconfig.${name}.json`);
  mkdirSync(dirname(path), { recursive: true });
  const compilerOptions = {
    target: "ES2022",
    lib: ["ES2024", "ESNext.Disposable", "DOM"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    verbatimModuleSyntax: true,
    strict: true,
    skipLibCheck: true,
    ...options,
  };
  writeFileSync(path, JSON.stringify({ compilerOptions, files: files.map((file) => join(root, file)) }));
  return path;
}

export function buildNpm(): NpmPackageJson {
  const deno = denoJson();
  const rootPackage = readJson<{ engines?: Record<string, string> }>(join(root, "package.json"));
  rmSync(npmDir, { recursive: true, force: true });

  // tsc follows the imports of the entry points; rootDir keeps the source layout.
  const tsconfig = writeTsconfig("npm", {
    rewriteRelativeImportExtensions: true,
    erasableSyntaxOnly: true,
    declaration: true,
    sourceMap: true,
    inlineSources: true,
    types: ["node"],
    rootDir: root,
    outDir: npmDir,
  }, npmSources(deno).map(([, source]) => source));
  execFileSync(bin("tsc"), ["-p", tsconfig], { stdio: "inherit" });

  for (const file of walk(npmDir)) {
    if (!file.endsWith(".js") && !file.endsWith(".d.ts")) continue;
    let text = readFileSync(file, "utf8");
    // tsc rewrites `./x.ts` to `./x.js` in JavaScript but keeps it in
    // declarations, where TypeScript consumers would not find `./x.ts`.
    if (file.endsWith(".d.ts")) {
      text = text.replace(/((?:\bfrom\s*|\bimport\s*\(\s*)["']\.{1,2}\/[^"']*)\.ts(["'])/g, "$1.js$2");
    }
    // The JSDoc examples import the JSR name; npm users import the npm name.
    text = text.replaceAll(`"${deno.name}`, `"${npmName()}`);
    writeFileSync(file, text);
  }

  // Every bare import must be in the table above, so nothing reaches users unannounced.
  const peerDependencies: Record<string, string> = {};
  const dependencies: Record<string, string> = {};
  for (const file of walk(npmDir).filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"))) {
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) continue;
      if (spec.startsWith("node:")) continue; // judged by check_core_purity.ts
      const name = packageName(spec);
      const kind = DEPENDENCIES[name];
      if (kind === undefined) {
        throw new Error(
          `${relative(root, file)} imports "${spec}": add "${name}" to DEPENDENCIES in scripts/build_npm.ts`,
        );
      }
      (kind.as === "dependency" ? dependencies : peerDependencies)[name] = versionRange(name, deno);
    }
  }

  const exports: NpmPackageJson["exports"] = {};
  for (const [subpath, source] of npmSources(deno)) {
    exports[subpath] = { types: `${stem(source)}.d.ts`, default: `${stem(source)}.js` };
  }
  exports["./package.json"] = "./package.json";
  const repository = repositoryUrl();
  const sorted = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).sort());
  const pkg: NpmPackageJson = {
    name: npmName(),
    version: deno.version,
    description: deno.description,
    license: deno.license,
    repository: { type: "git", url: `git+${repository}.git` },
    homepage: `${repository}#readme`,
    bugs: { url: `${repository}/issues` },
    type: "module",
    sideEffects: false,
    exports,
    engines: rootPackage.engines,
    ...(Object.keys(dependencies).length ? { dependencies: sorted(dependencies) } : {}),
    ...(Object.keys(peerDependencies).length
      ? {
        peerDependencies: sorted(peerDependencies),
        peerDependenciesMeta: Object.fromEntries(
          Object.keys(sorted(peerDependencies)).map((n) => [n, { optional: true }]),
        ),
      }
      : {}),
  };
  writeFileSync(join(npmDir, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  const shipped = documents();
  for (const file of shipped) {
    mkdirSync(dirname(join(npmDir, file)), { recursive: true });
    if (!file.endsWith(".md")) {
      cpSync(join(root, file), join(npmDir, file));
      continue;
    }
    const text = readFileSync(join(root, file), "utf8").replace(/\]\(([^)\s]+)\)/g, (link, target: string) => {
      if (/^[a-z]+:/i.test(target) || target.startsWith("#")) return link;
      const [path, anchor] = target.split("#");
      const inRepository = relative(root, join(root, dirname(file), path));
      if (shipped.includes(inRepository) || shipped.some((f) => f.startsWith(`${inRepository}/`))) return link;
      return `](${repository}/blob/main/${inRepository}${anchor === undefined ? "" : `#${anchor}`})`;
    });
    writeFileSync(join(npmDir, file), text);
  }
  const broken = brokenLinks(npmDir);
  if (broken.length > 0) throw new Error(`links the npm package cannot follow:\n  ${broken.join("\n  ")}`);
  return pkg;
}

/** The DOCUMENTS that exist, relative to the repository (a `dir/*.ext` pattern lists that folder). */
function documents(): string[] {
  return DOCUMENTS.flatMap((pattern) => {
    const star = pattern.match(/^(.*)\/\*(\.\w+)$/);
    if (star === null) return existsSync(join(root, pattern)) ? [pattern] : [];
    const dir = join(root, star[1]);
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(star[2])).map((f) => `${star[1]}/${f}`) : [];
  });
}

/** Relative links and images of the Markdown files in `dir` whose file is not in `dir` (anchors not checked). */
export function brokenLinks(dir: string): string[] {
  const broken: string[] = [];
  for (const file of walk(dir).filter((f) => f.endsWith(".md"))) {
    for (const [, target] of readFileSync(file, "utf8").matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target) || target.startsWith("#")) continue;
      const path = join(dirname(file), target.split("#")[0]);
      if (!existsSync(path)) broken.push(`${relative(dir, file)}: ${target}`);
    }
  }
  return broken;
}

/** Packs npm/ into dist/ and returns the tarball's path. */
export function packNpm(): string {
  rmSync(packDir, { recursive: true, force: true });
  mkdirSync(packDir, { recursive: true });
  execFileSync("npm", ["pack", "--silent", "--pack-destination", packDir], {
    cwd: npmDir,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const tarball = tarballPath();
  if (!existsSync(tarball)) throw new Error(`npm pack did not write ${tarball}`);
  return tarball;
}

if (import.meta.main) {
  const pkg = buildNpm();
  // The one field maintainers fill before publishing: homepage and bugs derive from it.
  if (repositoryUrl().includes("/OWNER/")) {
    console.warn(`note: package.json "repository" is a placeholder (${repositoryUrl()}): set it before publishing`);
  }
  const tarball = packNpm();
  const modules = Object.keys(moduleExports(pkg));
  console.log(`built npm/ (${modules.length} entry points: ${modules.join(", ")})`);
  for (const [subpath, { runtime, types }] of Object.entries(subpathNeeds(pkg))) {
    const needs = [...runtime, ...types.map((name) => `${name} (types only)`)];
    console.log(`  ${subpath}: ${needs.length ? needs.join(", ") : "no dependency"}`);
  }
  console.log(`packed ${relative(root, tarball)}; in another project: npm install ${tarball} (or bun add ${tarball})`);
}
