/**
 * The nsqadmin daemon (NSQ nsqadmin/nsqadmin.go): checks its options as `nsqadmin.New` does, serves the pages
 * and the API, notifies admin actions, and samples the cluster for its own charts.
 * @module
 */
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import {
  type ClusterSource, createTopicChannel, type GetOptions, queueAction, type QueueAction, tombstoneNodeForTopic,
} from "../../core/clusterinfo/index.ts";
import { respondV1 } from "../../core/http.ts";
import { type HttpServer, serveHttp } from "../../core/http-server.ts";
import type { Logger } from "../../core/log.ts";
import { parseListenAddress } from "../../core/net.ts";
import { versionString } from "../../core/version.ts";
import { adminApp } from "./app.tsx";
import { type Cidr, cidrContains, parseCidr, parseIp } from "./cidr.ts";
import { Cluster } from "./cluster.ts";
import { History } from "./history.ts";
import { type ActionOrigin, Notifier } from "./notify.ts";
import type { AdminOptions } from "./options.ts";

/** An admin action as the API and the pages ask for it. */
export type Action =
  | { kind: "create"; topic: string; channel: string }
  | { kind: "topic"; action: QueueAction; topic: string }
  | { kind: "channel"; action: QueueAction; topic: string; channel: string }
  | { kind: "tombstone"; topic: string; node: string };

/** Tuning that is not one of NSQ's flags. */
export interface AdminTuning {
  /** How often the admin samples the cluster for its charts; 0 turns sampling off. */
  sampleIntervalMs?: number;
  /** How long samples are kept. */
  historyMs?: number;
  /** How often pages refresh themselves in the browser. */
  refreshMs?: number;
}

const DEFAULT_SAMPLE_MS = 10_000;
const DEFAULT_HISTORY_MS = 60 * 60_000;
const DEFAULT_REFRESH_MS = 5_000;

/** NSQ's normalizeBasePath: a leading slash, cleaned. */
export function normalizeBasePath(p: string): string {
  if (p === "") return "/";
  return posix.normalize(p.startsWith("/") ? p : `/${p}`).replace(/(.)\/$/, "$1");
}

/**
 * nsqadmin: `new NSQAdmin(opts, log)` checks the options (throwing NSQ's messages), `main()` listens.
 * @example
 * const a = new NSQAdmin({ ...adminSpec.defaults(), lookupdHttpAddress: ["127.0.0.1:4161"] }, log);
 * await a.main();
 * await fetch(`http://127.0.0.1:${a.httpPort()}/api/topics`);
 * await a.exit();
 */
export class NSQAdmin {
  readonly cluster: Cluster;
  readonly history: History;
  readonly notifier: Notifier;
  readonly http: GetOptions;
  readonly basePath: string;
  readonly refreshMs: number;
  private readonly allowConfigFrom: Cidr | null;
  private readonly sampleIntervalMs: number;
  private server: HttpServer | null = null;
  private sampler: ReturnType<typeof setInterval> | null = null;
  private sampling: Promise<void> | null = null;

  constructor(
    /** Mutable: `PUT /config/:opt` changes the lookupds and the log level at run time. */
    readonly opts: AdminOptions,
    readonly log: Logger,
    tuning: AdminTuning = {},
  ) {
    for (const [flag, addrs] of [["lookupd-http-address", opts.lookupdHttpAddress], ["nsqd-http-address", opts.nsqdHttpAddress]] as const) {
      for (const a of addrs) {
        if ("unix" in parseListenAddress(a)) throw new Error(`failed to resolve --${flag} (${a}) - address ${a}: missing port in address`);
      }
    }
    if (opts.proxyGraphite) {
      try {
        new URL(opts.graphiteUrl);
      } catch {
        throw new Error(`failed to parse --graphite-url (${opts.graphiteUrl}) - invalid URL`);
      }
    }
    try {
      this.allowConfigFrom = opts.allowConfigFromCidr === "" ? null : parseCidr(opts.allowConfigFromCidr);
    } catch (e) {
      throw new Error(`failed to parse --allow-config-from-cidr (${opts.allowConfigFromCidr}) - ${(e as Error).message}`);
    }
    this.basePath = normalizeBasePath(opts.basePath);
    this.http = { timeoutMs: opts.httpClientRequestTimeout, fetch: tlsFetch(opts) };
    this.cluster = new Cluster(() => this.source(), this.http);
    this.sampleIntervalMs = tuning.sampleIntervalMs ?? DEFAULT_SAMPLE_MS;
    this.refreshMs = tuning.refreshMs ?? DEFAULT_REFRESH_MS;
    this.history = new History(Math.max(2, Math.ceil((tuning.historyMs ?? DEFAULT_HISTORY_MS) / (this.sampleIntervalMs || DEFAULT_SAMPLE_MS))));
    this.notifier = new Notifier(() => this.opts.notificationHttpEndpoint, opts.httpClientRequestTimeout, log);
  }

  /** A path under `--base-path`, as Go's `path.Join(basePath, p)` makes it. */
  path(p: string): string {
    const joined = posix.join(this.basePath, p);
    return joined.length > 1 && joined.endsWith("/") ? joined.slice(0, -1) : joined;
  }

  /** The lookupds when any are configured, else the nsqd list. */
  source(): ClusterSource {
    return { lookupd: this.opts.lookupdHttpAddress, nsqd: this.opts.nsqdHttpAddress };
  }

  /** Listens; throws `listen (addr) failed - reason`. */
  async main(): Promise<void> {
    this.log.info(versionString("nsqadmin"));
    const app = adminApp(this);
    this.server = serveHttp(parseListenAddress(this.opts.httpAddress), {
      fetch: (req, server) => app.fetch(req, { server }),
      error: (err) => {
        this.log.error(`HTTP: internal error - ${err.stack ?? err}`);
        return respondV1(500, "INTERNAL_ERROR");
      },
    });
    this.log.info(`HTTP: listening on ${this.server.address}`);
    if (this.sampleIntervalMs > 0) {
      this.sample();
      this.sampler = setInterval(() => this.sample(), this.sampleIntervalMs);
    }
  }

  /** Takes a sample for the charts, unless one is still being taken. */
  sample(): Promise<void> {
    this.sampling ??= this.cluster
      .allTopics()
      .then((r) => this.history.record(r.value))
      .catch((e) => this.log.debug(`sample failed - ${(e as Error).message}`))
      .finally(() => {
        this.sampling = null;
      });
    return this.sampling;
  }

  /** `host:port` actually bound (port 0 resolved), or the unix socket path. */
  httpAddress(): string {
    return this.server?.address ?? "";
  }

  /** -1 on a unix socket. */
  httpPort(): number {
    return this.server?.port ?? -1;
  }

  /** NSQ's isAuthorizedAdminRequest: anyone without `--admin-user`, else only the users the ACL header names. */
  isAdmin(req: Request): boolean {
    const users = this.opts.adminUser;
    if (users.length === 0) return true;
    const user = req.headers.get(this.opts.aclHttpHeader) ?? "";
    return users.includes(user);
  }

  /** Whether `/config/:opt` may be used from `ip` (`--allow-config-from-cidr`); null when the address is unknown. */
  configAllowed(ip: string | undefined): boolean | null {
    if (this.allowConfigFrom === null) return true;
    const parsed = ip === undefined ? null : parseIp(ip);
    if (parsed === null) return null;
    return cidrContains(this.allowConfigFrom, parsed);
  }

  /**
   * Carries out an admin action over the cluster and notifies it, as NSQ's handlers do (pause, unpause and
   * empty are notified even when they fail). Answers with the failed requests, one group.
   * @throws AggregateError when the action could not find its nsqd at all (NSQ's 502 UPSTREAM_ERROR)
   */
  async act(a: Action, origin: ActionOrigin): Promise<Error[]> {
    const src = this.source();
    const notify = (action: string, channel = "", node = "") => this.notifier.notify(action, a.topic, channel, node, origin);
    switch (a.kind) {
      case "create": {
        const errors = await createTopicChannel(a.topic, a.channel, src.lookupd, this.http);
        notify("create_topic");
        if (a.channel !== "") notify("create_channel", a.channel);
        return errors;
      }
      case "tombstone": {
        const errors = await tombstoneNodeForTopic(a.topic, a.node, src.lookupd, this.http);
        notify("tombstone_topic_producer", "", a.node);
        return errors;
      }
      case "topic":
      case "channel": {
        const channel = a.kind === "channel" ? a.channel : null;
        const name = `${a.action}_${a.kind}`;
        let ok = false;
        try {
          const errors = await queueAction(a.action, a.topic, channel, src, this.http);
          ok = true;
          return errors;
        } finally {
          if (ok || a.action !== "delete") notify(name, channel ?? "");
        }
      }
    }
  }

  /** Stops sampling and listening; pending notifications are still sent. */
  async exit(): Promise<void> {
    if (this.sampler !== null) clearInterval(this.sampler);
    this.sampler = null;
    if (this.server !== null) {
      this.server.stop(true);
      this.log.info(`HTTP: closing ${this.server.address}`);
      this.server = null;
    }
    await this.sampling;
    await this.notifier.drained();
  }
}

/** The HTTP client's TLS settings (`--http-client-tls-*`), as a fetch. */
function tlsFetch(opts: AdminOptions): typeof fetch | undefined {
  const tls: { rejectUnauthorized?: boolean; ca?: string; cert?: string; key?: string } = {};
  if (opts.httpClientTlsInsecureSkipVerify) tls.rejectUnauthorized = false;
  if (opts.httpClientTlsCert !== "") {
    try {
      tls.cert = readFileSync(opts.httpClientTlsCert, "utf8");
      tls.key = readFileSync(opts.httpClientTlsKey, "utf8");
    } catch (e) {
      throw new Error(`failed to LoadX509KeyPair ${opts.httpClientTlsCert}, ${opts.httpClientTlsKey} - ${(e as Error).message}`);
    }
  }
  if (opts.httpClientTlsRootCaFile !== "") {
    try {
      tls.ca = readFileSync(opts.httpClientTlsRootCaFile, "utf8");
    } catch (e) {
      throw new Error(`failed to read TLS root CA file ${opts.httpClientTlsRootCaFile} - ${(e as Error).message}`);
    }
  }
  if (Object.keys(tls).length === 0) return undefined;
  return ((input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, tls } as RequestInit)) as typeof fetch;
}
