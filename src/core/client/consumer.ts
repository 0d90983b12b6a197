import { createLogger, type Logger } from "../log.ts";
import { writeCommand } from "../protocol/commands.ts";
import { isValidChannelName, isValidTopicName } from "../protocol/names.ts";
import { Deque } from "../deque.ts";
import { type ClientConfig, defaultConfig, resolveConfig } from "./config.ts";
import { Conn, type ConnDelegate } from "./conn.ts";
import { NsqError } from "./errors.ts";
import { LookupdPoller } from "./lookupd-poller.ts";
import type { Message } from "./message.ts";
import { RdyController } from "./rdy.ts";

/**
 * Handles one message. Return (or resolve) to FIN it; throw (or reject) to REQ it with backoff.
 * A handler may also answer the message itself with `finish()` / `requeue()`.
 */
export type Handler = (message: Message) => unknown;

/** Options of a {@link Consumer}: any {@link ClientConfig} field, plus these. */
export interface ConsumerOptions extends Partial<ClientConfig> {
  /** Defaults to warnings and errors on stderr. */
  logger?: Logger;
  /** Called for a message delivered more than `maxAttempts` times, before it is finished unhandled. */
  onFailedMessage?: (message: Message) => void;
}

/** A snapshot of a consumer's counters (go-nsq `ConsumerStats`). */
export interface ConsumerStats {
  messagesReceived: number;
  messagesFinished: number;
  messagesRequeued: number;
  connections: number;
}

let instances = 0;

/**
 * Consumes a topic's channel from one or more nsqd (go-nsq's `Consumer`): connect directly
 * ({@link Consumer.connectToNsqd}) or discover producers by polling nsqlookupd's `/lookup`
 * ({@link Consumer.connectToNsqLookupd}). `maxInFlight` is spread over the connections as RDY and
 * redistributed as connections come and go; with fewer than there are connections, RDY rotates among them
 * so a message on an idle nsqd waits well under a second (see {@link RdyController}), where go-nsq leaves it
 * 15–25 s. Messages in flight never exceed `maxInFlight`. Messages are finished when the handler succeeds and
 * requeued (delay `defaultRequeueDelay` × attempts) with exponential backoff when it fails.
 * `stop()` sends CLS, waits for in-flight messages to be answered and closes.
 *
 * @example
 * import { Consumer } from "nsq/src/core/client";
 * const consumer = new Consumer("events", "archive", { maxInFlight: 100 });
 * consumer.addHandler(async (m) => {
 *   await save(m.body);            // resolve → FIN; throw → REQ with backoff
 * }, { concurrency: 10 });
 * await consumer.connectToNsqLookupd("127.0.0.1:4161");
 * process.on("SIGINT", () => consumer.stop());
 * await consumer.stopped;
 */
export class Consumer implements ConnDelegate {
  readonly config: ClientConfig;
  /** Resolves when the consumer has stopped (go-nsq's `StopChan`). */
  readonly stopped: Promise<void>;

  private readonly log: Logger;
  private readonly prefix: string;
  private readonly onFailedMessage: ((m: Message) => void) | undefined;
  private handler: Handler | null = null;
  private concurrency = 1;
  private running = 0;
  private readonly queue = new Deque<Message>(64);

  private readonly rdy: RdyController;
  private readonly lookupd: LookupdPoller;

  /** Subscribed connections by address. */
  private readonly connections = new Map<string, Conn>();
  /** Addresses being connected. */
  private readonly pendingConnections = new Map<string, Conn>();
  /** Every open connection, including ones dropped from `connections` and draining. */
  private readonly open = new Set<Conn>();
  private readonly subWaiters = new Map<Conn, (e: NsqError | null) => void>();
  private nsqdTcpAddrs: string[] = [];
  private readonly reconnectTimers = new Set<Timer>();

  private received = 0;
  private finished = 0;
  private requeued = 0;

  private stopFlag = false;
  private resolveStopped!: () => void;
  private forceTimer: Timer | null = null;

  constructor(
    readonly topic: string,
    readonly channel: string,
    opts: ConsumerOptions = {},
  ) {
    if (!isValidTopicName(topic)) throw new NsqError("E_BAD_TOPIC", `topic name ${JSON.stringify(topic)} is not valid`);
    if (!isValidChannelName(channel)) throw new NsqError("E_BAD_CHANNEL", `channel name ${JSON.stringify(channel)} is not valid`);
    const { logger, onFailedMessage, ...cfg } = opts;
    this.config = resolveConfig(cfg);
    this.log = logger ?? createLogger({ level: "warn" });
    this.onFailedMessage = onFailedMessage;
    this.prefix = `${++instances} [${topic}/${channel}] `;
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.rdy = new RdyController(this.config, this.log, this.prefix);
    this.lookupd = new LookupdPoller(topic, this.config, this.log, this.prefix, (addrs) => this.syncProducers(addrs));
    if (this.config.rdyRedistributeInterval !== defaultConfig().rdyRedistributeInterval) {
      this.log.warn(`${this.prefix}rdy_redistribute_interval has no effect: RDY moves when connections go idle, not on a timer`);
    }
  }

  /**
   * Sets the message handler (once, before connecting). `concurrency` bounds how many asynchronous
   * handler calls run at a time (go-nsq's `AddConcurrentHandlers`); a synchronous handler runs
   * inline as each message is read.
   * @example consumer.addHandler((m) => console.log(m.text()));
   */
  addHandler(handler: Handler, opts: { concurrency?: number } = {}): void {
    if (this.handler !== null) throw new NsqError("E_INVALID_CONFIG", "a handler is already set");
    if (this.open.size > 0 || this.pendingConnections.size > 0) throw new NsqError("E_INVALID_CONFIG", "already connected");
    const c = opts.concurrency ?? 1;
    if (!Number.isInteger(c) || c < 1) throw new NsqError("E_INVALID_CONFIG", `concurrency (${c}) must be a positive integer`);
    this.handler = handler;
    this.concurrency = c;
  }

  /** Counters since the consumer was created. */
  stats(): ConsumerStats {
    return {
      messagesReceived: this.received,
      messagesFinished: this.finished,
      messagesRequeued: this.requeued,
      connections: this.connections.size,
    };
  }

  /** Addresses of the subscribed nsqd connections. */
  connectedAddresses(): string[] {
    return [...this.connections.keys()];
  }

  /** RDY per connection, for inspection. */
  rdyCounts(): Record<string, number> {
    return Object.fromEntries([...this.connections].map(([a, c]) => [a, this.rdy.rdy(c)]));
  }

  /** Whether some connection has (nearly) as many messages in flight as its RDY allows. */
  isStarved(): boolean {
    for (const c of this.connections.values()) {
      const threshold = Math.trunc(this.rdy.rdy(c) * 0.85);
      if (c.inFlight >= threshold && c.inFlight > 0 && !c.closing) return true;
    }
    return false;
  }

  /**
   * Changes max-in-flight and updates every connection's RDY (0 pauses the flow).
   * @example consumer.changeMaxInFlight(0); // pause
   */
  changeMaxInFlight(n: number): void {
    this.rdy.setMaxInFlight(n);
  }

  /**
   * Connects to several nsqd directly; see {@link Consumer.connectToNsqd}.
   * @example await consumer.connectToNsqds(["10.0.0.1:4150", "10.0.0.2:4150"]);
   */
  async connectToNsqds(addrs: readonly string[]): Promise<void> {
    for (const a of addrs) await this.connectToNsqd(a);
  }

  /**
   * Connects to one nsqd, IDENTIFYs, SUBscribes and sends RDY. Resolves once subscribed; rejects with an
   * {@link NsqError} if any step fails. A connection that is later lost is retried every
   * `lookupdPollInterval` (when no lookupd is used), as go-nsq does.
   * @example await consumer.connectToNsqd("127.0.0.1:4150");
   */
  async connectToNsqd(addr: string): Promise<void> {
    if (this.stopFlag) throw new NsqError("E_STOPPED", "consumer stopped");
    if (this.handler === null) throw new NsqError("E_INVALID_CONFIG", "no handler: call addHandler first");
    if (this.connections.has(addr) || this.pendingConnections.has(addr)) return;
    if (!this.nsqdTcpAddrs.includes(addr)) this.nsqdTcpAddrs.push(addr);
    this.log.info(`${this.prefix}(${addr}) connecting to nsqd`);
    const conn = new Conn(addr, this.config, this, this.log, this.prefix);
    this.pendingConnections.set(addr, conn);
    try {
      const resp = await conn.connect();
      if (resp.max_rdy_count < this.rdy.maxInFlight) {
        this.log.warn(
          `${this.prefix}(${addr}) max RDY count ${resp.max_rdy_count} < consumer max in flight ${this.rdy.maxInFlight}, truncation possible`,
        );
      }
      this.open.add(conn);
      const subscribed = new Promise<NsqError | null>((resolve) => this.subWaiters.set(conn, resolve));
      writeCommand(conn.out, "SUB", [this.topic, this.channel]);
      conn.flush();
      const err = await subscribed;
      if (err) {
        conn.destroy(null);
        throw new NsqError(err.code, `failed to subscribe to ${this.topic}:${this.channel} - ${err.desc}`, { addr, cause: err });
      }
    } catch (e) {
      this.pendingConnections.delete(addr);
      this.open.delete(conn);
      this.checkStopped();
      throw e;
    }
    this.pendingConnections.delete(addr);
    if (this.stopFlag) {
      conn.startClose();
      return;
    }
    this.connections.set(addr, conn);
    this.rdy.add(conn);
  }

  /**
   * Closes the connection to `addr` and forgets the address (no reconnect).
   * @example consumer.disconnectFromNsqd("127.0.0.1:4150");
   */
  disconnectFromNsqd(addr: string): void {
    const i = this.nsqdTcpAddrs.indexOf(addr);
    if (i === -1) throw new NsqError("E_NOT_CONNECTED", `not connected to ${addr}`);
    this.nsqdTcpAddrs.splice(i, 1);
    const c = this.connections.get(addr) ?? this.pendingConnections.get(addr);
    c?.close();
  }

  /**
   * Adds lookupd addresses; see {@link Consumer.connectToNsqLookupd}.
   * @example await consumer.connectToNsqLookupds(["10.0.0.1:4161", "10.0.0.2:4161"]);
   */
  async connectToNsqLookupds(addrs: readonly string[]): Promise<void> {
    for (const a of addrs) await this.connectToNsqLookupd(a);
  }

  /**
   * Adds an nsqlookupd HTTP address (`host:port`, or a URL). The first one starts discovery: query
   * `/lookup?topic=` now, then every `lookupdPollInterval` (after a random jitter), rotating over the
   * lookupds; connect to producers that appear and close connections to producers that are no longer
   * listed. Resolves after the first query and the connections it started.
   * @example await consumer.connectToNsqLookupd("127.0.0.1:4161");
   */
  async connectToNsqLookupd(addr: string): Promise<void> {
    if (this.stopFlag) throw new NsqError("E_STOPPED", "consumer stopped");
    if (this.handler === null) throw new NsqError("E_INVALID_CONFIG", "no handler: call addHandler first");
    await this.lookupd.add(addr);
  }

  /** Stops polling `addr` (the last lookupd cannot be removed, as in go-nsq). */
  disconnectFromNsqLookupd(addr: string): void {
    this.lookupd.remove(addr);
  }

  /**
   * Stops for good: CLS to every nsqd, wait (at most 30 s) until in-flight messages are answered and
   * handlers return, then close. Resolves when stopped; calling it again returns the same promise.
   * @example await consumer.stop();
   */
  stop(): Promise<void> {
    if (this.stopFlag) return this.stopped;
    this.stopFlag = true;
    this.log.info(`${this.prefix}stopping...`);
    this.lookupd.stop();
    this.rdy.stop();
    for (const t of this.reconnectTimers) clearTimeout(t);
    this.reconnectTimers.clear();
    for (const c of this.open) c.startClose();
    if (this.open.size > 0 || this.pendingConnections.size > 0) {
      this.forceTimer = setTimeout(() => {
        this.log.warn(`${this.prefix}stop timed out, closing with messages in flight`);
        for (const c of this.open) c.destroy(null);
        this.finishStop();
      }, 30_000);
    }
    this.checkStopped();
    return this.stopped;
  }

  private checkStopped(): void {
    if (!this.stopFlag) return;
    if (this.open.size > 0 || this.pendingConnections.size > 0) return;
    if (this.running > 0 || this.queue.length > 0) return;
    this.finishStop();
  }

  private finishStop(): void {
    if (this.forceTimer !== null) clearTimeout(this.forceTimer);
    this.forceTimer = null;
    this.log.info(`${this.prefix}stopped`);
    this.resolveStopped();
  }

  // --- handler dispatch ---

  private deliver(m: Message): void {
    if (this.running < this.concurrency && this.queue.length === 0) this.run(m);
    else this.queue.push(m);
  }

  private run(m: Message): void {
    const max = this.config.maxAttempts;
    if (max > 0 && m.attempts > max) {
      this.log.warn(`${this.prefix}msg ${m.id} attempted ${m.attempts} times, giving up`);
      try {
        this.onFailedMessage?.(m);
      } catch (e) {
        this.log.error(`${this.prefix}onFailedMessage threw - ${String(e)}`);
      }
      m.finish();
      return;
    }
    let r: unknown;
    try {
      r = this.handler!(m);
    } catch (e) {
      this.failed(m, e);
      return;
    }
    if (r !== null && typeof r === "object" && typeof (r as PromiseLike<unknown>).then === "function") {
      this.running++;
      (r as PromiseLike<unknown>).then(
        () => this.settle(m, false, undefined),
        (e: unknown) => this.settle(m, true, e),
      );
    } else if (!m.hasResponded && !m.isAutoResponseDisabled) {
      m.finish();
    }
  }

  private settle(m: Message, failed: boolean, err: unknown): void {
    this.running--;
    if (failed) this.failed(m, err);
    else if (!m.hasResponded && !m.isAutoResponseDisabled) m.finish();
    while (this.running < this.concurrency && this.queue.length > 0) this.run(this.queue.shift()!);
    this.checkStopped();
  }

  private failed(m: Message, e: unknown): void {
    this.log.error(`${this.prefix}Handler returned error (${e instanceof Error ? e.message : String(e)}) for msg ${m.id}`);
    if (!m.hasResponded && !m.isAutoResponseDisabled) m.requeue(-1, true);
  }

  // --- ConnDelegate ---

  onMessage(c: Conn, m: Message): void {
    this.received++;
    this.rdy.onMessage(c);
    this.deliver(m);
  }

  onResponse(c: Conn, data: Uint8Array): void {
    const w = this.subWaiters.get(c);
    if (w) {
      this.subWaiters.delete(c);
      w(null);
      return;
    }
    if (data.length === 10 && new TextDecoder().decode(data) === "CLOSE_WAIT") {
      this.log.info(`${this.prefix}(${c.addr}) received CLOSE_WAIT from nsqd`);
      c.closeWhenDrained();
    }
  }

  onError(c: Conn, e: NsqError): void {
    const w = this.subWaiters.get(c);
    if (w) {
      this.subWaiters.delete(c);
      w(e);
    }
  }

  onMessageFinished(c: Conn, _m: Message): void {
    this.finished++;
    this.rdy.onAnswered(c, "resume");
  }

  onMessageRequeued(c: Conn, _m: Message, backoff: boolean): void {
    this.requeued++;
    this.rdy.onAnswered(c, backoff ? "backoff" : "continue");
  }

  onClose(c: Conn, _err: NsqError | null): void {
    const w = this.subWaiters.get(c);
    if (w) {
      this.subWaiters.delete(c);
      w(new NsqError("E_NOT_CONNECTED", "connection closed before SUB was answered", { addr: c.addr }));
    }
    this.open.delete(c);
    this.rdy.closed(c);
    const wasActive = this.connections.get(c.addr) === c;
    if (wasActive) this.connections.delete(c.addr);
    if (!wasActive) {
      this.checkStopped();
      return;
    }
    const left = this.connections.size;
    (this.stopFlag ? this.log.info : this.log.warn)(`${this.prefix}there are ${left} connections left alive`);
    if (this.stopFlag) {
      this.checkStopped();
      return;
    }
    if (this.lookupd.active) {
      void this.lookupd.query();
    } else if (this.nsqdTcpAddrs.includes(c.addr)) {
      this.scheduleReconnect(c.addr);
    }
  }

  private scheduleReconnect(addr: string): void {
    this.log.info(`${this.prefix}(${addr}) re-connecting in ${this.config.lookupdPollInterval}ms`);
    const t = setTimeout(() => {
      this.reconnectTimers.delete(t);
      if (this.stopFlag) return;
      if (!this.nsqdTcpAddrs.includes(addr)) {
        this.log.warn(`${this.prefix}(${addr}) skipped reconnect after removal...`);
        return;
      }
      this.connectToNsqd(addr).catch((e: Error) => {
        this.log.error(`${this.prefix}(${addr}) error connecting to nsqd - ${e.message}`);
        if (!this.stopFlag && !this.connections.has(addr)) this.scheduleReconnect(addr);
      });
    }, this.config.lookupdPollInterval);
    this.reconnectTimers.add(t);
  }

  /** Connects to the producers lookupd listed and closes connections to those it no longer lists. */
  private async syncProducers(addrs: string[]): Promise<void> {
    await Promise.all(
      addrs.map((a) =>
        this.connectToNsqd(a).catch((e: Error) => this.log.error(`${this.prefix}(${a}) error connecting to nsqd - ${e.message}`)),
      ),
    );
    if (this.stopFlag) return;
    for (const [addr, c] of this.connections) {
      if (addrs.includes(addr)) continue;
      this.log.info(`${this.prefix}(${addr}) no longer listed by nsqlookupd, closing`);
      this.connections.delete(addr);
      this.rdy.remove(c);
      const i = this.nsqdTcpAddrs.indexOf(addr);
      if (i !== -1) this.nsqdTcpAddrs.splice(i, 1);
      c.startClose();
    }
  }
}
