/**
 * nsqlookupd's HTTP API (nsqlookupd/http.go) as a Hono app. Parameters come from the query string; the
 * JSON is Go's: map keys sorted, struct fields in declaration order, empty lists as `[]`. `/debug/pprof` is
 * Go's profiler and is not served (404).
 * @module
 */
import { Hono } from "hono";
import { ApiError, Json, type Query, queryGet, RawJson, reqParams, topicChannelArgs } from "../../core/http.ts";
import { type ApiEnv, type ApiRoute, mountRoutes } from "../../core/http-router.ts";
import { isValidTopicName } from "../../core/protocol/names.ts";
import { NSQ_VERSION } from "../../core/version.ts";
import type { NSQLookupd } from "./lookupd.ts";
import { filterByActive, filterRegistrations, keys, type PeerInfo, subKeys } from "./registration-db.ts";

/** `time.Time{}.UnixNano()`: what Go reports as `tombstoned_at` of a producer never tombstoned. */
const GO_ZERO_TIME_NS = "-6795364578871345152";

/** The nsqlookupd HTTP API: a plain Hono app (`app.request()` in tests, `app.fetch` under Bun.serve). */
export function lookupdApp(l: NSQLookupd): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const route = (method: string, path: string, handler: ApiRoute["handler"]): ApiRoute => {
    return { method, path, kind: "v1", log: true, handler };
  };
  mountRoutes(
    app,
    [
      { method: "GET", path: "/ping", kind: "plain", log: true, handler: () => "OK" },
      route("GET", "/info", () => new Json({ version: NSQ_VERSION })),
      route("GET", "/debug", () => debug(l)),
      route("GET", "/lookup", (c) => lookup(l, reqParams(c.req.raw))),
      route("GET", "/topics", () => new Json({ topics: keys(l.db.findRegistrations("topic", "*", "")) })),
      route("GET", "/channels", (c) => channels(l, reqParams(c.req.raw))),
      route("GET", "/nodes", () => nodes(l)),
      route("POST", "/topic/create", (c) => createTopic(l, reqParams(c.req.raw))),
      route("POST", "/topic/delete", (c) => deleteTopic(l, reqParams(c.req.raw))),
      route("POST", "/channel/create", (c) => createChannel(l, reqParams(c.req.raw))),
      route("POST", "/channel/delete", (c) => deleteChannel(l, reqParams(c.req.raw))),
      route("POST", "/topic/tombstone", (c) => tombstoneTopicProducer(l, reqParams(c.req.raw))),
    ],
    l.log,
  );
  return app;
}

/** ReqParams.Get: present (possibly empty), or the error `code`. */
function param(q: Query, key: string, code: string): string {
  const v = queryGet(q, key);
  if (v === undefined) throw new ApiError(400, code);
  return v;
}

/** PeerInfo as Go marshals it. */
function peerInfoJson(p: PeerInfo) {
  return {
    remote_address: p.remoteAddress,
    hostname: p.hostname,
    broadcast_address: p.broadcastAddress,
    tcp_port: p.tcpPort,
    http_port: p.httpPort,
    version: p.version,
    topology_zone: p.topologyZone,
    topology_region: p.topologyRegion,
  };
}

function lookup(l: NSQLookupd, q: Query): Json {
  const topic = param(q, "topic", "MISSING_ARG_TOPIC");
  if (l.db.findRegistrations("topic", topic, "").length === 0) throw new ApiError(404, "TOPIC_NOT_FOUND");
  const o = l.opts;
  const all = l.db.findProducers("topic", topic, "");
  const producers = filterByActive(all, o.inactiveProducerTimeout, o.tombstoneLifetime, l.now());
  return new Json({
    channels: subKeys(l.db.findRegistrations("channel", topic, "*")),
    producers: producers.map((p) => peerInfoJson(p.peerInfo)),
  });
}

function channels(l: NSQLookupd, q: Query): Json {
  const topic = param(q, "topic", "MISSING_ARG_TOPIC");
  return new Json({ channels: subKeys(l.db.findRegistrations("channel", topic, "*")) });
}

/** Every active nsqd, tombstoned or not, with its topics and whether it is tombstoned in each. */
function nodes(l: NSQLookupd): Json {
  const now = l.now();
  const { inactiveProducerTimeout, tombstoneLifetime } = l.opts;
  const producers = filterByActive(l.db.findProducers("client", "", ""), inactiveProducerTimeout, 0, now).map((p) => {
    const topics = keys(filterRegistrations(l.db.lookupRegistrations(p.peerInfo.id), "topic", "*", ""));
    const tombstones = topics.map(
      (t) =>
        l.db
          .findProducers("topic", t, "")
          .find((tp) => tp.peerInfo === p.peerInfo)
          ?.isTombstoned(tombstoneLifetime, now) ?? false,
    );
    return { ...peerInfoJson(p.peerInfo), tombstones, topics };
  });
  return new Json({ producers });
}

/**
 * Every registration with producers, as `"category:key:subkey"` → the producers with their state. Built as
 * text: times are int64 nanoseconds, beyond what a JavaScript number prints exactly.
 */
function debug(l: NSQLookupd): RawJson {
  const q = JSON.stringify;
  const ns = (ms: number) => String(BigInt(Math.round(ms * 1000)) * 1000n);
  const data = new Map<string, string[]>();
  for (const { reg, producers } of l.db.entries()) {
    const key = `${reg.category}:${reg.key}:${reg.subKey}`;
    for (const p of producers) {
      const i = p.peerInfo;
      const list = data.get(key) ?? [];
      data.set(key, list);
      list.push(
        `{"broadcast_address":${q(i.broadcastAddress)},"hostname":${q(i.hostname)},"http_port":${i.httpPort},` +
          `"id":${q(i.id)},"last_update":${ns(i.lastUpdate)},"tcp_port":${i.tcpPort},"tombstoned":${p.tombstoned},` +
          `"tombstoned_at":${p.tombstoned ? ns(p.tombstonedAt) : GO_ZERO_TIME_NS},` +
          `"topology_region":${q(i.topologyRegion)},"topology_zone":${q(i.topologyZone)},"version":${q(i.version)}}`,
      );
    }
  }
  const entries = [...data.keys()].sort().map((k) => `${q(k)}:[${data.get(k)!.join(",")}]`);
  return new RawJson(`{${entries.join(",")}}`);
}

function createTopic(l: NSQLookupd, q: Query): null {
  const topic = param(q, "topic", "MISSING_ARG_TOPIC");
  if (!isValidTopicName(topic)) throw new ApiError(400, "INVALID_ARG_TOPIC");
  l.log.info(`DB: adding topic(${topic})`);
  l.db.addRegistration({ category: "topic", key: topic, subKey: "" });
  return null;
}

/** Removes the topic and its channels from this lookupd; nsqd is not told. */
function deleteTopic(l: NSQLookupd, q: Query): null {
  const topic = param(q, "topic", "MISSING_ARG_TOPIC");
  for (const r of l.db.findRegistrations("channel", topic, "*")) {
    l.log.info(`DB: removing channel(${r.subKey}) from topic(${topic})`);
    l.db.removeRegistration(r);
  }
  for (const r of l.db.findRegistrations("topic", topic, "")) {
    l.log.info(`DB: removing topic(${topic})`);
    l.db.removeRegistration(r);
  }
  return null;
}

function createChannel(l: NSQLookupd, q: Query): null {
  const { topic, channel } = topicChannelArgs(q);
  l.log.info(`DB: adding channel(${channel}) in topic(${topic})`);
  l.db.addRegistration({ category: "channel", key: topic, subKey: channel });
  l.log.info(`DB: adding topic(${topic})`);
  l.db.addRegistration({ category: "topic", key: topic, subKey: "" });
  return null;
}

function deleteChannel(l: NSQLookupd, q: Query): null {
  const { topic, channel } = topicChannelArgs(q);
  const regs = l.db.findRegistrations("channel", topic, channel);
  if (regs.length === 0) throw new ApiError(404, "CHANNEL_NOT_FOUND");
  l.log.info(`DB: removing channel(${channel}) from topic(${topic})`);
  for (const r of regs) l.db.removeRegistration(r);
  return null;
}

/** Hides the producer `node` (`broadcast_address:http_port`) of the topic from `/lookup` for --tombstone-lifetime. */
function tombstoneTopicProducer(l: NSQLookupd, q: Query): null {
  const topic = param(q, "topic", "MISSING_ARG_TOPIC");
  const node = param(q, "node", "MISSING_ARG_NODE");
  l.log.info(`DB: setting tombstone for producer@${node} of topic(${topic})`);
  const now = l.now();
  for (const p of l.db.findProducers("topic", topic, "")) {
    if (`${p.peerInfo.broadcastAddress}:${p.peerInfo.httpPort}` === node) p.tombstone(now);
  }
  return null;
}
