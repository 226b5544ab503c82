// Bundles tests/browser/page.js against the packed npm tarball with esbuild (platform "browser"), serves it on
// 127.0.0.1, loads it in headless Chromium (through playwright-core) and asserts on what the page reports. Every
// runtime-neutral subpath is also bundled and imported by the page, so a subpath that reaches for a Node built-in
// fails here. Usage: node_modules/.bin/node scripts/smoke_browser.ts (after scripts/build_npm.ts)
//
// The browser is $CACHET_CHROMIUM when set, else the first Chromium or Chrome found on PATH. Without one, the step is
// skipped with a one-line notice (exit 0), so `npm test` passes on a machine with only Node and npm; with CI=true a
// missing browser fails it instead.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { root } from "./_common.ts";
import { moduleExports, npmDir, type NpmPackageJson, readJson, SERVER_ONLY, tarballPath } from "./build_npm.ts";

const BROWSERS = ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome"];
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// What the page must report (see tests/browser/page.js).
const expected: Record<string, unknown> = {
  json: {
    user1: { id: 1, name: "Ada" },
    user2: "evicted",
    info: { hits: 2, misses: 1, maxSize: 2, currSize: 2, evictions: 1, staleHits: 0, errors: 0, l1Hits: 0 },
  },
  untrusted: { value: "miss", cacheError: true },
  raw: { bytes: [1, 2, 3], short: "expired" },
  structured: { when: "1970-01-01T00:00:00.000Z", n: "1", seen: ["a"], cyclic: true },
  cached: { values: [16, 16, 25], calls: 2, hits: 1 },
  validation: "RangeError: Cannot create TTLCache: ttl must be a finite number > 0 (seconds): received -1",
};

/** The browser to drive: $CACHET_CHROMIUM if set (even when it does not exist), else the first one on PATH. */
function findBrowser(): string | undefined {
  const chosen = process.env.CACHET_CHROMIUM;
  if (chosen) return existsSync(chosen) ? chosen : undefined;
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  for (const name of BROWSERS) {
    for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

const browserPath = findBrowser();
if (browserPath === undefined) {
  const where = process.env.CACHET_CHROMIUM || `${BROWSERS.join(", ")} on PATH`;
  const ci = process.env.CI === "true" || process.env.CI === "1";
  console.log(
    `browser: ${ci ? "FAILED" : "skipped"}, no Chromium found (${where}); install one (apt-get install chromium) or ` +
      `set CACHET_CHROMIUM${ci ? "" : "; with CI=true this fails"}`,
  );
  process.exit(ci ? 1 : 0);
}
const tarball = tarballPath();
if (!existsSync(tarball)) throw new Error(`${tarball} is missing: run scripts/build_npm.ts first`);
const pkg = readJson<NpmPackageJson>(join(npmDir, "package.json"));
const neutral = Object.keys(moduleExports(pkg)).filter((subpath) => !SERVER_ONLY.has(subpath));

let passed = 0;
let failed = 0;
function check(name: string, fn: () => void): void {
  try {
    fn();
    passed++;
    console.log(`ok ${name}`);
  } catch (error) {
    failed++;
    console.log(`not ok ${name}\n${error}`);
  }
}

const scratch = mkdtempSync(join(tmpdir(), "cachet-browser-"));
const server = createServer();
let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
try {
  // The package as npm would install it; its optional peers come from the repository's node_modules.
  mkdirSync(join(scratch, "node_modules", "cachet"), { recursive: true });
  execFileSync("tar", ["xzf", tarball, "--strip-components=1", "-C", join(scratch, "node_modules", "cachet")]);
  copyFileSync(join(root, "tests", "browser", "page.js"), join(scratch, "page.js"));
  writeFileSync(
    join(scratch, "entry.js"),
    `import "./page.js";\n` +
      neutral.map((s, i) => `import * as m${i} from "cachet${s.slice(1)}";\n`).join("") +
      `globalThis.cachetSubpaths = {${
        neutral.map((s, i) => `${JSON.stringify(s)}: Object.keys(m${i})`).join(", ")
      }};\n`,
  );
  await build({
    entryPoints: [join(scratch, "entry.js")],
    outfile: join(scratch, "bundle.js"),
    absWorkingDir: scratch,
    nodePaths: [join(root, "node_modules")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    logLevel: "warning",
  });
  console.log(`bundled ${neutral.join(", ")}: ${readFileSync(join(scratch, "bundle.js")).length} bytes`);

  const files: Record<string, [string, string]> = {
    "/": [
      "text/html",
      `<!doctype html><title>cachet</title><link rel="icon" href="data:,"><pre id="results"></pre><script type="module" src="/bundle.js"></script>`,
    ],
    "/bundle.js": ["text/javascript", readFileSync(join(scratch, "bundle.js"), "utf8")],
  };
  server.on("request", (req, res) => {
    const file = files[req.url ?? ""];
    res.writeHead(file ? 200 : 404, { "content-type": file?.[0] ?? "text/plain" }).end(file?.[1] ?? "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  context = await chromium.launchPersistentContext(join(scratch, "profile"), {
    executablePath: browserPath,
    headless: true,
    args: FLAGS,
  });
  const page = context.pages()[0] ?? await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  await page.goto(url);
  await page.waitForFunction(() => "cachetResults" in globalThis && "cachetSubpaths" in globalThis, null, {
    timeout: 15_000,
  }).catch((error) => problems.push(`the page never reported: ${error.message}`));
  console.log(`chromium ${context.browser()?.version() ?? ""} loaded ${url}`);
  const { results, subpaths } = await page.evaluate(() => ({
    results: (globalThis as { cachetResults?: Record<string, unknown> }).cachetResults ?? {},
    subpaths: (globalThis as { cachetSubpaths?: Record<string, string[]> }).cachetSubpaths ?? {},
  }));

  check("no page or console error", () => assert.deepEqual(problems, []));
  for (const subpath of neutral) {
    check(`the page imported cachet${subpath.slice(1)}`, () => assert.ok(subpaths[subpath]?.length > 0));
  }
  for (const [name, value] of Object.entries(expected)) {
    check(`page result "${name}"`, () => assert.deepEqual(results[name], value));
  }
  check(
    "the page reports nothing unexpected",
    () => assert.deepEqual(Object.keys(results).sort(), Object.keys(expected).sort()),
  );

  // A second page of the same origin: page.js's BroadcastChannelBus carries page A's write to page B's l1.
  const other = await context.newPage();
  other.on("pageerror", (error) => problems.push(`second page error: ${error.message}`));
  await other.goto(url);
  await other.waitForFunction(() => "cachetBusPage" in globalThis, null, { timeout: 15_000 });
  const name = `smoke:${crypto.randomUUID()}`;
  type BusPage = { cachetBusPage(name: string): Promise<void> };
  type Bus = { cachetBus: { set(value: string): Promise<void>; get(): Promise<{ value: string; reads: number }> } };
  for (const p of [page, other]) await p.evaluate((n) => (globalThis as unknown as BusPage).cachetBusPage(n), name);
  const readB = () => other.evaluate(() => (globalThis as unknown as Bus).cachetBus.get());
  const warm = [await readB(), await readB()];
  await page.evaluate(() => (globalThis as unknown as Bus).cachetBus.set("new"));
  let after = await readB();
  for (let i = 0; i < 100 && after.reads === warm[1].reads; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    after = await readB();
  }
  check("page B serves its copy from l1 (no backend read)", () => {
    assert.deepEqual(warm.map((r) => r.value), ["old", "old"]);
    assert.equal(warm[1].reads, warm[0].reads);
  });
  check("page A's set drops page B's l1 copy through BroadcastChannelBus", () => {
    assert.equal(after.reads, warm[1].reads + 1, "page B read its backend again");
    // B's own backend still holds the old value: only the in-process tier was invalidated.
    assert.equal(after.value, "old");
  });
  check("no error on the second page", () => assert.deepEqual(problems, []));
} finally {
  await context?.close();
  server.close();
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`\nbrowser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
