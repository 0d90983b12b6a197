import { MSG_HEADER_LENGTH, writeMessageHeader } from "../../core/protocol/message.ts";
import { messageFromRecord } from "./message.ts";
import type { Message } from "./message.ts";

/** Before each message: [u32 bytes that follow][f64 pri][u32 deferred]; then the message as on disk. */
const PREFIX = 4 + 8 + 4;
const MIN_CHUNK = 4 * 1024;
const MAX_CHUNK = 1024 * 1024;

interface Chunk {
  buf: Uint8Array;
  view: DataView;
  /** Read and write offsets. */
  r: number;
  w: number;
}

/**
 * The memory half of a topic's or channel's queue (nsqd's memoryMsgChan), holding messages as bytes in
 * the disk queue's layout rather than as objects. A backlog of objects is three or four GC cells a message
 * that the collector marks again at every collection while it grows: with `--mem-queue-size=1000000` that
 * made a memory backlog fill at half the rate of the disk path and cost ~680 bytes of RSS a message. As
 * bytes it costs its size and no GC work; a message becomes an object again when it leaves.
 *
 * Chunks grow with the backlog (4 KiB up to 1 MiB, so an idle channel with a few queued messages holds
 * little) and are dropped as soon as they are read past, but for the largest, kept as the next chunk to
 * fill: a queue that fills and drains steadily then reuses one chunk instead of a fresh megabyte every
 * 4,500 messages, and fresh memory is dear (the GC frees a dropped chunk only at a full collection, and on
 * this VM kind each page's first touch costs ~12 µs, 3 ms a megabyte).
 */
export class MessageRing {
  private chunks: Chunk[] = [];
  length = 0;
  private bytes = 0;
  private spare: Chunk | null = null;

  push(m: Message): void {
    const n = PREFIX + MSG_HEADER_LENGTH + m.body.length;
    let c = this.chunks[this.chunks.length - 1];
    if (c === undefined || c.buf.length - c.w < n) {
      const size = Math.max(n, Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, this.bytes)));
      const s = this.spare;
      if (s !== null && s.buf.length >= size) {
        c = s;
        this.spare = null;
      } else {
        const buf = new Uint8Array(size);
        c = { buf, view: new DataView(buf.buffer), r: 0, w: 0 };
      }
      this.chunks.push(c);
    }
    const at = c.w;
    c.view.setUint32(at, n - 4);
    c.view.setFloat64(at + 4, m.pri);
    c.view.setUint32(at + 12, m.deferred);
    writeMessageHeader(c.buf, c.view, at + PREFIX, m);
    c.buf.set(m.body, at + PREFIX + MSG_HEADER_LENGTH);
    c.w = at + n;
    this.length++;
    this.bytes += n;
  }

  shift(): Message | undefined {
    if (this.length === 0) return undefined;
    let c = this.chunks[0]!;
    if (c.r === c.w) {
      this.chunks.shift();
      c = this.chunks[0]!;
    }
    const m = decode(c, c.r);
    const n = 4 + c.view.getUint32(c.r);
    c.r += n;
    this.length--;
    this.bytes -= n;
    if (c.r === c.w) {
      // read past: the last chunk stays for the next push, another is dropped or kept as the spare
      c.r = c.w = 0;
      if (this.chunks.length > 1) {
        this.chunks.shift();
        if (this.spare === null || this.spare.buf.length < c.buf.length) this.spare = c;
      }
    }
    return m;
  }

  /** The messages in order, decoded but left in place. */
  *[Symbol.iterator](): Generator<Message> {
    for (const c of this.chunks) {
      for (let at = c.r; at < c.w; at += 4 + c.view.getUint32(at)) yield decode(c, at);
    }
  }

  *drain(): Generator<Message> {
    while (this.length > 0) yield this.shift()!;
  }

  clear(): void {
    this.chunks = [];
    this.spare = null;
    this.length = 0;
    this.bytes = 0;
  }
}

function decode(c: Chunk, at: number): Message {
  const end = at + 4 + c.view.getUint32(at);
  const m = messageFromRecord(c.buf, at + PREFIX, end);
  m.pri = c.view.getFloat64(at + 4);
  m.deferred = c.view.getUint32(at + 12);
  return m;
}
