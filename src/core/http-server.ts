import type { Server, TLSOptions } from "bun";
import { formatAddress, type ListenAddress, listenError, removeStaleSocket } from "./net.ts";

/** An HTTP listener of one of NSQ's daemons. */
export interface HttpServer {
  readonly server: Server<undefined>;
  /** `host:port` actually bound (port 0 resolved), or the unix socket path. */
  readonly address: string;
  /** The bound port; -1 on a unix socket. */
  readonly port: number;
  /** Stops accepting; `force` also closes open connections. */
  stop(force?: boolean): void;
}

export interface HttpServerOptions {
  fetch: (req: Request, server: Server<undefined>) => Response | Promise<Response>;
  /** The answer to an exception that escaped `fetch`. */
  error: (err: Error) => Response;
  /**
   * Bun's own limit, past which it answers a bare 413 before `fetch` runs (default 128 MB). A limit no
   * client can reach (`Number.MAX_SAFE_INTEGER`) hands every body to `fetch`, which must then bound what it
   * reads (http.ts `readBody`): a body nobody reads is discarded as it arrives, never buffered.
   */
  maxRequestBodySize?: number;
  /** Serve HTTPS with these. */
  tls?: TLSOptions;
}

/**
 * Serves HTTP on `host:port` or a unix socket path, as Go's `net.Listen` would: a port already in use is
 * an error (Bun.serve would share it through SO_REUSEPORT and split requests between two daemons).
 * @throws Error `listen (addr) failed - reason`.
 * @example const s = serveHttp(parseListenAddress("127.0.0.1:0"), { fetch: app.fetch, error: () => new Response(null, { status: 500 }) });
 */
export function serveHttp(addr: ListenAddress, o: HttpServerOptions): HttpServer {
  const common = { development: false, fetch: o.fetch, error: o.error, maxRequestBodySize: o.maxRequestBodySize, tls: o.tls };
  const where = "unix" in addr ? addr.unix : formatAddress(addr.hostname || "0.0.0.0", addr.port);
  let server: Server<undefined>;
  try {
    if ("unix" in addr) {
      removeStaleSocket(addr.unix);
      server = Bun.serve({ ...common, unix: addr.unix });
    } else {
      // idleTimeout: seconds without traffic before Bun closes a connection (NSQ sets no request deadlines)
      server = Bun.serve({ ...common, hostname: addr.hostname || "0.0.0.0", port: addr.port, reusePort: false, idleTimeout: 120 });
    }
  } catch (e) {
    throw listenError(where, e, "unix" in addr ? "unix" : "tcp");
  }
  return {
    server,
    address: "unix" in addr ? addr.unix : formatAddress(server.hostname ?? "", server.port ?? 0),
    port: "unix" in addr ? -1 : (server.port ?? -1),
    stop: (force = false) => void server.stop(force),
  };
}
