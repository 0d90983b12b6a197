import { Deflate, Inflate, Z_SYNC_FLUSH } from "pako";
import { type Codec, CodecError, type Decoder, type Encoder } from "./index.ts";

/**
 * Input is inflated this much at a time so that a reader that pauses holds at most the output of one
 * step (deflate expands at most ~1032:1, a few MiB here) however large the read was.
 */
const INFLATE_STEP = 4096;
const OUTPUT_CHUNK = 16 * 1024;

/**
 * Raw DEFLATE (no zlib header), as Go's compress/flate: every flush of output ends with a sync flush
 * (`00 00 ff ff`), so the peer can decode it at once, and the dictionary carries over between flushes.
 */
class DeflateEncoder implements Encoder {
  private readonly d: Deflate;
  private out: Uint8Array[] = [];

  constructor(level: number) {
    this.d = new Deflate({ raw: true, level, chunkSize: OUTPUT_CHUNK });
    this.d.onData = (c) => this.out.push(c);
  }

  encode(plain: Uint8Array): Uint8Array {
    this.d.push(plain, Z_SYNC_FLUSH);
    const parts = this.out;
    this.out = [];
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

class InflateDecoder implements Decoder {
  private readonly inf: Inflate;
  private emit: (plain: Uint8Array) => boolean = () => true;
  private paused = false;
  private ended = false;

  constructor() {
    this.inf = new Inflate({ raw: true, chunkSize: OUTPUT_CHUNK });
    // each output chunk is a fresh allocation, so views of it (message bodies) stay valid
    this.inf.onData = (c) => {
      if (!this.emit(c)) this.paused = true;
    };
    this.inf.onEnd = (status) => {
      if (status === 0) this.ended = true;
    };
  }

  decode(input: Uint8Array, emit: (plain: Uint8Array) => boolean): number {
    this.emit = emit;
    this.paused = false;
    for (let i = 0; i < input.length; i += INFLATE_STEP) {
      const step = input.subarray(i, Math.min(input.length, i + INFLATE_STEP));
      if (!this.inf.push(step, Z_SYNC_FLUSH)) throw new CodecError(`flate: corrupt input - ${this.inf.msg}`);
      // Go's flate reader ends the connection at a final block (EOF); nothing may follow it
      if (this.ended) throw new CodecError("flate: stream ended");
      if (this.paused) return i + step.length;
    }
    return input.length;
  }
}

/** Raw deflate for one connection at `level` (1..9). */
export function deflateCodec(level: number): Codec {
  return { name: "deflate", encoder: new DeflateEncoder(level), decoder: new InflateDecoder() };
}
