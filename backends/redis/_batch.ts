// The batch operations of RedisCacheBackend: MGET, a pipeline of SET … PX and
// UNLINK, each one round trip on a standalone server. Multi-key commands on a
// Redis Cluster must keep all their keys in one hash slot, so there the keys
// are grouped by slot and each group goes out as its own command, all at once.
import { Buffer } from "node:buffer";
import { type Cluster, Command, Redis } from "ioredis";
import { bytesReplyOptions } from "./_client.ts";

/** One entry of {@linkcode setMany}: a prefixed key, its bytes and its time to live in milliseconds. */
export interface BatchRow {
  readonly key: string;
  readonly value: Uint8Array;
  readonly ms: number;
}

/**
 * Keys per command (or per pipeline), so a huge batch never becomes one
 * command of megabytes that holds the server, and the client's buffers, at once.
 */
export const CHUNK = 1_000;

/**
 * Reads `fullKeys` with `MGET` (one per chunk, or per slot and chunk on a
 * cluster), sent concurrently.
 *
 * @param client The ioredis client.
 * @param fullKeys Prefixed keys; duplicates allowed.
 * @param shared Whether to return the client's Buffers themselves (see _shared_reads.ts) instead of a plain view each.
 * @returns The values aligned with `fullKeys`: views of the reply buffers, `undefined` for a miss.
 * @throws The ioredis error of the first command that failed.
 */
export async function getMany(
  client: Redis | Cluster,
  fullKeys: readonly string[],
  shared = false,
): Promise<(Uint8Array | undefined)[]> {
  const values = new Array<Uint8Array | undefined>(fullKeys.length);
  if (fullKeys.length === 0) return values;
  const bytes = shared ? asShared : toBytes;
  // The common case, one MGET, without the bookkeeping of groups and chunks.
  if (!client.isCluster && fullKeys.length <= CHUNK) {
    const replies = await mget(client as Redis, fullKeys);
    for (let i = 0; i < replies.length; i++) values[i] = bytes(replies[i]);
    return values;
  }
  const groups = client.isCluster ? bySlot(client, fullKeys.length, (i) => fullKeys[i]) : [range(fullKeys.length)];
  await Promise.all(
    chunks(groups).map(async (indexes) => {
      const replies = await client.mgetBuffer(indexes.map((i) => fullKeys[i]));
      for (let j = 0; j < indexes.length; j++) values[indexes[j]] = bytes(replies[j]);
    }),
  );
  return values;
}

/**
 * Stores each row with `SET key value PX ms`: one pipeline per chunk (per
 * slot and chunk on a cluster), sent concurrently. When a key appears twice,
 * the later row wins, as with successive `set` calls.
 *
 * @param client The ioredis client.
 * @param rows Prefixed keys, values and validated milliseconds to live.
 * @throws The ioredis error of the first command that failed.
 */
export async function setMany(client: Redis | Cluster, rows: readonly BatchRow[]): Promise<void> {
  if (rows.length === 0) return;
  const groups = client.isCluster ? bySlot(client, rows.length, (i) => rows[i].key) : [range(rows.length)];
  await Promise.all(
    chunks(groups).map(async (indexes) => {
      const set = (pipe: Redis | Cluster | ReturnType<Redis["pipeline"]>, row: BatchRow) =>
        pipe.set(row.key, Buffer.from(row.value.buffer, row.value.byteOffset, row.value.byteLength), "PX", row.ms);
      // A lone SET needs no pipeline around it (on a cluster most slots get one key).
      if (indexes.length === 1) {
        await set(client, rows[indexes[0]]);
        return;
      }
      const pipeline = client.pipeline();
      for (const i of indexes) set(pipeline, rows[i]);
      const results = await pipeline.exec();
      // exec() reports a failed command in its slot of the results instead of rejecting.
      const failed = results?.find(([error]) => error !== null);
      if (failed !== undefined) throw failed[0];
    }),
  );
}

/**
 * Deletes `fullKeys` with `UNLINK` (one per chunk, or per slot and chunk on a
 * cluster), sent concurrently; absent keys are ignored.
 *
 * @param client The ioredis client.
 * @param fullKeys Prefixed keys.
 * @throws The ioredis error of the first command that failed.
 */
export async function deleteMany(client: Redis | Cluster, fullKeys: readonly string[]): Promise<void> {
  if (fullKeys.length === 0) return;
  const groups = client.isCluster ? bySlot(client, fullKeys.length, (i) => fullKeys[i]) : [range(fullKeys.length)];
  await Promise.all(chunks(groups).map((indexes) => client.unlink(indexes.map((i) => fullKeys[i]))));
}

// One MGET of a standalone client, sent at once: an auto-pipelining client would hold it for a turn of the event
// loop and wrap it in a pipeline of its own, which a batch needs neither of. Through mgetBuffer (the client's own way)
// when commands made before it still wait in the auto-pipeline (it must not overtake them), when the client is
// another copy of ioredis than ours (our Command class is foreign to it), or with a Buffer keyPrefix.
function mget(client: Redis, fullKeys: readonly string[]): Promise<(Buffer | null)[]> {
  const { enableAutoPipelining, keyPrefix } = client.options;
  if (
    (enableAutoPipelining && client.autoPipelineQueueSize !== 0) || !(client instanceof Redis) ||
    (keyPrefix !== undefined && typeof keyPrefix !== "string")
  ) {
    return client.mgetBuffer(fullKeys as string[]);
  }
  const command = new MgetCommand(fullKeys as string[], bytesReplyOptions(client));
  return client.sendCommand(command) as Promise<(Buffer | null)[]>;
}

// Keys longer than this are encoded each time: keeping them would hold more memory than their repeats save.
const BULK_KEY_MAX_LENGTH = 128;
const BULKS_MAX = 1_024;
// Each recent key as a RESP bulk string ("$<bytes>\r\n<key>\r\n"), the set started over when full: keys repeat.
const bulks = new Map<string, string>();

function bulkOf(key: string): string {
  let bulk = bulks.get(key);
  if (bulk === undefined) {
    bulk = "$" + Buffer.byteLength(key) + "\r\n" + key + "\r\n";
    if (key.length > BULK_KEY_MAX_LENGTH) return bulk;
    if (bulks.size >= BULKS_MAX) bulks.clear();
    bulks.set(key, bulk);
  }
  return bulk;
}

/**
 * MGET of string keys, written as ioredis' Command writes it, but with each key's bulk string made once for a key
 * that repeats: ioredis measures and formats every argument anew (Buffer.byteLength, a number to text, four
 * concatenations), a tenth of a 100-key read's time.
 */
class MgetCommand extends Command {
  constructor(keys: string[], options: ConstructorParameters<typeof Command>[2]) {
    super("mget", keys, options);
  }

  override toWritable(): string {
    // The keys as sent: the Command constructor put the client's (string) keyPrefix in front of each.
    const keys = this.args as string[];
    let out = "*" + (keys.length + 1) + "\r\n$4\r\nmget\r\n";
    for (let i = 0; i < keys.length; i++) out += bulkOf(keys[i]);
    return out;
  }
}

function asShared(value: Buffer | null): Uint8Array | undefined {
  return value === null ? undefined : value;
}

function toBytes(value: Buffer | null): Uint8Array | undefined {
  return value === null ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function range(length: number): number[] {
  return Array.from({ length }, (_, i) => i);
}

/**
 * The indexes 0 … count-1 grouped by the hash slot of their key, in their
 * original order within a group. The slot is that of the key ioredis sends:
 * with the client's own `keyPrefix` option, if any, in front.
 */
function bySlot(client: Redis | Cluster, count: number, keyAt: (i: number) => string): number[][] {
  const keyPrefix = (client.options as { keyPrefix?: string | Uint8Array }).keyPrefix;
  const prefix = typeof keyPrefix === "string" ? encoder.encode(keyPrefix) : keyPrefix ?? new Uint8Array(0);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const key = encoder.encode(keyAt(i));
    const slot = slotOf(prefix.length === 0 ? key : concat(prefix, key));
    const group = groups.get(slot);
    if (group === undefined) groups.set(slot, [i]);
    else group.push(i);
  }
  return [...groups.values()];
}

function chunks(groups: number[][]): number[][] {
  const out: number[][] = [];
  for (const group of groups) {
    for (let start = 0; start < group.length; start += CHUNK) out.push(group.slice(start, start + CHUNK));
  }
  return out;
}

// CRC16-CCITT as Redis Cluster uses it (XMODEM: polynomial 0x1021, initial value 0, no reflection), one byte at a
// time through a table.
const CRC_TABLE = new Uint16Array(256);
for (let byte = 0; byte < 256; byte++) {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
  CRC_TABLE[byte] = crc & 0xffff;
}

const encoder = new TextEncoder();

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The Redis Cluster hash slot of the key `key` (a string is sent as UTF-8). */
export function keySlot(key: string | Uint8Array): number {
  return slotOf(typeof key === "string" ? encoder.encode(key) : key);
}

/**
 * CRC16 of the key's bytes modulo 16384, or of the bytes between the first
 * `{` and the first `}` after it when there are any (a hash tag, which lets
 * keys share a slot).
 */
function slotOf(bytes: Uint8Array): number {
  let start = 0;
  let end = bytes.length;
  // `{` and `}` are ASCII, so they never occur inside a multi-byte UTF-8 sequence.
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xff00) ^ CRC_TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc & 0x3fff;
}
