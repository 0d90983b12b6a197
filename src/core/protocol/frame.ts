import { ascii, type ByteWriter } from "./bytes.ts";

/**
 * Server → client frame (V2):
 *
 *   [x][x][x][x][x][x][x][x][x][x][x][x]...
 *   |  (int32) ||  (int32) || (binary)
 *   |  4-byte  ||  4-byte  || N-byte
 *   ------------------------------------...
 *       size     frame type     data
 *
 * size = 4 + len(data). lookupd's V1 responses are the same without the frame type.
 */
export const FrameType = { Response: 0, Error: 1, Message: 2 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const MAGIC_V1 = ascii("  V1");
export const MAGIC_V2 = ascii("  V2");
export const OK = ascii("OK");
export const HEARTBEAT = ascii("_heartbeat_");
export const CLOSE_WAIT = ascii("CLOSE_WAIT");

export function writeFrame(w: ByteWriter, type: FrameType, data: Uint8Array): void {
  w.ensure(8 + data.length);
  w.view.setUint32(w.length, data.length + 4);
  w.view.setUint32(w.length + 4, type);
  w.buf.set(data, w.length + 8);
  w.length += 8 + data.length;
}

export function encodeFrame(type: FrameType, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length + 4);
  v.setUint32(4, type);
  out.set(data, 8);
  return out;
}

/** lookupd V1 response: [4-byte size][data]. */
export function encodeV1Response(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint32(0, data.length);
  out.set(data, 4);
  return out;
}

export class FrameTooLargeError extends Error {
  constructor(readonly size: number, readonly max: number) {
    super(`invalid frame size ${size} (limit ${max})`);
    this.name = "FrameTooLargeError";
  }
}

/**
 * Resumable decoder for length-prefixed frames, used by clients (V2 frames) and by nsqd's lookupd peer
 * (V1 responses, `typed: false`). A frame inside one chunk is emitted as a subarray of that chunk;
 * only a frame spanning chunks is copied. The size bound keeps a hostile peer from making us buffer
 * without limit.
 */
export class FrameDecoder {
  private readonly headerSize: number;
  private readonly maxSize: number;
  private readonly header = new Uint8Array(8);
  private headerLen = 0;
  private body: Uint8Array | null = null;
  private bodyLen = 0;
  private type = 0;
  private stopped = false;
  private isPaused = false;

  constructor(
    private readonly onFrame: (type: number, data: Uint8Array) => void,
    opts: { typed?: boolean; maxSize?: number } = {},
  ) {
    this.headerSize = opts.typed === false ? 4 : 8;
    this.maxSize = opts.maxSize ?? 64 * 1024 * 1024;
  }

  stop(): void {
    this.stopped = true;
  }

  /** Called from `onFrame`: that frame is the last one `push` takes until {@link FrameDecoder.resume}. */
  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
  }

  /**
   * Returns the bytes of `chunk` consumed: all of them unless paused.
   * Throws {@link FrameTooLargeError} (and stops) on a size beyond the bound.
   */
  push(chunk: Uint8Array): number {
    const n = chunk.length;
    let i = 0;
    while (i < n && !this.stopped) {
      if (this.isPaused) return i;
      if (this.body) {
        const take = Math.min(this.body.length - this.bodyLen, n - i);
        this.body.set(chunk.subarray(i, i + take), this.bodyLen);
        this.bodyLen += take;
        i += take;
        if (this.bodyLen === this.body.length) {
          const data = this.body;
          this.body = null;
          this.onFrame(this.type, data);
        }
        continue;
      }
      let need: number;
      if (this.headerLen === 0 && n - i >= this.headerSize) {
        need = this.readHeader(chunk, i);
        i += this.headerSize;
        if (n - i >= need) {
          this.onFrame(this.type, chunk.subarray(i, i + need));
          i += need;
          continue;
        }
      } else {
        const take = Math.min(this.headerSize - this.headerLen, n - i);
        this.header.set(chunk.subarray(i, i + take), this.headerLen);
        this.headerLen += take;
        i += take;
        if (this.headerLen < this.headerSize) return n;
        this.headerLen = 0;
        need = this.readHeader(this.header, 0);
        if (need === 0) {
          this.onFrame(this.type, chunk.subarray(i, i));
          continue;
        }
      }
      this.body = new Uint8Array(need);
      this.bodyLen = 0;
    }
    return n;
  }

  private readHeader(b: Uint8Array, at: number): number {
    const size = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
    const typed = this.headerSize === 8;
    if ((typed && size < 4) || size > this.maxSize) {
      this.stopped = true;
      throw new FrameTooLargeError(size, this.maxSize);
    }
    this.type = typed ? ((b[at + 4]! << 24) | (b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!) >>> 0 : 0;
    return typed ? size - 4 : size;
  }
}
