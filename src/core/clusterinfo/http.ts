/**
 * The client side of NSQ's HTTP APIs (NSQ internal/http_api `Client.GETV1`, go-nsq `apiRequestNegotiateV1`).
 * @module
 */

/** Options of one GET to an nsqd or nsqlookupd. */
export interface GetOptions {
  timeoutMs: number;
  /** Extra request headers, e.g. go-nsq's `Authorization: Bearer <auth_secret>` to nsqlookupd. */
  headers?: Record<string, string>;
  /** For tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/**
 * GET an NSQ V1 endpoint and parse its JSON, typed as `T` but not validated. NSQ ≥ 1.0 answers with the
 * bare value and marks it with `X-NSQ-Content-Type`; without that header a `{"status_code","status_txt","data"}`
 * wrapper (NSQ < 1.0) is unwrapped.
 * @throws Error `GET <url> got response <status> <body>`, `GET <url> - invalid JSON` or `GET <url> - <cause>`
 * @example const stats = await getV1<StatsResponse>("http://127.0.0.1:4151/stats?format=json", { timeoutMs: 5000 });
 */
export async function getV1<T = unknown>(url: string, opts: GetOptions): Promise<T> {
  let res: Response;
  let text: string;
  try {
    res = await (opts.fetch ?? fetch)(url, {
      headers: { Accept: "application/vnd.nsq; version=1.0", ...opts.headers },
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    text = await res.text();
  } catch (e) {
    throw new Error(`GET ${url} - ${(e as Error).message}`);
  }
  if (res.status !== 200) throw new Error(`GET ${url} got response ${res.status} ${text.trim()}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`GET ${url} - invalid JSON`);
  }
  if (res.headers.get("x-nsq-content-type") === null && body !== null && typeof body === "object" && "status_code" in body && "data" in body) {
    return body.data as T;
  }
  return body as T;
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
