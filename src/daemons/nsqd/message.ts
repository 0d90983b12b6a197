import {
  BadMessageError, idFromWords, messageAttempts, messageTimestamp, type MessageHeader, MSG_HEADER_LENGTH,
  writeMessageHeader,
} from "../../core/protocol/message.ts";
import { u32be } from "../../core/protocol/bytes.ts";
import type { PQItem } from "../../core/pqueue.ts";
import type { Logger } from "../../core/log.ts";
import type { BackendQueue } from "./backend.ts";
import type { Client } from "./client.ts";

/**
 * One channel's copy of a message. Channels share the body bytes and ID; delivery state (attempts,
 * deadline, owner, heap slot) is per copy, as in nsqd where each channel gets its own *Message.
 * The ID is kept as the words of {@link MessageHeader}: a string per message cost a fromCharCode on every
 * publish and every read from a queue, and a string-keyed lookup per FIN; see {@link MessageIndex}.
 */
export class Message implements MessageHeader, PQItem {
  attempts = 0;
  /** Publish-time defer (DPUB), ms; 0 when not deferred. */
  deferred = 0;
  /** Heap priority: in-flight deadline or deferred due time, ms since epoch. */
  pri = 0;
  index = -1;
  deliveryTs = 0;
  owner: Client | null = null;

  constructor(
    readonly id0: number,
    readonly id1: number,
    readonly id2: number,
    readonly id3: number,
    readonly body: Uint8Array,
    readonly timestamp: number,
  ) {}

  /** The ID as 16 characters, for logs, errors and stats; made on each call. */
  get id(): string {
    return idFromWords(this.id0, this.id1, this.id2, this.id3);
  }

  copy(): Message {
    const m = new Message(this.id0, this.id1, this.id2, this.id3, this.body, this.timestamp);
    m.attempts = this.attempts;
    m.deferred = this.deferred;
    return m;
  }
}

const scratch = new Uint8Array(MSG_HEADER_LENGTH);
const scratchView = new DataView(scratch.buffer);

/** Writes a message to a topic's or channel's backend in nsqd's on-disk layout, without a joined copy. */
export function putToBackend(backend: BackendQueue, m: Message): void {
  writeMessageHeader(scratch, scratchView, 0, m);
  backend.put(scratch, m.body);
}

/**
 * A record read back from a backend, `buf[start, end)` (decodeMessage's layout, without its intermediate
 * object); the body is copied out, the rest read in place. Throws BadMessageError on a short record.
 */
export function messageFromRecord(buf: Uint8Array, start: number, end: number): Message {
  if (end - start < MSG_HEADER_LENGTH) throw new BadMessageError(end - start);
  const m = new Message(
    u32be(buf, start + 10), u32be(buf, start + 14), u32be(buf, start + 18), u32be(buf, start + 22),
    buf.slice(start + MSG_HEADER_LENGTH, end), messageTimestamp(buf, start),
  );
  m.attempts = messageAttempts(buf, start);
  return m;
}

/**
 * A backend's `readNextWith` decoder for a topic or channel: a record that does not decode is logged and
 * skipped (undefined), as nsqd does, and the queue moves past it.
 */
export function recordDecoder(log: Logger, topic: string): (buf: Uint8Array, start: number, end: number) => Message | undefined {
  return (buf, start, end) => {
    try {
      return messageFromRecord(buf, start, end);
    } catch (e) {
      log.error(`TOPIC(${topic}): failed to decode message - ${(e as Error).message}`);
      return undefined;
    }
  };
}
