import { PQueue } from "../../core/pqueue.ts";
import { e2eQuantile, type Quantile } from "../../core/quantile.ts";
import { isEphemeral } from "../../core/protocol/names.ts";
import type { Client } from "./client.ts";
import type { DeferredStore } from "./deferred-store.ts";
import { Message } from "./message.ts";
import { MessageIndex } from "./message-index.ts";
import { MessageQueue } from "./message-queue.ts";
import type { NSQD } from "./nsqd.ts";
import type { Topic } from "./topic.ts";

/**
 * A channel receives its own copy of every message of its topic and spreads them over its ready
 * clients. Delivery is push-driven: a message arriving while a client is ready goes straight out;
 * a client becoming ready pulls from the memory queue, then from the backend.
 */
export class Channel {
  readonly ephemeral: boolean;
  paused = false;
  exiting = false;
  readonly clients = new Map<number, Client>();
  readonly queue: MessageQueue;
  /** The deferred store in durable mode, where in-flight messages are logged too (see logInFlight). */
  private readonly inFlightLog: DeferredStore | null;
  readonly inFlight = new MessageIndex();
  readonly inFlightPQ = new PQueue<Message>();
  readonly deferredById = new MessageIndex();
  readonly deferredPQ = new PQueue<Message>();
  messageCount = 0;
  requeueCount = 0;
  timeoutCount = 0;
  /** End-to-end latency of finished messages; null unless --e2e-processing-latency-percentile is set. */
  readonly e2e: Quantile | null;
  private readonly ready: Client[] = [];
  private rr = 0;
  private pumping = false;

  constructor(
    readonly topic: Topic,
    readonly name: string,
    private readonly nsqd: NSQD,
  ) {
    this.ephemeral = isEphemeral(name);
    const file = `${topic.name}:${name}`;
    this.queue = new MessageQueue(
      nsqd.openBackend(file, this.ephemeral),
      nsqd.openDeferredStore(file, this.ephemeral),
      nsqd.opts.memQueueSize,
      nsqd.log,
      `CHANNEL(${name})`,
      topic.name,
    );
    this.e2e = e2eQuantile(nsqd.opts);
    this.inFlightLog = this.queue.deferredStore?.durable ? this.queue.deferredStore : null;
    this.loadDeferred();
  }

  /** Deferred messages a previous run kept, back on their schedule. */
  private loadDeferred(): void {
    const store = this.queue.deferredStore;
    if (store === null) return;
    const entries = store.load();
    for (const { message: f, due } of entries) {
      const m = new Message(f.id0, f.id1, f.id2, f.id3, f.body, f.timestamp);
      m.attempts = f.attempts;
      m.pri = due;
      this.deferredById.add(m);
      this.deferredPQ.push(m);
    }
    if (store.durable) store.rewrite(this.deferredEntries());
    else store.clear();
  }

  private *deferredEntries() {
    for (const m of this.deferredById.values()) yield { message: m, due: m.pri };
  }

  /** What the durable store holds while running: deferred and in-flight messages. */
  private *storedEntries() {
    yield* this.deferredEntries();
    if (this.inFlightLog !== null) for (const m of this.inFlight.values()) yield { message: m, due: m.pri };
  }

  /**
   * In durable mode a message in flight lives only in memory (its disk queue has moved past it), so a crash
   * would lose it where NSQ loses it too. It is logged in the deferred store with its timeout as due time
   * instead: after a crash it comes back when it would have timed out. The entry goes on FIN, or once the
   * message is queued again.
   */
  private logInFlight(m: Message): void {
    try {
      this.inFlightLog!.add(m, m.pri, false);
    } catch (e) {
      this.nsqd.setHealth(e as Error);
      this.nsqd.log.error(`CHANNEL(${this.name}): failed to log in-flight ${m.id} - ${(e as Error).message}`);
    }
  }

  get depth(): number {
    return this.queue.depth;
  }

  /** A message from the topic's fan-out. Throws when the backend cannot take it. */
  put(m: Message): void {
    this.messageCount++;
    if (m.deferred > 0) {
      this.startDeferred(m, m.deferred);
      return;
    }
    if (this.ready.length > 0 && !this.paused && this.queue.isEmpty) {
      this.deliver(m);
      return;
    }
    this.enqueue(m);
    this.pump();
  }

  private enqueue(m: Message): void {
    this.queue.put(m);
  }

  /** Delivers queued messages while a client is ready. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.paused && this.ready.length > 0) {
        const m = this.queue.next();
        if (m === undefined) break;
        this.deliver(m);
      }
    } finally {
      this.pumping = false;
    }
  }

  private deliver(m: Message): void {
    const client = this.ready[this.rr++ % this.ready.length]!;
    if (client.sampleRate > 0 && Math.floor(Math.random() * 100) > client.sampleRate) return;
    const now = Date.now();
    m.attempts++;
    m.deliveryTs = now;
    m.owner = client;
    m.pri = now + client.msgTimeout;
    this.inFlight.add(m);
    this.inFlightPQ.push(m);
    if (this.inFlightLog !== null) this.logInFlight(m);
    client.sendMessage(m);
  }

  /** Keeps the ready list in step with a client's `inFlight < RDY` (and socket) state. */
  setReady(client: Client, ready: boolean): void {
    if (ready === client.readyIndex >= 0) return;
    if (ready) {
      client.readyIndex = this.ready.length;
      this.ready.push(client);
      this.pump();
    } else {
      const last = this.ready.pop()!;
      if (last !== client) {
        this.ready[client.readyIndex] = last;
        last.readyIndex = client.readyIndex;
      }
      client.readyIndex = -1;
    }
  }

  /** The in-flight message `client` holds with the 16-byte ID `id`; throws nsqd's reasons otherwise. */
  private owned(client: Client, id: Uint8Array): Message {
    const m = this.inFlight.find(id);
    if (m === undefined) throw new Error("ID not in flight");
    if (m.owner !== client) throw new Error("client does not own message");
    return m;
  }

  private popInFlight(client: Client, id: Uint8Array): Message {
    const m = this.owned(client, id);
    this.inFlight.delete(m);
    this.inFlightPQ.remove(m);
    m.owner = null;
    return m;
  }

  finish(client: Client, id: Uint8Array): void {
    const m = this.popInFlight(client, id);
    this.inFlightLog?.remove(m);
    this.e2e?.insert(m.timestamp);
  }

  requeue(client: Client, id: Uint8Array, delayMs: number): void {
    const m = this.popInFlight(client, id);
    this.requeueCount++;
    if (delayMs > 0) {
      this.startDeferred(m, delayMs);
      return;
    }
    this.enqueue(m);
    this.inFlightLog?.remove(m);
    this.pump();
  }

  touch(client: Client, id: Uint8Array, msgTimeout: number): void {
    const m = this.owned(client, id);
    const max = m.deliveryTs + this.nsqd.opts.maxMsgTimeout;
    m.pri = Math.min(Date.now() + msgTimeout, max);
    this.inFlightPQ.fix(m);
  }

  private startDeferred(m: Message, delayMs: number): void {
    m.deferred = 0;
    m.pri = Date.now() + delayMs;
    const store = this.queue.deferredStore;
    if (store?.durable) store.add(m, m.pri);
    this.deferredById.add(m);
    this.deferredPQ.push(m);
  }

  /** Called by the queue scan: requeue timed-out in-flight messages, release due deferred ones. */
  processTimers(now: number): boolean {
    let dirty = false;
    for (let m = this.inFlightPQ.peek(); m !== undefined && m.pri <= now; m = this.inFlightPQ.peek()) {
      this.inFlightPQ.pop();
      dirty = true;
      if (!this.inFlight.delete(m)) continue;
      this.timeoutCount++;
      const owner = m.owner;
      m.owner = null;
      owner?.timedOut();
      if (this.requeueSafely(m)) this.inFlightLog?.remove(m);
    }
    const store = this.queue.deferredStore?.durable ? this.queue.deferredStore : null;
    for (let m = this.deferredPQ.peek(); m !== undefined && m.pri <= now; m = this.deferredPQ.peek()) {
      this.deferredPQ.pop();
      dirty = true;
      this.deferredById.delete(m);
      this.requeueSafely(m);
      // after the queue has it: a crash in between doubles the message rather than losing it
      store?.remove(m);
    }
    if (store !== null && store.deadCount > 1000 && store.deadCount > 2 * (this.deferredById.size + this.inFlight.size)) {
      store.rewrite(this.storedEntries());
    }
    if (dirty) this.pump();
    return dirty;
  }

  /** False when the queue could not take it back (the message then survives only in the durable log). */
  private requeueSafely(m: Message): boolean {
    try {
      this.enqueue(m);
      return true;
    } catch (e) {
      this.nsqd.log.error(`CHANNEL(${this.name}): failed to requeue ${m.id} - ${(e as Error).message}`);
      return false;
    }
  }

  addClient(client: Client): void {
    const max = this.nsqd.opts.maxChannelConsumers;
    if (max !== 0 && this.clients.size >= max) {
      throw new Error(`consumers for ${this.topic.name}:${this.name} exceeds limit of ${max}`);
    }
    this.clients.set(client.id, client);
  }

  removeClient(client: Client): void {
    if (!this.clients.delete(client.id)) return;
    this.setReady(client, false);
    if (this.ephemeral && this.clients.size === 0 && !this.exiting) this.topic.deleteChannel(this.name);
  }

  pause(): void {
    this.paused = true;
  }

  unpause(): void {
    this.paused = false;
    this.pump();
  }

  empty(): void {
    this.queue.empty();
    this.inFlight.clear();
    this.inFlightPQ.clear();
    this.deferredById.clear();
    this.deferredPQ.clear();
    for (const c of this.clients.values()) c.emptied();
  }

  /** Close or delete: clients are disconnected; on close what is still held goes to the backend. */
  exit(deleted: boolean): void {
    this.exiting = true;
    for (const c of [...this.clients.values()]) c.close();
    if (deleted) {
      this.empty();
      this.queue.delete();
      return;
    }
    // deferred messages keep their schedule in the deferred store; everything else goes to the backend
    this.queue.close(this.deferredEntries(), this.inFlight.values());
  }
}
