// getMany's copies of raw values out of the entries a backend returned: one buffer per call.
import { freshAtTime, plainPayloadAt } from "./_envelope.ts";

/**
 * Copies the payload of each entry whose start `from[i]` is not -1 (`entries[i]` its bytes) into one new buffer,
 * `values[i]` left as its own view of it (`values` may be `entries`): one allocation per getMany instead of one per
 * value (most of a 100-key read's cost on Node and Deno). The values of one call share that buffer, never a backend's
 * or another call's, so no write to one reaches another or the cache. Each entry is copied whole, its header just
 * before its payload, last entry first: the next entry copied (the one before it) overwrites that header, so no entry
 * needs a view of its payload (a Buffer's view is made by its species constructor, slower than the copy); headers that
 * reach past the first payload land in room kept at the front (as long as the longest header), zeroed after.
 */
export function copyOut(
  entries: readonly (Uint8Array | undefined)[],
  from: ArrayLike<number>,
  values: (Uint8Array | undefined)[],
): void {
  const count = entries.length;
  let room = 0;
  let total = 0;
  let copies = 0;
  for (let i = 0; i < count; i++) {
    const at = from[i];
    if (at === -1) continue;
    total += entries[i]!.length - at;
    if (at > room) room = at;
    copies++;
  }
  if (copies === 0) return;
  total += room;
  const out = new Uint8Array(total);
  const buffer = out.buffer;
  let end = total;
  for (let i = count - 1; i >= 0; i--) {
    const at = from[i];
    if (at === -1) continue;
    const entry = entries[i]!;
    const length = entry.length - at;
    end -= length;
    out.set(entry, end - at);
    // The constructor makes a view faster than subarray(), which looks up the species first.
    values[i] = new Uint8Array(buffer, end, length);
  }
  out.fill(0, 0, room);
}

// Where each entry's payload starts, for plainCopies(): reused (it runs synchronously), grown as needed.
let starts = new Int32Array(128);

/**
 * The raw values of a batch read whose every entry is missing or untagged and fresh at `now`, copied out by copyOut()
 * (`undefined` for a missing one); undefined, having done nothing, when any entry is anything else (tagged, stale,
 * not bytes): the general path serves those. No per-entry array.
 */
export function plainCopies(
  entries: readonly (Uint8Array | undefined)[],
  now: number,
): (Uint8Array | undefined)[] | undefined {
  const count = entries.length;
  if (starts.length < count) starts = new Int32Array(count);
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
  }
  // Missing entries stay undefined; every other one is replaced by its copy.
  const values = entries.slice();
  copyOut(entries, starts, values);
  return values;
}
