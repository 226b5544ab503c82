// Postgres suite: get (hit) and set against the local server at 127.0.0.1:5432, with 1 caller and with 64
// concurrent callers, cachet (TTLCache and the bare backend) beside the postgres driver running the backend's own
// statements prepared, and a plain two-column table. Everything lives in tables unique to this run, dropped at the end.
import { Buffer } from "node:buffer";
import postgres from "postgres";
import { TTLCache } from "../../mod.ts";
import { JsonSerializer } from "../../serializers/json.ts";
import { PostgresCacheBackend } from "../../backends/postgres.ts";
import { type Case, check, measure, runtimeName, type SuiteOptions, type SuiteResult } from "./_harness.ts";
import { jsonBytes, keys, record, TTL_SECONDS } from "./_fixtures.ts";

const URL = "postgres://postgres@127.0.0.1:5432/test";
const KEYS = 1_000;
const CONCURRENCY = [1, 64];
const OPS_PER_CALLER = { 1: 32, 64: 4 } as Record<number, number>;

/** Runs the Postgres suite. */
export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const id = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  const table = `cachet_bench_${id}`;
  const plain = `cachet_bench_plain_${id}`;
  const hitKeys = keys("user", KEYS);
  const values = hitKeys.map((_, i) => record(i));
  const cases: Case[] = [];
  const cleanups: (() => unknown)[] = [];
  const group = (op: string, n: number) => `${op}, ${n} concurrent caller${n === 1 ? "" : "s"}`;
  let cursor = 0;
  const next = () => (cursor = (cursor + 1) % KEYS);
  const addCases = (
    peer: string,
    get: (key: string) => Promise<unknown>,
    set: (key: string, i: number) => Promise<unknown>,
    cachet = false,
  ) => {
    for (const n of CONCURRENCY) {
      const per = OPS_PER_CALLER[n];
      const callers = (op: () => Promise<void>) => () => Promise.all(Array.from({ length: n }, op));
      cases.push(
        {
          group: group("get", n),
          peer,
          cachet,
          ops: n * per,
          fn: callers(async () => {
            for (let i = 0; i < per; i++) check((await get(hitKeys[next()])) !== undefined, `${peer} missed`);
          }),
        },
        {
          group: group("set", n),
          peer,
          cachet,
          ops: n * per,
          fn: callers(async () => {
            for (let i = 0; i < per; i++) {
              const k = next();
              await set(hitKeys[k], k);
            }
          }),
        },
      );
    }
  };

  const admin = postgres(URL, { onnotice: () => {}, fetch_types: false, max: 1 });
  try {
    {
      const backend = new PostgresCacheBackend({ url: URL, table, prefix: "cachet" });
      const cache = new TTLCache<unknown>({ ttl: TTL_SECONDS, backend, serializer: new JsonSerializer() });
      cleanups.push(() => backend.close());
      await cache.setMany(hitKeys.map((key, i) => ({ key, value: values[i] })));
      addCases("cachet Postgres backend", (k) => cache.get(k), (k, i) => cache.set(k, values[i]), true);
    }

    if (!options.cachetOnly) {
      const bytes = values.map((v) => Buffer.from(jsonBytes(v)));
      const keyBytes = hitKeys.map((k) => Buffer.from(k));
      const index = new Map(hitKeys.map((k, i) => [k, i]));
      {
        const backend = new PostgresCacheBackend({ url: URL, table, prefix: "bare" });
        cleanups.push(() => backend.close());
        await backend.setMany(hitKeys.map((key, i) => ({ key, value: bytes[i], ttl: TTL_SECONDS })));
        addCases(
          "PostgresCacheBackend alone (bytes)",
          (k) => backend.get(k),
          (k, i) => backend.set(k, bytes[i], TTL_SECONDS),
        );
      }
      // The floor: the driver (its default pool of 10) with the backend's own statements, prepared, same bytes.
      const sql = postgres(URL, { onnotice: () => {}, fetch_types: false });
      cleanups.push(() => sql.end());
      const prefix = Buffer.from("floor");
      const get = `SELECT value FROM "${table}" WHERE prefix = $1 AND key_hash = sha256($2) AND key = $2 ` +
        "AND expires_at > now()";
      const set = `INSERT INTO "${table}" (prefix, key_hash, key, value, expires_at) VALUES ($1, sha256($2), $2, $3, ` +
        "now() + $4::float8 * interval '1 millisecond') ON CONFLICT (prefix, key_hash) DO UPDATE SET key = " +
        "EXCLUDED.key, value = EXCLUDED.value, expires_at = EXCLUDED.expires_at";
      for (const [i, key] of keyBytes.entries()) {
        await sql.unsafe(set, [prefix, key, bytes[i], TTL_SECONDS * 1000], { prepare: true });
      }
      addCases(
        "postgres driver, same statements prepared",
        async (k) => (await sql.unsafe(get, [prefix, keyBytes[index.get(k)!]], { prepare: true }))[0]?.value,
        (_k, i) => sql.unsafe(set, [prefix, keyBytes[i], bytes[i], TTL_SECONDS * 1000], { prepare: true }),
      );
      // A plain (key text, value bytea) table: what a cache table without expiry or a prefix costs.
      await admin.unsafe(`CREATE TABLE "${plain}" (key text PRIMARY KEY, value bytea NOT NULL)`);
      const plainGet = `SELECT value FROM "${plain}" WHERE key = $1`;
      const plainSet = `INSERT INTO "${plain}" (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = ` +
        "EXCLUDED.value";
      for (const [i, key] of hitKeys.entries()) await sql.unsafe(plainSet, [key, bytes[i]], { prepare: true });
      addCases(
        "postgres driver, plain key/value table",
        async (k) => (await sql.unsafe(plainGet, [k], { prepare: true }))[0]?.value,
        (k, i) => sql.unsafe(plainSet, [k, bytes[i]], { prepare: true }),
      );
    }

    const rows = await measure(cases, { ...options, time: 300, rounds: 5 });
    const order = CONCURRENCY.flatMap((n) => [group("get", n), group("set", n)]);
    rows.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group));
    return {
      suite: "postgres",
      title: "PostgreSQL 15 on 127.0.0.1 (same machine)",
      runtime: runtimeName(),
      rows,
      notes: [
        "Every row stores the same ~80-byte JSON values with a 60 s TTL in a logged table (each set commits); the " +
        "driver rows get the bytes and do no decoding, cachet's TTLCache row decodes JSON on every get.",
        "The driver is porsager's postgres 3.4 with its default pool of 10 connections, like the client the backend " +
        "creates; cachet adds a deadline per call (one timer) and the checks of its arguments.",
      ],
    };
  } finally {
    for (const cleanup of cleanups) await cleanup();
    await admin.unsafe(`DROP TABLE IF EXISTS "${table}", "${plain}"`);
    await admin.end();
  }
}
