import type { ByteWriter } from "./bytes.ts";
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

export function writeMessageHeader(buf: Uint8Array, view: DataView, at: number, m: MessageFields): void {
  const hi = Math.floor(m.timestamp / TWO_32);
  view.setUint32(at, hi);
  view.setUint32(at + 4, m.timestamp - hi * TWO_32);
  view.setUint16(at + 8, m.attempts);
  const id = m.id;
  for (let k = 0; k < MSG_ID_LENGTH; k++) buf[at + 10 + k] = id.charCodeAt(k);
}

/** Appends a complete message frame ([size][type=2][message]) to `w`. */
export function writeMessageFrame(w: ByteWriter, m: MessageFields): void {
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
  writeMessageHeader(out, new DataView(out.buffer), 0, m);
  out.set(m.body, MSG_HEADER_LENGTH);
  return out;
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
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    timestamp: v.getUint32(0) * TWO_32 + v.getUint32(4),
    attempts: v.getUint16(8),
    id: idString(b, 10),
    body: b.subarray(MSG_HEADER_LENGTH),
  };
}

/** 16 bytes at `at` as a string key; one call with fixed arity keeps it allocation-light. */
export function idString(b: Uint8Array, at = 0): string {
  return String.fromCharCode(
    b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!,
    b[at + 8]!, b[at + 9]!, b[at + 10]!, b[at + 11]!, b[at + 12]!, b[at + 13]!, b[at + 14]!, b[at + 15]!,
  );
}
