import { RedisCacheBackend } from "./backends/redis.ts";
import { freePort } from "./tests/_redis_server.ts";
const port = await freePort();
console.log("port", port);
const backend = new RedisCacheBackend({ url: `redis://127.0.0.1:${port}`, timeout: 500 });
const t = performance.now();
try { await backend.connect(); } catch (e) { console.log("err", (e as Error).message, performance.now() - t); }
try { await backend.get("k"); } catch (e) { console.log("err", (e as Error).message, performance.now() - t); }
await backend.close();
console.log("closed");
