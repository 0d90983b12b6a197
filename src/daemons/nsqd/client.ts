import type { Socket } from "bun";
import type { Connection, SocketData } from "../../core/listener.ts";
import { ascii } from "../../core/protocol/bytes.ts";
import { CommandParser, type CommandSink } from "../../core/protocol/command-parser.ts";
import type { ClientError } from "../../core/protocol/errors.ts";
import { FrameType, HEARTBEAT, writeFrame } from "../../core/protocol/frame.ts";
import { writeMessageFrame } from "../../core/protocol/message.ts";
import type { Channel } from "./channel.ts";
import type { Message } from "./message.ts";
import type { NSQD } from "./nsqd.ts";
import * as v2 from "./protocol-v2.ts";
import { ConnWriter } from "../../core/transport.ts";

export const ClientState = { Init: 0, Disconnected: 1, Connected: 2, Subscribed: 3, Closing: 4 } as const;
export type ClientState = (typeof ClientState)[keyof typeof ClientState];

/** Unsent bytes beyond which we stop reading from the peer until it reads ours. */
const MAX_PENDING = 1 << 20;
const DEFAULT_OUTPUT_BUFFER_SIZE = 16 * 1024;

/**
 * One V2 connection: its parser, its output buffer and its share of a channel. Messages are buffered
 * (NSQ's output_buffer_size / output_buffer_timeout) and flushed when the buffer fills, when the client
 * stops being ready, or on the timer; every other frame goes out at the end of the current read.
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

  private readonly w: ConnWriter;
  /** Inside onData: parsing the current read. */
  private reading = false;
  private flushQueued = false;
  /** A delivery during the current read left the client not ready: flush at the end of the read. */
  private flushWanted = false;
  private flushTimer: Timer | null = null;
  private heartbeatTimer: Timer | null = null;
  private lastRead = Date.now();
  closed = false;

  constructor(
    readonly id: number,
    readonly socket: Socket<SocketData>,
    readonly nsqd: NSQD,
  ) {
    const opts = nsqd.opts;
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort ?? 0}`;
    this.clientId = socket.remoteAddress;
    this.hostname = socket.remoteAddress;
    this.heartbeatInterval = 30_000;
    this.outputBufferTimeout = opts.outputBufferTimeout;
    this.msgTimeout = opts.msgTimeout;
    this.w = new ConnWriter(socket, {
      initialSize: DEFAULT_OUTPUT_BUFFER_SIZE + 1024,
      maxPending: MAX_PENDING,
      onBlocked: () => this.updateReady(),
      onWritable: () => this.updateReady(),
    });
    this.armHeartbeat();
  }

  // --- input ---

  onData(chunk: Uint8Array): void {
    this.lastRead = Date.now();
    this.reading = true;
    try {
      this.parser.push(chunk);
    } catch (e) {
      this.fail(e);
    }
    this.reading = false;
    // A response goes out after this read's disk-queue writes (queued as microtasks while parsing) have
    // reached the kernel: an OK means the message survives the death of this process.
    if (this.responsesPending || this.flushWanted) this.queueFlush();
  }

  private queueFlush(): void {
    this.flushWanted = false;
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flushTask);
  }

  private readonly flushTask = (): void => {
    this.flushQueued = false;
    this.responsesPending = false;
    this.flush();
  };

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
    const err = e as ClientError;
    if (typeof err.fatal !== "boolean") {
      this.nsqd.log.error(`[${this.remoteAddress}] internal error - ${(e as Error).stack ?? e}`);
      this.parser.stop();
      this.close();
      return;
    }
    this.nsqd.log.error(`[${this.remoteAddress}] - ${err.message}${err.parent ? ` - ${String(err.parent)}` : ""}`);
    this.sendResponse(FrameType.Error, ascii(err.message));
    if (err.fatal) {
      this.parser.stop();
      this.close();
    }
  }

  // --- output ---

  /** Non-message frames: written now, sent at the end of the current read (or at once outside one). */
  sendResponse(type: number, data: Uint8Array): void {
    if (this.closed) return;
    writeFrame(this.w.out, type as 0 | 1 | 2, data);
    this.responsesPending = true;
  }

  private responsesPending = false;

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
    if (this.w.out.length >= this.outputBufferSize) {
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
        this.nsqd.log.error(`[${this.remoteAddress}] - read timeout, closing`);
        this.close();
        return;
      }
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
    this.w.closed = true;
    this.parser.stop();
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.flushTimer = this.heartbeatTimer = null;
    if (this.channel !== null) {
      const ch = this.channel;
      this.channel = null;
      ch.setReady(this, false);
      ch.removeClient(this);
    }
    this.nsqd.removeClient(this);
  }
}
