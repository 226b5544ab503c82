// Redis batch suite: reading 100 keys from the local server at 127.0.0.1:6379
// with one getMany (MGET) against 100 awaited gets, 100 concurrent gets, and
// raw ioredis mgetBuffer. Keys live under a prefix unique to this run and are
// deleted afterwards. A suite for run.ts (export run) and a standalone script:
//
//   node_modules/.bin/node scripts/bench/redis_batch.ts [--quick]
import process from "node:process";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { RedisCacheBackend } from "../../backends/redis.ts";
import { getMany } from "../../backends/_redis_batch.ts";
import {
  advantage,
  type Case,
  check,
  markdownTable,
  measure,
  runtimeName,
  type SuiteOptions,
  type SuiteResult,
} from "./_harness.ts";
import { jsonBytes, keys, record, TTL_SECONDS } from "./_fixtures.ts";

const URL = "redis://127.0.0.1:6379";
const BATCH = 100;
const GROUP = `read ${BATCH} keys, 1 caller`;

/** Runs the suite. */
export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const runId = `cachet-bench-${crypto.randomUUID()}`;
  const names = keys("user", BATCH);
  const bytes = names.map((_, i) => jsonBytes(record(i)));
  const backend = new RedisCacheBackend({ url: URL, prefix: `${runId}:cachet:` });
  const raw = new Redis(URL);
  const rawPrefix = `${runId}:ioredis:`;
  const rawKeys = names.map((k) => rawPrefix + k);
  try {
    for (const [i, k] of names.entries()) await backend.set(k, bytes[i], TTL_SECONDS);
    for (const [i, k] of rawKeys.entries()) await raw.set(k, Buffer.from(bytes[i]), "PX", TTL_SECONDS * 1000);
    // Until RedisCacheBackend calls _redis_batch itself, call it as the backend will: prefixed keys, its client.
    const wired = (backend as { getMany?: (keys: readonly string[]) => Promise<(Uint8Array | undefined)[]> }).getMany;
    const backendGetMany = wired !== undefined
      ? (ks: readonly string[]) => wired.call(backend, ks)
      : (ks: readonly string[]) => getMany(backend.client as Redis, ks.map((k) => backend.prefix + k));
    const allHit = (values: readonly unknown[], peer: string) =>
      check(values.length === BATCH && values.every((v) => v != null), `${peer} missed`);
    const cases: Case[] = [
      {
        group: GROUP,
        peer: wired !== undefined ? "RedisCacheBackend.getMany (MGET)" : "cachet getMany (MGET, backend's client)",
        cachet: true,
        ops: 1,
        fn: async () => allHit(await backendGetMany(names), "getMany"),
      },
      {
        group: GROUP,
        peer: `${BATCH} awaited RedisCacheBackend.get`,
        ops: 1,
        fn: async () => {
          const values = [];
          for (const k of names) values.push(await backend.get(k));
          allHit(values, "awaited gets");
        },
      },
      {
        group: GROUP,
        peer: `${BATCH} concurrent RedisCacheBackend.get (auto-pipelined)`,
        ops: 1,
        fn: async () => allHit(await Promise.all(names.map((k) => backend.get(k))), "concurrent gets"),
      },
      {
        group: GROUP,
        // Tells the cost of cachet's code apart from that of its client's options (auto-pipelining, timeout).
        peer: "ioredis mgetBuffer on the backend's client",
        ops: 1,
        fn: async () => allHit(await (backend.client as Redis).mgetBuffer(rawKeys), "mgetBuffer"),
      },
      {
        group: GROUP,
        peer: "ioredis mgetBuffer (floor)",
        ops: 1,
        fn: async () => allHit(await raw.mgetBuffer(rawKeys), "mgetBuffer"),
      },
    ];
    // Bounded: 5 rounds of 300 ms (plus warm-up) per case, as the redis suite does.
    const rows = await measure(cases, { ...options, time: 300, rounds: 5 });
    return {
      suite: "redis_batch",
      title: `Redis 7 on 127.0.0.1 (same machine): ${BATCH} keys in one call`,
      runtime: runtimeName(),
      rows,
      notes: [
        `Each operation reads the same ${BATCH} ~80-byte values (bytes, no decoding) and checks every one is a hit.`,
        "cachet's backend creates its client with auto-pipelining and its 5 s command timeout; the floor is an " +
        "ioredis client with its defaults; the row on the backend's client sends the floor's MGET through cachet's " +
        "client, so the gap to it is cachet's own code.",
      ],
    };
  } finally {
    await backend.clear();
    await backend.close();
    await raw.unlink(rawKeys);
    await raw.quit();
  }
}

if (import.meta.main) {
  const result = await run({ quick: process.argv.includes("--quick"), cachetOnly: false });
  console.log(`${result.title} (${result.runtime})\n`);
  console.log(markdownTable(result));
  const ref = result.rows.find((r) => r.cachet)!;
  for (const row of result.rows) {
    if (row !== ref) console.log(`${ref.peer} vs ${row.peer}: ${advantage(ref, row).toFixed(2)}×`);
  }
  process.exit(0);
}
