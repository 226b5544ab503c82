// scripts/smoke_browser.ts without a browser: `npm test` on a machine with only Node and npm skips the step with one
// line, while CI (CI=true) fails it, so a CI image that lost its Chromium cannot pass silently.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

function smoke(env: Record<string, string>): { status: number | null; stdout: string } {
  const { CI: _ci, CACHET_CHROMIUM: _chosen, ...inherited } = process.env;
  const result = spawnSync(join(root, "node_modules", ".bin", "node"), [join(root, "scripts", "smoke_browser.ts")], {
    cwd: root,
    encoding: "utf8",
    // Empty rather than absent: Deno's spawnSync merges the parent's environment into `env`.
    env: { ...inherited, CI: "", CACHET_CHROMIUM: "", ...env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout };
}

describe("smoke_browser without a browser", () => {
  it("skips with one line and exits 0 outside CI", () => {
    const { status, stdout } = smoke({ CACHET_CHROMIUM: "/nonexistent/chromium" });
    assert.equal(status, 0);
    assert.match(stdout, /^browser: skipped, no Chromium found \(\/nonexistent\/chromium\)/);
    assert.equal(stdout.trim().split("\n").length, 1);
  });

  it("skips when PATH holds no browser", () => {
    const { status, stdout } = smoke({ PATH: "/nonexistent" });
    assert.equal(status, 0);
    assert.match(stdout, /^browser: skipped, no Chromium found \(chromium, .* on PATH\)/);
  });

  it("fails with CI=true", () => {
    const { status, stdout } = smoke({ CACHET_CHROMIUM: "/nonexistent/chromium", CI: "true" });
    assert.equal(status, 1);
    assert.match(stdout, /^browser: FAILED, no Chromium found/);
  });
});
