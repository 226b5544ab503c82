// Checks that the JSR package (deno.json), the npm package (npm/package.json, from scripts/build_npm.ts) and the
// README list the same entry points, that their files exist, that `deno publish` ships only the modules those entry
// points reach (no tests, benchmarks or scripts), and that the Markdown files' relative links reach a file and heading.
// Usage: node_modules/.bin/node scripts/check_exports.ts
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { bin, root } from "./_common.ts";
import {
  denoJson,
  JSR_ONLY,
  moduleExports,
  moduleGraph,
  npmDir,
  npmName,
  type NpmPackageJson,
  readJson,
  subpathNeeds,
} from "./build_npm.ts";

const problems: string[] = [];
const deno = denoJson();
const pkg = readJson<NpmPackageJson>(join(npmDir, "package.json"));
const denoKeys = Object.keys(deno.exports).sort();
const npmKeys = Object.keys(moduleExports(pkg)).sort();
if (pkg.exports["./package.json"] !== "./package.json") problems.push(`npm exports lack "./package.json"`);

for (const key of denoKeys) {
  if (!npmKeys.includes(key) && !JSR_ONLY.has(key)) problems.push(`${key} is in deno.json exports, not in npm's`);
  if (npmKeys.includes(key) && JSR_ONLY.has(key)) problems.push(`${key} is JSR only, yet in npm's exports`);
}
for (const key of npmKeys) if (!denoKeys.includes(key)) problems.push(`${key} is in npm's exports, not in deno.json's`);
if (pkg.version !== deno.version) problems.push(`npm version ${pkg.version} != deno.json version ${deno.version}`);
for (const [key, source] of Object.entries(deno.exports)) {
  if (!/^\.(\/[a-z0-9]+(-[a-z0-9]+)*)*$/.test(key)) {
    problems.push(`deno.json export ${key} is not a kebab-case subpath`);
  }
  if (!existsSync(join(root, source))) problems.push(`deno.json export ${key}: ${source} does not exist`);
}
for (const [key, target] of Object.entries(moduleExports(pkg))) {
  for (const file of [target.types, target.default]) {
    if (!existsSync(join(npmDir, file))) problems.push(`npm export ${key}: npm/${file} does not exist`);
  }
}

// JSR: the files `deno publish` would upload must be the metadata plus the modules the exports reach.
const wanted = new Set(["LICENSE", "README.md", "deno.json"]);
for (const source of Object.values(deno.exports)) {
  for (const file of moduleGraph(join(root, source)).files) wanted.add(relative(root, file));
}
const dryRun = spawnSync(bin("deno"), ["publish", "--dry-run", "--allow-dirty"], {
  cwd: root,
  encoding: "utf8",
  env: { ...process.env, NO_COLOR: "1" },
});
const published = [...(dryRun.stdout + dryRun.stderr).matchAll(/^\s+file:\/\/(\S+)/gm)].map((m) =>
  relative(root, m[1])
);
if (dryRun.status !== 0 || published.length === 0) problems.push(`deno publish --dry-run failed:\n${dryRun.stderr}`);
for (const file of published) if (!wanted.has(file)) problems.push(`JSR would publish ${file}, which no export needs`);
for (const file of wanted) if (!published.includes(file)) problems.push(`JSR would not publish ${file}`);

// README: the "What each subpath needs" table must have one row per subpath, naming exactly what it imports.
const readme = readFileSync(join(root, "README.md"), "utf8");
const table = readme.split(/^### What each subpath needs$/m)[1]?.split(/^#/m)[0] ?? "";
if (table === "") problems.push(`README.md has no "### What each subpath needs" section`);
const rows = new Map<string, string>();
for (const line of table.split("\n")) {
  const cells = line.split("|").map((cell) => cell.trim());
  const name = cells[1]?.match(/^`([^`]+)`/)?.[1];
  if (name?.startsWith(npmName())) rows.set(name, cells[3] ?? "");
}
for (const [subpath, { runtime, types }] of Object.entries(subpathNeeds(pkg))) {
  const name = `${npmName()}${subpath.slice(1)}`;
  const needs = [...runtime, ...types].sort();
  const row = rows.get(name);
  rows.delete(name);
  if (row === undefined) {
    problems.push(
      `README.md "What each subpath needs" has no row for \`${name}\` (it needs ${needs.join(", ") || "nothing"})`,
    );
    continue;
  }
  const listed = [...row.matchAll(/`([^`]+)`/g)].map((m) => m[1]).filter((n) =>
    n in (pkg.peerDependencies ?? {}) || n in (pkg.dependencies ?? {})
  );
  if (listed.sort().join() !== needs.join()) {
    problems.push(
      `README.md row \`${name}\` names ${listed.join(", ") || "nothing"}; it imports ${needs.join(", ") || "nothing"}`,
    );
  }
}
for (const subpath of JSR_ONLY) {
  if (!table.includes(`\`${deno.name}${subpath.slice(1)}\``)) {
    problems.push(
      `README.md "What each subpath needs" has no row for the JSR-only \`${deno.name}${subpath.slice(1)}\``,
    );
  }
}
for (const name of rows.keys()) {
  problems.push(`README.md "What each subpath needs" lists \`${name}\`, which is not exported`);
}

// Docs: README links every page of docs/, and every relative link between the Markdown files reaches an existing file
// and heading, so no moved section becomes unreachable.
const pages = [
  "README.md",
  "CONTRIBUTING.md",
  "CHANGELOG.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
];
// GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens.
const slug = (heading: string) => heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").trim().replace(/\s/g, "-");
const anchors = (page: string) =>
  new Set([...readFileSync(join(root, page), "utf8").matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1])));
for (const page of pages) {
  const text = readFileSync(join(root, page), "utf8").replace(/^```[\s\S]*?^```/gm, "");
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target)) continue;
    const [path, anchor] = target.split("#");
    const file = path === "" ? page : relative(root, join(root, dirname(page), path));
    if (!existsSync(join(root, file))) problems.push(`${page} links ${target}: ${file} does not exist`);
    else if (anchor !== undefined && file.endsWith(".md") && !anchors(file).has(anchor)) {
      problems.push(`${page} links ${target}: ${file} has no heading #${anchor}`);
    }
  }
}
for (const page of pages.filter((p) => p.startsWith("docs/"))) {
  if (!readme.includes(`](${page}`)) problems.push(`README.md does not link ${page}`);
}

console.log(`entry points: ${denoKeys.join(", ")} (JSR publishes ${published.length} files)`);
if (problems.length > 0) {
  console.error(`exports: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(
  `exports: deno.json, npm/package.json and README.md agree; links in ${pages.length} Markdown files resolve`,
);
