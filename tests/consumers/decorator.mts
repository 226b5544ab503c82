// A TypeScript consumer that uses @cached as a standard (TC39) method decorator. scripts/smoke_install.ts type-checks
// it, compiles it with tsc (which lowers the decorator) and runs the output on Node 20; Bun runs it as it is.
import { cached, TTLCache } from "cachet";
import { JsonSerializer } from "cachet/json";

const cache = new TTLCache<unknown>({ serializer: new JsonSerializer<unknown>() });
let calls = 0;

class Users {
  @cached(cache)
  async find(id: number): Promise<{ id: number }> {
    await Promise.resolve();
    calls++;
    return { id };
  }
}

const users = new Users();
const first = await users.find(1);
const second = await users.find(1);
if (first.id !== 1 || second.id !== 1 || calls !== 1) {
  throw new Error(`unexpected @cached round trip: ${JSON.stringify({ first, second, calls })}`);
}
console.log("ok @cached method round trip");
