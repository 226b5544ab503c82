// A linear pre-check of untrusted MessagePack bytes before msgpackr decodes them.
//
// msgpackr's decoder is fast and bounds its allocations, but it also honours
// features StructuredSerializer never writes, and one of them is dangerous on
// hostile bytes: a "bundled strings" extension (0x62) makes it decode a string
// span each time it occurs, so a 1 MB payload of such headers pointing at one
// large string costs gigabytes of decoding (measured: 10 s for 1.1 MB on Node 24).
// Its extensions are also process-global, so an extension another library
// registers (which may construct class instances) would apply to our bytes too.
// This pass walks the token stream without building values and accepts only
// what our encoder writes: the MessagePack core types, one-byte record
// definitions whose keys are strings, and msgpackr's structured clone
// extensions. It never recurses and never allocates per token.

// Extension types that StructuredSerializer writes -> how many values follow their data.
const FOLLOWING_VALUES: ReadonlyMap<number, number> = new Map([
  [0x00, 0], // undefined
  [0x42, 0], // bigint beyond 64 bits
  [0x65, 1], // Error: [name, message, cause, errors?]
  [0x69, 1], // object id (shared and cyclic references)
  [0x70, 0], // pointer to an object id
  [0x73, 1], // Set: [...values]
  [0x74, 0], // ArrayBuffer, typed array, DataView
  [0x78, 1], // RegExp: [source, flags]
  [0xff, 0], // Date
]);
const RECORD_DEFINITION = 0x72;

/**
 * Throws an `Error` saying why when `bytes` is not one complete value of the
 * MessagePack subset StructuredSerializer writes.
 */
export function checkMsgpack(bytes: Uint8Array): void {
  const end = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Record id -> number of fields; ids are defined in the stream before use.
  const records: (number | undefined)[] = [];
  let pos = 0;
  // Values still to be read. Each needs at least one byte, which bounds it.
  let pending = 1;
  const expect = (count: number) => {
    pending += count;
    if (pending > end - pos) throw new Error(`truncated or oversized container at byte ${pos}`);
  };
  const skip = (length: number) => {
    if (length > end - pos) throw new Error(`truncated data at byte ${pos}`);
    pos += length;
  };
  const u8 = () => {
    if (pos >= end) throw new Error(`truncated at byte ${pos}`);
    return bytes[pos++];
  };
  const u16 = () => {
    if (pos + 2 > end) throw new Error(`truncated at byte ${pos}`);
    pos += 2;
    return view.getUint16(pos - 2);
  };
  const u32 = () => {
    if (pos + 4 > end) throw new Error(`truncated at byte ${pos}`);
    pos += 4;
    return view.getUint32(pos - 4);
  };
  const extension = (type: number, length: number) => {
    const follows = FOLLOWING_VALUES.get(type);
    if (follows === undefined) throw new Error(`unsupported extension type 0x${type.toString(16)} at byte ${pos - 1}`);
    skip(length);
    expect(follows);
  };
  const stringLength = (token: number): number => {
    if (token >= 0xa0 && token < 0xc0) return token - 0xa0;
    if (token === 0xd9) return u8();
    if (token === 0xda) return u16();
    if (token === 0xdb) return u32();
    throw new Error(`record key is not a string at byte ${pos - 1}`);
  };
  const recordDefinition = () => {
    const id = u8() & 0x3f;
    const token = u8();
    const fields = token >= 0x90 && token < 0xa0 ? token - 0x90 : token === 0xdc ? u16() : token === 0xdd ? u32() : -1;
    if (fields < 0) throw new Error(`record definition without a key list at byte ${pos - 1}`);
    for (let i = 0; i < fields; i++) skip(stringLength(u8()));
    records[id] = fields;
    expect(fields);
  };

  while (pending > 0) {
    pending--;
    const token = u8();
    if (token < 0x40 || token >= 0xe0) continue; // positive and negative fixint
    if (token < 0x80) { // a record reference, or a fixint when no record has that id
      expect(records[token & 0x3f] ?? 0);
    } else if (token < 0x90) expect(2 * (token - 0x80)); // fixmap
    else if (token < 0xa0) expect(token - 0x90); // fixarray
    else if (token < 0xc0) skip(token - 0xa0); // fixstr
    else {
      switch (token) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          break;
        case 0xc4: // bin 8
        case 0xd9: // str 8
          skip(u8());
          break;
        case 0xc5: // bin 16
        case 0xda: // str 16
          skip(u16());
          break;
        case 0xc6: // bin 32
        case 0xdb: // str 32
          skip(u32());
          break;
        case 0xc7: { // ext 8
          const length = u8();
          extension(u8(), length);
          break;
        }
        case 0xc8: { // ext 16
          const length = u16();
          extension(u8(), length);
          break;
        }
        case 0xc9: { // ext 32
          const length = u32();
          extension(u8(), length);
          break;
        }
        case 0xca: // float 32
          skip(4);
          break;
        case 0xcb: // float 64
        case 0xcf: // uint 64
        case 0xd3: // int 64
          skip(8);
          break;
        case 0xcc: // uint 8
        case 0xd0: // int 8
          skip(1);
          break;
        case 0xcd: // uint 16
        case 0xd1: // int 16
          skip(2);
          break;
        case 0xce: // uint 32
        case 0xd2: // int 32
          skip(4);
          break;
        case 0xd4: { // fixext 1
          const type = u8();
          if (type === RECORD_DEFINITION) recordDefinition();
          else extension(type, 1);
          break;
        }
        case 0xd5: // fixext 2
          extension(u8(), 2);
          break;
        case 0xd6: // fixext 4
          extension(u8(), 4);
          break;
        case 0xd7: // fixext 8
          extension(u8(), 8);
          break;
        case 0xd8: // fixext 16
          extension(u8(), 16);
          break;
        case 0xdc: // array 16
          expect(u16());
          break;
        case 0xdd: // array 32
          expect(u32());
          break;
        case 0xde: // map 16
          expect(2 * u16());
          break;
        case 0xdf: // map 32
          expect(2 * u32());
          break;
        default: // 0xc1, never used by MessagePack, means a bundled string to msgpackr
          throw new Error(`unsupported token 0x${token.toString(16)} at byte ${pos - 1}`);
      }
    }
  }
  if (pos !== end) throw new Error(`${end - pos} trailing bytes after the value`);
}
