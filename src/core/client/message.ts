import type { MessageFields } from "../protocol/message.ts";

/** What a connection does when a message is answered; implemented by {@link Conn}. */
export interface MessageResponder {
  readonly addr: string;
  finish(m: Message): void;
  requeue(m: Message, delayMs: number, backoff: boolean): void;
  touch(m: Message): void;
}

const decoder = new TextDecoder();

/**
 * A message delivered to a {@link Consumer} handler. The consumer finishes it when the handler returns
 * (or its promise resolves) and requeues it when the handler throws (or its promise rejects), unless the
 * handler answered it itself or called {@link Message.disableAutoResponse}.
 *
 * @example
 * consumer.addHandler(async (m) => {
 *   if (!ready()) return m.requeue(5_000, false); // try again in 5 s, without backing off
 *   const keepAlive = setInterval(() => m.touch(), 10_000);
 *   try { await slowWork(m.text()); } finally { clearInterval(keepAlive); }
 * });
 */
export class Message {
  /** 16 ASCII hex characters, unique per topic per nsqd. */
  readonly id: string;
  /** The body; a view into the socket's read buffer, so copy it if you keep it long. */
  readonly body: Uint8Array;
  /** How many times nsqd has delivered this message, this delivery included. */
  readonly attempts: number;
  /** When it was published, Unix time in nanoseconds. */
  readonly timestamp: number;
  private responded = false;
  private autoResponse = true;

  constructor(
    fields: MessageFields,
    private readonly responder: MessageResponder,
  ) {
    this.id = fields.id;
    this.body = fields.body;
    this.attempts = fields.attempts;
    this.timestamp = fields.timestamp;
  }

  /** The `host:port` of the nsqd that delivered it. */
  get nsqdAddress(): string {
    return this.responder.addr;
  }

  /** The body as UTF-8 text. */
  text(): string {
    return decoder.decode(this.body);
  }

  /** True once FIN or REQ was sent for it. */
  get hasResponded(): boolean {
    return this.responded;
  }

  /** Leave FIN/REQ to the handler, even after it returns. */
  disableAutoResponse(): void {
    this.autoResponse = false;
  }

  get isAutoResponseDisabled(): boolean {
    return !this.autoResponse;
  }

  /** FIN: processed; nsqd forgets it. Later calls do nothing. */
  finish(): void {
    if (this.responded) return;
    this.responded = true;
    this.responder.finish(this);
  }

  /**
   * REQ: hand it back to nsqd for redelivery after `delayMs` (-1: `defaultRequeueDelay` × attempts,
   * capped at `maxRequeueDelay`). With `backoff`, the consumer slows down as go-nsq does.
   */
  requeue(delayMs = -1, backoff = true): void {
    if (this.responded) return;
    this.responded = true;
    this.responder.requeue(this, delayMs, backoff);
  }

  /** REQ without triggering backoff. */
  requeueWithoutBackoff(delayMs = -1): void {
    this.requeue(delayMs, false);
  }

  /** TOUCH: reset nsqd's timeout for this message (nsqd caps the total at its --max-msg-timeout). */
  touch(): void {
    if (!this.responded) this.responder.touch(this);
  }
}
