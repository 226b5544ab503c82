// Registers the published conformance cases (testing.ts) with node:test. Call it from the backend's test file with a
// factory; each case gets a fresh backend, disposed afterwards.
import { describe, test } from "node:test";
import { backendConformanceCases, type BackendConformanceOptions } from "../testing.ts";

export type ConformanceOptions = BackendConformanceOptions;

export function backendConformance(name: string, options: ConformanceOptions): void {
  describe(`${name} conformance`, () => {
    for (const conformance of backendConformanceCases(options)) {
      test(`${name} ${conformance.name}`, conformance.fn);
    }
  });
}
