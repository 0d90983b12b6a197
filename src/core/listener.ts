import type { Socket, SocketHandler, TCPSocketListener, TLSOptions, UnixSocketListener } from "bun";
import { BusyPoll } from "./busy-poll.ts";
import type { Logger } from "./log.ts";
import { formatAddress, type ListenAddress, listenError, removeStaleSocket } from "./net.ts";
import { latin1 } from "./protocol/bytes.ts";

/** A protocol's side of an accepted connection, once its magic has been read. */
export interface Connection {
  /** The socket this connection reads and writes now; events of any other socket are ignored. */
  readonly socket: Socket<SocketData>;
  onData(chunk: Uint8Array): void;
  onDrain(): void;
  /** The socket closed (by either side). */
  onClose(): void;
  /** The TLS handshake after {@link upgradeTls} ended; `err` says why it failed or what it doubts. */
  onHandshake?(ok: boolean, err: Error | null): void;
}

export interface SocketData {
  conn?: Connection;
  magic?: Uint8Array;
  /** The listener's handlers, which serve the connection's TLS socket too. */
  handlers: SocketHandler<SocketData>;
}

/** TLS settings of a server-side upgrade; `minVersion` takes Go's tls.VersionTLS1x numbers (0x0301…). */
export type ServerTlsOptions = TLSOptions & { minVersion?: number };

/**
 * Upgrades an accepted connection to TLS in the middle of its stream (NSQ's IDENTIFY `tls_v1`). The
 * returned socket is the connection's from now on: events of the plain one, which go on seeing the
 * ciphertext, are ignored once `conn.socket` is the new one; the handshake's end reaches `onHandshake`.
 * Write nothing to the new socket before the handshake: Bun drops it.
 */
export function upgradeTls(socket: Socket<SocketData>, tls: ServerTlsOptions): Socket<SocketData> {
  const [, secure] = socket.upgradeTLS<SocketData>({ data: socket.data, tls, socket: socket.data.handlers });
  return secure;
}

/** A protocol the listener serves: connections that open with `magic` are handed to `accept`. */
export interface Protocol {
  magic: Uint8Array;
  /** `rest` is what followed the magic in the same read (possibly empty). */
  accept(socket: Socket<SocketData>, rest: Uint8Array): Connection;
}

export interface ListenOptions {
  protocols: Protocol[];
  /** Written before closing a connection whose magic no protocol has (each daemon frames it its own way). */
  badProtocol: Uint8Array;
  log: Logger;
  /** Poll for this many ms after socket activity instead of sleeping ({@link BusyPoll}); 0 for none. */
  busyPollMs?: number;
}

export interface TcpListener {
  /** `host:port` actually bound (port 0 resolved), or the unix socket path. */
  readonly address: string;
  /** The bound port; -1 on a unix socket. */
  readonly port: number;
  /** Stops accepting; `closeActive` also closes open connections. */
  stop(closeActive?: boolean): void;
}

const MAGIC_LENGTH = 4;

/**
 * NSQ's TCP server (internal/protocol/tcp_server.go and each daemon's tcp.go): accept, read the 4-byte
 * protocol magic, hand the connection to the protocol that owns it. nsqd serves `  V2`, nsqlookupd `  V1`.
 * @throws Error `listen (addr) failed - reason` when the address cannot be bound.
 * @example
 * const l = listenTcp(parseListenAddress("127.0.0.1:0"), { protocols: [{ magic: MAGIC_V1, accept }], badProtocol, log });
 */
export function listenTcp(addr: ListenAddress, o: ListenOptions): TcpListener {
  const log = o.log;
  const poll = o.busyPollMs ? new BusyPoll(o.busyPollMs) : null;
  const socket: SocketHandler<SocketData> = {
    open(s) {
      // an upgraded connection's TLS socket opens with the connection's data already
      if (s.data !== undefined) return;
      s.data = { handlers: socket };
      log.info(`TCP: new client(${remoteAddress(s)})`);
    },
    data(s, chunk) {
      poll?.touch();
      const d = s.data;
      const c = d.conn;
      if (c !== undefined) {
        if (c.socket === s) c.onData(chunk);
        return;
      }
      let buf: Uint8Array = chunk;
      if (d.magic !== undefined) {
        buf = new Uint8Array(d.magic.length + chunk.length);
        buf.set(d.magic);
        buf.set(chunk, d.magic.length);
      }
      if (buf.length < MAGIC_LENGTH) {
        d.magic = buf;
        return;
      }
      d.magic = undefined;
      const magic = buf.subarray(0, MAGIC_LENGTH);
      log.info(`CLIENT(${remoteAddress(s)}): desired protocol magic '${latin1(magic)}'`);
      const p = o.protocols.find((x) => x.magic.every((b, i) => magic[i] === b));
      if (p === undefined) {
        log.error(`client(${remoteAddress(s)}) bad protocol magic '${latin1(magic)}'`);
        s.end(o.badProtocol);
        return;
      }
      d.conn = p.accept(s, buf.subarray(MAGIC_LENGTH));
    },
    drain(s) {
      const c = s.data.conn;
      if (c !== undefined && c.socket === s) c.onDrain();
    },
    close(s) {
      const c = s.data.conn;
      if (c !== undefined && c.socket === s) c.onClose();
    },
    handshake(s, ok, err) {
      const c = s.data.conn;
      if (c !== undefined && c.socket === s) c.onHandshake?.(ok, err);
    },
    error(s, err) {
      log.error(`client(${remoteAddress(s)}) socket error - ${err.message}`);
    },
  };
  const where = "unix" in addr ? addr.unix : formatAddress(addr.hostname || "0.0.0.0", addr.port);
  let l: TCPSocketListener<SocketData> | UnixSocketListener<SocketData>;
  try {
    if ("unix" in addr) {
      removeStaleSocket(addr.unix);
      l = Bun.listen<SocketData>({ unix: addr.unix, socket });
    } else {
      l = Bun.listen<SocketData>({ hostname: addr.hostname || "0.0.0.0", port: addr.port, exclusive: true, socket });
    }
  } catch (e) {
    throw listenError(where, e, "unix" in addr ? "unix" : "tcp");
  }
  const tcp = "unix" in addr ? null : (l as TCPSocketListener<SocketData>);
  return {
    address: tcp === null ? where : formatAddress(tcp.hostname, tcp.port),
    port: tcp === null ? -1 : tcp.port,
    stop: (closeActive = false) => l.stop(closeActive),
  };
}

function remoteAddress(s: Socket<SocketData>): string {
  return s.remoteAddress ? formatAddress(s.remoteAddress, s.remotePort ?? 0) : "unix";
}
