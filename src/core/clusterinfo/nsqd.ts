/**
 * Queries over nsqd's HTTP API (NSQ internal/clusterinfo): topics, producers and `/stats` of many nsqd at
 * once, in parallel, with the errors of those that did not answer (NSQ's `PartialErr`).
 * @module
 */
import { formatAddress } from "../net.ts";
import { gather, type PartialResult } from "./gather.ts";
import { endpointUrl, type GetOptions, getV1 } from "./http.ts";
import { compareStrings } from "./lookupd.ts";
import type { ClusterNode, NsqdInfo, Producer, StatsResponse, TopicStats } from "./types.ts";

/** What an nsqd is reached by: its HTTP address is `broadcast_address:http_port`. */
export type NsqdAddress = Pick<Producer, "broadcast_address" | "http_port" | "hostname">;

/** One nsqd's `/stats` topics, with the node (`broadcast_address:http_port`) that answered. */
export interface NodeStats<P extends NsqdAddress = NsqdAddress> {
  /** `broadcast_address:http_port`, as nsqadmin names a node. */
  node: string;
  producer: P;
  topics: TopicStats[];
}

/** Which part of `/stats` to ask for (nsqd's `topic`, `channel` and `include_clients` parameters). */
export interface StatsFilter {
  topic?: string;
  channel?: string;
  includeClients: boolean;
}

/** The HTTP address nsqadmin names an nsqd by. */
export function nodeAddress(p: NsqdAddress): string {
  return formatAddress(p.broadcast_address, p.http_port);
}

/**
 * `/stats?format=json` of every producer (NSQ GetNSQDStats before aggregation); topics other than
 * `filter.topic` are left out.
 * @throws AggregateError `Failed to query any nsqd: …` when every nsqd failed
 * @example const { value } = await getNSQDStats(producers, { topic: "t", includeClients: false }, { timeoutMs: 5000 });
 */
export function getNSQDStats<P extends NsqdAddress>(producers: readonly P[], filter: StatsFilter, opts: GetOptions): Promise<PartialResult<NodeStats<P>[]>> {
  const query: Record<string, string> = { format: "json" };
  if (filter.topic) {
    query.topic = filter.topic;
    if (filter.channel) query.channel = filter.channel;
  }
  if (!filter.includeClients) query.include_clients = "false";
  return gather(
    "nsqd",
    producers,
    async (p) => {
      const node = nodeAddress(p);
      const stats = await getV1<StatsResponse>(endpointUrl(node, "/stats", query), opts);
      const topics = (stats.topics ?? []).filter((t) => !filter.topic || t.topic_name === filter.topic);
      return { node, producer: p, topics };
    },
    (all) => all,
  );
}

/**
 * The topics of the given nsqd, deduplicated and sorted (NSQ GetNSQDTopics).
 * @throws AggregateError when every nsqd failed
 */
export function getNSQDTopics(addrs: string[], opts: GetOptions): Promise<PartialResult<string[]>> {
  return gather(
    "nsqd",
    addrs,
    async (a) => (await statsTopics(a, {}, opts)).map((t) => t.topic_name),
    (lists) => [...new Set(lists.flat())].sort(compareStrings),
  );
}

/**
 * The given nsqd as nodes, from their `/info` and `/stats` (NSQ GetNSQDProducers): what nsqadmin lists
 * when it is given `--nsqd-http-address` instead of lookupds.
 * @throws AggregateError when every nsqd failed
 */
export function getNSQDProducers(addrs: string[], opts: GetOptions): Promise<PartialResult<ClusterNode[]>> {
  return gather(
    "nsqd",
    addrs,
    async (a): Promise<ClusterNode> => {
      const info = await getV1<NsqdInfo>(endpointUrl(a, "/info"), opts);
      const topics = await statsTopics(a, {}, opts);
      return {
        remote_addresses: null,
        remote_address: "",
        hostname: info.hostname,
        broadcast_address: info.broadcast_address,
        tcp_port: info.tcp_port,
        http_port: info.http_port,
        version: info.version,
        topics: topics.length > 0 ? topics.map((t) => ({ topic: t.topic_name, tombstoned: false })) : null,
        out_of_date: false,
      };
    },
    (nodes) => nodes,
  );
}

/**
 * The given nsqd that have `topic` (NSQ GetNSQDTopicProducers); an nsqd too old to report its broadcast
 * address is reached at the address it was given.
 * @throws AggregateError when every nsqd failed
 */
export function getNSQDTopicProducers(topic: string, addrs: string[], opts: GetOptions): Promise<PartialResult<Producer[]>> {
  return gather(
    "nsqd",
    addrs,
    async (a): Promise<Producer[]> => {
      const topics = await statsTopics(a, { topic }, opts);
      if (!topics.some((t) => t.topic_name === topic)) return [];
      const info = await getV1<NsqdInfo>(endpointUrl(a, "/info"), opts);
      const given = new URL(`http://${a}`);
      const host = given.hostname.replace(/^\[(.*)\]$/, "$1");
      return [
        {
          remote_address: "",
          hostname: info.hostname || host,
          broadcast_address: info.broadcast_address || host,
          tcp_port: info.tcp_port,
          http_port: info.broadcast_address ? info.http_port : Number(given.port),
          version: info.version,
        },
      ];
    },
    (lists) => lists.flat(),
  );
}

async function statsTopics(addr: string, query: Record<string, string>, opts: GetOptions): Promise<TopicStats[]> {
  const stats = await getV1<StatsResponse>(endpointUrl(addr, "/stats", { format: "json", ...query, include_clients: "false" }), opts);
  return stats.topics ?? [];
}
