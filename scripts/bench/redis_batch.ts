// Redis batch and tags suite (issue #12), on the local server at 127.0.0.1:6379:
// reading 100 keys with one getMany (MGET) against 100 awaited gets, 100
// concurrent gets, and raw ioredis mgetBuffer; a tagged entry's get against an
// untagged one's, with the commands each sends; deleteTags on 1,000 to 100,000
// tagged entries. Keys live under a prefix unique to this run and are deleted
// afterwards. A suite for run.ts (export run) and a standalone script:
//
//   node_modules/.bin/node scripts/bench/redis_batch.ts [--quick]
import process from "node:process";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { RedisCacheBackend } from "../../backends/redis/mod.ts";
import { TTLCache } from "../../mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import { deleteTagsRows } from "./read_through.ts";
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
const TAGS = "get hit, 1 caller: tagged vs untagged entry";

/** Runs the suite. */
export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const runId = `cachet-bench-${crypto.randomUUID()}`;
  const names = keys("user", BATCH);
  const bytes = names.map((_, i) => jsonBytes(record(i)));
  const backend = new RedisCacheBackend({ url: URL, prefix: `${runId}:cachet:` });
  const raw = new Redis(URL);
  // The floor's keys are as long as the TTLCache rows' (the backend's prefix, then "cache:user:N"): a longer key is
  // more bytes to send and to hash, not cachet's code.
  const rawPrefix = `${runId}:raw-io:`;
  const rawKeys = names.map((k) => `${rawPrefix}cache:${k}`);
  try {
    for (const [i, k] of names.entries()) await backend.set(k, bytes[i], TTL_SECONDS);
    for (const [i, k] of rawKeys.entries()) await raw.set(k, Buffer.from(bytes[i]), "PX", TTL_SECONDS * 1000);
    const cache = new TTLCache<Uint8Array>({ ttl: TTL_SECONDS, backend });
    const json = new TTLCache<unknown>({ ttl: TTL_SECONDS, backend, serializer: new JsonSerializer() });
    const jsonNames = names.map((k) => `json:${k}`);
    for (const [i, k] of names.entries()) {
      await cache.set(`cache:${k}`, bytes[i]);
      await json.set(jsonNames[i], record(i));
    }
    const cacheNames = names.map((k) => `cache:${k}`);
    check(
      rawKeys.every((k, i) => k.length === backend.prefix.length + cacheNames[i].length),
      "the floor's keys differ in length from the TTLCache's",
    );
    const allHit = (values: readonly unknown[], peer: string) =>
      check(values.length === BATCH && values.every((v) => v != null), `${peer} missed`);
    const cases: Case[] = [
      {
        group: GROUP,
        peer: "cachet TTLCache.getMany (bytes)",
        cachet: true,
        ops: 1,
        fn: async () => allHit(await cache.getMany(cacheNames), "TTLCache.getMany"),
      },
      {
        group: GROUP,
        peer: "cachet TTLCache.getMany (JSON, decodes 100 values)",
        ops: 1,
        fn: async () => allHit(await json.getMany(jsonNames), "TTLCache.getMany (JSON)"),
      },
      {
        group: GROUP,
        peer: "cachet RedisCacheBackend.getMany",
        ops: 1,
        fn: async () => allHit(await backend.getMany(names), "getMany"),
      },
      {
        group: GROUP,
        peer: `${BATCH} awaited TTLCache.get (bytes)`,
        ops: 1,
        fn: async () => {
          const values = [];
          for (const k of cacheNames) values.push(await cache.get(k));
          allHit(values, "awaited gets");
        },
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
    // A tagged entry's get reads the entry, then its tag records (known only from the entry's header).
    const tagged = names.map((k) => `tagged:${k}`);
    for (const [i, k] of tagged.entries()) await json.set(k, record(i), { tags: ["users"] });
    const commands = await countCommands(backend, async () => {
      await json.get(jsonNames[0]);
    });
    const taggedCommands = await countCommands(backend, async () => {
      await json.get(tagged[0]);
    });
    const getOrSetCommands = await countCommands(backend, async () => {
      await json.getOrSet(tagged[0], () => record(0), { tags: ["users"] });
    });
    let cursor = 0;
    const tagCase = (peer: string, read: (i: number) => Promise<unknown>, note: string, cachet = false): Case => ({
      group: TAGS,
      peer,
      cachet,
      note,
      ops: 1,
      fn: async () => {
        cursor = (cursor + 1) % BATCH;
        check((await read(cursor)) !== undefined, `${peer} missed`);
      },
    });
    const count = (n: number) => `${n} command${n === 1 ? "" : "s"}`;
    cases.push(
      tagCase("cachet get, untagged (JSON)", (i) => json.get(jsonNames[i]), count(commands), true),
      tagCase("cachet get, 1 tag", (i) => json.get(tagged[i]), `${count(taggedCommands)}, one after the other`),
      tagCase(
        "cachet getOrSet, 1 tag named in the call",
        (i) => json.getOrSet(tagged[i], () => record(i), { tags: ["users"] }),
        `${count(getOrSetCommands)}: entry and tag record in one MGET`,
      ),
    );
    // Bounded: 5 rounds of 300 ms (plus warm-up) per case, as the redis suite does.
    const rows = await measure(cases, { ...options, time: 300, rounds: 5 });
    const tagBackends: RedisCacheBackend[] = [];
    rows.push(
      ...(await deleteTagsRows(
        options,
        () => {
          const b = new RedisCacheBackend({ url: URL, prefix: `${runId}:tags${tagBackends.length}:` });
          tagBackends.push(b);
          return new TTLCache<unknown>({ ttl: TTL_SECONDS, backend: b, serializer: new JsonSerializer() });
        },
        "Redis",
        async () => {
          const b = tagBackends[tagBackends.length - 1];
          await b.clear();
          await b.close();
        },
      )),
    );
    return {
      suite: "redis_batch",
      title: `Redis 7 on 127.0.0.1 (same machine): ${BATCH} keys in one call, tags`,
      runtime: runtimeName(),
      rows,
      notes: [
        `Each operation reads the same ${BATCH} ~80-byte values (bytes, no decoding) and checks every one is a hit.`,
        "cachet's backend creates its client with auto-pipelining and its 5 s command timeout; the floor is an " +
        "ioredis client with its defaults; the row on the backend's client sends the floor's MGET through cachet's " +
        "client, so the gap to it is cachet's own code. TTLCache rows read cachet's envelope (header + value); the " +
        "floor's keys are as long as theirs.",
        "Commands are counted on the backend's client during one call. A plain get of a tagged entry sends one more " +
        "command (a GET of its tag records) after the entry's GET: one extra round trip. getOrSet with the tags " +
        "named reads both in one MGET.",
        "deleteTags: median of 21 calls on a Redis-backed cache holding N entries with the tag; each call is one SET " +
        "of the tag's record.",
      ],
    };
  } finally {
    await backend.clear();
    await backend.close();
    await raw.unlink(rawKeys);
    await raw.quit();
  }
}

// The commands the backend's client sends while `action` runs.
async function countCommands(backend: RedisCacheBackend, action: () => Promise<void>): Promise<number> {
  const client = backend.client as Redis & { sendCommand: (...args: unknown[]) => unknown };
  const original = client.sendCommand;
  let n = 0;
  client.sendCommand = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  try {
    await action();
  } finally {
    client.sendCommand = original;
  }
  return n;
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
