import { afterEach } from "bun:test";
import type { Socket } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DiskQueueFs } from "../../src/core/diskqueue/index.ts";
import { createLogger } from "../../src/core/log.ts";
import { Command } from "../../src/core/protocol/commands.ts";
import { ascii } from "../../src/core/protocol/bytes.ts";
import { FrameDecoder, FrameType, MAGIC_V2 } from "../../src/core/protocol/frame.ts";
import { decodeMessage, type MessageFields } from "../../src/core/protocol/message.ts";
import { NSQD } from "../../src/daemons/nsqd/nsqd.ts";
import { type NsqdOptions, nsqdDefaults } from "../../src/daemons/nsqd/options.ts";

export const tmpDir = () => mkdtempSync(join(tmpdir(), "nsq-test-"));

export interface TestNsqd {
  nsqd: NSQD;
  port: number;
  /** The HTTP port (0 when `httpAddress: ""`). */
  httpPort: number;
  /** A request to the HTTP API: `d.http("/stats?format=json")`. */
  http(path: string, init?: RequestInit): Promise<Response>;
  dataPath: string;
  logs: string[];
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

/** An in-process nsqd on 127.0.0.1:0 with its own data directory (nsq's mustStartNSQD). */
export async function startNsqd(over: Partial<NsqdOptions> = {}, diskFs?: DiskQueueFs): Promise<TestNsqd> {
  const dataPath = over.dataPath ?? tmpDir();
  const opts = { ...nsqdDefaults(), tcpAddress: "127.0.0.1:0", httpAddress: "127.0.0.1:0", httpsAddress: "127.0.0.1:0", ...over, dataPath };
  const logs: string[] = [];
  const nsqd = new NSQD(opts, createLogger({ level: "debug", prefix: "[nsqd] ", write: (l) => logs.push(l) }), diskFs);
  try {
    await nsqd.main();
  } catch (e) {
    // a start that fails leaves no one to stop it: the directory made for it goes now
    if (over.dataPath === undefined) rmSync(dataPath, { recursive: true, force: true });
    throw e;
  }
  return {
    nsqd,
    port: nsqd.tcpPort(),
    httpPort: nsqd.httpPort(),
    http: (path, init) => fetch(`http://127.0.0.1:${nsqd.httpPort()}${path}`, init),
    dataPath,
    logs,
    async stop({ keepData = false } = {}) {
      await nsqd.exit();
      if (!keepData) rmSync(dataPath, { recursive: true, force: true });
    },
  };
}

export interface Frame {
  type: number;
  data: Uint8Array;
  text: string;
}

/**
 * A raw connection for wire-level tests: send bytes, await frames in order. V2 by default; with
 * `{ v1: true }` it reads lookupd's V1 responses (`[size][data]`, every one a type 0 frame here).
 */
export class Wire {
  private frames: Frame[] = [];
  private waiters: ((f: Frame | null) => void)[] = [];
  private readonly decoder: FrameDecoder;
  isClosed = false;
  private closeWaiters: (() => void)[] = [];
  private socket!: Socket<undefined>;

  private constructor(typed: boolean) {
    this.decoder = new FrameDecoder(
      (type, data) => {
        const f = { type, data: data.slice(), text: new TextDecoder().decode(data) };
        const w = this.waiters.shift();
        if (w) w(f);
        else this.frames.push(f);
      },
      { typed },
    );
  }

  static async connect(port: number, magic: Uint8Array | null = MAGIC_V2, o: { v1?: boolean } = {}): Promise<Wire> {
    const w = new Wire(!o.v1);
    w.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, chunk) => void w.decoder.push(chunk),
        close: () => w.onClose(),
        error: () => w.onClose(),
        connectError: () => w.onClose(),
      },
    });
    if (magic) w.send(magic);
    return w;
  }

  private onClose(): void {
    this.isClosed = true;
    for (const w of this.waiters.splice(0)) w(null);
    for (const c of this.closeWaiters.splice(0)) c();
  }

  send(data: Uint8Array | string): void {
    this.socket.write(typeof data === "string" ? ascii(data) : data);
  }

  /** The next frame, or null if the connection closed first. */
  next(timeoutMs = 3000): Promise<Frame | null> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.isClosed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(cb), 1);
        reject(new Error(`no frame within ${timeoutMs}ms`));
      }, timeoutMs);
      const cb = (fr: Frame | null) => {
        clearTimeout(t);
        resolve(fr);
      };
      this.waiters.push(cb);
    });
  }

  /** The next frame that is not a heartbeat. */
  async nextNonHeartbeat(timeoutMs = 3000): Promise<Frame | null> {
    for (;;) {
      const f = await this.next(timeoutMs);
      if (f === null || f.text !== "_heartbeat_" || f.type !== FrameType.Response) return f;
    }
  }

  async response(timeoutMs?: number): Promise<string> {
    const f = await this.nextNonHeartbeat(timeoutMs);
    if (f === null) throw new Error("connection closed");
    if (f.type !== FrameType.Response) throw new Error(`expected response, got type ${f.type}: ${f.text}`);
    return f.text;
  }

  async error(timeoutMs?: number): Promise<string> {
    const f = await this.nextNonHeartbeat(timeoutMs);
    if (f === null) throw new Error("connection closed");
    if (f.type !== FrameType.Error) throw new Error(`expected error, got type ${f.type}: ${f.text}`);
    return f.text;
  }

  async message(timeoutMs?: number): Promise<MessageFields & { text: string }> {
    const f = await this.nextNonHeartbeat(timeoutMs);
    if (f === null) throw new Error("connection closed");
    if (f.type !== FrameType.Message) throw new Error(`expected message, got type ${f.type}: ${f.text}`);
    const m = decodeMessage(f.data);
    return { ...m, text: new TextDecoder().decode(m.body) };
  }

  /** Resolves when the server has closed the connection. */
  closed(timeoutMs = 3000): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`still open after ${timeoutMs}ms`)), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Nothing arrives (other than heartbeats) for `ms`. */
  async quiet(ms: number): Promise<boolean> {
    try {
      const f = await this.nextNonHeartbeat(ms);
      if (f !== null) this.frames.unshift(f);
      return f === null;
    } catch {
      return true;
    }
  }

  close(): void {
    this.socket.end();
  }

  // conveniences
  async identify(data: Record<string, unknown> = {}): Promise<string> {
    this.send(Command.identify(data));
    return this.response();
  }

  async sub(topic: string, channel: string): Promise<string> {
    this.send(Command.sub(topic, channel));
    return this.response();
  }

  async pub(topic: string, body: string | Uint8Array): Promise<string> {
    this.send(Command.pub(topic, body));
    return this.response();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const addrOf = (d: TestNsqd) => `127.0.0.1:${d.port}`;

/**
 * A test file's scope: `defer` registers clean-up that runs after each test, newest first; `nsqd` starts an
 * nsqd that is stopped then, and `track` closes a connection then.
 */
export function testScope() {
  let cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });
  const defer = (fn: () => unknown) => void cleanup.push(fn);
  const nsqd = async (over: Partial<NsqdOptions> = {}): Promise<TestNsqd> => {
    const d = await startNsqd(over);
    defer(() => d.stop());
    return d;
  };
  const track = (w: Wire): Wire => {
    defer(() => {
      if (!w.isClosed) w.close();
    });
    return w;
  };
  return { defer, nsqd, track };
}
