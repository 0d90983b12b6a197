import type { Socket, SocketHandler, TLSOptions } from "bun";
import type { Codec } from "../../src/core/codec/index.ts";
import { ascii } from "../../src/core/protocol/bytes.ts";
import { Command } from "../../src/core/protocol/commands.ts";
import { FrameDecoder, FrameType, MAGIC_V2 } from "../../src/core/protocol/frame.ts";
import { Transport } from "../../src/core/transport.ts";
import { until } from "./client.ts";
import type { Frame } from "./nsqd.ts";

const HANDLERS: SocketHandler<RawClient> = {
  data(s, chunk) {
    if (s.data.socket === s) s.data.onData(chunk);
  },
  close(s) {
    if (s.data.socket === s) s.data.onClose();
  },
  error(s) {
    if (s.data.socket === s) s.data.onClose();
  },
  handshake(s, ok, err) {
    if (s.data.socket === s) s.data.onHandshake(ok, err);
  },
  connectError() {},
};

/**
 * A wire-level V2 client that can do what IDENTIFY negotiates, step by step: the test upgrades it to TLS
 * and installs a codec itself, right where nsqd does. It reads one frame at a time, so bytes after a frame
 * wait for the test's next step (an upgrade) before they are decoded.
 */
export class RawClient {
  socket!: Socket<RawClient>;
  isClosed = false;
  private readonly t: Transport;
  private readonly decoder = new FrameDecoder((type, data) => this.onFrame(type, data));
  private frame: Frame | null = null;
  private waiter: ((f: Frame | null) => void) | null = null;
  private handshakeDone: ((err: Error | null) => void) | null = null;

  private constructor() {
    this.t = new Transport({ write: () => -1, end() {}, pause() {}, resume() {} }, { initialSize: 1024, maxPending: 1 << 24, onInput: (b) => this.decoder.push(b) });
  }

  static async connect(port: number): Promise<RawClient> {
    const c = new RawClient();
    c.socket = await Bun.connect<RawClient>({ hostname: "127.0.0.1", port, data: c, socket: HANDLERS });
    c.t.setSocket(c.socket);
    c.send(MAGIC_V2);
    return c;
  }

  onData(chunk: Uint8Array): void {
    this.t.receive(chunk);
  }

  private onFrame(type: number, data: Uint8Array): void {
    this.decoder.pause();
    this.t.pauseInput();
    this.frame = { type, data: data.slice(), text: new TextDecoder().decode(data) };
    const w = this.waiter;
    this.waiter = null;
    w?.(this.take());
  }

  private take(): Frame | null {
    const f = this.frame;
    this.frame = null;
    return f;
  }

  onClose(): void {
    this.isClosed = true;
    this.waiter?.(null);
    this.handshakeDone?.(new Error("closed"));
  }

  onHandshake(ok: boolean, err: Error | null): void {
    this.handshakeDone?.(ok ? null : (err ?? new Error("handshake failed")));
  }

  /** Written at once, through the codec when there is one. */
  send(data: Uint8Array | string): void {
    this.t.out.bytes(typeof data === "string" ? ascii(data) : data);
    this.t.flush();
  }

  /** The next frame (heartbeats included), or null once the connection closed. */
  next(timeoutMs = 3000): Promise<Frame | null> {
    if (this.frame === null) {
      this.decoder.resume();
      this.t.resumeInput();
    }
    if (this.frame !== null) return Promise.resolve(this.take());
    if (this.isClosed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no frame within ${timeoutMs}ms`)), timeoutMs);
      this.waiter = (f) => {
        clearTimeout(timer);
        resolve(f);
      };
    });
  }

  async response(): Promise<string> {
    const f = await this.next();
    if (f === null) throw new Error("connection closed");
    if (f.type !== FrameType.Response) throw new Error(`expected a response, got type ${f.type}: ${f.text}`);
    return f.text;
  }

  async error(): Promise<string> {
    const f = await this.next();
    if (f === null) throw new Error("connection closed");
    if (f.type !== FrameType.Error) throw new Error(`expected an error, got type ${f.type}: ${f.text}`);
    return f.text;
  }

  /** IDENTIFY with feature negotiation; the JSON answer. */
  async identify(data: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.send(Command.identify({ feature_negotiation: true, ...data }));
    return JSON.parse(await this.response()) as Record<string, unknown>;
  }

  /** The client side of the upgrade; rejects when the handshake fails or the connection closes. */
  startTls(tls: TLSOptions): Promise<void> {
    const [, secure] = this.socket.upgradeTLS<RawClient>({ data: this, tls: { serverName: "localhost", ...tls }, socket: HANDLERS });
    this.socket = secure;
    this.t.setSocket(secure);
    return new Promise((resolve, reject) => {
      this.handshakeDone = (err) => {
        this.handshakeDone = null;
        if (err === null) resolve();
        else reject(err);
      };
    });
  }

  setCodec(c: Codec): void {
    this.t.setCodec(c);
  }

  /** Resolves when the server has closed the connection. */
  closed(): Promise<void> {
    return until(() => this.isClosed, "nsqd to close the connection", 3000);
  }

  close(): void {
    this.socket.end();
  }
}
