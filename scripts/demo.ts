// A short tour: cache a slow function with cached(), then show the timings and statistics.
import { cached, TTLCache } from "../mod.ts";
import { JsonSerializer } from "../serializers/json.ts";

interface Weather {
  city: string;
  celsius: number;
}

const cache = new TTLCache<Weather>({ maxSize: 2, ttl: 30, serializer: new JsonSerializer<Weather>() });

// lock: true makes concurrent misses on one city share a single call.
const weather = cached(cache, { lock: true })(async function weather(city: string): Promise<Weather> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { city, celsius: 10 + city.length };
});

for (const city of ["Paris", "Paris", "Lyon", "Paris", "Nice", "Lyon"]) {
  const started = performance.now();
  const result = await weather(city);
  const ms = performance.now() - started;
  console.log(`${city.padEnd(6)} ${String(result.celsius).padStart(2)}°C in ${ms.toFixed(2).padStart(7)} ms`);
}
const started = performance.now();
await Promise.all(Array.from({ length: 100 }, () => weather("Brest")));
console.log(`100 concurrent cold calls for Brest in ${(performance.now() - started).toFixed(2)} ms (one computation)`);
console.log("cacheInfo():", weather.cacheInfo());
