// The machine's PostgreSQL for the tests and benchmarks of PostgresCacheBackend: a raw driver client, table names
// unique to a run (each test file drops what it made), a loopback port with nothing listening, and a proxy that
// can freeze the link to the server as a frozen server would.
import net from "node:net";
import postgres from "postgres";
import type { PostgresClient } from "../backends/postgres.ts";

export const PG_URL = "postgres://postgres@127.0.0.1:5432/test";

/** A driver client of the test database, quiet about notices. */
export function rawSql(url = PG_URL): PostgresClient {
  return postgres(url, { onnotice: () => {}, fetch_types: false, max: 4 }) as unknown as PostgresClient;
}

/** A table name no other run uses. */
export function uniqueTable(name: string): string {
  return `cachet_t_${name}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** Fails with a clear line when the machine's Postgres is not there (CI always has it). */
export async function requirePostgres(sql: PostgresClient): Promise<void> {
  try {
    await Promise.race([
      sql.unsafe("SELECT 1"),
      new Promise((_, reject) => setTimeout(() => reject(new Error("no answer within 10 s")), 10_000)),
    ]);
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_URL} (${(error as Error).message}): these tests need the machine's ` +
        "PostgreSQL 15 (trust auth, user postgres, database test) running on 127.0.0.1:5432",
    );
  }
}

/** Drops the tables a test file made (only those). */
export async function dropTables(sql: PostgresClient, tables: Iterable<string>): Promise<void> {
  for (const table of tables) await sql.unsafe(`DROP TABLE IF EXISTS ${table}`);
}

/** A loopback port with nothing listening on it (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A loopback TCP proxy to the machine's Postgres whose link can be frozen (bytes held, nothing answered) or cut (every
 * connection reset and the port closed, as a dead server), then restored on the same port.
 */
export interface FreezableProxy {
  readonly url: string;
  freeze(): void;
  thaw(): void;
  /** Resets every connection and stops listening: connecting is refused. */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(): Promise<FreezableProxy> {
  let frozen = false;
  const links = new Set<{ client: net.Socket; server: net.Socket }>();
  const listener = (client: net.Socket) => {
    const server = net.connect(5432, "127.0.0.1");
    const link = { client, server };
    links.add(link);
    client.on("data", (chunk) => server.write(chunk));
    server.on("data", (chunk) => client.write(chunk));
    if (frozen) {
      client.pause();
      server.pause();
    }
    const end = () => {
      links.delete(link);
      client.destroy();
      server.destroy();
    };
    client.on("close", end).on("error", end);
    server.on("close", end).on("error", end);
  };
  let proxy = net.createServer(listener);
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const { port } = proxy.address() as net.AddressInfo;
  const cut = () => {
    for (const { client, server } of links) {
      client.resetAndDestroy();
      server.destroy();
    }
  };
  const stop = () => {
    cut();
    return new Promise<void>((resolve) => proxy.close(() => resolve()));
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    freeze() {
      frozen = true;
      for (const { client, server } of links) {
        client.pause();
        server.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const { client, server } of links) {
        client.resume();
        server.resume();
      }
    },
    kill: stop,
    async restart() {
      proxy = net.createServer(listener);
      await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
    },
    close: () => proxy.listening ? stop() : (cut(), Promise.resolve()),
  };
}
