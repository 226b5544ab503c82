// getMany's copies of raw values out of the entries a backend returned: one buffer per call.
import { freshAtTime, plainPayloadAt } from "./_envelope.ts";

// Copies the payloads of the raw entries at `at` (each starting at `from[i]` in its entry's bytes) into one new buffer,
// each left as its own view of it: one allocation per getMany instead of one per value (most of a 100-key read's cost
// on Node and Deno). The values of one call share that buffer, never a backend's or another call's, so no write to one
// reaches another or the cache. Each entry is copied whole, its header just before its payload, last entry first: the
// next entry copied (the one before it) overwrites that header, so no entry needs a view of its payload (a Buffer's
// view is made by its species constructor, slower than the copy); headers that reach past the first payload land in
// room kept at the front (as long as the longest header), zeroed after.
export function copyOut(values: Uint8Array[], at: readonly number[], from: readonly number[]): void {
  let room = 0;
  let total = 0;
  for (const i of at) {
    total += values[i].length - from[i];
    if (from[i] > room) room = from[i];
  }
  total += room;
  const out = new Uint8Array(total);
  const buffer = out.buffer;
  let end = total;
  for (let n = at.length - 1; n >= 0; n--) {
    const i = at[n];
    const entry = values[i];
    const length = entry.length - from[i];
    end -= length;
    out.set(entry, end - from[i]);
    // The constructor makes a view faster than subarray(), which looks up the species first.
    values[i] = new Uint8Array(buffer, end, length);
  }
  out.fill(0, 0, room);
}

// Where each entry's payload starts, for plainCopies(): reused (it runs synchronously), grown as needed.
let starts = new Int32Array(128);

/**
 * The raw values of a batch read whose every entry is missing or untagged and fresh at `now`, copied out as
 * copyOut() does (`undefined` for a missing one); undefined, having done nothing, when any entry is anything else
 * (tagged, stale, not bytes): the general path serves those. One pass to check and measure, one to copy: no
 * per-entry array.
 */
export function plainCopies(
  entries: readonly (Uint8Array | undefined)[],
  now: number,
): (Uint8Array | undefined)[] | undefined {
  const count = entries.length;
  if (starts.length < count) starts = new Int32Array(count);
  let room = 0;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const bytes = entries[i];
    if (bytes === undefined) {
      starts[i] = -1;
      continue;
    }
    if (!(bytes instanceof Uint8Array)) return undefined;
    const at = plainPayloadAt(bytes);
    if (at === -1 || !freshAtTime(bytes, now)) return undefined;
    starts[i] = at;
    total += bytes.length - at;
    if (at > room) room = at;
  }
  const values = new Array<Uint8Array | undefined>(count);
  total += room;
  const out = new Uint8Array(total);
  const buffer = out.buffer;
  let end = total;
  for (let i = count - 1; i >= 0; i--) {
    const from = starts[i];
    if (from === -1) {
      values[i] = undefined;
      continue;
    }
    const entry = entries[i]!;
    const length = entry.length - from;
    end -= length;
    out.set(entry, end - from);
    values[i] = new Uint8Array(buffer, end, length);
  }
  out.fill(0, 0, room);
  return values;
}
