// The core and every runtime-neutral subpath (all deno.json exports except SERVER_ONLY in build_npm.ts) must run in a
// browser: no Deno.*, process, Buffer, require or node:* modules, and only libraries marked `browser` in
// DEPENDENCIES. Two independent checks: tsc against the ES and DOM libraries alone (no @types/node, no Deno types),
// and a scan of the module graph's code. Usage: node_modules/.bin/node scripts/check_core_purity.ts
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { bin, root } from "./_common.ts";
import { denoJson, DEPENDENCIES, moduleGraph, packageName, SERVER_ONLY, writeTsconfig } from "./build_npm.ts";

// Uses of a runtime's own API, matched in code with comments removed.
const FORBIDDEN: [RegExp, string][] = [
  [/\bDeno\s*[.?[]/, "Deno.* (Deno only)"],
  [/\bprocess\s*[.?[]/, "process (Node only)"],
  [/\bBuffer\b/, "Buffer (Node only; use Uint8Array)"],
  [/\brequire\s*\(/, "require() (CommonJS)"],
  [/\b__(?:dirname|filename)\b/, "__dirname/__filename (CommonJS)"],
  [/\bBun\s*[.?[]/, "Bun.* (Bun only)"],
];

// Optional uses of a runtime's API: looked up on globalThis, with a fallback every other runtime (and a browser) takes.
// Each is named here, line by line, so that no other slips in.
const DETECTED: Record<string, RegExp> = {
  // Node's and Bun's native UTF-8 decoding of a range; TextDecoder elsewhere (tests/json_test.ts runs both ways).
  "serializers/json.ts": /^const utf8Slice = \(globalThis as \{ Buffer\?: .*\.Buffer\?\.prototype\?\.utf8Slice as$/,
};

const problems: string[] = [];
const exports = denoJson().exports;
if (SERVER_ONLY.has(".")) problems.push(`"." is listed in SERVER_ONLY: the core must stay runtime-neutral`);
const neutral = Object.entries(exports).filter(([subpath]) => !SERVER_ONLY.has(subpath));

const files = new Set<string>();
for (const [subpath, source] of neutral) {
  const graph = moduleGraph(join(root, source));
  graph.files.forEach((file) => files.add(file));
  for (const spec of graph.bare) {
    if (spec.startsWith("node:")) problems.push(`${subpath} imports "${spec}" (Node only)`);
    else if (!DEPENDENCIES[packageName(spec)]?.browser) {
      problems.push(`${subpath} imports "${spec}", which is not marked browser-capable in build_npm.ts DEPENDENCIES`);
    }
  }
}
// Dependencies point one way: backends and serializers depend on the core, never the reverse. A core file is a
// library file at the root; default_backend.ts alone may import a backend (the memory one), as the wiring point.
const WIRING = new Set(["default_backend.ts"]);
for (const file of readdirSync(root).filter((name) => name.endsWith(".ts") && !WIRING.has(name))) {
  const code = readFileSync(join(root, file), "utf8");
  for (const [, spec] of code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gms)) {
    if (/^\.\/(?:backends|serializers)\//.test(spec)) {
      problems.push(`${file} imports "${spec}": the core must not depend on a backend or serializer`);
    }
  }
}

// Within the core, the facade (ttl_cache.ts) and the entry points use the private units (`_*.ts`), never the
// reverse: a unit that imported the facade would tie every concept back into one place.
const FACADES = new Set(["ttl_cache.ts", "mod.ts", "decorator.ts", "testing.ts"]);
for (const file of readdirSync(root).filter((name) => name.startsWith("_") && name.endsWith(".ts"))) {
  for (const spec of importsOf(join(root, file))) {
    const target = spec.replace(/^\.\//, "");
    if (FACADES.has(target)) problems.push(`${file} imports "${spec}": a private unit must not depend on the facade`);
  }
}

// No import circle anywhere in library code (type-only imports included: they tie the files together too).
const library = ["", "backends", "serializers"].flatMap((dir) => walkTs(join(root, dir)));
const edges = new Map(library.map((file) => [file, importsOf(file).map((spec) => join(file, "..", spec))]));
const state = new Map<string, "open" | "done">();
const visit = (file: string, path: string[]): void => {
  if (state.get(file) === "done" || !edges.has(file)) return;
  if (state.get(file) === "open") {
    const circle = path.slice(path.indexOf(file)).concat(file).map((f) => relative(root, f));
    problems.push(`import circle: ${circle.join(" -> ")}`);
    return;
  }
  state.set(file, "open");
  for (const next of edges.get(file)!) visit(next, [...path, file]);
  state.set(file, "done");
};
for (const file of library) visit(file, []);

function importsOf(file: string): string[] {
  const code = readFileSync(file, "utf8");
  return [...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/gms)].map((m) => m[1]);
}

function walkTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return dir === root ? [] : walkTs(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

for (const file of files) {
  const lines = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).split("\n");
  lines.forEach((line, i) => {
    const code = line.replace(/(^|[^:"'`])\/\/.*$/, "$1");
    const name = relative(root, file);
    if (DETECTED[name]?.test(code)) return;
    for (const [pattern, what] of FORBIDDEN) {
      if (pattern.test(code)) problems.push(`${name}:${i + 1}: uses ${what}: ${line.trim()}`);
    }
  });
}

// With `types: []` and a DOM-only lib, any use of process, Buffer or Deno is a type error, unless a declaration
// file in the program brings a runtime's types in: --listFiles shows that.
const tsconfig = writeTsconfig(
  "purity",
  { types: [], allowImportingTsExtensions: true, noEmit: true },
  neutral.map(([, source]) => source),
);
const tsc = spawnSync(bin("tsc"), ["-p", tsconfig, "--listFiles"], { encoding: "utf8" });
const listed = tsc.stdout.split("\n").filter((line) => line.startsWith("/"));
const diagnostics = tsc.stdout.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("/"));
if (tsc.status !== 0 || diagnostics.length > 0) {
  problems.push(`tsc against the DOM library alone failed:\n${diagnostics.join("\n")}${tsc.stderr}`);
}
for (const file of listed) {
  if (/node_modules\/(@types\/(node|bun|deno)|bun-types|@deno\/)/.test(file)) {
    problems.push(`a runtime's types entered the program: ${relative(root, file)}`);
  }
}

console.log(`checked ${neutral.map(([s]) => s).join(", ")}: ${files.size} files, ${listed.length} in the tsc program`);
if (problems.length > 0) {
  console.error(`core purity: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(
  "core purity: ok (no Deno.*, process, Buffer, require or node:* in the runtime-neutral subpaths; " +
    "units never import the facade; no import circle)",
);
