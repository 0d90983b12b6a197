import type { Socket } from "bun";
import type { Connection, SocketData } from "../../core/listener.ts";
import { formatAddress } from "../../core/net.ts";
import { ascii } from "../../core/protocol/bytes.ts";
import { CommandParser, type CommandSink, NO_BODY } from "../../core/protocol/command-parser.ts";
import { ClientError } from "../../core/protocol/errors.ts";
import { Transport } from "../../core/transport.ts";
import type { NSQLookupd } from "./lookupd.ts";
import * as v1 from "./protocol-v1.ts";
import type { PeerInfo } from "./registration-db.ts";

/** Unsent bytes beyond which we stop reading from a peer until it reads our responses. */
const MAX_PENDING = 64 * 1024;

/**
 * One V1 connection (nsqlookupd's ClientV1 and its IOLoop): the responses to one read go out in one
 * write at its end. Closing, by either side, ends the peer's registrations ({@link v1.exitIOLoop}).
 */
export class ClientV1 implements CommandSink, Connection {
  /** Set by IDENTIFY. */
  peerInfo: PeerInfo | null = null;
  /** `ip:port` of the peer: its identity in the registration DB. */
  readonly remoteAddress: string;
  private readonly parser = new CommandParser(this);
  private readonly w: Transport;
  private closed = false;

  constructor(
    readonly socket: Socket<SocketData>,
    readonly lookupd: NSQLookupd,
  ) {
    this.remoteAddress = formatAddress(socket.remoteAddress, socket.remotePort ?? 0);
    this.w = new Transport(socket, { initialSize: 512, maxPending: MAX_PENDING, onInput: (b) => this.parser.push(b) });
  }

  onData(chunk: Uint8Array): void {
    try {
      this.w.receive(chunk);
    } catch (e) {
      this.fail(e);
    }
    this.w.flush();
  }

  line(args: Uint8Array[]): number {
    try {
      return v1.line(this, args);
    } catch (e) {
      this.fail(e);
      return NO_BODY;
    }
  }

  badBodySize(_args: Uint8Array[], size: number): void {
    this.fail(v1.badBodySize(size));
  }

  /** Only IDENTIFY has a body. */
  body(_args: Uint8Array[], body: Uint8Array): void {
    try {
      this.send(v1.IDENTIFY(this, body));
    } catch (e) {
      this.fail(e);
    }
  }

  /** A V1 response, `[4-byte size][data]`, sent at the end of the current read. */
  send(data: Uint8Array): void {
    this.w.out.u32(data.length);
    this.w.out.bytes(data);
  }

  private fail(e: unknown): void {
    if (!(e instanceof ClientError)) {
      this.lookupd.log.error(`[${this.remoteAddress}] internal error - ${(e as Error).stack ?? e}`);
      this.close(String(e));
      return;
    }
    this.lookupd.log.error(`[${this.remoteAddress}] - ${e.message}`);
    this.send(ascii(e.message));
    if (e.fatal) this.close(e.message);
  }

  onDrain(): void {
    this.w.onDrain();
  }

  /** Sends what is buffered, then closes; `reason` is logged as the connection's error. */
  close(reason: string): void {
    if (this.closed) return;
    this.w.end();
    this.exit(reason);
  }

  onClose(): void {
    if (this.closed) return;
    this.w.closed = true;
    this.exit("EOF");
  }

  private exit(reason: string): void {
    this.closed = true;
    this.parser.stop();
    v1.exitIOLoop(this);
    this.lookupd.log.error(`client(${this.remoteAddress}) - ${reason}`);
    this.lookupd.removeClient(this);
  }
}
