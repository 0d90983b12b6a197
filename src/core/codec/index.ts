/**
 * The byte transforms NSQ negotiates in IDENTIFY, layered between a socket and a protocol parser by
 * {@link Transport}: snappy's framing format and raw deflate. Pure: no socket, timer or file.
 * @module
 */

/** Corrupt input on a compressed stream; the connection cannot continue. */
export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CodecError";
  }
}

/** One direction's encoder: each call encodes one flush of output, ready for the wire. */
export interface Encoder {
  encode(plain: Uint8Array): Uint8Array;
}

/**
 * One direction's decoder. `decode` hands plain bytes to `emit` as they come and returns how much of `input`
 * it consumed: all of it, or less once `emit` returned false (the reader paused), in which case it stops at
 * its next step boundary; output of the step in progress still reaches `emit`.
 * @throws CodecError on corrupt input
 */
export interface Decoder {
  decode(input: Uint8Array, emit: (plain: Uint8Array) => boolean): number;
}

/** Both directions of one connection's compression. */
export interface Codec {
  readonly name: "snappy" | "deflate";
  readonly encoder: Encoder;
  readonly decoder: Decoder;
}

/**
 * The codec for a negotiated compression: `level` is deflate's (1..9). Loaded on first use, so a process
 * whose connections never compress does not carry the libraries.
 */
export async function loadCodec(name: Codec["name"], level = 6): Promise<Codec> {
  return name === "snappy" ? (await import("./snappy.ts")).snappyCodec() : (await import("./deflate.ts")).deflateCodec(level);
}
