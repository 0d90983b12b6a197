/**
 * One raw V2 connection for the bench tools: frames in through the shared FrameDecoder, bytes out with
 * the short-write tail kept until `drain` (Bun's `write` does not buffer). No client library in between,
 * so what a run measures is nsqd.
 * @module
 */
import type { Socket } from "bun";
import { Command } from "../../core/protocol/commands.ts";
import { FrameDecoder, FrameType, HEARTBEAT, MAGIC_V2 } from "../../core/protocol/frame.ts";
import { parseListenAddress } from "../../core/net.ts";
import { NSQ_VERSION, VERSION } from "../../core/version.ts";

/** IDENTIFY as bench_writer/bench_reader send it: client_id and hostname `writer`/`reader`, a user agent. */
export function identify(role: string, extra: Record<string, unknown> = {}): Uint8Array {
  const userAgent = `bench_${role}/${NSQ_VERSION} nsq.ts/${VERSION}`;
  return Command.identify({ client_id: role, hostname: role, user_agent: userAgent, ...extra });
}

export type FrameHandler = (type: number, data: Uint8Array) => void;

const NOP = Command.nop();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function isHeartbeat(data: Uint8Array): boolean {
  if (data.length !== HEARTBEAT.length) return false;
  for (let i = 0; i < data.length; i++) if (data[i] !== HEARTBEAT[i]) return false;
  return true;
}

export class Link {
  private socket!: Socket<Link>;
  /** What the kernel has not taken yet, oldest first. */
  private readonly pending: Uint8Array[] = [];
  private endWhenDrained = false;
  private readonly decoder: FrameDecoder;
  /** Frames that arrived during set-up before anyone asked for them (responses come in one chunk). */
  private readonly early: { type: number; data: Uint8Array }[] = [];
  private waiting: { resolve: (d: Uint8Array) => void; reject: (e: Error) => void }[] = [];
  isClosed = false;
  /** Set by the tool once set-up is over: every frame but heartbeats (answered with NOP) goes here. */
  onFrame: FrameHandler | null = null;
  /** Called when the connection breaks while the tool still needs it (not after {@link end}). */
  onError: (e: Error) => void = () => {};

  private constructor(readonly address: string) {
    this.decoder = new FrameDecoder((type, data) => this.frame(type, data));
  }

  /**
   * Dials nsqd and sends the V2 magic.
   * @throws Error `dial tcp <addr>: connect: connection refused`, as Go's panic says
   */
  static async connect(address: string): Promise<Link> {
    const link = new Link(address);
    const target = parseListenAddress(address);
    try {
      link.socket =
        "unix" in target
          ? await Bun.connect<Link>({ unix: target.unix, data: link, socket: HANDLERS })
          : await Bun.connect<Link>({ hostname: target.hostname, port: target.port, data: link, socket: HANDLERS });
    } catch (e) {
      const code = (e as { code?: string }).code;
      const reason = code === "ECONNREFUSED" ? "connection refused" : (e as Error).message;
      throw new Error(`dial tcp ${address}: connect: ${reason}`, { cause: e });
    }
    link.write(MAGIC_V2);
    return link;
  }

  /** The next response frame while no {@link onFrame} is set; an error frame rejects. */
  response(): Promise<Uint8Array> {
    const f = this.early.shift();
    if (f === undefined) return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
    return f.type === FrameType.Error ? Promise.reject(new Error(text(f.data))) : Promise.resolve(f.data);
  }

  /** Writes `b[start, end)`; what the kernel does not take now goes out on `drain`, before anything newer. */
  write(b: Uint8Array, start = 0, end = b.length): void {
    if (this.isClosed || start === end) return;
    if (this.pending.length > 0) {
      this.pending.push(b.slice(start, end));
      return;
    }
    const n = this.socket.write(b, start, end - start);
    if (n >= 0 && n < end - start) this.pending.push(b.slice(start + n, end));
  }

  /** Closes once everything written has gone out. */
  end(): void {
    if (this.isClosed) return;
    this.onError = () => {};
    this.onFrame = () => {};
    if (this.pending.length === 0) this.socket.end();
    else this.endWhenDrained = true;
  }

  private frame(type: number, data: Uint8Array): void {
    if (type === FrameType.Response && isHeartbeat(data)) {
      this.write(NOP);
      return;
    }
    if (this.onFrame !== null) {
      this.onFrame(type, data);
      return;
    }
    const w = this.waiting.shift();
    if (w === undefined) this.early.push({ type, data: data.slice() });
    else if (type === FrameType.Error) w.reject(new Error(text(data)));
    else w.resolve(data.slice());
  }

  /** @internal socket events */
  opened(s: Socket<Link>): void {
    this.socket = s;
  }

  /** @internal */
  data(chunk: Uint8Array): void {
    try {
      this.decoder.push(chunk);
    } catch (e) {
      this.broken(e as Error);
      this.socket.terminate();
    }
  }

  /** @internal */
  drain(): void {
    const pending = this.pending;
    while (pending.length > 0) {
      const p = pending[0]!;
      const n = this.socket.write(p);
      if (n < 0) return;
      if (n < p.length) {
        pending[0] = p.subarray(n);
        return;
      }
      pending.shift();
    }
    if (this.endWhenDrained) this.socket.end();
  }

  /** @internal */
  broken(e: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(e);
    if (!this.isClosed) this.onError(e);
  }

  /** @internal */
  gone(e?: Error): void {
    if (this.isClosed) return;
    this.broken(e ?? new Error(`connection to ${this.address} closed by nsqd`));
    this.isClosed = true;
  }
}

// One handler set for every connection, as Bun recommends; the Link is the socket's data.
const HANDLERS = {
  binaryType: "uint8array",
  open: (s: Socket<Link>) => s.data.opened(s),
  data: (s: Socket<Link>, chunk: Uint8Array) => s.data.data(chunk),
  drain: (s: Socket<Link>) => s.data.drain(),
  close: (s: Socket<Link>, e?: Error) => s.data.gone(e),
  error: (s: Socket<Link>, e: Error) => s.data.broken(e),
} as const;
