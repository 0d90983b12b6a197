/**
 * nsqadmin's JSON API (NSQ nsqadmin/http.go), route for route: `/api/*` with nsqadmin's shapes, a `message` of
 * `WARNING: …` when some daemons did not answer, `502 UPSTREAM_ERROR: …` when none did, `403 FORBIDDEN` for
 * actions by users not in `--admin-user`; and `/config/:opt`.
 * @module
 */
import type { Context } from "hono";
import { ApiError, Json, queryGet, reqParams, type V1Data } from "../../core/http.ts";
import type { ApiEnv, ApiRoute } from "../../core/http-router.ts";
import { LOG_LEVELS, type LogLevel } from "../../core/options.ts";
import { isValidChannelName, isValidTopicName } from "../../core/protocol/names.ts";
import { NodeNotFound, type Result, warningMessage } from "./cluster.ts";
import type { Action, NSQAdmin } from "./nsqadmin.ts";
import type { ActionOrigin } from "./notify.ts";
import { adminSpec } from "./options.ts";

/** Go's lg.LogLevel numbers, as `/config/log_level` reports them. */
const LOG_LEVEL_NUMBER: Record<LogLevel, number> = { debug: 1, info: 2, warn: 3, error: 4, fatal: 5 };

/** The peer of a request as Go's `req.RemoteAddr` (`ip:port`); "" in socket-less tests. */
export function remoteAddr(c: Context<ApiEnv>): string {
  const ip = c.env?.server?.requestIP(c.req.raw);
  if (!ip) return "";
  return ip.address.includes(":") ? `[${ip.address}]:${ip.port}` : `${ip.address}:${ip.port}`;
}

/** What an admin action's notification reports of the request that made it. */
export function origin(c: Context<ApiEnv>): ActionOrigin {
  return { req: c.req.raw, remoteAddr: remoteAddr(c) };
}

/** Runs a cluster query; a total failure is NSQ's `502 UPSTREAM_ERROR: <error>`. */
export async function upstream<T>(a: NSQAdmin, what: string, query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (e) {
    if (e instanceof NodeNotFound || e instanceof ApiError) throw e;
    a.log.error(`failed to ${what} - ${(e as Error).message}`);
    throw new ApiError(502, `UPSTREAM_ERROR: ${(e as Error).message}`);
  }
}

function warned<T>(a: NSQAdmin, r: Result<T>): string {
  for (const g of r.warnings) a.log.warn(g.map((e) => e.message).join("\n"));
  return warningMessage(r.warnings);
}

/** Go's json.Decoder.Decode into a struct of strings: the named fields, "" when absent. */
async function jsonBody<K extends string>(c: Context<ApiEnv>, keys: readonly K[]): Promise<Record<K, string>> {
  const text = (await c.req.text()).trim();
  if (text === "") throw new ApiError(400, "EOF");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid character in JSON body");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new ApiError(400, "json: cannot unmarshal into Go value of type struct");
  const out = {} as Record<K, string>;
  for (const k of keys) {
    const v = (body as Record<string, unknown>)[k];
    if (v !== undefined && v !== null && typeof v !== "string") throw new ApiError(400, `json: cannot unmarshal ${typeof v} into Go struct field .${k} of type string`);
    out[k] = (v as string | undefined) ?? "";
  }
  return out;
}

function forbidUnlessAdmin(a: NSQAdmin, c: Context<ApiEnv>): void {
  if (!a.isAdmin(c.req.raw)) throw new ApiError(403, "FORBIDDEN");
}

async function doAction(a: NSQAdmin, c: Context<ApiEnv>, act: Action, what: string): Promise<Json> {
  const errors = await upstream(a, what, () => a.act(act, origin(c)));
  return new Json({ message: warned(a, { value: null, warnings: errors.length > 0 ? [errors] : [] }) });
}

async function topicChannelAction(a: NSQAdmin, c: Context<ApiEnv>, topic: string, channel: string | null): Promise<Json> {
  forbidUnlessAdmin(a, c);
  const { action } = await jsonBody(c, ["action"]);
  if (action !== "pause" && action !== "unpause" && action !== "empty") throw new ApiError(400, "INVALID_ACTION");
  const act: Action = channel === null ? { kind: "topic", action, topic } : { kind: "channel", action, topic, channel };
  return doAction(a, c, act, `${action} topic/channel`);
}

/** The `/api/*` and `/config/:opt` routes. */
export function apiRoutes(a: NSQAdmin, bp: (p: string) => string): ApiRoute[] {
  const route = (method: string, path: string, handler: ApiRoute["handler"]): ApiRoute => ({ method, path: bp(path), kind: "v1", log: true, handler });
  const param = (c: Context<ApiEnv>, name: string) => c.req.param(name) ?? "";
  return [
    route("GET", "/api/topics", async (c) => {
      const inactive = queryGet(reqParams(c.req.raw), "inactive") === "true";
      if (inactive) {
        const r = await upstream(a, "get topics", () => a.cluster.inactiveTopics());
        return new Json({ topics: r.value, message: warned(a, r) });
      }
      const r = await upstream(a, "get topics", () => a.cluster.topics());
      return new Json({ topics: r.value, message: warned(a, r) });
    }),
    route("GET", "/api/topics/:topic", async (c) => {
      const r = await upstream(a, "get topic metadata", () => a.cluster.topic(param(c, "topic")));
      return new Json({ ...r.value, message: warned(a, r) });
    }),
    route("GET", "/api/topics/:topic/:channel", async (c) => {
      const r = await upstream(a, "get channel metadata", () => a.cluster.channel(param(c, "topic"), param(c, "channel")));
      return new Json({ ...r.value, message: warned(a, r) });
    }),
    route("GET", "/api/nodes", async () => {
      const r = await upstream(a, "get nodes", () => a.cluster.nodes());
      return new Json({ nodes: r.value, message: warned(a, r) });
    }),
    route("GET", "/api/nodes/:node", async (c) => {
      const node = param(c, "node");
      try {
        const r = await upstream(a, "get nsqd stats", () => a.cluster.node(node));
        const { topics, total_messages, total_clients } = r.value;
        return new Json({ node, topics, total_messages, total_clients, message: warned(a, r) });
      } catch (e) {
        if (e instanceof NodeNotFound) throw new ApiError(404, "NODE_NOT_FOUND");
        throw e;
      }
    }),
    route("POST", "/api/topics", async (c) => {
      forbidUnlessAdmin(a, c);
      const { topic, channel } = await jsonBody(c, ["topic", "channel"]);
      if (!isValidTopicName(topic)) throw new ApiError(400, "INVALID_TOPIC");
      if (channel !== "" && !isValidChannelName(channel)) throw new ApiError(400, "INVALID_CHANNEL");
      return doAction(a, c, { kind: "create", topic, channel }, "create topic/channel");
    }),
    route("POST", "/api/topics/:topic", (c) => topicChannelAction(a, c, param(c, "topic"), null)),
    route("POST", "/api/topics/:topic/:channel", (c) => topicChannelAction(a, c, param(c, "topic"), param(c, "channel"))),
    route("DELETE", "/api/nodes/:node", async (c) => {
      forbidUnlessAdmin(a, c);
      const body = await jsonBody(c, ["topic"]).catch(() => {
        throw new ApiError(400, "INVALID_BODY");
      });
      if (!isValidTopicName(body.topic)) throw new ApiError(400, "INVALID_TOPIC");
      return doAction(a, c, { kind: "tombstone", topic: body.topic, node: param(c, "node") }, "tombstone node for topic");
    }),
    route("DELETE", "/api/topics/:topic", (c) => {
      forbidUnlessAdmin(a, c);
      return doAction(a, c, { kind: "topic", action: "delete", topic: param(c, "topic") }, "delete topic");
    }),
    route("DELETE", "/api/topics/:topic/:channel", (c) => {
      forbidUnlessAdmin(a, c);
      const act: Action = { kind: "channel", action: "delete", topic: param(c, "topic"), channel: param(c, "channel") };
      return doAction(a, c, act, "delete channel");
    }),
    route("GET", "/api/counter", async () => {
      const r = await upstream(a, "get nsqd stats", () => a.cluster.counter());
      return new Json({ stats: r.value, message: warned(a, r) });
    }),
    route("GET", "/api/graphite", (c) => graphite(a, c)),
    route("GET", "/config/:opt", (c) => config(a, c)),
    route("PUT", "/config/:opt", (c) => config(a, c)),
  ];
}

/** `rate` of a Graphite target over the last statsd interval, per second (graphiteHandler). */
async function graphite(a: NSQAdmin, c: Context<ApiEnv>): Promise<Json> {
  const q = reqParams(c.req.raw);
  if (queryGet(q, "metric") !== "rate") throw new ApiError(400, "INVALID_ARG_METRIC");
  const target = queryGet(q, "target");
  if (target === undefined) throw new ApiError(400, "INVALID_ARG_TARGET");
  const interval = Math.floor(a.opts.statsdInterval / 1000);
  const params = new URLSearchParams({ format: "json", from: `-${interval * 2}sec`, target, until: `-${interval}sec` });
  const url = `${a.opts.graphiteUrl}/render?${params}`;
  a.log.info(`GRAPHITE: ${url}`);
  let rate: unknown;
  try {
    const res = await (a.http.fetch ?? fetch)(url, { signal: AbortSignal.timeout(a.http.timeoutMs) });
    if (res.status !== 200) throw new Error(`got response ${res.status}`);
    const body = (await res.json()) as { datapoints: (number | null)[][] }[];
    rate = body[0]?.datapoints[0]?.[0];
  } catch (e) {
    a.log.error(`graphite request failed - ${(e as Error).message}`);
    throw new ApiError(500, "INTERNAL_ERROR");
  }
  // Go dereferences the first datapoint: a missing or null one is its panic, a 500
  if (typeof rate !== "number") throw new ApiError(500, "INTERNAL_ERROR");
  return new Json({ rate: rate < 0 ? "N/A" : (rate / interval).toFixed(2) });
}

/** doConfig: read or (PUT) change `nsqlookupd_http_addresses` and `log_level`, from `--allow-config-from-cidr` only. */
async function config(a: NSQAdmin, c: Context<ApiEnv>): Promise<V1Data> {
  const opt = c.req.param("opt") ?? "";
  const allowed = a.configAllowed(c.env?.server?.requestIP(c.req.raw)?.address);
  if (allowed === null) {
    a.log.error(`failed to parse RemoteAddr ${remoteAddr(c)}`);
    throw new ApiError(400, "INVALID_REMOTE_ADDR");
  }
  if (!allowed) throw new ApiError(403, "FORBIDDEN");
  if (c.req.method === "PUT") {
    const max = 1024 * 1024;
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.length > max || body.length === 0) throw new ApiError(413, "INVALID_VALUE");
    const text = new TextDecoder().decode(body);
    switch (opt) {
      case "nsqlookupd_http_addresses": {
        let v: unknown;
        try {
          v = JSON.parse(text);
        } catch {
          throw new ApiError(400, "INVALID_VALUE");
        }
        if (v !== null && !(Array.isArray(v) && v.every((x) => typeof x === "string"))) throw new ApiError(400, "INVALID_VALUE");
        a.opts.lookupdHttpAddress = (v as string[] | null) ?? [];
        break;
      }
      case "log_level": {
        const level = text.toLowerCase() as LogLevel;
        if (!LOG_LEVELS.includes(level)) throw new ApiError(400, "INVALID_VALUE");
        a.opts.logLevel = level;
        a.log.setLevel?.(level);
        break;
      }
      default:
        throw new ApiError(400, "INVALID_OPTION");
    }
  }
  const v = configValue(a, opt);
  if (v === undefined) throw new ApiError(400, "INVALID_OPTION");
  return v;
}

/** getOptByCfgName: an option under its config-file name, as Go's V1 writes it (strings as raw text). */
function configValue(a: NSQAdmin, cfgName: string): V1Data | undefined {
  for (const e of adminSpec.flags.values()) {
    if (e.cfgKey !== cfgName || e.def.ignored) continue;
    const v = (a.opts as unknown as Record<string, unknown>)[e.key];
    if (e.name === "log-level") return new Json(LOG_LEVEL_NUMBER[v as LogLevel]);
    if (e.def.type === "duration") return new Json(Math.round((v as number) * 1e6));
    if (typeof v === "string") return v;
    // a list no flag or config key set is Go's nil slice
    if (Array.isArray(v) && v.length === 0) return new Json(null);
    return new Json(v);
  }
  return undefined;
}
