/**
 * nsqd's side of NSQ's auth protocol (internal/auth/authorizations.go): query an auth server with a
 * client's secret, validate its answer, and decide what the client may publish and subscribe to.
 * @module
 */
import { z } from "zod/mini";
import type { Logger } from "../../core/log.ts";

/** Who is asking, as nsqd tells the auth server. */
export interface AuthQuery {
  secret: string;
  /** The client's IP ("" on a unix socket). */
  remoteIp: string;
  tls: boolean;
  /** The CN of the client's TLS certificate, "" without one. */
  commonName: string;
}

export interface AuthServerOptions {
  /** `host:port` (→ `http://host:port/auth`) or full URLs; one picked at random, the others tried on failure. */
  addresses: string[];
  method: "get" | "post";
  /** Bound of one request, connect included (nsqd's --http-client-request-timeout). */
  timeoutMs: number;
  /** PEM of the CA an `https` auth server is verified against (--tls-root-ca-file); the system's when unset. */
  ca?: string;
  log: Logger;
}

interface Authorization {
  topic: RegExp;
  channels: RegExp[];
  publish: boolean;
  subscribe: boolean;
}

/** A client's authorizations, valid until `expires`. */
export class AuthState {
  constructor(
    readonly identity: string,
    readonly identityUrl: string,
    private readonly authorizations: Authorization[],
    /** Epoch ms. */
    readonly expires: number,
  ) {}

  get permissionCount(): number {
    return this.authorizations.length;
  }

  isExpired(now = Date.now()): boolean {
    return this.expires < now;
  }

  /**
   * SUB needs `subscribe` and a channel pattern matching the channel; PUB, MPUB and DPUB (channel "") need
   * `publish` and, as in NSQ, a channel pattern that matches "" too (`.*`). Patterns are unanchored.
   */
  isAllowed(topic: string, channel: string): boolean {
    return this.authorizations.some(
      (a) => (channel === "" ? a.publish : a.subscribe) && a.topic.test(topic) && a.channels.some((c) => c.test(channel)),
    );
  }
}

// Go decodes into a struct: absent and null fields are zero values, a value of another type fails.
const str = z.optional(z.nullable(z.string()));
const strings = z.optional(z.nullable(z.array(z.string())));
const AuthResponse = z.object({
  ttl: z.optional(z.nullable(z.int())),
  identity: str,
  identity_url: str,
  authorizations: z.optional(
    z.nullable(z.array(z.object({ topic: str, channels: strings, permissions: strings }))),
  ),
});

/**
 * NSQ's auth servers. {@link AuthServer.query} tries each address from a random one on, as QueryAnyAuthd,
 * and rejects with the last failure when none answered usefully.
 */
export class AuthServer {
  constructor(private readonly o: AuthServerOptions) {}

  async query(q: AuthQuery): Promise<AuthState> {
    const n = this.o.addresses.length;
    const start = Math.floor(Math.random() * n);
    let last: unknown;
    for (let i = 0; i < n; i++) {
      const addr = this.o.addresses[(start + i) % n]!;
      try {
        return await this.queryOne(addr, q);
      } catch (e) {
        this.o.log.warn(`failed auth against ${addr} ${(e as Error).message}`);
        last = e;
      }
    }
    throw last;
  }

  private async queryOne(addr: string, q: AuthQuery): Promise<AuthState> {
    // url.Values, encoded with its keys sorted as Go does
    const values: [string, string][] = [
      ["common_name", q.commonName],
      ["remote_ip", q.remoteIp],
      ["secret", q.secret],
      ["tls", q.tls ? "true" : "false"],
    ];
    let endpoint = addr.includes("://") ? addr : `http://${addr}/auth`;
    const post = this.o.method === "post";
    if (!post) endpoint += `${endpoint.includes("?") ? "&" : "?"}${new URLSearchParams(values)}`;
    const body = post ? JSON.stringify(Object.fromEntries(values.map(([k, v]) => [k, [v]]))) : undefined;
    for (;;) {
      const res = await fetch(endpoint, {
        method: post ? "POST" : "GET",
        headers: { Accept: "application/vnd.nsq; version=1.0", ...(post ? { "Content-Type": "application/json" } : {}) },
        body,
        signal: AbortSignal.timeout(this.o.timeoutMs),
        tls: this.o.ca === undefined ? undefined : { ca: this.o.ca },
      });
      const text = await res.text();
      if (res.status === 200) return parseState(text);
      // a server that wants TLS answers 403 with its HTTPS port (NSQ's http_api client follows it)
      if (res.status === 403 && !endpoint.startsWith("https")) {
        endpoint = httpsEndpoint(endpoint, text);
        continue;
      }
      throw new Error(`got response ${res.status} ${res.statusText} ${JSON.stringify(text)}`);
    }
  }
}

function httpsEndpoint(endpoint: string, body: string): string {
  const port = (JSON.parse(body) as { https_port?: unknown }).https_port;
  if (typeof port !== "number") throw new Error(`got response 403 ${JSON.stringify(body)}`);
  const u = new URL(endpoint);
  u.protocol = "https:";
  u.port = String(port);
  return u.toString();
}

/** The auth server's answer, validated as QueryAuthd does. */
function parseState(text: string): AuthState {
  const r = AuthResponse.safeParse(JSON.parse(text));
  if (!r.success) throw new Error(`invalid response ${JSON.stringify(text)}`);
  const authorizations: Authorization[] = [];
  for (const a of r.data.authorizations ?? []) {
    const permissions = a.permissions ?? [];
    for (const p of permissions) if (p !== "subscribe" && p !== "publish") throw new Error(`unknown permission ${p}`);
    const topic = compile(a.topic ?? "", "topic");
    const channels = (a.channels ?? []).map((c) => compile(c, "channel"));
    authorizations.push({ topic, channels, publish: permissions.includes("publish"), subscribe: permissions.includes("subscribe") });
  }
  const ttl = r.data.ttl ?? 0;
  if (ttl <= 0) throw new Error(`invalid TTL ${ttl} (must be >0)`);
  return new AuthState(r.data.identity ?? "", r.data.identity_url ?? "", authorizations, Date.now() + ttl * 1000);
}

/** NSQ compiles Go RE2 patterns; the common subset reads the same as JavaScript's, unanchored. */
function compile(pattern: string, what: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new Error(`unable to compile ${what} ${JSON.stringify(pattern)} ${(e as Error).message}`);
  }
}
