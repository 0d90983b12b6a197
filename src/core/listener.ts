import type { Socket, SocketHandler, TCPSocketListener, TLSOptions, UnixSocketListener } from "bun";
import type { Logger } from "./log.ts";
import { osReason } from "./os-error.ts";
import { Recount } from "./recount.ts";
import { formatAddress, type ListenAddress, listenError, openFileCount, openFileLimit, removeStaleSocket } from "./net.ts";
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
  /** Counted among the open descriptors until closed (a refused socket is not). */
  counted?: boolean;
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
  const socket: SocketHandler<SocketData> = {
    open(s) {
      // an upgraded connection's TLS socket opens with the connection's data already
      if (s.data !== undefined) return;
      s.data = { handlers: socket };
      if (!descriptors.admit(log, s)) {
        s.terminate();
        return;
      }
      s.data.counted = true;
      log.info(`TCP: new client(${remoteAddress(s)})`);
    },
    data(s, chunk) {
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
    close(s, err) {
      if (s.data.counted) {
        s.data.counted = false;
        descriptors.closed();
      }
      const c = s.data.conn;
      if (c !== undefined && c.socket === s) {
        c.onClose();
        // a clean EOF goes quietly; a reset is a read error, which NSQ's TCP handler logs after the IOLoop exits.
        // The closed socket no longer knows its peer; the connection remembers it.
        if (err !== undefined) {
          const who = (c as { remoteAddress?: string }).remoteAddress ?? remoteAddress(s);
          log.error(`client(${who}) - failed to read command - ${readError(err)}`);
        }
      }
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

/** `read: connection reset by peer`, the OS's words as Go's net errors end. */
function readError(err: Error & { code?: string; syscall?: string }): string {
  return `${err.syscall ?? "read"}: ${osReason(err.code) ?? err.message}`;
}

/**
 * Keeps accept() clear of EMFILE. When accept fails for want of a descriptor, Bun leaves the connection in
 * the backlog and the listening socket readable: the event loop spins at 100% CPU, and the client waits on a
 * connection nobody answers until descriptors free up. So a new connection is refused (closed at once) while
 * the open descriptors are within `reserve` of RLIMIT_NOFILE, with an ERROR at most once a second. The reserve
 * is for what opens between two counts of /proc/self/fd: disk queue files, HTTP connections, lookupd peers.
 * A count (1.4 ms at 5,000 descriptors) is a {@link Recount}, made on an accept. Process-wide, as descriptors
 * are: every listener counts its sockets here.
 */
class DescriptorGuard {
  readonly limit = openFileLimit();
  readonly reserve = Math.min(1024, Math.max(16, Math.floor(this.limit / 16)));
  /** Sockets the listeners accepted and kept, not yet closed. */
  private conns = 0;
  /**
   * Open descriptors other than those, as of the last count: taken in {@link admit}, where the new socket is
   * among the open ones already. Failing to list them is most likely EMFILE.
   */
  private readonly others = new Recount(() => {
    const open = openFileCount();
    return open < 0 ? this.limit : open - this.conns - 1;
  });
  /** Refused since the last line logged, and since refusing began. */
  private unreported = 0;
  private refused = 0;
  private loggedAt = Number.NEGATIVE_INFINITY;

  /** A socket was just accepted: true to keep it (counted until {@link closed}), false to close it at once. */
  admit(log: Logger, s: Socket<SocketData>): boolean {
    if (this.limit === Number.POSITIVE_INFINITY) return this.keep();
    const inUse = this.conns + 1 + this.others.get();
    if (inUse + this.reserve <= this.limit) {
      if (this.refused > 0) {
        log.info(`TCP: accepting new clients again - ${this.refused} refused at the file descriptor limit`);
        this.refused = this.unreported = 0;
      }
      return this.keep();
    }
    this.refused++;
    this.unreported++;
    const now = performance.now();
    if (now - this.loggedAt >= 1000) {
      const more = this.unreported > 1 ? `; ${this.unreported - 1} more refused in the last ${((now - this.loggedAt) / 1000).toFixed(1)}s` : "";
      log.error(
        `TCP: refusing client(${remoteAddress(s)}) - ${inUse} file descriptors open, ` +
          `RLIMIT_NOFILE is ${this.limit} (${this.reserve} kept for files and HTTP)${more}`,
      );
      this.loggedAt = now;
      this.unreported = 0;
    }
    return false;
  }

  closed(): void {
    this.conns--;
  }

  private keep(): true {
    this.conns++;
    return true;
  }
}

const descriptors = new DescriptorGuard();

function remoteAddress(s: Socket<SocketData>): string {
  return s.remoteAddress ? formatAddress(s.remoteAddress, s.remotePort ?? 0) : "unix";
}
