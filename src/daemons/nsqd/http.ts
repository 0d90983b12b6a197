/**
 * nsqd's HTTP API (nsqd/http.go) as a Hono app, and its Bun.serve listener. Parameters, status codes,
 * error codes and the order in which nsqd checks them follow NSQ 1.3; `GET /metrics` (Prometheus) is
 * ours. Handlers answer through NSQ's V1 convention (src/core/http.ts).
 * @module
 */
import type { Server } from "bun";
import os from "node:os";
import { type Context, Hono } from "hono";
import { z } from "zod/mini";
import {
  ApiError,
  boolParam,
  contentLength,
  Json,
  type Query,
  queryGet,
  RawJson,
  rawQuery,
  readBody,
  reqParams,
  respondV1,
  topicChannelArgs,
  type V1Data,
} from "../../core/http.ts";
import { type ApiEnv, type ApiRoute, mountRoutes } from "../../core/http-router.ts";
import { serveHttp } from "../../core/http-server.ts";
import type { ServerTlsOptions } from "../../core/listener.ts";
import type { ListenAddress } from "../../core/net.ts";
import { LOG_LEVELS, type LogLevel } from "../../core/options.ts";
import { ClientError } from "../../core/protocol/errors.ts";
import { parseMpubBody, splitTextMpubBody } from "../../core/protocol/mpub.ts";
import { isValidTopicName } from "../../core/protocol/names.ts";
import { NSQ_VERSION } from "../../core/version.ts";
import type { Message } from "./message.ts";
import { renderMetrics, METRICS_CONTENT_TYPE } from "./metrics.ts";
import type { NSQD } from "./nsqd.ts";
import { nsqdSpec, TLS_VERSIONS, TLSRequired } from "./options.ts";
import { publish } from "./publish.ts";
import { getStats, memStats, statsJson, statsText } from "./stats.ts";
import { statsdPrefix } from "./statsd.ts";
import type { Topic } from "./topic.ts";

/** Go's lg.LogLevel values, as `/config/log_level` reports them. */
const LOG_LEVEL_NUMBER: Record<LogLevel, number> = { debug: 1, info: 2, warn: 3, error: 4, fatal: 5 };
/** nsqd's TLSNotRequired, TLSRequiredExceptHTTP, TLSRequired. */
const TLS_REQUIRED_NUMBER: Record<TLSRequired, number> = { false: 0, "tcp-https": 1, true: 2 };

const topicName = z.string().check(z.refine(isValidTopicName));
/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits only. */
const deferMs = z.pipe(z.string().check(z.regex(/^[+-]?[0-9]+$/)), z.transform(Number));
const lookupdAddresses = z.nullable(z.array(z.string()));
const logLevel = z.pipe(z.pipe(z.string(), z.transform((s: string) => s.toLowerCase())), z.enum(LOG_LEVELS));

export interface HttpApiOptions {
  /** This app serves the HTTPS listener (so `--tls-required=true` does not refuse it). */
  tls?: boolean;
  /** The HTTPS port to point plain-HTTP clients at when TLS is required (0 when there is none). */
  httpsPort?: () => number;
}

/**
 * The nsqd HTTP API. `app` is a plain Hono app (`app.request()` in tests, `app.fetch` under Bun.serve);
 * `closing` makes every request answer 503 EXITING while nsqd shuts down.
 */
export class HttpApi {
  readonly app = new Hono<ApiEnv>();
  closing = false;

  constructor(
    private readonly nsqd: NSQD,
    private readonly o: HttpApiOptions = {},
  ) {
    const routes: ApiRoute[] = [
      { method: "GET", path: "/ping", kind: "plain", log: true, handler: () => this.ping() },
      { method: "GET", path: "/info", kind: "v1", log: true, handler: () => this.info() },
      { method: "POST", path: "/pub", kind: "v1", log: false, handler: (c) => this.pub(c) },
      { method: "POST", path: "/mpub", kind: "v1", log: false, handler: (c) => this.mpub(c) },
      { method: "GET", path: "/stats", kind: "v1", log: true, handler: (c) => this.stats(c) },
      { method: "POST", path: "/topic/create", kind: "v1", log: true, handler: (c) => this.createTopic(c) },
      { method: "POST", path: "/topic/delete", kind: "v1", log: true, handler: (c) => this.deleteTopic(c) },
      { method: "POST", path: "/topic/empty", kind: "v1", log: true, handler: (c) => this.emptyTopic(c) },
      { method: "POST", path: "/topic/pause", kind: "v1", log: true, handler: (c) => this.pauseTopic(c, true) },
      { method: "POST", path: "/topic/unpause", kind: "v1", log: true, handler: (c) => this.pauseTopic(c, false) },
      { method: "POST", path: "/channel/create", kind: "v1", log: true, handler: (c) => this.createChannel(c) },
      { method: "POST", path: "/channel/delete", kind: "v1", log: true, handler: (c) => this.deleteChannel(c) },
      { method: "POST", path: "/channel/empty", kind: "v1", log: true, handler: (c) => this.emptyChannel(c) },
      { method: "POST", path: "/channel/pause", kind: "v1", log: true, handler: (c) => this.pauseChannel(c, true) },
      { method: "POST", path: "/channel/unpause", kind: "v1", log: true, handler: (c) => this.pauseChannel(c, false) },
      { method: "GET", path: "/config/:opt", kind: "v1", log: true, handler: (c) => this.getConfig(c) },
      { method: "PUT", path: "/config/:opt", kind: "v1", log: true, handler: (c) => this.putConfig(c) },
      { method: "POST", path: "/debug/freememory", kind: "v1", log: true, handler: () => this.freeMemory() },
      { method: "GET", path: "/metrics", kind: "v1", log: true, handler: () => this.metrics() },
    ];
    this.app.use("*", async (_c, next) => {
      if (!this.o.tls && this.nsqd.opts.tlsRequired === TLSRequired.Yes) {
        const port = this.o.httpsPort?.() ?? 0;
        return new Response(`{"message": "TLS_REQUIRED", "https_port": ${port}}`, {
          status: 403,
          headers: { "X-NSQ-Content-Type": "nsq; version=1.0", "Content-Type": "application/json; charset=utf-8" },
        });
      }
      if (this.closing) return respondV1(503, "EXITING");
      await next();
    });
    mountRoutes(this.app, routes, this.nsqd.log);
  }

  // --- helpers: NSQ's query accessors, in the order nsqd checks things ---

  /** http_api.NewReqParams, logging the query it could not parse as nsqd does. */
  private query(c: Context<ApiEnv>): Query {
    try {
      return reqParams(c.req.raw);
    } catch (e) {
      this.nsqd.log.error(`failed to parse request params - invalid query ${rawQuery(c.req.url)}`);
      throw e;
    }
  }

  /** getTopicFromQuery: validates, then gets or creates the topic. */
  private topicFromQuery(c: Context<ApiEnv>): { q: Query; topic: Topic } {
    const q = this.query(c);
    const name = queryGet(q, "topic");
    if (name === undefined) throw new ApiError(400, "MISSING_ARG_TOPIC");
    if (!topicName.safeParse(name).success) throw new ApiError(400, "INVALID_TOPIC");
    return { q, topic: this.nsqd.getTopic(name) };
  }

  /** getExistingTopicFromQuery: http_api.GetTopicChannelArgs, then the topic must exist. */
  private existingTopicFromQuery(c: Context<ApiEnv>): { topic: Topic; channel: string } {
    const { topic: name, channel } = topicChannelArgs(this.query(c));
    const topic = this.nsqd.topics.get(name);
    if (topic === undefined) throw new ApiError(404, "TOPIC_NOT_FOUND");
    return { topic, channel };
  }

  private existingTopic(c: Context<ApiEnv>, validate: boolean): Topic {
    const name = queryGet(this.query(c), "topic");
    if (name === undefined) throw new ApiError(400, "MISSING_ARG_TOPIC");
    if (validate && !topicName.safeParse(name).success) throw new ApiError(400, "INVALID_TOPIC");
    const topic = this.nsqd.topics.get(name);
    if (topic === undefined) throw new ApiError(404, "TOPIC_NOT_FOUND");
    return topic;
  }

  /** The request body, at most `limit + 1` bytes; a failed read (a client gone mid-body) is nsqd's 500. */
  private async body(c: Context<ApiEnv>, limit: number): Promise<Uint8Array> {
    try {
      return await readBody(c.req.raw, limit);
    } catch (e) {
      this.nsqd.log.error(`failed to read request body - ${(e as Error).message}`);
      throw new ApiError(500, "INTERNAL_ERROR");
    }
  }

  /** Topic.PutMessage(s): any failure is 503 EXITING; a failed backend write also makes nsqd unhealthy. */
  private publish(topic: Topic, msgs: Message[]): void {
    if (topic.exiting) throw new ApiError(503, "EXITING");
    try {
      publish(this.nsqd, topic, msgs);
    } catch (e) {
      this.nsqd.log.error(`TOPIC(${topic.name}): failed to put message(s) - ${(e as Error).message}`);
      throw new ApiError(503, "EXITING");
    }
  }

  // --- handlers ---

  private ping(): string {
    const h = this.nsqd.health;
    if (h !== null) throw new ApiError(500, `NOK - ${h}`);
    return "OK";
  }

  private info(): Json {
    const o = this.nsqd.opts;
    return new Json({
      version: NSQ_VERSION,
      broadcast_address: o.broadcastAddress,
      hostname: os.hostname(),
      http_port: this.nsqd.httpPort(),
      tcp_port: this.nsqd.tcpPort(),
      start_time: Math.floor(this.nsqd.startTime / 1000),
      max_heartbeat_interval: o.maxHeartbeatInterval * 1e6,
      max_output_buffer_size: o.maxOutputBufferSize,
      max_output_buffer_timeout: o.maxOutputBufferTimeout * 1e6,
      max_deflate_level: o.maxDeflateLevel,
      topology_zone: o.topologyZone,
      topology_region: o.topologyRegion,
    });
  }

  private async pub(c: Context<ApiEnv>): Promise<string> {
    const max = this.nsqd.opts.maxMsgSize;
    if (contentLength(c.req.raw) > max) throw new ApiError(413, "MSG_TOO_BIG");
    const body = await this.body(c, max);
    if (body.length > max) throw new ApiError(413, "MSG_TOO_BIG");
    if (body.length === 0) throw new ApiError(400, "MSG_EMPTY");
    const { q, topic } = this.topicFromQuery(c);
    let deferred = 0;
    const ds = queryGet(q, "defer");
    if (ds !== undefined) {
      const d = deferMs.safeParse(ds);
      if (!d.success || d.data < 0 || d.data > this.nsqd.opts.maxReqTimeout) throw new ApiError(400, "INVALID_DEFER");
      deferred = d.data;
    }
    const m = topic.newMessage(body);
    m.deferred = deferred;
    this.publish(topic, [m]);
    return "OK";
  }

  private async mpub(c: Context<ApiEnv>): Promise<string> {
    const o = this.nsqd.opts;
    if (contentLength(c.req.raw) > o.maxBodySize) throw new ApiError(413, "BODY_TOO_BIG");
    const { q, topic } = this.topicFromQuery(c);
    // text is the default; an unrecognised value means binary
    let binary = false;
    const b = queryGet(q, "binary");
    if (b !== undefined) {
      binary = boolParam(b, true);
      if (b !== "true" && b !== "1" && b !== "false" && b !== "0") {
        this.nsqd.log.warn(`deprecated value '${b}' used for /mpub binary param`);
      }
    }
    const body = await this.body(c, o.maxBodySize);
    const now = Date.now();
    const msgs: Message[] = [];
    if (binary) {
      if (body.length > o.maxBodySize) throw new ApiError(413, "BODY_TOO_BIG");
      let bodies: Uint8Array[];
      try {
        bodies = parseMpubBody(body, o.maxMsgSize, o.maxBodySize, true);
      } catch (e) {
        if (e instanceof ClientError) throw new ApiError(413, e.code.slice(2));
        throw e;
      }
      for (const m of bodies) msgs.push(topic.newMessage(m, now));
    } else {
      const bodies = splitTextMpubBody(body, o.maxMsgSize, o.maxBodySize);
      if (typeof bodies === "string") throw new ApiError(413, bodies);
      for (const m of bodies) msgs.push(topic.newMessage(m, now));
    }
    if (msgs.length > 0) this.publish(topic, msgs);
    return "OK";
  }

  private stats(c: Context<ApiEnv>): V1Data {
    const q = this.query(c);
    const topic = queryGet(q, "topic") ?? "";
    const channel = queryGet(q, "channel") ?? "";
    const includeClients = boolParam(queryGet(q, "include_clients"), true);
    const includeMem = boolParam(queryGet(q, "include_mem"), true);
    const stats = getStats(this.nsqd, topic, channel, includeClients);
    const mem = includeMem ? memStats() : null;
    if (queryGet(q, "format") !== "json") return statsText(this.nsqd, stats, mem);
    return new RawJson(statsJson(this.nsqd, stats, mem, NSQ_VERSION));
  }

  private createTopic(c: Context<ApiEnv>): null {
    this.topicFromQuery(c);
    return null;
  }

  private deleteTopic(c: Context<ApiEnv>): null {
    const name = queryGet(this.query(c), "topic");
    if (name === undefined) throw new ApiError(400, "MISSING_ARG_TOPIC");
    if (!this.nsqd.deleteTopic(name)) throw new ApiError(404, "TOPIC_NOT_FOUND");
    return null;
  }

  private emptyTopic(c: Context<ApiEnv>): null {
    const topic = this.existingTopic(c, true);
    try {
      topic.empty();
    } catch (e) {
      this.nsqd.log.error(`TOPIC(${topic.name}): failed to empty - ${(e as Error).message}`);
      throw new ApiError(500, "INTERNAL_ERROR");
    }
    return null;
  }

  private pauseTopic(c: Context<ApiEnv>, pause: boolean): null {
    const topic = this.existingTopic(c, false);
    if (pause) topic.pause();
    else topic.unpause();
    this.persist();
    return null;
  }

  private createChannel(c: Context<ApiEnv>): null {
    const { topic, channel } = this.existingTopicFromQuery(c);
    topic.getChannel(channel);
    return null;
  }

  private deleteChannel(c: Context<ApiEnv>): null {
    const { topic, channel } = this.existingTopicFromQuery(c);
    if (!topic.deleteChannel(channel)) throw new ApiError(404, "CHANNEL_NOT_FOUND");
    return null;
  }

  private emptyChannel(c: Context<ApiEnv>): null {
    const { topic, channel } = this.existingTopicFromQuery(c);
    const ch = topic.channels.get(channel);
    if (ch === undefined) throw new ApiError(404, "CHANNEL_NOT_FOUND");
    try {
      ch.empty();
    } catch (e) {
      this.nsqd.log.error(`CHANNEL(${channel}): failed to empty - ${(e as Error).message}`);
      throw new ApiError(500, "INTERNAL_ERROR");
    }
    return null;
  }

  private pauseChannel(c: Context<ApiEnv>, pause: boolean): null {
    const { topic, channel } = this.existingTopicFromQuery(c);
    const ch = topic.channels.get(channel);
    if (ch === undefined) throw new ApiError(404, "CHANNEL_NOT_FOUND");
    if (pause) ch.pause();
    else ch.unpause();
    this.persist();
    return null;
  }

  /** Paused state is written at once, so a crash cannot (un)pause a topic or channel. */
  private persist(): void {
    try {
      this.nsqd.persistMetadata();
    } catch (e) {
      this.nsqd.log.error(`failed to persist metadata - ${(e as Error).message}`);
    }
  }

  private getConfig(c: Context<ApiEnv>): V1Data {
    const v = this.configValue(c.req.param("opt") ?? "");
    if (v === undefined) throw new ApiError(400, "INVALID_OPTION");
    return v;
  }

  private async putConfig(c: Context<ApiEnv>): Promise<V1Data> {
    const opt = c.req.param("opt") ?? "";
    const max = this.nsqd.opts.maxMsgSize;
    const body = await this.body(c, max);
    if (body.length > max || body.length === 0) throw new ApiError(413, "INVALID_VALUE");
    const text = new TextDecoder().decode(body);
    const opts = this.nsqd.opts;
    switch (opt) {
      case "nsqlookupd_tcp_addresses": {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new ApiError(400, "INVALID_VALUE");
        }
        const r = lookupdAddresses.safeParse(parsed);
        if (!r.success) throw new ApiError(400, "INVALID_VALUE");
        opts.lookupdTcpAddress = r.data ?? [];
        this.nsqd.lookup.setPeers(opts.lookupdTcpAddress);
        break;
      }
      case "log_level": {
        const r = logLevel.safeParse(text);
        if (!r.success) throw new ApiError(400, "INVALID_VALUE");
        opts.logLevel = r.data;
        this.nsqd.log.setLevel?.(r.data);
        break;
      }
      default:
        throw new ApiError(400, "INVALID_OPTION");
    }
    return this.configValue(opt)!;
  }

  /** getOptByCfgName: the option under its config-file name, as Go's JSON (or raw text for strings). */
  private configValue(cfgName: string): V1Data | undefined {
    for (const e of nsqdSpec.flags.values()) {
      if (e.cfgKey !== cfgName || e.def.ignored) continue;
      const opts = this.nsqd.opts as unknown as Record<string, unknown>;
      let v = opts[e.key];
      switch (e.name) {
        case "log-level":
          return new Json(LOG_LEVEL_NUMBER[v as LogLevel]);
        case "tls-required":
          return new Json(TLS_REQUIRED_NUMBER[v as TLSRequired]);
        case "tls-min-version":
          return new Json(TLS_VERSIONS[v as keyof typeof TLS_VERSIONS]);
        case "broadcast-http-port":
          return new Json((v as number) || this.nsqd.httpPort());
        case "broadcast-tcp-port":
          return new Json((v as number) || this.nsqd.tcpPort());
        case "statsd-prefix":
          v = statsdPrefix(this.nsqd);
          break;
      }
      if (e.def.type === "duration") return new Json(Math.round((v as number) * 1e6));
      if (typeof v === "string") return v;
      return new Json(v);
    }
    return undefined;
  }

  private freeMemory(): null {
    Bun.gc(true);
    return null;
  }

  private metrics(): Response {
    return new Response(renderMetrics(this.nsqd), { headers: { "Content-Type": METRICS_CONTENT_TYPE } });
  }
}

/** The HTTP listener: the API on Bun.serve at `host:port` or a unix socket path. */
export interface HttpListener {
  readonly api: HttpApi;
  readonly server: Server<undefined>;
  /** `host:port` actually bound, or the unix socket path. */
  address(): string;
  /** The bound port; -1 on a unix socket. */
  port(): number;
  /** Stops accepting; `force` also closes open connections. Requests after the first call get 503 EXITING. */
  stop(force?: boolean): void;
}

/**
 * Bun's own limit, which answers a bare 413: 2^53 - 1 bytes, beyond any body a client can send, so a body of
 * any size, with a Content-Length or chunked, gets NSQ's 413 and its `{"message"}`. The handlers bound their
 * reads instead: /pub and /mpub refuse from the Content-Length without reading, and read a chunked body up to
 * the limit + 1 bytes (readBody); Bun discards the unread rest as it arrives, and the connection serves its
 * next request.
 */
const MAX_REQUEST_BODY_SIZE = Number.MAX_SAFE_INTEGER;

/** The API on `addr`; with `tls`, the HTTPS listener. */
export function listenHttp(nsqd: NSQD, addr: ListenAddress, api: HttpApi = new HttpApi(nsqd), tls?: ServerTlsOptions): HttpListener {
  const s = serveHttp(addr, {
    tls,
    maxRequestBodySize: MAX_REQUEST_BODY_SIZE,
    fetch: (req, server) => api.app.fetch(req, { server }),
    error: (err) => {
      nsqd.log.error(`HTTP: internal error - ${err.stack ?? err}`);
      return respondV1(500, "INTERNAL_ERROR");
    },
  });
  return {
    api,
    server: s.server,
    address: () => s.address,
    port: () => s.port,
    stop(force = false) {
      api.closing = true;
      s.stop(force);
    },
  };
}
