// A short tour: cache a slow function with the memory backend, then show the timings and statistics.
import { TTLCache } from "../mod.ts";
import { MemoryCacheBackend } from "../backends/memory.ts";
import { JsonSerializer } from "../serializers/json.ts";

interface Weather {
  city: string;
  celsius: number;
}

async function slowWeather(city: string): Promise<Weather> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { city, celsius: 10 + city.length };
}

const cache = new TTLCache<Weather>({
  maxSize: 2,
  ttl: 30,
  backend: new MemoryCacheBackend(),
  serializer: new JsonSerializer<Weather>(),
});

async function weather(city: string): Promise<Weather> {
  const hit = await cache.get(city);
  if (hit !== undefined) return hit;
  const fresh = await slowWeather(city);
  await cache.set(city, fresh);
  return fresh;
}

for (const city of ["Paris", "Paris", "Lyon", "Paris", "Nice", "Lyon"]) {
  const started = performance.now();
  const result = await weather(city);
  const ms = performance.now() - started;
  console.log(`${city.padEnd(6)} ${String(result.celsius).padStart(2)}°C in ${ms.toFixed(2).padStart(7)} ms`);
}
console.log("cacheInfo():", cache.cacheInfo());
