// The bytes of an invalidation message between caches. A message only names
// what to evict (backend keys, records, or everything), never a value or a
// token, so delivering one twice, late, out of order, or replayed by someone
// else can only make a receiver read the truth from the backend again: it
// never makes an invalidated copy valid. Messages are JSON (format 2):
//   { "v": 2, "s": sender, "p"?: scope, "k"?: [backend keys], "r"?: [records], "c"?: true }
// where the scope names the sender's backend key space (CacheBackend.scope).
// A sender splits what would exceed MESSAGE_MAX into several messages, and a
// single name too long for one message becomes "evict everything".

/** Receivers drop anything larger; senders never produce it. */
export const MESSAGE_MAX = 1 << 20;
// Room for the envelope and JSON escapes (a name may grow up to 6x when escaped).
const SPLIT_AT = MESSAGE_MAX >> 3;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/** What a message asks a receiver to evict. */
export interface Invalidation {
  readonly keys?: readonly string[];
  readonly records?: readonly string[];
  readonly all?: boolean;
}

/** The messages that carry `what` from `sender` (over `scope`), each under MESSAGE_MAX. */
export function encodeMessages(sender: string, scope: string | undefined, what: Invalidation): Uint8Array[] {
  if (what.all) return [encodeOne(sender, scope, "c", undefined)];
  const out: Uint8Array[] = [];
  for (const [field, names] of [["k", what.keys], ["r", what.records]] as const) {
    if (names === undefined || names.length === 0) continue;
    let batch: string[] = [];
    let size = 0;
    for (const name of names) {
      // A name alone too long for a message: the receivers evict everything instead.
      if (name.length > SPLIT_AT) return [encodeOne(sender, scope, "c", undefined)];
      if (size + name.length > SPLIT_AT && batch.length > 0) {
        out.push(encodeOne(sender, scope, field, batch));
        batch = [];
        size = 0;
      }
      batch.push(name);
      size += name.length + 3;
    }
    out.push(encodeOne(sender, scope, field, batch));
  }
  return out;
}

function encodeOne(
  sender: string,
  scope: string | undefined,
  field: "k" | "r" | "c",
  names: string[] | undefined,
): Uint8Array {
  const message = field === "c"
    ? { v: 2, s: sender, p: scope, c: true }
    : { v: 2, s: sender, p: scope, [field]: names };
  return utf8.encode(JSON.stringify(message));
}

/** Reads a message (untrusted bytes); throws a TypeError saying what is wrong with it. */
export function decodeMessage(bytes: unknown): { sender: string; scope: string | undefined } & Invalidation {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("not bytes");
  if (bytes.length > MESSAGE_MAX) throw new TypeError(`larger than ${MESSAGE_MAX} bytes`);
  const message: { v?: unknown; s?: unknown; p?: unknown; k?: unknown; r?: unknown; c?: unknown } = JSON.parse(
    fromUtf8.decode(bytes),
  );
  if (message === null || typeof message !== "object" || message.v !== 2 || typeof message.s !== "string") {
    throw new TypeError("not a cachet bus message (format 2)");
  }
  const { k: keys, r: records, c: all } = message;
  if (keys !== undefined && !isStrings(keys)) throw new TypeError("k must be an array of keys");
  if (records !== undefined && !isStrings(records)) throw new TypeError("r must be an array of records");
  if (all !== undefined && all !== true) throw new TypeError("c must be true");
  if (message.p !== undefined && typeof message.p !== "string") throw new TypeError("p must be a string");
  return { sender: message.s, scope: message.p, keys, records, all: all === true };
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}
