/**
 * NSQ's HTTP client for tools (internal/http_api `NewDeadlineTransport`): `--http-client-connect-timeout`
 * bounds the dial and `--http-client-request-timeout` the whole request. fetch has no dial timeout of its own,
 * so the first request to a host (and the first after a failure) dials it first, within the connect timeout;
 * later requests reuse fetch's kept-alive connections.
 * @module
 */
import { dialError } from "../core/client/index.ts";

/** fetch errors that mean the host could not be reached (a new connection failed), worded as Go's dial errors. */
const DIAL_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_NONAME", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"]);

/** Go's text for a request that outlived http.Client.Timeout. */
const REQUEST_TIMEOUT = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)";

export class HttpClient {
  /** host:port that accepted a connection and has not failed since. */
  private readonly reachable = new Set<string>();
  private readonly dialing = new Map<string, Promise<void>>();

  constructor(
    private readonly connectTimeoutMs: number,
    private readonly requestTimeoutMs: number,
  ) {}

  /**
   * fetch with the two deadlines. Rejects with an Error whose message is the reason alone (`dial tcp
   * 127.0.0.1:80: connect: connection refused`); callers add the method and URL.
   */
  readonly fetch: typeof fetch = Object.assign(async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    const hostPort = `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
    if (!this.reachable.has(hostPort)) await this.dial(url.hostname.replace(/^\[|\]$/g, ""), hostPort);
    try {
      const signal = AbortSignal.timeout(this.requestTimeoutMs);
      return await fetch(input, { ...init, signal: init.signal ? AbortSignal.any([init.signal, signal]) : signal });
    } catch (e) {
      this.reachable.delete(hostPort);
      const err = e as Error & { code?: string };
      if (err.name === "TimeoutError") throw new Error(REQUEST_TIMEOUT, { cause: e });
      throw new Error(err.code !== undefined && DIAL_CODES.has(err.code) ? dialError(hostPort, err) : err.message, { cause: e });
    }
  }, { preconnect: fetch.preconnect });

  private dial(hostname: string, hostPort: string): Promise<void> {
    let pending = this.dialing.get(hostPort);
    if (pending === undefined) {
      pending = this.connect(hostname, Number(hostPort.slice(hostPort.lastIndexOf(":") + 1)), hostPort).finally(() =>
        this.dialing.delete(hostPort),
      );
      this.dialing.set(hostPort, pending);
    }
    return pending;
  }

  private async connect(hostname: string, port: number, hostPort: string): Promise<void> {
    let timer: Timer | undefined;
    const connecting = Bun.connect({ hostname, port, socket: { data() {} } });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(dialError(hostPort, "timeout"))), this.connectTimeoutMs);
    });
    try {
      const socket = await Promise.race([connecting, timeout]);
      socket.end();
      this.reachable.add(hostPort);
    } catch (e) {
      connecting.then((s) => s.terminate(), () => {});
      throw e instanceof Error && e.message.startsWith("dial ") ? e : new Error(dialError(hostPort, e), { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }
}
