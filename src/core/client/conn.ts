import type { Socket, SocketHandler } from "bun";
import { type Codec, loadCodec } from "../codec/index.ts";
import type { Logger } from "../log.ts";
import { parseListenAddress } from "../net.ts";
import type { ByteWriter } from "../protocol/bytes.ts";
import { Command, writeCommand } from "../protocol/commands.ts";
import { FrameDecoder, FrameType, MAGIC_V2 } from "../protocol/frame.ts";
import { decodeMessage } from "../protocol/message.ts";
import { Transport, type TransportSocket } from "../transport.ts";
import type { ClientConfig } from "./config.ts";
import { dialError, NsqError } from "./errors.ts";
import { Message, type MessageResponder } from "./message.ts";

/** nsqd's answer to IDENTIFY with `feature_negotiation` (the keys go-nsq and nsqjs read, and more). */
export interface IdentifyResponse {
  max_rdy_count: number;
  version?: string;
  max_msg_timeout?: number;
  msg_timeout?: number;
  tls_v1: boolean;
  deflate: boolean;
  deflate_level?: number;
  snappy: boolean;
  auth_required: boolean;
  sample_rate?: number;
  output_buffer_size?: number;
  output_buffer_timeout?: number;
}

/** nsqd's answer to AUTH. */
export interface AuthResponse {
  identity: string;
  identity_url: string;
  permission_count: number;
}

/** What a connection reports to its owner (a Producer or a Consumer). All calls are synchronous. */
export interface ConnDelegate {
  onMessage(c: Conn, m: Message): void;
  /** A response frame other than a heartbeat (`OK`, `CLOSE_WAIT`). */
  onResponse(c: Conn, data: Uint8Array): void;
  /** An error frame; a fatal one is followed by the connection closing. */
  onError(c: Conn, e: NsqError): void;
  onMessageFinished?(c: Conn, m: Message): void;
  onMessageRequeued?(c: Conn, m: Message, backoff: boolean): void;
  /** Once, after a connection that finished its handshake closes; `err` says why when it was not asked to. */
  onClose(c: Conn, err: NsqError | null): void;
}

const HEARTBEAT_TEXT = "_heartbeat_";
/** Flush inline rather than at the end of the tick once this much is buffered. */
const FLUSH_AT = 64 * 1024;
/** Output waits for a socket until the dial completes ({@link Conn.flush} does not flush before). */
const UNCONNECTED: TransportSocket = { write: () => -1, end() {}, pause() {}, resume() {} };

const HANDLERS: SocketHandler<Conn> = {
  data(s, chunk) {
    const c = s.data;
    if (c.socket === s) c.onData(chunk);
  },
  drain(s) {
    const c = s.data;
    if (c.socket === s) c.onDrain();
  },
  close(s) {
    const c = s.data;
    if (c.socket === s) c.onSocketClose(null);
  },
  end(s) {
    const c = s.data;
    if (c.socket === s) s.end();
  },
  error(s, err) {
    const c = s.data;
    if (c.socket === s) c.onSocketClose(new NsqError("E_NOT_CONNECTED", `socket error - ${err.message}`, { addr: c.addr }));
  },
  handshake(s, ok, err) {
    const c = s.data;
    if (c.socket === s) c.onTlsHandshake(ok, err);
  },
  connectError() {},
};

/**
 * One V2 connection to nsqd: dial, magic, IDENTIFY (with feature negotiation), the TLS upgrade, snappy or
 * deflate, and AUTH, then framed reads and batched writes through a {@link Transport}. Commands are appended
 * to {@link Conn.out} and leave in one `socket.write` per tick (or at once past 64 KiB); what the kernel does
 * not take waits for `drain`. Heartbeats are answered with NOP. Used by {@link Producer} and
 * {@link Consumer}; rarely useful alone.
 *
 * @example
 * const conn = new Conn("127.0.0.1:4150", resolveConfig(), {
 *   onMessage: (c, m) => m.finish(),
 *   onResponse: () => {},
 *   onError: (c, e) => console.error(e.code),
 *   onClose: () => {},
 * }, createLogger());
 * const identify = await conn.connect(); // { max_rdy_count: 2500, tls_v1: false, … }
 * writeCommand(conn.out, "NOP");
 * conn.commit();
 */
export class Conn implements MessageResponder {
  /** The current socket (the TLS one after an upgrade); handlers ignore events of any other. */
  socket: Socket<Conn> | null = null;
  identify: IdentifyResponse | null = null;

  // consumer bookkeeping (go-nsq Conn); RDY itself is the Consumer's RdyController's
  /** Messages delivered and not yet answered. */
  inFlight = 0;
  maxRdyCount = 2500;
  /** The IDENTIFY round trip, milliseconds. */
  rtt = 0;
  /** CLS was acknowledged with CLOSE_WAIT: close once nothing is in flight. */
  closing = false;
  /** CLS was sent. */
  clsSent = false;

  private readonly decoder: FrameDecoder;
  private readonly t: Transport;
  private flushScheduled = false;
  private state: "init" | "handshake" | "ready" | "closed" = "init";
  private handshakeFrames: [number, Uint8Array][] = [];
  private handshakeWaiter: ((f: [number, Uint8Array] | NsqError) => void) | null = null;
  private tlsWaiter: ((err: NsqError | null) => void) | null = null;
  private closeReason: NsqError | null = null;
  private lastReadAt = Date.now();
  private watchdog: Timer | null = null;

  constructor(
    readonly addr: string,
    private readonly cfg: ClientConfig,
    private readonly delegate: ConnDelegate,
    private readonly log: Logger,
    private readonly logPrefix = "",
  ) {
    this.decoder = new FrameDecoder((type, data) => this.onFrame(type, data));
    this.t = new Transport(UNCONNECTED, {
      initialSize: 16 * 1024,
      maxPending: 1 << 20,
      onInput: (b) => this.decoder.push(b),
      onWriteError: () => this.onSocketClose(this.closedError()),
    });
  }

  /** Output buffer: append with `writeCommand(conn.out, …)`, then {@link Conn.commit}. */
  get out(): ByteWriter {
    return this.t.out;
  }

  get isClosed(): boolean {
    return this.state === "closed";
  }

  /** Bytes written by the program and not yet taken by the kernel. */
  get bufferedBytes(): number {
    return this.t.out.length + this.t.pendingBytes;
  }

  toString(): string {
    return this.addr;
  }

  /**
   * Dials and bootstraps the connection. Resolves with nsqd's IDENTIFY response; rejects with an
   * {@link NsqError} (and leaves the connection closed) when any step fails.
   */
  async connect(): Promise<IdentifyResponse> {
    if (this.state !== "init") throw new NsqError("E_NOT_CONNECTED", "connection already used", { addr: this.addr });
    this.state = "handshake";
    try {
      await this.dial();
      this.startWatchdog();
      const resp = await this.handshake();
      this.state = "ready";
      // Frames that arrived together with the last handshake answer.
      this.resumeInput();
      return resp;
    } catch (e) {
      const err = e instanceof NsqError ? e : new NsqError("E_NOT_CONNECTED", String(e), { addr: this.addr, cause: e });
      this.destroy(err);
      throw err;
    }
  }

  private async dial(): Promise<void> {
    const where = parseListenAddress(this.addr);
    const target = "unix" in where ? { unix: where.unix } : { hostname: where.hostname || "127.0.0.1", port: where.port };
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NsqError("E_CONNECT_FAILED", dialError(this.addr, "timeout"), { addr: this.addr })), this.cfg.dialTimeout);
    });
    const connecting = Bun.connect<Conn>({ ...target, data: this, socket: HANDLERS } as Parameters<typeof Bun.connect<Conn>>[0]);
    try {
      this.socket = await Promise.race([connecting, timeout]);
    } catch (e) {
      // A connect that completes after the timeout must not leak its socket.
      connecting.then((s) => s.terminate(), () => {});
      if (e instanceof NsqError) throw e;
      throw new NsqError("E_CONNECT_FAILED", dialError(this.addr, e), { addr: this.addr, cause: e });
    } finally {
      clearTimeout(timer);
    }
    if (this.state === "closed") throw this.closeReason ?? new NsqError("E_NOT_CONNECTED", "closed while dialling", { addr: this.addr });
    this.t.setSocket(this.socket);
  }

  private async handshake(): Promise<IdentifyResponse> {
    const c = this.cfg;
    this.out.bytes(MAGIC_V2);
    this.out.bytes(
      Command.identify({
        client_id: c.clientId,
        hostname: c.hostname,
        user_agent: c.userAgent,
        feature_negotiation: true,
        heartbeat_interval: c.heartbeatInterval === -1 ? -1 : Math.round(c.heartbeatInterval),
        output_buffer_size: c.outputBufferSize,
        output_buffer_timeout: c.outputBufferTimeout === -1 ? -1 : Math.round(c.outputBufferTimeout),
        tls_v1: c.tlsV1,
        snappy: c.snappy,
        deflate: c.deflate,
        deflate_level: c.deflateLevel,
        sample_rate: c.sampleRate,
        msg_timeout: Math.round(c.msgTimeout),
      }),
    );
    this.flush();
    const sent = performance.now();
    const [type, data] = await this.nextHandshakeFrame();
    this.rtt = performance.now() - sent;
    if (type === FrameType.Error) throw NsqError.fromFrame(data, this.addr);
    let resp: IdentifyResponse;
    if (data[0] !== 0x7b /* { */) {
      // An nsqd that does not negotiate: assume nsqjs's defaults.
      resp = { max_rdy_count: 2500, tls_v1: false, deflate: false, snappy: false, auth_required: false };
    } else {
      try {
        resp = JSON.parse(new TextDecoder().decode(data)) as IdentifyResponse;
      } catch {
        throw new NsqError("E_PROTOCOL", "IDENTIFY response is not JSON", { addr: this.addr });
      }
    }
    this.identify = resp;
    if (typeof resp.max_rdy_count === "number") this.maxRdyCount = resp.max_rdy_count;
    this.debug(`IDENTIFY response: ${JSON.stringify(resp)}`);

    const declined = (what: string) =>
      new NsqError("E_FEATURE_DECLINED", `${what} was requested but nsqd declined it`, { addr: this.addr });
    if (c.tlsV1) {
      if (!resp.tls_v1) throw declined("tls_v1 (TLS)");
      await this.upgradeTls();
    }
    if (c.snappy && !resp.snappy) throw declined("snappy");
    if (c.deflate && !resp.deflate) throw declined("deflate");
    // at the level nsqd settled on, as go-nsq and nsqjs do
    if (resp.snappy) await this.compress("snappy");
    else if (resp.deflate) await this.compress("deflate", resp.deflate_level ?? c.deflateLevel);
    if (resp.auth_required) {
      if (c.authSecret === "") throw new NsqError("E_AUTH_REQUIRED", "nsqd requires AUTH and no auth_secret is set", { addr: this.addr });
      await this.auth(c.authSecret);
    } else if (c.authSecret !== "") {
      this.log.warn(`${this.logPrefix}(${this.addr}) auth_secret set but nsqd does not require AUTH; not sent`);
    }
    return resp;
  }

  private async upgradeTls(): Promise<void> {
    if (this.t.heldBytes > 0) throw new NsqError("E_PROTOCOL", "unexpected data before the TLS upgrade", { addr: this.addr });
    const raw = this.socket!;
    const where = parseListenAddress(this.addr);
    const t = this.cfg.tls;
    const tls = {
      ca: t.ca,
      cert: t.cert,
      key: t.key,
      rejectUnauthorized: t.rejectUnauthorized ?? true,
      serverName: t.serverName ?? ("hostname" in where ? where.hostname : undefined),
    };
    this.info("upgrading to TLS");
    const done = new Promise<NsqError | null>((resolve) => (this.tlsWaiter = resolve));
    const [, secure] = raw.upgradeTLS<Conn>({ data: this, tls, socket: HANDLERS });
    this.socket = secure;
    this.t.setSocket(secure);
    const err = await done;
    if (err) throw err;
    await this.expectOk("TLS");
  }

  /** Snappy or deflate from here on, both ways; nsqd confirms with an OK that is already compressed. */
  private async compress(name: Codec["name"], level?: number): Promise<void> {
    this.info(`upgrading to ${name}`);
    this.t.setCodec(await loadCodec(name, level));
    await this.expectOk(name);
  }

  private async expectOk(upgrade: string): Promise<void> {
    const [type, data] = await this.nextHandshakeFrame();
    if (type !== FrameType.Response || new TextDecoder().decode(data) !== "OK") {
      throw new NsqError("E_PROTOCOL", `invalid response from ${upgrade} upgrade`, { addr: this.addr });
    }
  }

  /** @internal */
  onTlsHandshake(ok: boolean, err: Error | null): void {
    const w = this.tlsWaiter;
    this.tlsWaiter = null;
    w?.(ok ? null : new NsqError("E_CONNECT_FAILED", `TLS handshake failed - ${err?.message ?? "unknown error"}`, { addr: this.addr }));
  }

  private async auth(secret: string): Promise<void> {
    this.out.bytes(Command.auth(secret));
    this.flush();
    const [type, data] = await this.nextHandshakeFrame();
    if (type === FrameType.Error) throw NsqError.fromFrame(data, this.addr);
    try {
      const r = JSON.parse(new TextDecoder().decode(data)) as AuthResponse;
      this.info(`Auth accepted. Identity: ${JSON.stringify(r.identity)} ${r.identity_url} Permissions: ${r.permission_count}`);
    } catch {
      throw new NsqError("E_PROTOCOL", "AUTH response is not JSON", { addr: this.addr });
    }
  }

  /** Each handshake answer pauses the input: what follows it may need a TLS socket or a decoder first. */
  private nextHandshakeFrame(): Promise<[number, Uint8Array]> {
    if (this.handshakeFrames.length === 0) this.resumeInput();
    const f = this.handshakeFrames.shift();
    if (f) return Promise.resolve(f);
    if (this.state === "closed") return Promise.reject(this.closeReason ?? this.closedError());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.handshakeWaiter = null;
        reject(new NsqError("E_TIMEOUT", `no response within ${this.cfg.readTimeout}ms`, { addr: this.addr }));
      }, this.cfg.readTimeout);
      this.handshakeWaiter = (r) => {
        clearTimeout(timer);
        this.handshakeWaiter = null;
        if (r instanceof NsqError) reject(r);
        else resolve(r);
      };
    });
  }

  // --- reading ---

  /** @internal */
  onData(chunk: Uint8Array): void {
    this.lastReadAt = Date.now();
    try {
      this.t.receive(chunk);
    } catch (e) {
      this.readFailed(e);
    }
  }

  private resumeInput(): void {
    this.decoder.resume();
    try {
      this.t.resumeInput();
    } catch (e) {
      this.readFailed(e);
    }
  }

  /** A frame too large, a corrupt compressed stream: the connection cannot go on. */
  private readFailed(e: unknown): void {
    this.destroy(new NsqError("E_PROTOCOL", (e as Error).message, { addr: this.addr, cause: e }));
  }

  private onFrame(type: number, data: Uint8Array): void {
    if (this.state === "handshake") {
      this.decoder.pause();
      this.t.pauseInput();
      // Copy: the chunk is reused by nothing, but a handshake frame may outlive many chunks.
      const f: [number, Uint8Array] = [type, data.slice()];
      if (this.handshakeWaiter) this.handshakeWaiter(f);
      else this.handshakeFrames.push(f);
      return;
    }
    if (this.state === "ready") this.dispatch(type, data);
  }

  private dispatch(type: number, data: Uint8Array): void {
    switch (type) {
      case FrameType.Message: {
        let fields;
        try {
          fields = decodeMessage(data);
        } catch (e) {
          this.destroy(new NsqError("E_PROTOCOL", (e as Error).message, { addr: this.addr, cause: e }));
          return;
        }
        this.inFlight++;
        this.delegate.onMessage(this, new Message(fields, this));
        return;
      }
      case FrameType.Response:
        if (data.length === HEARTBEAT_TEXT.length && isHeartbeat(data)) {
          this.debug("heartbeat received");
          writeCommand(this.out, "NOP");
          this.flush();
          return;
        }
        this.delegate.onResponse(this, data);
        return;
      case FrameType.Error: {
        const e = NsqError.fromFrame(data, this.addr);
        this.log.error(`${this.logPrefix}(${this.addr}) protocol error - ${e.message}`);
        this.delegate.onError(this, e);
        return;
      }
      default:
        this.destroy(new NsqError("E_PROTOCOL", `unknown frame type ${type}`, { addr: this.addr }));
    }
  }

  // --- message responses (MessageResponder) ---

  // The owner hears of the answer before it is written, as in go-nsq: a backoff's RDY 0 must reach nsqd
  // before the REQ, or nsqd would hand the requeued message straight back.
  finish(m: Message): void {
    this.inFlight--;
    this.delegate.onMessageFinished?.(this, m);
    if (this.state === "ready") {
      writeCommand(this.out, "FIN", [m.id]);
      this.commit();
    }
    this.maybeFinishClose();
  }

  requeue(m: Message, delayMs: number, backoff: boolean): void {
    this.inFlight--;
    let delay = delayMs;
    if (delay < 0) delay = Math.min(this.cfg.defaultRequeueDelay * m.attempts, this.cfg.maxRequeueDelay);
    this.delegate.onMessageRequeued?.(this, m, backoff);
    if (this.state === "ready") {
      writeCommand(this.out, "REQ", [m.id, Math.round(delay)]);
      this.commit();
    }
    this.maybeFinishClose();
  }

  touch(m: Message): void {
    if (this.state !== "ready") return;
    writeCommand(this.out, "TOUCH", [m.id]);
    this.commit();
  }

  /** RDY `count`, sent at once. */
  sendRdy(count: number): void {
    if (this.state !== "ready") return;
    writeCommand(this.out, "RDY", [count]);
    this.flush();
  }

  /** CLS: ask nsqd to stop sending; it answers CLOSE_WAIT. */
  startClose(): void {
    if (this.state !== "ready" || this.clsSent) return;
    this.clsSent = true;
    writeCommand(this.out, "CLS");
    this.flush();
  }

  /** After CLOSE_WAIT: close now, or as soon as the last in-flight message is answered. */
  closeWhenDrained(): void {
    this.closing = true;
    this.maybeFinishClose();
  }

  private maybeFinishClose(): void {
    if (this.closing && this.inFlight <= 0 && this.state === "ready") this.close();
  }

  // --- writing ---

  /** Schedules a flush at the end of this tick (inline past 64 KiB). */
  commit(): void {
    if (this.t.out.length >= FLUSH_AT) {
      this.flush();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushTask);
    }
  }

  private readonly flushTask = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** Hands the output buffer to the socket now. */
  flush(): void {
    if (this.socket === null || this.state === "closed") return;
    this.t.flush();
  }

  /** @internal */
  onDrain(): void {
    this.t.onDrain();
    this.flush();
  }

  /** Resolves once everything written so far was taken by the kernel (or the connection closed). */
  drained(): Promise<void> {
    this.flush();
    return this.t.drained();
  }

  // --- closing ---

  /** Flushes what is buffered and closes the connection. */
  close(): void {
    if (this.state === "closed" || this.socket === null) {
      this.destroy(null);
      return;
    }
    this.flush();
    this.finishClosed(null);
    this.t.end();
  }

  /** Closes at once, dropping unsent output. */
  destroy(err: NsqError | null): void {
    const s = this.socket;
    this.finishClosed(err);
    this.t.abort();
    s?.terminate();
  }

  /** @internal */
  onSocketClose(err: NsqError | null): void {
    this.finishClosed(err ?? this.closedError());
    this.t.abort();
  }

  private closedError(): NsqError {
    return new NsqError("E_NOT_CONNECTED", "connection closed", { addr: this.addr });
  }

  private finishClosed(err: NsqError | null): void {
    if (this.state === "closed") return;
    const wasReady = this.state === "ready";
    this.state = "closed";
    this.closeReason = err;
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
    this.decoder.stop();
    const hw = this.handshakeWaiter;
    if (hw) hw(err ?? this.closedError());
    const tw = this.tlsWaiter;
    this.tlsWaiter = null;
    tw?.(err ?? this.closedError());
    if (wasReady) {
      if (err && !this.clsSent) this.log.error(`${this.logPrefix}(${this.addr}) IO error - ${err.desc || err.message}`);
      this.delegate.onClose(this, err);
    }
  }

  /** go-nsq's read and write deadlines, checked by one timer per connection. */
  private startWatchdog(): void {
    const every = Math.max(50, Math.min(this.cfg.readTimeout, this.cfg.writeTimeout) / 4);
    this.watchdog = setInterval(() => {
      const now = Date.now();
      if (now - this.lastReadAt > this.cfg.readTimeout) {
        this.destroy(new NsqError("E_TIMEOUT", `nothing read for ${this.cfg.readTimeout}ms`, { addr: this.addr }));
      } else if (this.t.blockedSince !== 0 && now - this.t.blockedSince > this.cfg.writeTimeout) {
        this.destroy(new NsqError("E_TIMEOUT", `write blocked for ${this.cfg.writeTimeout}ms`, { addr: this.addr }));
      }
    }, every);
    this.watchdog.unref();
  }

  private info(msg: string): void {
    this.log.info(`${this.logPrefix}(${this.addr}) ${msg}`);
  }

  private debug(msg: string): void {
    if (this.log.enabled("debug")) this.log.debug(`${this.logPrefix}(${this.addr}) ${msg}`);
  }
}

function isHeartbeat(d: Uint8Array): boolean {
  for (let i = 0; i < HEARTBEAT_TEXT.length; i++) if (d[i] !== HEARTBEAT_TEXT.charCodeAt(i)) return false;
  return true;
}
