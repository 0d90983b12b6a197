import { FatalClientError } from "./errors.ts";

/**
 * MPUB body (TCP, and HTTP /mpub?binary=true):
 *
 *   [4-byte num messages]([4-byte message size][message bytes])*
 *
 * Validated whole before anything is queued, so MPUB is atomic. Bodies are views into `body`.
 * Error codes and texts are nsqd's readMPUB. `allowTrailing`: HTTP /mpub stops reading after the last
 * declared message and ignores the rest of the request body.
 */
export function parseMpubBody(body: Uint8Array, maxMsgSize: number, maxBodySize: number, allowTrailing = false): Uint8Array[] {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (body.length < 4) throw new FatalClientError("E_BAD_BODY", "MPUB failed to read message count");
  const count = v.getInt32(0);
  const maxMessages = Math.floor((maxBodySize - 4) / 5);
  if (count <= 0 || count > maxMessages) {
    throw new FatalClientError("E_BAD_BODY", `MPUB invalid message count ${count}`);
  }
  const out = new Array<Uint8Array>(count);
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > body.length) {
      throw new FatalClientError("E_BAD_MESSAGE", `MPUB failed to read message(${i}) body size`);
    }
    const size = v.getInt32(at);
    at += 4;
    if (size <= 0) throw new FatalClientError("E_BAD_MESSAGE", `MPUB invalid message(${i}) body size ${size}`);
    if (size > maxMsgSize) throw new FatalClientError("E_BAD_MESSAGE", `MPUB message too big ${size} > ${maxMsgSize}`);
    if (at + size > body.length) throw new FatalClientError("E_BAD_MESSAGE", "MPUB failed to read message body");
    out[i] = body.subarray(at, at + size);
    at += size;
  }
  // nsqd reads messages straight off the socket, so extra bytes would desync the stream; refuse them.
  if (at !== body.length && !allowTrailing) throw new FatalClientError("E_BAD_BODY", `MPUB invalid body size ${body.length}`);
  return out;
}

/**
 * HTTP /mpub's text body (the default, `binary=false`): one message per `\n`-terminated line, empty lines
 * skipped. nsqd reads the lines through `io.LimitReader(body, maxBodySize+1)`, so reading `maxBodySize + 1`
 * bytes is BODY_TOO_BIG, unless a line over `maxMsgSize` (MSG_TOO_BIG) comes before the line that reaches
 * it. Returns the messages (views into `body`) or the 413 code nsqd answers; nothing is returned partly.
 * @example splitTextMpubBody(ascii("a\n\nb"), 10, 100) // [ascii("a"), ascii("b")]
 */
export function splitTextMpubBody(
  body: Uint8Array,
  maxMsgSize: number,
  maxBodySize: number,
): Uint8Array[] | "BODY_TOO_BIG" | "MSG_TOO_BIG" {
  const readMax = maxBodySize + 1;
  const data = body.length > readMax ? body.subarray(0, readMax) : body;
  const out: Uint8Array[] = [];
  let start = 0;
  while (start < data.length) {
    const nl = data.indexOf(10, start);
    const end = nl < 0 ? data.length : nl;
    const next = nl < 0 ? data.length : nl + 1;
    // bytes read so far, the newline included
    if (next === readMax) return "BODY_TOO_BIG";
    const len = end - start;
    if (len > 0) {
      if (len > maxMsgSize) return "MSG_TOO_BIG";
      out.push(data.subarray(start, end));
    }
    start = next;
  }
  return out;
}

export function encodeMpubBody(messages: Uint8Array[]): Uint8Array {
  let size = 4;
  for (const m of messages) size += 4 + m.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, messages.length);
  let at = 4;
  for (const m of messages) {
    v.setUint32(at, m.length);
    out.set(m, at + 4);
    at += 4 + m.length;
  }
  return out;
}
