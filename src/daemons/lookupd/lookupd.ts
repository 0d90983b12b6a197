import type { Socket } from "bun";
import { respondV1 } from "../../core/http.ts";
import { type HttpServer, serveHttp } from "../../core/http-server.ts";
import { listenTcp, type SocketData, type TcpListener } from "../../core/listener.ts";
import type { Logger } from "../../core/log.ts";
import { parseListenAddress } from "../../core/net.ts";
import { ascii } from "../../core/protocol/bytes.ts";
import { encodeV1Response, MAGIC_V1 } from "../../core/protocol/frame.ts";
import { versionString } from "../../core/version.ts";
import { ClientV1 } from "./connection.ts";
import { lookupdApp } from "./http.ts";
import type { LookupdOptions } from "./options.ts";
import { RegistrationDB } from "./registration-db.ts";

const BAD_PROTOCOL = encodeV1Response(ascii("E_BAD_PROTOCOL"));

/**
 * The nsqlookupd daemon (nsqlookupd/nsqlookupd.go): the registration DB, the TCP listener nsqd registers
 * through (V1) and the HTTP API consumers and nsqadmin query.
 * @example
 * const l = new NSQLookupd({ ...lookupdDefaults(), tcpAddress: "127.0.0.1:0", httpAddress: "127.0.0.1:0" }, log);
 * await l.main();
 * fetch(`http://127.0.0.1:${l.httpPort()}/topics`);
 * await l.exit();
 */
export class NSQLookupd {
  readonly db = new RegistrationDB();
  private readonly clients = new Set<ClientV1>();
  private tcp: TcpListener | null = null;
  private http: HttpServer | null = null;
  private exited = false;

  constructor(
    readonly opts: LookupdOptions,
    readonly log: Logger,
  ) {}

  /** Listens on both addresses; throws `listen (addr) failed - reason` when one cannot be bound. */
  async main(): Promise<void> {
    this.log.info(versionString("nsqlookupd"));
    const app = lookupdApp(this);
    try {
      this.tcp = listenTcp(parseListenAddress(this.opts.tcpAddress), {
        protocols: [{ magic: MAGIC_V1, accept: (socket, rest) => this.accept(socket, rest) }],
        badProtocol: BAD_PROTOCOL,
        log: this.log,
      });
      this.http = serveHttp(parseListenAddress(this.opts.httpAddress), {
        fetch: (req, server) => app.fetch(req, { server }),
        error: (err) => {
          this.log.error(`HTTP: internal error - ${err.stack ?? err}`);
          return respondV1(500, "INTERNAL_ERROR");
        },
      });
    } catch (e) {
      this.tcp?.stop(true);
      throw e;
    }
    this.log.info(`TCP: listening on ${this.tcp.address}`);
    this.log.info(`HTTP: listening on ${this.http.address}`);
  }

  /** `host:port` actually bound (port 0 resolved), or the unix socket path. */
  tcpAddress(): string {
    return this.tcp?.address ?? "";
  }

  /** -1 on a unix socket. */
  tcpPort(): number {
    return this.tcp?.port ?? -1;
  }

  /** `host:port` actually bound (port 0 resolved), or the unix socket path. */
  httpAddress(): string {
    return this.http?.address ?? "";
  }

  /** -1 on a unix socket. */
  httpPort(): number {
    return this.http?.port ?? -1;
  }

  /** Epoch ms with sub-millisecond precision: peers' last PING, tombstones. */
  now(): number {
    return performance.timeOrigin + performance.now();
  }

  /** Stops listening and closes every connection (their peers' registrations end with them). */
  async exit(): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    if (this.tcp !== null) {
      this.tcp.stop(false);
      this.log.info(`TCP: closing ${this.tcp.address}`);
    }
    for (const c of [...this.clients]) c.close("use of closed network connection");
    this.tcp?.stop(true);
    if (this.http !== null) {
      this.http.stop(true);
      this.log.info(`HTTP: closing ${this.http.address}`);
    }
  }

  removeClient(c: ClientV1): void {
    this.clients.delete(c);
  }

  private accept(socket: Socket<SocketData>, rest: Uint8Array): ClientV1 {
    const c = new ClientV1(socket, this);
    this.clients.add(c);
    if (rest.length > 0) c.onData(rest);
    return c;
  }
}
