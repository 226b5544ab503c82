// SQLite suite (issue #21): SqliteCacheBackend's get, set and getMany(100) against raw prepared statements of the
// same runtime's driver (node:sqlite on Node and Deno, bun:sqlite on Bun), in memory, so the figures are the
// backend's own cost over SQLite's (a file adds the same I/O to both sides). Two raw rows: a plain `key TEXT` table
// (the floor), and the backend's own query on its own table (what the wrapper adds: key encoding, validation, the
// Promise). A suite for run.ts (export run) and a standalone script, on any runtime:
//
//   node_modules/.bin/node scripts/bench/sqlite.ts [--quick]
//   node_modules/.bin/deno run -A scripts/bench/sqlite.ts [--quick]
//   node_modules/.bin/bun scripts/bench/sqlite.ts [--quick]
import process from "node:process";
import { SqliteCacheBackend, type SqliteDatabase } from "../../backends/sqlite.ts";
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

const N = 100;

function rawDatabase(): SqliteDatabase {
  const runtime = globalThis as { Bun?: unknown; process?: { getBuiltinModule(id: string): unknown } };
  const Database = runtime.Bun !== undefined
    ? (runtime.process!.getBuiltinModule("bun:sqlite") as { Database: new (path: string) => SqliteDatabase }).Database
    : (runtime.process!.getBuiltinModule("node:sqlite") as { DatabaseSync: new (path: string) => SqliteDatabase })
      .DatabaseSync;
  return new Database(":memory:");
}

/** Runs the suite. */
export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const names = keys("user", N);
  const values = names.map((_, i) => jsonBytes(record(i)));
  const backend = new SqliteCacheBackend({ cleanupInterval: 0, prefix: "bench:" });
  const plain = rawDatabase();
  const own = rawDatabase();
  try {
    for (const [i, key] of names.entries()) await backend.set(key, values[i], TTL_SECONDS);
    plain.exec("CREATE TABLE raw (key TEXT PRIMARY KEY, value BLOB NOT NULL)");
    const plainGet = plain.prepare("SELECT value FROM raw WHERE key = ?");
    const plainSet = plain.prepare("INSERT OR REPLACE INTO raw (key, value) VALUES (?, ?)");
    for (const [i, key] of names.entries()) plainSet.run(key, values[i]);
    // The backend's own table and query, driven by hand.
    const ownBackend = new SqliteCacheBackend({ database: own, cleanupInterval: 0 });
    await ownBackend.close();
    const ownGet = own.prepare(
      "SELECT value FROM cachet_cache WHERE prefix = CAST(? AS BLOB) AND key = CAST(? AS BLOB) AND expires_at > ?",
    );
    const ownSet = own.prepare(
      "INSERT OR REPLACE INTO cachet_cache (prefix, key, value, expires_at) VALUES (CAST(? AS BLOB), CAST(? AS BLOB), ?, ?)",
    );
    for (const [i, key] of names.entries()) ownSet.run("bench:", key, values[i], Date.now() + 3.6e6);

    let i = 0;
    const next = () => names[i++ % N];
    const hit = (value: unknown, who: string) => check(value != null, `${who} missed`);
    const get = "get hit, 1 caller";
    const set = "set, 1 caller";
    const many = `getMany(${N}), 1 caller`;
    const cases: Case[] = [
      {
        group: get,
        peer: "cachet SqliteCacheBackend.get",
        cachet: true,
        ops: 1,
        fn: async () => hit(await backend.get(next()), "get"),
      },
      {
        group: get,
        peer: "raw prepared statement, key TEXT (awaited)",
        ops: 1,
        fn: async () => hit(await plainGet.get(next()), "raw get"),
      },
      {
        group: get,
        peer: "raw prepared statement, the backend's query (awaited)",
        ops: 1,
        fn: async () => hit(await ownGet.get("bench:", next(), Date.now()), "own get"),
      },
      {
        group: set,
        peer: "cachet SqliteCacheBackend.set",
        cachet: true,
        ops: 1,
        fn: () => {
          const k = i++ % N;
          return backend.set(names[k], values[k], TTL_SECONDS);
        },
      },
      {
        group: set,
        peer: "raw prepared statement, key TEXT (awaited)",
        ops: 1,
        fn: async () => {
          const k = i++ % N;
          await plainSet.run(names[k], values[k]);
        },
      },
      {
        group: many,
        peer: "cachet SqliteCacheBackend.getMany",
        cachet: true,
        ops: 1,
        fn: async () => check((await backend.getMany(names)).every((v) => v !== undefined), "getMany missed"),
      },
      {
        group: many,
        peer: `raw: ${N} prepared gets in a transaction, key TEXT`,
        ops: 1,
        fn: () => {
          plain.exec("BEGIN");
          const out = names.map((key) => plainGet.get(key));
          plain.exec("COMMIT");
          check(out.every((v) => v != null), "raw getMany missed");
        },
      },
    ];
    const rows = await measure(options.cachetOnly ? cases.filter((c) => c.cachet) : cases, {
      ...options,
      time: 300,
      rounds: 5,
    });
    return {
      suite: "sqlite",
      title: "SQLite backend vs raw prepared statements (in memory, same runtime)",
      runtime: runtimeName(),
      rows,
      notes: [
        `${N} keys of ~${values[0].length}-byte JSON records, read round robin; the database is in memory.`,
        "Raw rows call the runtime's own driver directly (node:sqlite or bun:sqlite) with the statement prepared once.",
      ],
    };
  } finally {
    await backend.close();
    plain.close();
    own.close();
  }
}

if (import.meta.main) {
  const result = await run({ quick: process.argv.includes("--quick"), cachetOnly: false });
  console.log(`${result.title} (${result.runtime})\n`);
  console.log(markdownTable(result));
  for (const ref of result.rows.filter((r) => r.cachet)) {
    for (const row of result.rows.filter((r) => r.group === ref.group && r !== ref)) {
      console.log(`${ref.group}: ${ref.peer} = ${advantage(ref, row).toFixed(2)}× ${row.peer}`);
    }
  }
  process.exit(0);
}
