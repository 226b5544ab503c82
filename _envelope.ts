// The bytes TTLCache stores for each entry: a small header, then the
// serializer's bytes. The header carries what every reader of a shared
// backend needs and the backend cannot say without another round trip: when
// the entry stops being fresh and when it expires (wall-clock ms), how long its
// value took to compute (for early refresh), and the tag tokens it was written
// under (for O(1) tag and namespace invalidation). Bytes read back are
// untrusted: decode() checks every length and returns undefined for anything
// it did not write.
//
//   0      0xCA (format 1)
//   1      flags: 1 tags, 2 freshUntil (an entry with grace), 4 compute time
//   2..9   expiresAt, float64 (little-endian, as every field)
//   [8]    freshUntil, float64           (flag 2)
//   [8]    compute time in ms, float64   (flag 4)
//   [2]    tag count, uint16             (flag 1)
//          per tag: uint16 length + UTF-8 record key, uint8 length + token
//   rest   the payload

const MAGIC = 0xca;
const TAGS = 1;
const FRESH = 2;
const DELTA = 4;
const KNOWN = TAGS | FRESH | DELTA;
const MAX_TAGS = 0xffff;

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A tag an entry was written under: its record key and the record's token at the time. */
export interface TagStamp {
  readonly record: string;
  readonly token: Uint8Array;
}

/** What the header says about an entry. */
export interface Header {
  /** Wall-clock ms after which the entry is gone. */
  readonly expiresAt: number;
  /** Wall-clock ms after which the entry is stale; equals expiresAt without grace. */
  readonly freshUntil: number;
  /** How long the value took to compute, in ms (0 when unknown). */
  readonly delta: number;
  readonly tags: readonly TagStamp[];
}

/** A decoded entry: the header, and where its payload starts in its bytes (nothing copied). */
export interface Decoded extends Header {
  /** The entry's bytes: its payload starts at `at` (read it with payloadOf, or a serializer's LOADS_AT). */
  readonly bytes: Uint8Array;
  readonly at: number;
}

const NO_TAGS: readonly TagStamp[] = [];

function putF64(target: Uint8Array, at: number, value: number): void {
  f64[0] = value;
  // Eight stores beat a call to set() for eight bytes.
  for (let i = 0; i < 8; i++) target[at + i] = f64Bytes[i];
}

function getF64(source: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) f64Bytes[i] = source[at + i];
  return f64[0];
}

/** Builds the stored bytes of an entry. */
export function encode(header: Header, payload: Uint8Array): Uint8Array {
  const layout = layoutOf(header);
  const out = new Uint8Array(layout.size + payload.length);
  writeHeader(out, header, layout);
  out.set(payload, layout.size);
  return out;
}

/** How an entry's header is laid out: its size in bytes, its flags and its tags' names in UTF-8. */
export interface Layout {
  readonly size: number;
  readonly flags: number;
  readonly names: readonly Uint8Array[] | undefined;
}

/** The layout of `header`, so a payload can be written after it in the same array (see writeHeader). */
export function layoutOf(header: Header): Layout {
  const { expiresAt, freshUntil, delta, tags } = header;
  let flags = 0;
  let size = 10;
  if (freshUntil !== expiresAt) {
    flags |= FRESH;
    size += 8;
  }
  if (delta > 0) {
    flags |= DELTA;
    size += 8;
  }
  let names: Uint8Array[] | undefined;
  if (tags.length > 0) {
    if (tags.length > MAX_TAGS) throw new RangeError(`an entry can carry at most ${MAX_TAGS} tags`);
    flags |= TAGS;
    size += 2;
    names = tags.map((tag) => utf8.encode(tag.record));
    for (let i = 0; i < tags.length; i++) {
      if (names[i].length > 0xffff || tags[i].token.length > 0xff) throw new RangeError("a tag is too long to store");
      size += 3 + names[i].length + tags[i].token.length;
    }
  }
  return { size, flags, names };
}

/** Writes `header` into the first `layout.size` bytes of `out`. */
export function writeHeader(out: Uint8Array, header: Header, layout: Layout): void {
  const { flags, names } = layout;
  const tags = header.tags;
  out[0] = MAGIC;
  out[1] = flags;
  putF64(out, 2, header.expiresAt);
  let at = 10;
  if (flags & FRESH) {
    putF64(out, at, header.freshUntil);
    at += 8;
  }
  if (flags & DELTA) {
    putF64(out, at, header.delta);
    at += 8;
  }
  if (names !== undefined) {
    out[at++] = tags.length & 0xff;
    out[at++] = tags.length >>> 8;
    for (let i = 0; i < tags.length; i++) {
      const name = names[i];
      const token = tags[i].token;
      out[at++] = name.length & 0xff;
      out[at++] = name.length >>> 8;
      out.set(name, at);
      at += name.length;
      out[at++] = token.length;
      out.set(token, at);
      at += token.length;
    }
  }
}

/** A record key with its UTF-8 bytes, so decode() can name it without decoding text. */
export interface KnownRecord {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Pairs each record key with its UTF-8 bytes. */
export function knownRecords(names: readonly string[]): readonly KnownRecord[] {
  return names.map((name) => ({ name, bytes: utf8.encode(name) }));
}

const NO_KNOWN: readonly KnownRecord[] = [];

/**
 * Reads the stored bytes of an entry; undefined when they are not an entry
 * this format wrote. Tag names equal to one of `known` reuse its string.
 */
export function decode(bytes: Uint8Array, known: readonly KnownRecord[] = NO_KNOWN): Decoded | undefined {
  const end = bytes.length;
  if (end < 10 || bytes[0] !== MAGIC) return undefined;
  const flags = bytes[1];
  if ((flags & ~KNOWN) !== 0) return undefined;
  const expiresAt = getF64(bytes, 2);
  let at = 10;
  let freshUntil = expiresAt;
  let delta = 0;
  if (flags & FRESH) {
    if (at + 8 > end) return undefined;
    freshUntil = getF64(bytes, at);
    at += 8;
  }
  if (flags & DELTA) {
    if (at + 8 > end) return undefined;
    delta = getF64(bytes, at);
    at += 8;
  }
  if (Number.isNaN(expiresAt) || Number.isNaN(freshUntil) || !(delta >= 0)) return undefined;
  let tags = NO_TAGS;
  if (flags & TAGS) {
    if (at + 2 > end) return undefined;
    const count = bytes[at] | (bytes[at + 1] << 8);
    at += 2;
    const list: TagStamp[] = [];
    for (let i = 0; i < count; i++) {
      if (at + 2 > end) return undefined;
      const length = bytes[at] | (bytes[at + 1] << 8);
      at += 2;
      if (at + length + 1 > end) return undefined;
      const record = nameOf(bytes, at, at + length, known);
      if (record === undefined) return undefined;
      at += length;
      const tokenLength = bytes[at++];
      if (at + tokenLength > end) return undefined;
      list.push({ record, token: bytes.subarray(at, at + tokenLength) });
      at += tokenLength;
    }
    tags = list;
  }
  return { expiresAt, freshUntil, delta, tags, bytes, at };
}

/**
 * The payload of an entry starting at `at`, without copying a large one. A
 * view of an array of up to 64 bytes would cost more than a copy: V8 keeps
 * such arrays inside its heap and moves one out to a buffer of its own the
 * first time a view of it is made.
 */
export function payloadOf(bytes: Uint8Array, at: number): Uint8Array {
  return bytes.length <= 64 ? bytes.slice(at) : bytes.subarray(at);
}

/** Whether `record`'s current token is `bytes[from..to)`. */
export type TokenCheck = (record: string, bytes: Uint8Array, from: number, to: number) => boolean;

/**
 * Where the payload of an entry starts when a hit can read it without a
 * decoded header: an entry without tags, or (given `current`) one whose every
 * tag's record token is still current (record names found among `known`, else
 * decoded as decode() does). -1 for anything else (a token no longer current,
 * bytes decode() would refuse), which takes decode().
 */
export function plainPayloadAt(
  bytes: Uint8Array,
  known: readonly KnownRecord[] = NO_KNOWN,
  current?: TokenCheck,
  end: number = bytes.length,
): number {
  if (end < 10 || bytes[0] !== MAGIC) return -1;
  const flags = bytes[1];
  if ((flags & ~KNOWN) !== 0 || maybeNaN(bytes, 2)) return -1;
  let at = 10;
  if (flags & FRESH) {
    if (at + 8 > end || maybeNaN(bytes, at)) return -1;
    at += 8;
  }
  if (flags & DELTA) {
    if (at + 8 > end || !(getF64(bytes, at) >= 0)) return -1;
    at += 8;
  }
  if ((flags & TAGS) === 0) return at;
  if (current === undefined || at + 2 > end) return -1;
  const count = bytes[at] | (bytes[at + 1] << 8);
  at += 2;
  for (let i = 0; i < count; i++) {
    if (at + 2 > end) return -1;
    const length = bytes[at] | (bytes[at + 1] << 8);
    at += 2;
    if (at + length + 1 > end) return -1;
    const record = nameOf(bytes, at, at + length, known);
    if (record === undefined) return -1;
    at += length;
    const tokenLength = bytes[at++];
    if (at + tokenLength > end || !current(record, bytes, at, at + tokenLength)) return -1;
    at += tokenLength;
  }
  return at;
}

// The header of the packed entry packedPayloadAt() read last: as long as the longest header of an entry without tags.
const packedHeader = new Uint8Array(26);

/**
 * plainPayloadAt() of an entry packed in a string (its bytes the char codes
 * from `from` on, see SyncView.getPacked), reading only its header's chars:
 * where its payload starts in the string, -1 for an entry with tags or bytes
 * decode() would refuse (unpack it then).
 */
export function packedPayloadAt(packed: string, from: number): number {
  const length = packed.length - from;
  if (length < 10) return -1;
  const flags = packed.charCodeAt(from + 1);
  let size = 10;
  if (flags & FRESH) size += 8;
  if (flags & DELTA) size += 8;
  if (size > length || flags > KNOWN) return -1;
  for (let i = 0; i < size; i++) packedHeader[i] = packed.charCodeAt(from + i);
  const at = plainPayloadAt(packedHeader, NO_KNOWN, undefined, length);
  return at === -1 ? -1 : from + at;
}

/** freshAt() of the entry packedPayloadAt() accepted last. */
export function packedFreshAt(clock: { now(): number }): boolean {
  return freshAt(packedHeader, clock);
}

/** hasComputeTime() of the entry packedPayloadAt() accepted last. */
export function packedComputeTime(): boolean {
  return hasComputeTime(packedHeader);
}

/** Whether an entry plainPayloadAt() accepted is fresh at `now` (always, without grace), as decode() would judge. */
export function freshAt(bytes: Uint8Array, clock: { now(): number }): boolean {
  if ((bytes[1] & FRESH) === 0) return true;
  const freshUntil = getF64(bytes, 10);
  return freshUntil === getF64(bytes, 2) || clock.now() < freshUntil;
}

/** Whether an entry plainPayloadAt() accepted records a compute time (a candidate for early refresh). */
export function hasComputeTime(bytes: Uint8Array): boolean {
  return (bytes[1] & DELTA) !== 0;
}

/** freshAt() at a time already read (a batch reads the clock once). */
export function freshAtTime(bytes: Uint8Array, now: number): boolean {
  if ((bytes[1] & FRESH) === 0) return true;
  const freshUntil = getF64(bytes, 10);
  return freshUntil === getF64(bytes, 2) || now < freshUntil;
}

// Whether the float64 at `at` may be NaN (all exponent bits set), without reading it.
function maybeNaN(bytes: Uint8Array, at: number): boolean {
  return (bytes[at + 7] & 0x7f) === 0x7f && (bytes[at + 6] & 0xf0) === 0xf0;
}

// Record keys seen lately, by a hash of their bytes: a tagged entry read again
// names its records without decoding text. Bounded; emptied when full.
const interned = new Map<number, KnownRecord>();
const INTERNED_MAX = 4_096;

// The name of the `known` record whose bytes are bytes[from..to), if any.
function knownName(bytes: Uint8Array, from: number, to: number, known: readonly KnownRecord[]): string | undefined {
  for (const candidate of known) if (equal(candidate.bytes, bytes, from, to)) return candidate.name;
  return undefined;
}

// The last record seen in each of a few slots picked by the length and last byte of its key, checked before hashing
// the key's bytes (which costs more than comparing them) for `interned`.
const recent = new Array<KnownRecord | undefined>(64).fill(undefined);

function nameOf(bytes: Uint8Array, from: number, to: number, known: readonly KnownRecord[]): string | undefined {
  const own = knownName(bytes, from, to, known);
  if (own !== undefined) return own;
  const slot = to === from ? 0 : (to - from + bytes[to - 1] * 5) & 63;
  const last = recent[slot];
  if (last !== undefined && equal(last.bytes, bytes, from, to)) return last.name;
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  const seen = interned.get(hash);
  if (seen !== undefined && equal(seen.bytes, bytes, from, to)) {
    recent[slot] = seen;
    return seen.name;
  }
  let name: string;
  try {
    name = fromUtf8.decode(bytes.subarray(from, to));
  } catch {
    return undefined;
  }
  if (interned.size >= INTERNED_MAX) interned.clear();
  const record = { name, bytes: bytes.slice(from, to) };
  interned.set(hash, record);
  recent[slot] = record;
  return name;
}

function equal(expected: Uint8Array, bytes: Uint8Array, from: number, to: number): boolean {
  if (expected.length !== to - from) return false;
  for (let i = 0; i < expected.length; i++) if (bytes[from + i] !== expected[i]) return false;
  return true;
}

/** Whether two tokens are the same bytes. */
export function sameToken(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A fresh random token: 12 random bytes as base64url-like ASCII (16 bytes). */
export function newToken(): Uint8Array {
  const random = crypto.getRandomValues(new Uint8Array(12));
  const out = new Uint8Array(16);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let i = 0, j = 0; i < 12; i += 3) {
    const n = (random[i] << 16) | (random[i + 1] << 8) | random[i + 2];
    out[j++] = alphabet.charCodeAt((n >>> 18) & 63);
    out[j++] = alphabet.charCodeAt((n >>> 12) & 63);
    out[j++] = alphabet.charCodeAt((n >>> 6) & 63);
    out[j++] = alphabet.charCodeAt(n & 63);
  }
  return out;
}
