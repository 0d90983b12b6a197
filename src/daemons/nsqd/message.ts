import type { MessageFields } from "../../core/protocol/message.ts";
import type { PQItem } from "../../core/pqueue.ts";
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
