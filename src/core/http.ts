/**
 * NSQ's HTTP conventions, shared by the nsqd, nsqlookupd and nsqadmin APIs (NSQ internal/http_api and
 * julienschmidt/httprouter as NSQ configures it): V1 responses with `X-NSQ-Content-Type`, errors as
 * `{"message":"CODE"}`, Go's query-string rules, bounded body reads, and the router's answers for
 * paths and methods it has no handler for (redirect, OPTIONS, 405 with `Allow`, 404).
 * @module
 */
import { isValidChannelName, isValidTopicName } from "./protocol/names.ts";

/** go-nsq reads a body as unwrapped (NSQ ≥ 1.0) only when this header is present. */
export const NSQ_CONTENT_TYPE = { "X-NSQ-Content-Type": "nsq; version=1.0" } as const;

/** What Go's content sniffing answers for the text bodies NSQ writes. */
export const TEXT_PLAIN = "text/plain; charset=utf-8";
export const APPLICATION_JSON = "application/json; charset=utf-8";

const V1_TEXT = { ...NSQ_CONTENT_TYPE, "Content-Type": TEXT_PLAIN };
const V1_JSON = { ...NSQ_CONTENT_TYPE, "Content-Type": APPLICATION_JSON };

/**
 * An API error: the handler's way to answer `status {"message": text}` (NSQ's `http_api.Err`).
 * @example throw new ApiError(400, "MISSING_ARG_TOPIC");
 */
export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly status: number,
    readonly text: string,
  ) {
    super(text);
  }
}

/** A value NSQ's V1 decorator writes as JSON (anything but a string, bytes or nil). */
export class Json {
  constructor(readonly value: unknown) {}
}

/** A pre-serialised JSON body, for callers that built the text themselves. */
export class RawJson {
  constructor(readonly text: string) {}
}

export type V1Data = string | Uint8Array | null | Json | RawJson;

/**
 * NSQ's RespondV1: a string or bytes go out as they are (Go sniffs `text/plain`), nil as an empty body
 * without a Content-Type, anything else as JSON; errors as `{"message":…}`. Always with X-NSQ-Content-Type.
 */
export function respondV1(status: number, data: V1Data): Response {
  if (status !== 200) return new Response(JSON.stringify({ message: String(data) }), { status, headers: V1_JSON });
  if (data === null || data === "" || (data instanceof Uint8Array && data.length === 0)) {
    return new Response(null, { status, headers: NSQ_CONTENT_TYPE });
  }
  if (typeof data === "string" || data instanceof Uint8Array) return new Response(data, { status, headers: V1_TEXT });
  const text = data instanceof RawJson ? data.text : JSON.stringify(data.value);
  return new Response(text, { status, headers: V1_JSON });
}

export function v1Error(e: ApiError): Response {
  return respondV1(e.status, e.text);
}

/** NSQ's PlainText decorator (`/ping`): the text or the error text, no X-NSQ-Content-Type. */
export function plainText(status: number, text: string): Response {
  return new Response(text, { status, headers: { "Content-Type": TEXT_PLAIN } });
}

/** Decoded query parameters in order of appearance, as Go's `url.Values`. */
export type Query = Map<string, string[]>;

const HEX = /^[0-9a-fA-F]{2}$/;

/**
 * Go's `url.ParseQuery`: `&`-separated, `+` is a space, `%XX` escapes; a `;` in a pair or a bad escape
 * makes the whole query invalid (null), as nsqd then answers INVALID_REQUEST. Values decode as UTF-8
 * where they are valid UTF-8 and byte for byte (latin1) where not, so no input can throw.
 */
export function parseQuery(raw: string): Query | null {
  const out: Query = new Map();
  if (raw === "") return out;
  let ok = true;
  for (const pair of raw.split("&")) {
    if (pair === "") continue;
    if (pair.includes(";")) {
      ok = false;
      continue;
    }
    const eq = pair.indexOf("=");
    const k = unescape(eq < 0 ? pair : pair.slice(0, eq));
    const v = eq < 0 ? "" : unescape(pair.slice(eq + 1));
    if (k === null || v === null) {
      ok = false;
      continue;
    }
    const list = out.get(k);
    if (list === undefined) out.set(k, [v]);
    else list.push(v);
  }
  return ok ? out : null;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function unescape(s: string): string | null {
  if (!s.includes("%")) return s.includes("+") ? s.replaceAll("+", " ") : s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 37) {
      const hex = s.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return null;
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else if (ch === 43) {
      bytes.push(32);
    } else if (ch < 0x80) {
      bytes.push(ch);
    } else {
      for (const b of new TextEncoder().encode(s[i]!)) bytes.push(b);
    }
  }
  const b = Uint8Array.from(bytes);
  try {
    return utf8.decode(b);
  } catch {
    return String.fromCharCode(...b);
  }
}

/** `url.Values.Get` with the "key present?" distinction NSQ's handlers make. */
export function queryGet(q: Query, key: string): string | undefined {
  return q.get(key)?.[0];
}

/**
 * http_api.NewReqParams: the request's query parameters; an unparsable query string is 400 INVALID_REQUEST.
 * @throws ApiError
 */
export function reqParams(req: Request): Query {
  const q = parseQuery(rawQuery(req.url));
  if (q === null) throw new ApiError(400, "INVALID_REQUEST");
  return q;
}

/**
 * http_api.GetTopicChannelArgs: `topic` and `channel`, both present and valid names, checked in NSQ's order.
 * @throws ApiError 400 MISSING_ARG_TOPIC, INVALID_ARG_TOPIC, MISSING_ARG_CHANNEL or INVALID_ARG_CHANNEL
 */
export function topicChannelArgs(q: Query): { topic: string; channel: string } {
  const topic = queryGet(q, "topic");
  if (topic === undefined) throw new ApiError(400, "MISSING_ARG_TOPIC");
  if (!isValidTopicName(topic)) throw new ApiError(400, "INVALID_ARG_TOPIC");
  const channel = queryGet(q, "channel");
  if (channel === undefined) throw new ApiError(400, "MISSING_ARG_CHANNEL");
  if (!isValidChannelName(channel)) throw new ApiError(400, "INVALID_ARG_CHANNEL");
  return { topic, channel };
}

/** The raw query string of a request URL (without `?`). */
export function rawQuery(url: string): string {
  const i = url.indexOf("?");
  return i < 0 ? "" : url.slice(i + 1);
}

/** nsqd's boolean query values: `true`/`1`, `false`/`0`; anything else (or absent) is the default. */
export function boolParam(v: string | undefined, dflt: boolean): boolean {
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  return dflt;
}

/**
 * Reads at most `limit + 1` bytes of a request body. A result longer than `limit` means the body was
 * over it; the rest is not read (Bun discards it without buffering). Go's `io.LimitReader(body, limit+1)`.
 */
export async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  const len = req.headers.get("content-length");
  if (len !== null && Number(len) <= limit) return new Uint8Array(await req.arrayBuffer());
  const body = req.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
    if (total > limit) {
      reader.cancel().catch(() => {});
      break;
    }
  }
  const n = Math.min(total, limit + 1);
  if (chunks.length === 1 && chunks[0]!.length === n) return chunks[0]!;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    const take = Math.min(c.length, n - at);
    out.set(take === c.length ? c : c.subarray(0, take), at);
    at += take;
    if (at === n) break;
  }
  return out;
}

/** The Content-Length of a request, or -1 when it has none (chunked), as Go's `req.ContentLength`. */
export function contentLength(req: Request): number {
  const v = req.headers.get("content-length");
  return v === null ? -1 : Number(v);
}

/** One route of a router table: method and httprouter-style path (`:name` is one non-empty segment). */
export interface RouteSpec {
  method: string;
  path: string;
}

/**
 * httprouter's answers for requests no handler took, given every registered route:
 * a trailing-slash or case/cleaned-path redirect within the method (301 for GET, 307 otherwise),
 * OPTIONS → 200 with `Allow`, another method's path → 405 with `Allow`, else 404.
 * The 404/405 bodies are the caller's (NSQ logs them and answers V1 errors).
 */
export class RouteTable {
  private readonly routes: { method: string; segs: string[] }[];

  constructor(routes: Iterable<RouteSpec>) {
    this.routes = [...routes].map((r) => ({ method: r.method, segs: r.path.split("/") }));
  }

  /** Methods with a handler for exactly `path`, sorted, with OPTIONS added; "" when none. */
  allowed(path: string, except: string): string {
    const methods = new Set<string>();
    for (const r of this.routes) {
      if (r.method === except || r.method === "OPTIONS") continue;
      if (match(r.segs, path.split("/"), false) !== null) methods.add(r.method);
    }
    if (methods.size === 0) return "";
    methods.add("OPTIONS");
    return [...methods].sort().join(", ");
  }

  /** The path a redirect should go to, or null (httprouter RedirectTrailingSlash + RedirectFixedPath). */
  redirect(method: string, path: string): string | null {
    if (method === "CONNECT" || path === "/") return null;
    const mine = this.routes.filter((r) => r.method === method);
    if (mine.length === 0) return null;
    const alt = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : `${path}/`;
    if (mine.some((r) => match(r.segs, alt.split("/"), false) !== null)) return alt;
    const clean = cleanPath(path);
    for (const candidate of [clean, clean.length > 1 && clean.endsWith("/") ? clean.slice(0, -1) : `${clean}/`]) {
      for (const r of mine) {
        const fixed = match(r.segs, candidate.split("/"), true);
        if (fixed !== null) return fixed;
      }
    }
    return null;
  }

  /** The response for a request no route handled; `error` builds the 404/405 body. */
  fallback(req: Request, error: (status: 404 | 405) => Response): Response {
    const url = new URL(req.url);
    const path = url.pathname;
    const target = this.redirect(req.method, path);
    if (target !== null) {
      const code = req.method === "GET" ? 301 : 307;
      const location = target + url.search;
      const headers: Record<string, string> = { Location: location };
      if (req.method === "GET" || req.method === "HEAD") headers["Content-Type"] = "text/html; charset=utf-8";
      const body = req.method === "GET" ? `<a href="${htmlEscape(location)}">${code === 301 ? "Moved Permanently" : "Temporary Redirect"}</a>.\n\n` : null;
      return new Response(body, { status: code, headers });
    }
    if (req.method === "OPTIONS") {
      const allow = this.allowed(path, "OPTIONS");
      if (allow !== "") return new Response(null, { status: 200, headers: { Allow: allow } });
    } else {
      const allow = this.allowed(path, req.method);
      if (allow !== "") {
        const res = error(405);
        res.headers.set("Allow", allow);
        return res;
      }
    }
    return error(404);
  }
}

/** Matches path segments against a pattern; returns the matched path (with the pattern's static case). */
function match(pattern: string[], segs: string[], caseInsensitive: boolean): string | null {
  if (pattern.length !== segs.length) return null;
  const out: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segs[i]!;
    if (p.startsWith(":")) {
      if (s === "") return null;
      out.push(s);
    } else if (p === s || (caseInsensitive && p.toLowerCase() === s.toLowerCase())) {
      out.push(p);
    } else {
      return null;
    }
  }
  return out.join("/");
}

/** httprouter.CleanPath: one leading slash, no `//`, `.` or `..` elements; a trailing slash is kept. */
export function cleanPath(p: string): string {
  if (p === "") return "/";
  const trailing = p.length > 1 && p.endsWith("/");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  const s = `/${out.join("/")}`;
  return trailing && s !== "/" ? `${s}/` : s;
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" };

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}
