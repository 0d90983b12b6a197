import { GuidFactory } from "../../core/protocol/guid.ts";
import { isEphemeral } from "../../core/protocol/names.ts";
import { Channel } from "./channel.ts";
import { Message } from "./message.ts";
import { MessageQueue } from "./message-queue.ts";
import type { NSQD } from "./nsqd.ts";

/** Messages moved from a topic's backlog to its channels per turn of the event loop. */
const DRAIN_BATCH = 1024;

/**
 * A topic fans every message out to all of its channels, synchronously, as soon as it has a channel
 * and is not paused. Until then, or while an older backlog is still being handed over, messages wait
 * in the topic's own memory queue and backend, as nsqd's do.
 */
export class Topic {
  readonly ephemeral: boolean;
  paused = false;
  exiting = false;
  readonly channels = new Map<string, Channel>();
  /** Messages waiting for a channel; DPUBs among them wait in memory with their due time in `pri`. */
  readonly queue: MessageQueue;
  messageCount = 0;
  messageBytes = 0;
  private readonly guid: GuidFactory;
  private draining = false;
  /** False while a new topic waits for the lookupds' list of channels to pre-create (NSQ's topic start). */
  private started = true;

  constructor(
    readonly name: string,
    private readonly nsqd: NSQD,
  ) {
    this.ephemeral = isEphemeral(name);
    this.guid = new GuidFactory(nsqd.opts.nodeId);
    const o = nsqd.opts;
    this.queue = new MessageQueue(
      nsqd.openBackend(name, this.ephemeral),
      nsqd.openDeferredStore(name, this.ephemeral),
      o.memQueueSize,
      nsqd.log,
      `TOPIC(${name})`,
      name,
    );
    this.loadDeferred();
  }

  private loadDeferred(): void {
    const store = this.queue.deferredStore;
    if (store === null) return;
    const now = Date.now();
    for (const { message: f, due } of store.load()) {
      const m = new Message(f.id0, f.id1, f.id2, f.id3, f.body, f.timestamp);
      m.attempts = f.attempts;
      m.deferred = Math.max(1, due - now);
      m.pri = due;
      this.queue.mem.push(m);
    }
    if (store.durable) store.rewrite(this.deferredEntries());
    else store.clear();
  }

  /** A deferred message waiting here carries its due time in `pri` (unused until a channel's heap takes it). */
  private *deferredEntries() {
    for (const m of this.queue.mem) if (m.deferred > 0) yield { message: m, due: m.pri };
  }

  get depth(): number {
    return this.queue.depth;
  }

  newMessage(body: Uint8Array, now = Date.now()): Message {
    const g = this.guid;
    g.next(now);
    return new Message(g.id0, g.id1, g.id2, g.id3, body, now * 1e6);
  }

  /** Throws on a topic that is exiting or a backend that cannot take the message. */
  put(m: Message): void {
    if (this.exiting) throw new Error("exiting");
    this.messageCount++;
    this.messageBytes += m.body.length;
    if (this.queue.isEmpty && this.canFanOut()) this.fanOut(m);
    else this.enqueue(m);
  }

  /**
   * Writes to disk what the last puts buffered, here and in the channels they fanned out to (queues and
   * durable stores), so that a publisher hears OK only for what the disk took. Throws the disk's error.
   */
  commit(): void {
    this.queue.commit();
    for (const c of this.channels.values()) c.queue.commit();
  }

  /** MPUB: the batch was validated whole before it got here. */
  putMany(ms: Message[]): void {
    if (this.exiting) throw new Error("exiting");
    for (const m of ms) this.put(m);
  }

  private canFanOut(): boolean {
    return this.started && this.channels.size > 0 && !this.paused;
  }

  /** Holds messages back until {@link start}: the channels they must reach may not exist yet. */
  hold(): void {
    this.started = false;
  }

  start(): void {
    this.started = true;
    this.scheduleDrain();
  }

  private enqueue(m: Message): void {
    // Deferred messages keep their timer only in memory (and the deferred store), never in the backend.
    if (m.deferred > 0) {
      m.pri = Date.now() + m.deferred;
      const store = this.queue.deferredStore;
      if (store?.durable) store.add(m, m.pri);
      this.queue.mem.push(m);
    } else this.queue.put(m);
  }

  private fanOut(m: Message): void {
    let first = true;
    let failure: unknown;
    // the first channel may deliver or defer m at once; copies start from the published state
    const { attempts, deferred } = m;
    for (const c of this.channels.values()) {
      try {
        let x = m;
        if (!first) {
          x = m.copy();
          x.attempts = attempts;
          x.deferred = deferred;
        }
        c.put(x);
      } catch (e) {
        failure ??= e;
        this.nsqd.setHealth(e as Error);
      }
      first = false;
    }
    // At least once: a channel that could not take it makes the publish fail, so the publisher retries.
    if (failure !== undefined) throw failure;
  }

  /** Hands the backlog to the channels in batches so a large one does not stall the event loop. */
  private scheduleDrain(): void {
    if (this.draining || this.depth === 0 || !this.canFanOut()) return;
    this.draining = true;
    setImmediate(() => {
      this.draining = false;
      let n = 0;
      while (n < DRAIN_BATCH && this.canFanOut() && !this.exiting) {
        const m = this.queue.next();
        if (m === undefined) break;
        try {
          this.fanOut(m);
        } catch (e) {
          this.nsqd.log.error(`TOPIC(${this.name}): failed to put msg(${m.id}) to channel - ${(e as Error).message}`);
        }
        if (m.deferred > 0 && this.queue.deferredStore?.durable) this.queue.deferredStore.remove(m);
        n++;
      }
      this.scheduleDrain();
    });
  }

  getChannel(name: string): Channel {
    let c = this.channels.get(name);
    if (c === undefined) {
      c = new Channel(this, name, this.nsqd);
      this.channels.set(name, c);
      this.nsqd.log.info(`TOPIC(${this.name}): new channel(${name})`);
      this.nsqd.channelCreated(c);
      this.scheduleDrain();
    }
    return c;
  }

  deleteChannel(name: string): boolean {
    const c = this.channels.get(name);
    if (c === undefined) return false;
    this.channels.delete(name);
    this.nsqd.log.info(`TOPIC(${this.name}): deleting channel ${name}`);
    c.exit(true);
    this.nsqd.channelDeleted(c);
    if (this.ephemeral && this.channels.size === 0 && !this.exiting) this.nsqd.deleteTopic(this.name);
    return true;
  }

  pause(): void {
    this.paused = true;
  }

  unpause(): void {
    this.paused = false;
    this.scheduleDrain();
  }

  empty(): void {
    this.queue.empty();
  }

  exit(deleted: boolean): void {
    this.exiting = true;
    for (const c of this.channels.values()) c.exit(deleted);
    if (deleted) {
      this.channels.clear();
      this.queue.delete();
      return;
    }
    this.queue.close(this.deferredEntries());
  }
}
