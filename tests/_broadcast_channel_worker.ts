// A worker thread for tests/broadcast_channel_bus_test.ts: subscribes to the bus named in workerData, answers every
// message with its bytes reversed, and exits after answering [0].
import { workerData } from "node:worker_threads";
import { BroadcastChannelBus } from "../broadcast_channel_bus.ts";

const { name } = workerData as { name: string };
// ref: a listening worker must stay alive until told to stop.
const bus = new BroadcastChannelBus(`${name}:to-worker`, { ref: true });
const replies = new BroadcastChannelBus(`${name}:from-worker`);
bus.subscribe({
  async message(bytes) {
    await replies.publish(bytes.slice().reverse());
    if (bytes.length === 1 && bytes[0] === 0) {
      await bus.close();
      await replies.close();
    }
  },
  down() {},
  up() {},
});
// Tells the test the worker listens.
await replies.publish(new Uint8Array([255]));
