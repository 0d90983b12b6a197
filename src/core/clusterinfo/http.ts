/**
 * The client side of NSQ's HTTP APIs (NSQ internal/http_api `Client.GETV1`/`POSTV1`, go-nsq
 * `apiRequestNegotiateV1`).
 * @module
 */

/** Options of one request to an nsqd or nsqlookupd. */
export interface GetOptions {
  timeoutMs: number;
  /** Extra request headers, e.g. go-nsq's `Authorization: Bearer <auth_secret>` to nsqlookupd. */
  headers?: Record<string, string>;
  /** For tests and TLS settings; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/**
 * A request to a daemon that failed: its message is `<METHOD> <url> - <reason>` or
 * `<METHOD> <url> got response <status> <body>`; `addr` and `reason` let a page name the daemon.
 */
export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  /** `host:port` of the daemon (the URL's host). */
  readonly addr: string;
  /** Which kind of daemon failed, when the caller knows it. */
  daemon?: "nsqd" | "nsqlookupd";

  constructor(
    readonly method: string,
    readonly url: string,
    /** What went wrong, short: `connection refused`, `timed out after 5s`, `invalid JSON`, `got response 404 …`. */
    readonly reason: string,
    /** The HTTP status when the daemon answered; 0 when it could not be reached. */
    readonly status = 0,
  ) {
    super(status === 0 ? `${method} ${url} - ${reason}` : `${method} ${url} ${reason}`);
    this.addr = new URL(url).host;
  }
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  ENOTFOUND: "no such host",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network is unreachable",
};

function networkReason(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; code?: string; message?: string };
  if (err.name === "TimeoutError") return `timed out after ${timeoutMs / 1000}s`;
  return NETWORK_REASONS[err.code ?? ""] ?? err.message ?? String(e);
}

/** The body of a 200 answer, and whether it carried X-NSQ-Content-Type. */
async function request(method: string, url: string, opts: GetOptions): Promise<{ text: string; v1: boolean }> {
  let res: Response;
  let text: string;
  try {
    res = await (opts.fetch ?? fetch)(url, {
      method,
      headers: { Accept: "application/vnd.nsq; version=1.0", ...opts.headers },
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    text = await res.text();
  } catch (e) {
    throw new UpstreamError(method, url, networkReason(e, opts.timeoutMs));
  }
  if (res.status !== 200) throw new UpstreamError(method, url, `got response ${res.status} ${text.trim()}`, res.status);
  return { text, v1: res.headers.get("x-nsq-content-type") !== null };
}

/**
 * GET an NSQ V1 endpoint and parse its JSON, typed as `T` but not validated. NSQ ≥ 1.0 answers with the
 * bare value and marks it with `X-NSQ-Content-Type`; without that header a `{"status_code","status_txt","data"}`
 * wrapper (NSQ < 1.0) is unwrapped.
 * @throws UpstreamError `GET <url> got response <status> <body>`, `GET <url> - invalid JSON` or `GET <url> - <cause>`
 * @example const stats = await getV1<StatsResponse>("http://127.0.0.1:4151/stats?format=json", { timeoutMs: 5000 });
 */
export async function getV1<T = unknown>(url: string, opts: GetOptions): Promise<T> {
  const { text, v1 } = await request("GET", url, opts);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UpstreamError("GET", url, "invalid JSON");
  }
  if (!v1 && body !== null && typeof body === "object" && "status_code" in body && "data" in body) {
    return body.data as T;
  }
  return body as T;
}

/**
 * POST to an NSQ V1 action endpoint (`/topic/pause`, `/channel/delete`, …) with an empty body; any answer
 * but 200 is an error.
 * @throws UpstreamError as {@link getV1}
 * @example await postV1("http://127.0.0.1:4151/topic/pause?topic=t", { timeoutMs: 5000 });
 */
export async function postV1(url: string, opts: GetOptions): Promise<void> {
  await request("POST", url, opts);
}

/**
 * An endpoint URL from an NSQ HTTP address, as go-nsq's buildLookupAddr makes one: `host:port` becomes
 * `http://host:port<path>`; a full URL keeps its scheme, host and query, and its path unless it has none.
 * `query` is appended.
 * @example
 * endpointUrl("127.0.0.1:4161", "/lookup", { topic: "t" })               // "http://127.0.0.1:4161/lookup?topic=t"
 * endpointUrl("https://l.example/custom?x=1", "/lookup", { topic: "t" }) // "https://l.example/custom?x=1&topic=t"
 */
export function endpointUrl(addr: string, path: string, query: Record<string, string> = {}): string {
  const u = new URL(addr.includes("://") ? addr : `http://${addr}`);
  if (u.pathname === "/" || u.pathname === "") u.pathname = path;
  for (const [k, v] of Object.entries(query)) u.searchParams.append(k, v);
  return u.toString();
}
