import {
  BadMessageError, idString, type MessageFields, MSG_HEADER_LENGTH, writeMessageHeader,
} from "../../core/protocol/message.ts";
import type { PQItem } from "../../core/pqueue.ts";
import type { BackendQueue } from "./backend.ts";
import type { Client } from "./client.ts";

/**
 * One channel's copy of a message. Channels share the body bytes and ID; delivery state (attempts,
 * deadline, owner, heap slot) is per copy, as in nsqd where each channel gets its own *Message.
 */
export class Message implements MessageFields, PQItem {
  attempts = 0;
  /** Publish-time defer (DPUB), ms; 0 when not deferred. */
  deferred = 0;
  /** Heap priority: in-flight deadline or deferred due time, ms since epoch. */
  pri = 0;
  index = -1;
  deliveryTs = 0;
  owner: Client | null = null;

  constructor(
    readonly id: string,
    readonly body: Uint8Array,
    readonly timestamp: number,
  ) {}

  copy(): Message {
    const m = new Message(this.id, this.body, this.timestamp);
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

const u32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/**
 * A record read back from a backend (decodeMessage's layout, without its intermediate object); the body is
 * a view into `rec`, which the backend handed over as a copy. Throws BadMessageError on a short record.
 */
export function messageFromRecord(rec: Uint8Array): Message {
  if (rec.length < MSG_HEADER_LENGTH) throw new BadMessageError(rec.length);
  const m = new Message(idString(rec, 10), rec.subarray(MSG_HEADER_LENGTH), u32(rec, 0) * 0x1_0000_0000 + u32(rec, 4));
  m.attempts = (rec[8]! << 8) | rec[9]!;
  return m;
}
