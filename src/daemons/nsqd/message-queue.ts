import type { Logger } from "../../core/log.ts";
import type { BackendQueue } from "./backend.ts";
import type { DeferredStore } from "./deferred-store.ts";
import { type Message, putToBackend, recordDecoder } from "./message.ts";
import { MessageRing } from "./message-ring.ts";

/**
 * What a topic and a channel both keep (nsqd's memoryMsgChan + backend pair): up to `--mem-queue-size`
 * messages in memory, the rest in the backend (the disk queue, or nothing for `#ephemeral`), and the
 * deferred store that keeps deferred messages' due times across restarts.
 */
export class MessageQueue {
  readonly mem = new MessageRing();
  private readonly decode: ReturnType<typeof recordDecoder>;

  constructor(
    readonly backend: BackendQueue,
    readonly deferredStore: DeferredStore | null,
    private readonly memQueueSize: number,
    private readonly log: Logger,
    /** `TOPIC(t)` or `CHANNEL(c)`, for the log. */
    private readonly owner: string,
    topic: string,
  ) {
    this.decode = recordDecoder(log, topic);
  }

  get depth(): number {
    return this.mem.length + this.backend.depth();
  }

  get isEmpty(): boolean {
    return this.mem.length === 0 && this.backend.depth() === 0;
  }

  /** Memory while there is room, else the backend. Throws when the backend cannot take it. */
  put(m: Message): void {
    if (this.mem.length < this.memQueueSize) this.mem.push(m);
    else putToBackend(this.backend, m);
  }

  /** Writes what {@link put} and the durable store buffered; throws when the disk refuses it. */
  commit(): void {
    this.backend.commit();
    this.deferredStore?.commit();
  }

  /** The oldest message, memory first; a backend record that does not decode is skipped. */
  next(): Message | undefined {
    const m = this.mem.shift();
    if (m !== undefined) return m;
    while (this.backend.depth() > 0) {
      const read = this.backend.readNextWith(this.decode);
      if (read === null) return undefined;
      if (read !== undefined) return read;
    }
    return undefined;
  }

  /** `/topic/empty`, `/channel/empty`: drops what is queued, in memory, on disk and deferred. */
  empty(): void {
    this.mem.clear();
    this.backend.empty();
    this.deferredStore?.clear();
  }

  /**
   * A clean stop: the deferred store is rewritten with `deferred` (their due times), and what memory
   * holds, plus `held` (a channel's in-flight messages), goes to the backend, which is then closed.
   * Deferred messages are not written to the backend: the store keeps them.
   */
  close(deferred: Iterable<{ message: Message; due: number }>, held: Iterable<Message> = []): void {
    try {
      this.deferredStore?.rewrite(deferred);
    } catch (e) {
      this.log.error(`${this.owner}: failed to persist deferred messages - ${(e as Error).message}`);
    }
    try {
      for (const m of this.mem.drain()) if (m.deferred === 0) putToBackend(this.backend, m);
      for (const m of held) putToBackend(this.backend, m);
    } catch (e) {
      this.log.error(`${this.owner}: failed to write message to backend - ${(e as Error).message}`);
    }
    this.backend.close();
  }

  /** A deleted topic or channel: everything goes, files included. */
  delete(): void {
    this.empty();
    this.backend.delete();
  }
}
