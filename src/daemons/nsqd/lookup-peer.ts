import type { Socket, SocketHandler } from "bun";
import type { Logger } from "../../core/log.ts";
import { parseListenAddress } from "../../core/net.ts";
import { latin1 } from "../../core/protocol/bytes.ts";
import { writeCommand } from "../../core/protocol/commands.ts";
import { FrameDecoder, MAGIC_V1 } from "../../core/protocol/frame.ts";
import { Transport } from "../../core/transport.ts";

/** What nsqlookupd says about itself in its IDENTIFY response (NSQ's lookupd PeerInfo). */
export interface LookupdInfo {
  tcp_port: number;
  http_port: number;
  version: string;
  broadcast_address: string;
}

/** nsqd's lookupPeer: dial timeout, and the deadline for each answer. */
const DIAL_TIMEOUT = 1000;
const READ_TIMEOUT = 1000;
/** Reconnect delays after a lost or refused connection: doubling from the first to the last. */
const RECONNECT_MIN = 250;
const RECONNECT_MAX = 15_000;

const HANDLERS: SocketHandler<LookupPeer> = {
  data(s, chunk) {
    if (s.data.socket === s) s.data.onData(chunk);
  },
  drain(s) {
    if (s.data.socket === s) s.data.onDrain();
  },
  close(s) {
    if (s.data.socket === s) s.data.onSocketClosed("connection closed");
  },
  error(s, err) {
    if (s.data.socket === s) s.data.onSocketClosed(err.message);
  },
  connectError() {},
};

export interface LookupPeerDelegate {
  /** The IDENTIFY body this nsqd sends. */
  identify(): Record<string, unknown>;
  /** REGISTER commands (`[topic]` or `[topic, channel]`) for everything this nsqd has, at each connect. */
  registrations(): string[][];
}

/**
 * One nsqlookupd that nsqd announces itself to (NSQ's lookupPeer): connect, `  V1`, IDENTIFY, then
 * REGISTER every topic and channel; later commands are pipelined and answered in order. Unlike Go's,
 * which reconnects only on its next command (the 15 s PING), a lost connection is redialled with
 * backoff, so a restarted lookupd knows this nsqd again within a second or so.
 */
export class LookupPeer {
  socket: Socket<LookupPeer> | null = null;
  /** Known after the first successful IDENTIFY. */
  info: LookupdInfo | null = null;
  private state: "disconnected" | "connecting" | "identifying" | "connected" | "closed" = "disconnected";
  private w: Transport | null = null;
  private decoder: FrameDecoder | null = null;
  private flushQueued = false;
  /** Commands written and not yet answered, oldest first, with what to do with the answer. */
  private readonly waiting: { cmd: string; onResponse?: (data: Uint8Array) => void }[] = [];
  private readTimer: Timer | null = null;
  private reconnectTimer: Timer | null = null;
  private reconnectDelay = RECONNECT_MIN;

  constructor(
    readonly addr: string,
    private readonly maxBodySize: number,
    private readonly log: Logger,
    private readonly delegate: LookupPeerDelegate,
  ) {}

  toString(): string {
    return this.addr;
  }

  get connected(): boolean {
    return this.state === "connected";
  }

  /** Dials now if not connected (NSQ's `Command(nil)`). */
  start(): void {
    if (this.state !== "disconnected") return;
    this.state = "connecting";
    void this.dial();
  }

  /** Sends a command if connected; a peer that is not gets everything at its next connect anyway. */
  command(name: string, params: string[]): void {
    if (this.state !== "connected") return;
    this.write(name, params);
  }

  close(): void {
    this.state = "closed";
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.disconnect();
  }

  private async dial(): Promise<void> {
    this.log.info(`LOOKUP connecting to ${this.addr}`);
    const a = parseListenAddress(this.addr);
    const target = "unix" in a ? { unix: a.unix } : { hostname: a.hostname, port: a.port };
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("i/o timeout")), DIAL_TIMEOUT);
    });
    const connecting = Bun.connect<LookupPeer>({ ...target, data: this, socket: HANDLERS } as Parameters<typeof Bun.connect<LookupPeer>>[0]);
    let s: Socket<LookupPeer>;
    try {
      s = await Promise.race([connecting, timeout]);
    } catch (e) {
      // a connect that completes after the timeout must not leak its socket
      connecting.then((late) => late.end(), () => {});
      if (this.state !== "connecting") return;
      this.log.error(`LOOKUPD(${this.addr}): dial tcp ${this.addr}: ${(e as Error).message}`);
      this.state = "disconnected";
      this.scheduleReconnect();
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.state !== "connecting") {
      s.end();
      return;
    }
    this.socket = s;
    // answers are bounded by --max-body-size, as in Go's readResponseBounded
    this.decoder = new FrameDecoder((_, data) => this.onResponse(data), { typed: false, maxSize: this.maxBodySize });
    this.w = new Transport(s, { initialSize: 4096, maxPending: 1 << 20 });
    this.state = "identifying";
    this.w.out.bytes(MAGIC_V1);
    this.write("IDENTIFY", [], new TextEncoder().encode(JSON.stringify(this.delegate.identify())), (resp) => this.identified(resp));
  }

  private identified(resp: Uint8Array): void {
    const text = new TextDecoder().decode(resp);
    if (text === "E_INVALID") {
      this.log.info(`LOOKUPD(${this.addr}): lookupd returned ${text}`);
      this.disconnect();
      return;
    }
    let info: LookupdInfo;
    try {
      info = JSON.parse(text) as LookupdInfo;
      if (info === null || typeof info !== "object") throw new Error("not an object");
    } catch {
      this.log.error(`LOOKUPD(${this.addr}): parsing response - ${text}`);
      this.disconnect();
      return;
    }
    this.info = info;
    this.log.info(
      `LOOKUPD(${this.addr}): peer info {TCPPort:${info.tcp_port} HTTPPort:${info.http_port} Version:${info.version} BroadcastAddress:${info.broadcast_address}}`,
    );
    if (!info.broadcast_address) this.log.error(`LOOKUPD(${this.addr}): no broadcast address`);
    this.state = "connected";
    this.reconnectDelay = RECONNECT_MIN;
    for (const params of this.delegate.registrations()) {
      this.log.info(`LOOKUPD(${this.addr}): REGISTER ${params.join(" ")}`);
      this.write("REGISTER", params);
    }
  }

  private write(name: string, params: string[], body?: Uint8Array, onResponse?: (data: Uint8Array) => void): void {
    const w = this.w!;
    writeCommand(w.out, name, params, body);
    this.waiting.push({ cmd: params.length > 0 ? `${name} ${params.join(" ")}` : name, onResponse });
    // one write per turn, however many commands a burst of topic creations queued
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        this.w?.flush();
      });
    }
    if (this.readTimer === null) this.armReadTimer();
  }

  private armReadTimer(): void {
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      const oldest = this.waiting[0];
      if (oldest === undefined) return;
      this.log.error(`LOOKUPD(${this.addr}): ${oldest.cmd} - read tcp ${this.addr}: i/o timeout`);
      this.disconnect();
      this.scheduleReconnect();
    }, READ_TIMEOUT);
  }

  onData(chunk: Uint8Array): void {
    try {
      this.decoder?.push(chunk);
    } catch (e) {
      this.log.error(`LOOKUPD(${this.addr}): ${(e as Error).message}`);
      this.disconnect();
      this.scheduleReconnect();
    }
  }

  onDrain(): void {
    this.w?.onDrain();
  }

  private onResponse(data: Uint8Array): void {
    const t = this.waiting.shift();
    if (this.readTimer !== null) clearTimeout(this.readTimer);
    this.readTimer = null;
    if (this.waiting.length > 0) this.armReadTimer();
    if (t === undefined) return;
    // lookupd answers errors as text in the same envelope; Go logs them and carries on
    if (data.length > 2 && data[0] === 0x45 && data[1] === 0x5f) {
      this.log.error(`LOOKUPD(${this.addr}): ${t.cmd} - ${latin1(data)}`);
    }
    t.onResponse?.(data);
  }

  onSocketClosed(reason: string): void {
    if (this.state === "closed" || this.state === "disconnected") return;
    const pending = this.waiting[0];
    if (pending !== undefined) this.log.error(`LOOKUPD(${this.addr}): ${pending.cmd} - ${reason}`);
    this.disconnect();
    this.scheduleReconnect();
  }

  private disconnect(): void {
    if (this.state !== "closed") this.state = "disconnected";
    if (this.readTimer !== null) clearTimeout(this.readTimer);
    this.readTimer = null;
    this.waiting.length = 0;
    const w = this.w;
    this.w = null;
    this.socket = null;
    w?.end();
    this.decoder?.stop();
    this.decoder = null;
  }

  private scheduleReconnect(): void {
    if (this.state !== "disconnected" || this.reconnectTimer !== null) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(RECONNECT_MAX, delay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.start();
    }, delay);
  }
}
