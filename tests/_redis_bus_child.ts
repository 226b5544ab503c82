// A process for redis_bus_test.ts: subscribes a RedisBus, publishes once, closes it and prints "closed"; the test
// checks that the process then exits by itself. Usage: <url> <channel>
import process from "node:process";
import { RedisBus } from "../backends/redis/mod.ts";

const [url, channel] = process.argv.slice(-2);
const bus = new RedisBus({ url, channel });
bus.subscribe({ message() {}, down() {}, up() {} });
await bus.subscribed();
await bus.publish(new Uint8Array([1]));
await bus.close();
console.log("closed");
