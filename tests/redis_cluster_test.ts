import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { Cluster, Redis } from "ioredis";
import { RedisCacheBackend, RedisLock } from "../backends/redis/mod.ts";
import { backendConformance } from "./_backend_conformance.ts";
import { type RedisServer, redisServerSkip, sleep, startRedisServer, uniquePrefix } from "./_redis_server.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

let servers: RedisServer[] = [];
let cluster: Cluster;

async function startCluster(): Promise<void> {
  servers = await Promise.all([0, 1, 2].map(() => startRedisServer(["--cluster-enabled", "yes"], { bus: true })));
  const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
  await new Promise<void>((resolve, reject) => {
    execFile(
      "redis-cli",
      ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"],
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve()),
    );
  });
  // Every node must agree that all slots are served before the cluster takes commands.
  for (const server of servers) {
    const node = new Redis({ port: server.port, host: "127.0.0.1", lazyConnect: true });
    try {
      for (let i = 0; !/cluster_state:ok/.test(await node.cluster("INFO")); i++) {
        if (i > 100) throw new Error(`node ${server.port} did not reach cluster_state:ok`);
        await sleep(50);
      }
    } finally {
      node.disconnect();
    }
  }
  cluster = new Cluster([{ host: "127.0.0.1", port: servers[0].port }], { lazyConnect: true });
  cluster.on("error", () => {});
}

describe("RedisCacheBackend on a Redis Cluster", { skip: redisServerSkip() }, () => {
  before(startCluster);
  after(async () => {
    cluster?.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
  });

  backendConformance("RedisCacheBackend (cluster)", {
    create: () => new RedisCacheBackend({ client: cluster, prefix: uniquePrefix("cluster-conformance") }),
    dispose: (backend) => backend.clear(),
  });

  test("RedisCacheBackend on a cluster spreads keys over every master and clear() empties them all", async () => {
    const prefix = uniquePrefix("cluster");
    const backend = new RedisCacheBackend({ client: cluster, prefix });
    await Promise.all(Array.from({ length: 300 }, (_, i) => backend.set(`k${i}`, bytes(i % 256), 60)));
    await cluster.set("outside:key", "keep");
    const perNode = async () =>
      await Promise.all(cluster.nodes("master").map(async (node) => (await node.keys(`${prefix}*`)).length));
    const before = await perNode();
    assert.equal(before.length, 3);
    assert.ok(before.every((n) => n > 0), `keys per master: ${before.join(", ")}`);
    assert.equal(before.reduce((a, b) => a + b, 0), 300);
    assert.deepEqual([...(await backend.get("k42"))!], [42]);
    await backend.delete("k42");
    assert.equal(await backend.get("k42"), undefined);

    await backend.clear();
    assert.deepEqual(await perNode(), [0, 0, 0]);
    assert.equal(await cluster.get("outside:key"), "keep", "clear() leaves keys outside the prefix");
    await backend.close();
    assert.equal(cluster.status, "ready", "a borrowed cluster stays open");
  });

  test("RedisLock works on a cluster", async () => {
    const lock = new RedisLock(cluster, { prefix: uniquePrefix("cluster-lock") });
    let inside = 0;
    let most = 0;
    await Promise.all(Array.from({ length: 20 }, () =>
      lock.withLock("k", async () => {
        most = Math.max(most, ++inside);
        await sleep(1);
        inside--;
      })));
    assert.equal(most, 1);
  });
});
