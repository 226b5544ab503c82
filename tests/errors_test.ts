import { test } from "node:test";
import assert from "node:assert/strict";
import { CacheError, CacheSettingsValidationError } from "../mod.ts";

test("CacheError and CacheSettingsValidationError have stable names and a hierarchy", () => {
  const cause = new Error("root");
  const error = new CacheSettingsValidationError("bad setting", { cause });
  assert.ok(error instanceof CacheSettingsValidationError);
  assert.ok(error instanceof CacheError);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "CacheSettingsValidationError");
  assert.equal(new CacheError("x").name, "CacheError");
  assert.equal(error.cause, cause);
  assert.equal(error.message, "bad setting");
});
