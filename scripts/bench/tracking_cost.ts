// What RedisTracking costs the Redis server (issue #22): CPU and network per 1,000 writes on a private redis-server,
// with no tracking, with 10 trackers on 10 prefixes (BCAST, one each: the writes spread over them), and with 10
// trackers on one prefix (10 processes sharing a cache). Writes are sequential raw SETs of 100 bytes, as separate
// clients' writes would be. Usage: node_modules/.bin/node scripts/bench/tracking_cost.ts [writes per setup]
import process from "node:process";
import { Redis } from "ioredis";
import { RedisCacheBackend, RedisTracking } from "../../backends/redis/mod.ts";
import { startRedisServer } from "../../tests/_redis_server.ts";

const WRITES = Number(process.argv[2] ?? 20_000);
const server = await startRedisServer();
const admin = new Redis(server.url);
const value = Buffer.alloc(100, 1);

async function figures(): Promise<{ cpu: number; out: number; in: number }> {
  const info = await admin.info();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)![1]);
  return {
    cpu: field("used_cpu_sys") + field("used_cpu_user"),
    out: field("total_net_output_bytes"),
    in: field("total_net_input_bytes"),
  };
}

async function setup(name: string, trackedPrefixes: string[], writePrefixes: string[]): Promise<void> {
  const opened = trackedPrefixes.map((prefix) => {
    const backend = new RedisCacheBackend({ url: server.url, prefix });
    const tracking = new RedisTracking(backend);
    let messages = 0;
    tracking.subscribe({ message: () => void messages++, down() {}, up() {} });
    return { backend, tracking, messages: () => messages };
  });
  await Promise.all(opened.map(({ tracking }) => tracking.subscribed()));
  const writer = new Redis(server.url);
  await writer.ping();
  const before = await figures();
  for (let i = 0; i < WRITES; i++) await writer.set(`${writePrefixes[i % writePrefixes.length]}k${i % 500}`, value);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const after = await figures();
  const per = 1_000 / WRITES;
  const received = opened.reduce((sum, { messages }) => sum + messages(), 0);
  console.log(
    `| ${name} | ${((after.cpu - before.cpu) * 1000 * per).toFixed(1)} ms | ` +
      `${Math.round((after.out - before.out) * per / 1024)} KiB | ${
        Math.round((after.in - before.in) * per / 1024)
      } KiB | ` +
      `${Math.round(received * per / 2)} |`,
  );
  writer.disconnect();
  for (const { backend, tracking } of opened) {
    await tracking.close();
    await backend.close();
  }
}

try {
  const prefixes = Array.from({ length: 10 }, (_, i) => `app${i}:`);
  console.log(
    `${WRITES} writes per setup; figures per 1,000 writes (Redis ${
      (await admin.info("server")).match(/redis_version:(\S+)/)![1]
    })`,
  );
  console.log("| setup | Redis CPU | network out | network in | invalidations delivered |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  await setup("no tracking", [], prefixes);
  await setup("10 trackers, 10 prefixes (BCAST)", prefixes, prefixes);
  await setup("10 trackers on 1 prefix (BCAST)", prefixes.map(() => prefixes[0]), [prefixes[0]]);
} finally {
  admin.disconnect();
  await server.stop();
}
