import { createLogger, type Logger } from "../log.ts";
import { ByteWriter } from "../protocol/bytes.ts";
import { writeCommand, writeMpubCommand } from "../protocol/commands.ts";
import { isValidTopicName } from "../protocol/names.ts";
import { Deque } from "../deque.ts";
import { type ClientConfig, resolveConfig } from "./config.ts";
import { Conn, type ConnDelegate } from "./conn.ts";
import { NsqError } from "./errors.ts";
import type { Message } from "./message.ts";

/** Options of a {@link Producer}: any {@link ClientConfig} field, plus where to log. */
export interface ProducerOptions extends Partial<ClientConfig> {
  /** Defaults to warnings and errors on stderr. */
  logger?: Logger;
}

interface Transaction {
  resolve: () => void;
  reject: (e: NsqError) => void;
}

const encoder = new TextEncoder();
const toBytes = (b: Uint8Array | string): Uint8Array => (typeof b === "string" ? encoder.encode(b) : b);

let instances = 0;

/**
 * Publishes to one nsqd (go-nsq's `Producer`). It connects on the first command and again on the first
 * command after the connection was lost. Commands are pipelined: each returns a promise that settles
 * when nsqd answers that command, and answers come in the order the commands were sent. A rejected
 * promise carries an {@link NsqError} with nsqd's code (`E_BAD_TOPIC`, `E_PUB_FAILED`, …), or
 * `E_NOT_CONNECTED` when the connection closed before the answer.
 *
 * @example
 * import { Producer } from "nsq/src/core/client";
 * const producer = new Producer("127.0.0.1:4150");
 * await producer.publish("events", JSON.stringify({ hello: "world" }));
 * await producer.multiPublish("events", ["a", "b", "c"]); // one MPUB: all or none
 * await producer.deferredPublish("events", 10_000, "in ten seconds");
 * await producer.stop();
 */
export class Producer implements ConnDelegate {
  readonly config: ClientConfig;
  private readonly log: Logger;
  private readonly prefix: string;
  private conn: Conn | null = null;
  private state: "init" | "connecting" | "connected" = "init";
  private stopped = false;
  private stopping: Promise<void> | null = null;
  private readonly preconnect = new ByteWriter(1024);
  private readonly transactions = new Deque<Transaction>(64);
  private idleWaiters: (() => void)[] = [];
  private readonly validTopics = new Set<string>();

  constructor(
    /** nsqd's TCP address, `host:port` (or a unix socket path). */
    readonly addr: string,
    opts: ProducerOptions = {},
  ) {
    const { logger, ...cfg } = opts;
    this.config = resolveConfig(cfg);
    this.log = logger ?? createLogger({ level: "warn" });
    this.prefix = `${++instances} `;
  }

  /** Whether a connection to nsqd is established (it is made on demand). */
  get connected(): boolean {
    return this.state === "connected";
  }

  /** Commands sent and not yet answered. */
  get pendingCount(): number {
    return this.transactions.length;
  }

  /** Bytes queued for the socket and not yet taken by the kernel. */
  get bufferedBytes(): number {
    return this.preconnect.length + (this.conn?.bufferedBytes ?? 0);
  }

  /**
   * PUB one message.
   * @example await producer.publish("events", "hello");
   */
  publish(topic: string, body: Uint8Array | string): Promise<void> {
    return this.send(topic, (w) => writeCommand(w, "PUB", [topic], toBytes(body)));
  }

  /**
   * MPUB: several messages in one command, accepted or refused together.
   * @example await producer.multiPublish("events", [new Uint8Array([1]), "two"]);
   */
  multiPublish(topic: string, bodies: readonly (Uint8Array | string)[]): Promise<void> {
    return this.send(topic, (w) => writeMpubCommand(w, topic, bodies.map(toBytes)));
  }

  /**
   * DPUB: one message, delivered after `delayMs`.
   * @example await producer.deferredPublish("reminders", 60_000, "a minute later");
   */
  deferredPublish(topic: string, delayMs: number, body: Uint8Array | string): Promise<void> {
    return this.send(topic, (w) => writeCommand(w, "DPUB", [topic, Math.round(delayMs)], toBytes(body)));
  }

  /**
   * Connects now rather than on the first command; rejects if nsqd cannot be reached.
   * @example await producer.connect(); // fail fast at start-up
   */
  async connect(): Promise<void> {
    if (this.stopped) throw new NsqError("E_STOPPED", "producer stopped", { addr: this.addr });
    if (this.state === "connected") return;
    if (this.state === "init") this.startConnect();
    await this.waitConnected();
  }

  /** Resolves once every command sent so far has been answered (successfully or not). */
  flush(): Promise<void> {
    if (this.transactions.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops accepting commands, waits for the answers to those already sent, and closes the connection.
   * @example process.on("SIGTERM", () => producer.stop().then(() => process.exit(0)));
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopped = true;
    this.stopping = (async () => {
      await this.flush();
      this.conn?.close();
      this.conn = null;
      this.state = "init";
    })();
    return this.stopping;
  }

  private send(topic: string, encode: (w: ByteWriter) => void): Promise<void> {
    if (this.stopped) return Promise.reject(new NsqError("E_STOPPED", "producer stopped", { addr: this.addr }));
    if (!this.validTopics.has(topic)) {
      // A space or newline in a topic would change the command itself; refuse as nsqd would.
      if (!isValidTopicName(topic)) {
        return Promise.reject(new NsqError("E_BAD_TOPIC", `topic name ${JSON.stringify(topic)} is not valid`, { addr: this.addr }));
      }
      if (this.validTopics.size > 1000) this.validTopics.clear();
      this.validTopics.add(topic);
    }
    return new Promise<void>((resolve, reject) => {
      if (this.state === "connected") {
        const conn = this.conn!;
        encode(conn.out);
        this.transactions.push({ resolve, reject });
        conn.commit();
        return;
      }
      if (this.state === "init") this.startConnect();
      encode(this.preconnect);
      this.transactions.push({ resolve, reject });
    });
  }

  private connectWaiters: ((e: NsqError | null) => void)[] = [];

  private waitConnected(): Promise<void> {
    return new Promise((resolve, reject) => this.connectWaiters.push((e) => (e ? reject(e) : resolve())));
  }

  private startConnect(): void {
    this.state = "connecting";
    this.log.info(`${this.prefix}(${this.addr}) connecting to nsqd`);
    const conn = new Conn(this.addr, this.config, this, this.log, this.prefix);
    this.conn = conn;
    conn.connect().then(
      () => {
        if (this.conn !== conn) return;
        this.state = "connected";
        if (this.preconnect.length > 0) {
          conn.out.bytes(this.preconnect.written());
          this.preconnect.reset();
          conn.flush();
        }
        for (const w of this.connectWaiters.splice(0)) w(null);
      },
      (e: NsqError) => {
        if (this.conn !== conn) return;
        this.log.error(`${this.prefix}(${this.addr}) error connecting to nsqd - ${e.message}`);
        this.conn = null;
        this.state = "init";
        this.preconnect.reset();
        for (const w of this.connectWaiters.splice(0)) w(e);
        this.failAll(e);
      },
    );
  }

  private failAll(e: NsqError): void {
    for (const t of this.transactions.drain()) t.reject(e);
    this.settled();
  }

  private settled(): void {
    if (this.transactions.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  // --- ConnDelegate ---

  onResponse(_c: Conn, _data: Uint8Array): void {
    const t = this.transactions.shift();
    if (t === undefined) {
      this.log.error(`${this.prefix}(${this.addr}) response with no command waiting for it`);
      return;
    }
    t.resolve();
    this.settled();
  }

  onError(_c: Conn, e: NsqError): void {
    const t = this.transactions.shift();
    if (t === undefined) return;
    t.reject(e);
    this.settled();
  }

  onMessage(_c: Conn, m: Message): void {
    this.log.error(`${this.prefix}(${this.addr}) unexpected message ${m.id} on a producer connection`);
  }

  onClose(c: Conn, err: NsqError | null): void {
    if (this.conn !== c) return;
    this.conn = null;
    this.state = "init";
    const why = err ? `${err.code} ${err.desc}` : "connection closed";
    this.failAll(new NsqError("E_NOT_CONNECTED", `not connected (${why})`, { addr: this.addr, cause: err ?? undefined }));
  }
}
