/**
 * Admin-action notifications (NSQ nsqadmin/notify.go): each action is POSTed as JSON to
 * `--notification-http-endpoint`, one at a time, without holding up the request that made it.
 * @module
 */
import { hostname } from "node:os";
import type { Logger } from "../../core/log.ts";

/** NSQ's AdminAction, field for field (`channel`, `node` and `user` left out when empty). */
export interface AdminAction {
  action: string;
  topic: string;
  channel?: string;
  node?: string;
  /** Unix seconds. */
  timestamp: number;
  /** The HTTP basic-auth user of the request. */
  user?: string;
  /** `ip:port` of the request's peer. */
  remote_ip: string;
  user_agent: string;
  /** The URL of the request that made the action. */
  url: string;
  /** The admin's hostname. */
  via: string;
}

/** The request facts an action is reported with. */
export interface ActionOrigin {
  req: Request;
  remoteAddr: string;
}

/** basicAuthUser: the user of an `Authorization: Basic …` header, or "". */
function basicAuthUser(req: Request): string {
  const [scheme, value] = (req.headers.get("authorization") ?? "").split(" ", 2);
  if (scheme !== "Basic" || value === undefined) return "";
  try {
    const pair = atob(value);
    const i = pair.indexOf(":");
    return i < 0 ? "" : pair.slice(0, i);
  } catch {
    return "";
  }
}

/** Sends notifications in order; `drained()` resolves once everything queued so far was sent. */
export class Notifier {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly endpoint: () => string,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** notifyAdminAction: queues the POST; does nothing without an endpoint. */
  notify(action: string, topic: string, channel: string, node: string, origin: ActionOrigin): void {
    const endpoint = this.endpoint();
    if (endpoint === "") return;
    const req = origin.req;
    const u = new URL(req.url);
    const scheme = req.headers.get("x-scheme") === "https" || u.protocol === "https:" ? "https" : "http";
    const user = basicAuthUser(req);
    const a: AdminAction = {
      action,
      topic,
      ...(channel ? { channel } : {}),
      ...(node ? { node } : {}),
      timestamp: Math.floor(Date.now() / 1000),
      ...(user ? { user } : {}),
      remote_ip: origin.remoteAddr,
      user_agent: req.headers.get("user-agent") ?? "",
      url: `${scheme}://${req.headers.get("host") ?? u.host}${u.pathname}${u.search}`,
      via: hostname(),
    };
    this.queue = this.queue.then(() => this.send(endpoint, a));
  }

  drained(): Promise<void> {
    return this.queue;
  }

  private async send(endpoint: string, a: AdminAction): Promise<void> {
    this.log.info(`POSTing notification to ${endpoint}`);
    try {
      const res = await fetch(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(a),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.arrayBuffer();
    } catch (e) {
      this.log.error(`failed to POST notification - ${(e as Error).message}`);
    }
  }
}
