import type { Socket } from "bun";
import { type Codec, CodecError, loadCodec } from "../../core/codec/index.ts";
import { type Connection, type SocketData, upgradeTls } from "../../core/listener.ts";
import { ascii } from "../../core/protocol/bytes.ts";
import { CommandParser, type CommandSink } from "../../core/protocol/command-parser.ts";
import { ClientError, FatalClientError } from "../../core/protocol/errors.ts";
import { FrameType, HEARTBEAT, OK, writeFrame } from "../../core/protocol/frame.ts";
import { writeMessageFrame } from "../../core/protocol/message.ts";
import { Transport } from "../../core/transport.ts";
import type { AuthState } from "./auth.ts";
import type { Channel } from "./channel.ts";
import { ClientState } from "./client-state.ts";
import type { Message } from "./message.ts";
import type { NSQD } from "./nsqd.ts";
import * as v2 from "./protocol-v2.ts";

/** Unsent bytes beyond which we stop reading from the peer until it reads ours. */
const MAX_PENDING = 1 << 20;
const DEFAULT_OUTPUT_BUFFER_SIZE = 16 * 1024;
/** nsqd's deadline for the TLS handshake of an IDENTIFY upgrade. */
const TLS_HANDSHAKE_TIMEOUT = 5_000;
/** Go's tls version names, as /stats shows them. */
const TLS_VERSION_NAMES: Record<string, string> = { TLSv1: "TLS1.0", "TLSv1.1": "TLS1.1", "TLSv1.2": "TLS1.2", "TLSv1.3": "TLS1.3" };

/**
 * One V2 connection: its parser, its transport and its share of a channel. Messages are buffered
 * (NSQ's output_buffer_size / output_buffer_timeout) and flushed when the buffer fills, when the client
 * stops being ready, or on the timer; every other frame goes out at the end of the current read.
 * A command that waits (AUTH, an auth refresh, IDENTIFY's upgrades) holds the input that follows it
 * ({@link Client.suspend}) and resumes it in order once done.
 */
export class Client implements CommandSink, Connection {
  state: ClientState = ClientState.Connected;
  readonly parser = new CommandParser(this);
  readonly connectTs = Date.now();
  readonly remoteAddress: string;
  channel: Channel | null = null;
  readyIndex = -1;
  readyCount = 0;
  inFlightCount = 0;
  messageCount = 0;
  finishCount = 0;
  requeueCount = 0;
  readonly pubCounts = new Map<string, number>();

  clientId: string;
  hostname: string;
  userAgent = "";
  identified = false;
  heartbeatInterval: number;
  outputBufferSize = DEFAULT_OUTPUT_BUFFER_SIZE;
  outputBufferTimeout: number;
  msgTimeout: number;
  sampleRate = 0;
  topologyRegion = "";
  topologyZone = "";

  // negotiated in IDENTIFY and AUTH; /stats reports them
  tls = false;
  tlsVersion = "";
  tlsCipherSuite = "";
  /** The CN of the client's certificate, "" without one. */
  tlsCommonName = "";
  authState: AuthState | null = null;
  authSecret = "";

  /** The current socket: the TLS one after an upgrade. */
  socket: Socket<SocketData>;
  private readonly w: Transport;
  /** Between IDENTIFY's answer and the last upgrade's OK: nothing else may be written. */
  private upgrading = false;
  private handshakeDone: ((err: Error | null) => void) | null = null;
  private handshakeTimer: Timer | null = null;
  /** Inside onData: parsing the current read. */
  private reading = false;
  /** The read onData hands to {@link receiveChunk}, bound once so that a read allocates no closure. */
  private chunk: Uint8Array | null = null;
  private readonly receiveChunk = (): void => {
    const chunk = this.chunk!;
    this.chunk = null;
    this.w.receive(chunk);
  };
  private responsesPending = false;
  private flushQueued = false;
  /** Bound once, so that queueing a flush allocates no closure. */
  private readonly flushTask = (): void => {
    this.flushQueued = false;
    this.responsesPending = false;
    this.flush();
  };
  /** A delivery during the current read left the client not ready: flush at the end of the read. */
  private flushWanted = false;
  private flushTimer: Timer | null = null;
  private heartbeatTimer: Timer | null = null;
  private lastRead = Date.now();
  closed = false;

  constructor(
    readonly id: number,
    socket: Socket<SocketData>,
    readonly nsqd: NSQD,
  ) {
    const opts = nsqd.opts;
    this.socket = socket;
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort ?? 0}`;
    this.clientId = socket.remoteAddress;
    this.hostname = socket.remoteAddress;
    this.heartbeatInterval = 30_000;
    this.outputBufferTimeout = opts.outputBufferTimeout;
    this.msgTimeout = opts.msgTimeout;
    this.w = new Transport(socket, {
      initialSize: DEFAULT_OUTPUT_BUFFER_SIZE + 1024,
      maxPending: MAX_PENDING,
      onInput: (b) => this.parser.push(b),
      onBlocked: () => this.updateReady(),
      onWritable: () => this.updateReady(),
    });
    this.armHeartbeat();
  }

  /** The negotiated compression, if any. */
  get snappy(): boolean {
    return this.w.codec === "snappy";
  }

  get deflate(): boolean {
    return this.w.codec === "deflate";
  }

  // --- input ---

  onData(chunk: Uint8Array): void {
    this.lastRead = Date.now();
    this.chunk = chunk;
    this.handleInput(this.receiveChunk);
  }

  /**
   * Runs input handling as one read: responses go out after this read's disk-queue writes (queued as
   * microtasks while parsing) have reached the kernel, so an OK means the message survives the death
   * of this process.
   */
  private handleInput(run: () => void): void {
    this.reading = true;
    try {
      run();
    } catch (e) {
      this.fail(e);
    }
    this.reading = false;
    if (this.responsesPending || this.flushWanted) this.queueFlush();
  }

  /**
   * Holds the input after the current command until `step` settles, then resumes it in order. A step
   * that throws fails the client as a command would.
   */
  suspend(step: Promise<void>): void {
    this.parser.pause();
    this.w.pauseInput();
    step.then(
      () => this.resumeAfter(null),
      (e: unknown) => this.resumeAfter(e),
    );
  }

  private resumeAfter(err: unknown): void {
    if (this.closed) return;
    this.handleInput(() => {
      if (err !== null) throw err;
      this.parser.resume();
      this.w.resumeInput();
    });
  }

  private queueFlush(): void {
    this.flushWanted = false;
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flushTask);
  }

  line(args: Uint8Array[]): number {
    try {
      return v2.line(this, args);
    } catch (e) {
      this.fail(e);
      return -1;
    }
  }

  badBodySize(args: Uint8Array[], size: number): void {
    this.fail(v2.badBodySize(this, args, size));
  }

  body(args: Uint8Array[], body: Uint8Array): void {
    try {
      v2.body(this, args, body);
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    if (e instanceof CodecError) {
      // as nsqd's IOLoop on a read error: nothing sent, the connection closed, then its TCP handler logs it
      this.parser.stop();
      this.close();
      this.nsqd.log.error(`client(${this.remoteAddress}) - failed to read command - ${e.message}`);
      return;
    }
    if (!(e instanceof ClientError)) {
      this.nsqd.log.error(`[${this.remoteAddress}] internal error - ${(e as Error).stack ?? e}`);
      this.parser.stop();
      this.close();
      return;
    }
    this.nsqd.log.error(`[${this.remoteAddress}] - ${e.message}${e.parent ? ` - ${String(e.parent)}` : ""}`);
    this.sendResponse(FrameType.Error, ascii(e.message));
    if (e.fatal) {
      this.parser.stop();
      this.close();
    }
  }

  // --- output ---

  /** Non-message frames: written now, sent at the end of the current read (or at once outside one). */
  sendResponse(type: FrameType, data: Uint8Array): void {
    if (this.closed) return;
    writeFrame(this.w.out, type, data);
    this.responsesPending = true;
  }

  private flushResponses(): void {
    if (this.responsesPending) {
      this.responsesPending = false;
      this.flush();
    }
  }

  sendMessage(m: Message): void {
    this.inFlightCount++;
    this.messageCount++;
    writeMessageFrame(this.w.out, m);
    if (this.outputBufferSize === v2.UNBUFFERED) {
      // output_buffer_size -1: out at the end of this turn, so the deliveries of one read (ten PUBs in a
      // chunk, say) share a write instead of one each; nothing waits for more than the turn
      if (this.reading) this.flushWanted = true;
      else this.queueFlush();
    } else if (this.w.out.length >= this.outputBufferSize) {
      this.flush();
    } else if (this.inFlightCount >= this.readyCount) {
      // No longer ready: send what is buffered, but once for every delivery this turn (a burst of FINs
      // frees slots one by one), and within a read after its disk writes, like the responses.
      if (this.reading) this.flushWanted = true;
      else this.queueFlush();
    } else if (this.flushTimer === null && this.outputBufferTimeout > 0) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.flush();
      }, this.outputBufferTimeout);
    }
    this.updateReady();
  }

  flush(): void {
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    this.w.flush();
  }

  onDrain(): void {
    this.w.onDrain();
  }

  // --- IDENTIFY's upgrades ---

  /**
   * After IDENTIFY's answer: TLS, then snappy or deflate, each confirmed with OK (the last one
   * compressed), as nsqd does. The input that follows waits until they are done.
   */
  upgrade(tls: boolean, compression: Codec["name"] | null, deflateLevel: number): void {
    this.upgrading = true;
    this.suspend(this.runUpgrades(tls, compression, deflateLevel));
  }

  private async runUpgrades(tls: boolean, compression: Codec["name"] | null, deflateLevel: number): Promise<void> {
    if (tls) {
      this.nsqd.log.info(`PROTOCOL(V2): [${this.remoteAddress}] upgrading connection to TLS`);
      // the answer must be on the wire in plain text before the socket turns TLS
      this.flush();
      await this.w.drained();
      if (this.closed) return;
      if (this.w.heldBytes > 0) throw new FatalClientError("E_IDENTIFY_FAILED", "IDENTIFY failed data received before the TLS handshake");
      await this.startTls();
      this.sendResponse(FrameType.Response, OK);
      this.flush();
    }
    if (compression !== null) {
      const level = compression === "deflate" ? ` (level ${deflateLevel})` : "";
      this.nsqd.log.info(`PROTOCOL(V2): [${this.remoteAddress}] upgrading connection to ${compression}${level}`);
      // what went before (IDENTIFY's answer, TLS's OK) leaves uncompressed
      this.flush();
      const codec = await loadCodec(compression, deflateLevel);
      if (this.closed) return;
      this.w.setCodec(codec);
      this.sendResponse(FrameType.Response, OK);
    }
    this.upgrading = false;
  }

  private startTls(): Promise<void> {
    const secure = upgradeTls(this.socket, this.nsqd.tls!.server);
    this.socket = secure;
    this.w.setSocket(secure);
    return new Promise((resolve, reject) => {
      this.handshakeTimer = setTimeout(() => this.onHandshake(false, new Error("TLS handshake timed out")), TLS_HANDSHAKE_TIMEOUT);
      this.handshakeDone = (err) => {
        if (err === null) resolve();
        else reject(new FatalClientError("E_IDENTIFY_FAILED", `IDENTIFY failed ${err.message}`));
      };
    });
  }

  onHandshake(ok: boolean, err: Error | null): void {
    const done = this.handshakeDone;
    if (done === null) return;
    this.handshakeDone = null;
    clearTimeout(this.handshakeTimer!);
    this.handshakeTimer = null;
    if (!ok) return done(err ?? new Error("TLS handshake failed"));
    const s = this.socket;
    const cert = s.getPeerCertificate() as { subject?: { CN?: string } } | undefined;
    if (this.nsqd.tls!.requireAnyCert && cert?.subject === undefined) return done(new Error("tls: client didn't provide a certificate"));
    this.tls = true;
    this.tlsVersion = TLS_VERSION_NAMES[s.getTLSVersion() ?? ""] ?? `Unknown ${s.getTLSVersion()}`;
    this.tlsCipherSuite = (s.getCipher() as { standardName?: string } | null)?.standardName ?? "";
    this.tlsCommonName = cert?.subject?.CN ?? "";
    done(null);
  }

  // --- AUTH ---

  /** Has the auth server granted anything (NSQ's HasAuthorizations)? */
  get authed(): boolean {
    return this.authState !== null && this.authState.permissionCount > 0;
  }

  /** Asks the auth server about this client's secret (nsqd's QueryAuthd); the state is kept only on success. */
  async queryAuth(): Promise<void> {
    this.authState = await this.nsqd.auth!.query({
      secret: this.authSecret,
      remoteIp: this.socket.remoteAddress ?? "",
      tls: this.tls,
      commonName: this.tlsCommonName,
    });
  }

  // --- flow control ---

  isReadyForMessages(): boolean {
    return (
      this.state === ClientState.Subscribed &&
      this.inFlightCount < this.readyCount &&
      this.w.pendingBytes === 0 &&
      !this.closed
    );
  }

  updateReady(): void {
    this.channel?.setReady(this, this.isReadyForMessages());
  }

  setReadyCount(n: number): void {
    this.readyCount = n;
    if (!this.isReadyForMessages()) this.flush();
    this.updateReady();
  }

  finished(): void {
    this.finishCount++;
    this.inFlightCount--;
    this.updateReady();
  }

  requeued(): void {
    this.requeueCount++;
    this.inFlightCount--;
    this.updateReady();
  }

  timedOut(): void {
    this.inFlightCount--;
    this.updateReady();
  }

  emptied(): void {
    this.inFlightCount = 0;
    this.updateReady();
  }

  // --- heartbeats ---

  armHeartbeat(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    const hb = this.heartbeatInterval;
    if (hb <= 0) return;
    this.heartbeatTimer = setInterval(() => {
      // Go's read deadline is 2 × heartbeat interval: a client that missed two heartbeats is gone.
      if (Date.now() - this.lastRead >= 2 * hb) {
        const reason = `read tcp ${this.socket.localAddress}:${this.socket.localPort}->${this.remoteAddress}: i/o timeout`;
        this.close();
        this.nsqd.log.error(`client(${this.remoteAddress}) - failed to read command - ${reason}`);
        return;
      }
      // nsqd's heartbeat waits for an upgrade in progress; one that comes due then is skipped here
      if (this.upgrading) return;
      this.sendResponse(FrameType.Response, HEARTBEAT);
      this.flushResponses();
    }, hb);
  }

  // --- lifecycle ---

  /** Flushes what is buffered and closes; `cleanup` runs from the socket's close event. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.w.end();
    this.cleanup();
  }

  onClose(): void {
    this.cleanup();
  }

  cleanup(): void {
    this.closed = true;
    this.w.abort();
    this.parser.stop();
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.flushTimer = this.heartbeatTimer = this.handshakeTimer = null;
    if (this.channel !== null) {
      const ch = this.channel;
      this.channel = null;
      ch.setReady(this, false);
      ch.removeClient(this);
    }
    this.nsqd.removeClient(this);
  }
}
