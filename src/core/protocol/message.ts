import { type ByteWriter, u32be } from "./bytes.ts";
import { FrameType } from "./frame.ts";

/**
 * A message as it travels in a message frame and as it is stored on disk:
 *
 *   [x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x][x]...
 *   |       (int64)        ||    ||      (hex string encoded in ASCII)           || (binary)
 *   |       8-byte         ||    ||                 16-byte                      || N-byte
 *   ------------------------------------------------------------------------------------------...
 *     nanosecond timestamp    ^^                   message ID                       message body
 *                          (uint16)
 *                           2-byte
 *                          attempts
 */
export const MSG_ID_LENGTH = 16;
export const MSG_HEADER_LENGTH = 8 + 2 + MSG_ID_LENGTH;

const TWO_32 = 0x1_0000_0000;

export interface MessageFields {
  /** Unix time in nanoseconds; a double, so exact to about 256 ns, which is below any clock we read. */
  timestamp: number;
  attempts: number;
  /** 16 ASCII hex characters. */
  id: string;
  body: Uint8Array;
}

/**
 * A message's header as nsqd keeps it: the ID's 16 ASCII bytes as four big-endian words, which nsqd writes,
 * compares and indexes without making a string per message (see nsqd's MessageIndex).
 */
export interface MessageHeader {
  timestamp: number;
  attempts: number;
  id0: number;
  id1: number;
  id2: number;
  id3: number;
}

export function writeMessageHeader(buf: Uint8Array, view: DataView, at: number, m: MessageHeader): void {
  const hi = Math.floor(m.timestamp / TWO_32);
  view.setUint32(at, hi);
  view.setUint32(at + 4, m.timestamp - hi * TWO_32);
  view.setUint16(at + 8, m.attempts);
  view.setUint32(at + 10, m.id0);
  view.setUint32(at + 14, m.id1);
  view.setUint32(at + 18, m.id2);
  view.setUint32(at + 22, m.id3);
}

/** Appends a complete message frame ([size][type=2][message]) to `w`. */
export function writeMessageFrame(w: ByteWriter, m: MessageHeader & { body: Uint8Array }): void {
  const len = MSG_HEADER_LENGTH + m.body.length;
  w.ensure(8 + len);
  const at = w.length;
  w.view.setUint32(at, len + 4);
  w.view.setUint32(at + 4, FrameType.Message);
  writeMessageHeader(w.buf, w.view, at + 8, m);
  w.buf.set(m.body, at + 8 + MSG_HEADER_LENGTH);
  w.length = at + 8 + len;
}

/** The message layout alone, as a disk-queue record payload. */
export function encodeMessage(m: MessageFields): Uint8Array {
  const out = new Uint8Array(MSG_HEADER_LENGTH + m.body.length);
  const [id0, id1, id2, id3] = idWords(m.id);
  writeMessageHeader(out, new DataView(out.buffer), 0, { timestamp: m.timestamp, attempts: m.attempts, id0, id1, id2, id3 });
  out.set(m.body, MSG_HEADER_LENGTH);
  return out;
}

/** A 16-character ID as the four words of {@link MessageHeader}. */
export function idWords(id: string): [number, number, number, number] {
  const w = (k: number) =>
    ((id.charCodeAt(k) << 24) | (id.charCodeAt(k + 1) << 16) | (id.charCodeAt(k + 2) << 8) | id.charCodeAt(k + 3)) >>> 0;
  return [w(0), w(4), w(8), w(12)];
}

/** The four words of {@link MessageHeader} as the 16-character ID, for logs, errors and stats. */
export function idFromWords(id0: number, id1: number, id2: number, id3: number): string {
  return String.fromCharCode(
    id0 >>> 24, (id0 >>> 16) & 255, (id0 >>> 8) & 255, id0 & 255, id1 >>> 24, (id1 >>> 16) & 255, (id1 >>> 8) & 255, id1 & 255,
    id2 >>> 24, (id2 >>> 16) & 255, (id2 >>> 8) & 255, id2 & 255, id3 >>> 24, (id3 >>> 16) & 255, (id3 >>> 8) & 255, id3 & 255,
  );
}

export class BadMessageError extends Error {
  constructor(size: number) {
    super(`invalid message buffer size (${size})`);
    this.name = "BadMessageError";
  }
}

/** nsqd/message.go decodeMessage. The body is a view into `b`. */
export function decodeMessage(b: Uint8Array): MessageFields {
  if (b.length < MSG_HEADER_LENGTH) throw new BadMessageError(b.length);
  return { timestamp: messageTimestamp(b, 0), attempts: messageAttempts(b, 0), id: idString(b, 10), body: b.subarray(MSG_HEADER_LENGTH) };
}

/** The timestamp of the message laid out at `b[at]`, read in place (for decoders that make no header object). */
export const messageTimestamp = (b: Uint8Array, at: number): number => u32be(b, at) * TWO_32 + u32be(b, at + 4);

/** The attempts of the message laid out at `b[at]`. */
export const messageAttempts = (b: Uint8Array, at: number): number => (b[at + 8]! << 8) | b[at + 9]!;

/** 16 bytes at `at` as a string key; one call with fixed arity keeps it allocation-light. */
export function idString(b: Uint8Array, at = 0): string {
  return String.fromCharCode(
    b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!,
    b[at + 8]!, b[at + 9]!, b[at + 10]!, b[at + 11]!, b[at + 12]!, b[at + 13]!, b[at + 14]!, b[at + 15]!,
  );
}
