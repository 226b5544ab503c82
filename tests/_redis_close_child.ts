// A process for redis_faults_test.ts: opens a RedisCacheBackend, a RedisBus made from it and one made from options,
// uses them, then kills (SIGKILL) or freezes (SIGSTOP) the server, closes all three and prints how long that took as
// JSON; the test checks that the process then exits by itself, promptly. Usage: <url> <kill|freeze> <timeout ms>
import process from "node:process";
import { RedisBus, RedisCacheBackend } from "../backends/redis/mod.ts";

const [url, mode, timeoutText] = process.argv.slice(-3);
const timeout = Number(timeoutText);
const backend = new RedisCacheBackend({ url, prefix: "close-child:", timeout });
const fromBackend = new RedisBus(backend);
const fromOptions = new RedisBus({ url, channel: "close-child", timeout });
for (const bus of [fromBackend, fromOptions]) {
  bus.subscribe({ message() {}, down() {}, up() {} });
  await bus.subscribed();
  await bus.publish(new Uint8Array([1]));
}
await backend.set("k", new Uint8Array([1]), 5);
const info = String(await (backend.client as unknown as { info(section: string): Promise<string> }).info("server"));
const pid = Number(/process_id:(\d+)/.exec(info)![1]);
process.kill(pid, mode === "kill" ? "SIGKILL" : "SIGSTOP");
if (mode === "kill") {
  // Until the client has noticed (the backend then fails at once).
  for (let i = 0; i < 100 && backend.client.status === "ready"; i++) await new Promise((r) => setTimeout(r, 20));
}
const started = performance.now();
await Promise.all([fromBackend.close(), fromOptions.close(), backend.close()]);
console.log(JSON.stringify({ closeMs: Math.round(performance.now() - started), status: backend.client.status }));
