const encoder = new TextEncoder();

export const ascii = (s: string): Uint8Array => encoder.encode(s);

// WHATWG's "latin1" is windows-1252, which differs from ISO-8859-1 in 0x80-0x9f: used for ASCII only
const asciiDecoder = new TextDecoder("latin1");

/**
 * Each byte as the char of that code, in one string. Protocol tokens (verbs, topic names) are ASCII and go
 * through the native decoder (a quarter of the cost of building the string in JS, and one allocation where
 * appending char by char made one per byte); other bytes, in what error messages quote, keep their codes.
 */
export function latin1(b: Uint8Array, start = 0, end = b.length): string {
  const v = start === 0 && end === b.length ? b : b.subarray(start, end);
  for (let i = 0; i < v.length; i++) {
    if (v[i]! >= 0x80) return String.fromCharCode.apply(null, v as unknown as number[]);
  }
  return asciiDecoder.decode(v);
}

/** The big-endian uint32 at `b[at]`, read without a DataView. */
export const u32be = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/**
 * internal/protocol/byte_base10.go: digits only, so "-1" or "" is an error (-1 here).
 * Values beyond 2^53 are rejected too.
 */
export function parseBase10(b: Uint8Array): number {
  if (b.length === 0 || b.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * A growable output buffer. Frames are appended in place and handed to the socket as one write;
 * `reset` keeps the allocation so a busy connection stops allocating once warmed up.
 */
export class ByteWriter {
  buf: Uint8Array;
  view: DataView;
  length = 0;

  constructor(initial = 4096) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v);
    this.length += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** The written bytes; valid until the next write or reset. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}
