import { buf as crc32c } from "crc-32/crc32c";
import { compress, uncompress } from "snappyjs";
import { type Codec, CodecError, type Decoder, type Encoder } from "./index.ts";

// NSQ speaks snappy's framing format (golang/snappy's Reader and Writer). No maintained pure-JS package
// implements it (snappystream and its kin wrap native addons, which a cross-compiled binary cannot carry),
// so the framing is written here on top of snappyjs's block codec: a chunk header, a masked CRC-32C and
// the stream identifier, per google/snappy framing_format.txt.
//
//   [type u8][length u24 LE][data]   0xff stream identifier, 0x00 compressed, 0x01 uncompressed,
//                                     0x02-0x7f reserved (fatal), 0x80-0xfe skippable
//   data of 0x00/0x01 = [masked CRC-32C of the uncompressed bytes, u32 LE][payload]

const STREAM_IDENTIFIER = Uint8Array.of(0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59);
const MAGIC_BODY = STREAM_IDENTIFIER.subarray(4);
const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_STREAM_IDENTIFIER = 0xff;
/** Uncompressed bytes per chunk, at most. */
const MAX_BLOCK = 65_536;
const CHECKSUM = 4;
/** golang/snappy's reader buffer: the encoded length of a full block plus its checksum; longer chunks are refused. */
const MAX_CHUNK = 32 + MAX_BLOCK + Math.floor(MAX_BLOCK / 6) + CHECKSUM;

/** The masked CRC-32C the framing format stores: rotated so that CRCs of CRCs stay distinct. */
export function maskedCrc(data: Uint8Array): number {
  const c = crc32c(data) >>> 0;
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

class SnappyEncoder implements Encoder {
  private started = false;

  encode(plain: Uint8Array): Uint8Array {
    const n = plain.length;
    // a chunk is never larger than its input plus header and checksum: a compressed block that does not
    // save 12.5% is sent uncompressed, as golang/snappy does
    const head = this.started ? 0 : STREAM_IDENTIFIER.length;
    const out = new Uint8Array(head + Math.ceil(n / MAX_BLOCK) * 8 + n);
    if (!this.started) {
      out.set(STREAM_IDENTIFIER);
      this.started = true;
    }
    let at = head;
    for (let i = 0; i < n; i += MAX_BLOCK) {
      const block = plain.subarray(i, Math.min(n, i + MAX_BLOCK));
      const packed = compress(block);
      const useCompressed = packed.length < block.length - (block.length >>> 3);
      const payload = useCompressed ? packed : block;
      const len = CHECKSUM + payload.length;
      out[at] = useCompressed ? CHUNK_COMPRESSED : CHUNK_UNCOMPRESSED;
      out[at + 1] = len & 0xff;
      out[at + 2] = (len >>> 8) & 0xff;
      out[at + 3] = len >>> 16;
      const crc = maskedCrc(block);
      out[at + 4] = crc & 0xff;
      out[at + 5] = (crc >>> 8) & 0xff;
      out[at + 6] = (crc >>> 16) & 0xff;
      out[at + 7] = crc >>> 24;
      out.set(payload, at + 8);
      at += 8 + payload.length;
    }
    return out.subarray(0, at);
  }
}

/** golang/snappy's errors: corrupt data, or a chunk type or size it does not read. */
const corrupt = () => new CodecError("snappy: corrupt input");
const unsupported = () => new CodecError("snappy: unsupported input");

class SnappyDecoder implements Decoder {
  private readonly header = new Uint8Array(4);
  private headerLen = 0;
  private type = 0;
  /** The chunk being assembled across reads (null while reading a header or when a chunk is whole in one read). */
  private chunk: Uint8Array | null = null;
  private chunkLen = 0;
  private need = 0;
  private sawIdentifier = false;

  decode(input: Uint8Array, emit: (plain: Uint8Array) => boolean): number {
    const n = input.length;
    let i = 0;
    while (i < n) {
      if (this.chunk === null && this.headerLen < 4) {
        const take = Math.min(4 - this.headerLen, n - i);
        this.header.set(input.subarray(i, i + take), this.headerLen);
        this.headerLen += take;
        i += take;
        if (this.headerLen < 4) break;
        this.startChunk();
        if (this.need === 0) {
          this.headerLen = 0;
          if (!this.finishChunk(new Uint8Array(0), emit)) return i;
          continue;
        }
        if (n - i >= this.need) {
          const whole = input.subarray(i, i + this.need);
          i += this.need;
          this.headerLen = 0;
          if (!this.finishChunk(whole, emit)) return i;
          continue;
        }
        this.chunk = new Uint8Array(this.need);
        this.chunkLen = 0;
        continue;
      }
      const chunk = this.chunk!;
      const take = Math.min(this.need - this.chunkLen, n - i);
      chunk.set(input.subarray(i, i + take), this.chunkLen);
      this.chunkLen += take;
      i += take;
      if (this.chunkLen === this.need) {
        this.chunk = null;
        this.headerLen = 0;
        if (!this.finishChunk(chunk, emit)) return i;
      }
    }
    return n;
  }

  private startChunk(): void {
    const h = this.header;
    this.type = h[0]!;
    this.need = h[1]! | (h[2]! << 8) | (h[3]! << 16);
    if (this.need > MAX_CHUNK) throw unsupported();
    if (!this.sawIdentifier && this.type !== CHUNK_STREAM_IDENTIFIER) throw corrupt();
    if (this.type >= 0x02 && this.type <= 0x7f) throw unsupported();
  }

  /** Returns false when the reader paused on this chunk's output. */
  private finishChunk(data: Uint8Array, emit: (plain: Uint8Array) => boolean): boolean {
    switch (this.type) {
      case CHUNK_STREAM_IDENTIFIER:
        if (data.length !== MAGIC_BODY.length || !MAGIC_BODY.every((b, k) => data[k] === b)) throw corrupt();
        this.sawIdentifier = true;
        return true;
      case CHUNK_COMPRESSED:
      case CHUNK_UNCOMPRESSED: {
        if (data.length < CHECKSUM) throw corrupt();
        const crc = (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0;
        let plain = data.subarray(CHECKSUM);
        if (this.type === CHUNK_COMPRESSED) {
          try {
            plain = uncompress(plain, MAX_BLOCK);
          } catch {
            throw corrupt();
          }
        } else if (plain.length > MAX_BLOCK) throw corrupt();
        if (maskedCrc(plain) !== crc) throw corrupt();
        return plain.length === 0 || emit(plain);
      }
      default:
        return true; // padding and reserved skippable chunks
    }
  }
}

/** Snappy framing for one connection: each direction starts with the stream identifier. */
export function snappyCodec(): Codec {
  return { name: "snappy", encoder: new SnappyEncoder(), decoder: new SnappyDecoder() };
}
