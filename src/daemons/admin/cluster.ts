/**
 * What nsqadmin shows of the cluster: nsqd's `/stats` aggregated over every node (NSQ clusterinfo TopicStats.Add,
 * ChannelStats.Add, E2eProcessingLatencyAggregate.Add) and the queries behind each page and API route. Each
 * answer carries the failures of the daemons that did not answer; a query none of them answered throws.
 * @module
 */
import {
  type ChannelStats, type ClientStats, type ClusterNode, type ClusterSource, compareStrings, type GetOptions, getLookupdTopicChannels,
  getLookupdTopicProducers, getLookupdTopics, getNSQDStats, getNSQDTopics, getProducers, getTopicProducers, nodeAddress, type NodeStats, type NsqdAddress,
  type PartialResult, type TopicStats,
} from "../../core/clusterinfo/index.ts";
import type { QuantileResult } from "../../core/quantile.ts";

/** One percentile of an e2e latency aggregate; a node's own also keeps nsqd's `value`. Keys in Go's map order. */
export interface Percentile {
  average: number;
  count: number;
  max: number;
  min: number;
  quantile: number;
  value?: number;
}

/** NSQ's E2eProcessingLatencyAggregate: percentiles averaged over nodes, weighted by their counts. */
export interface E2eAggregate {
  count: number;
  percentiles: Percentile[] | null;
  topic: string;
  channel: string;
  host: string;
}

/** A client of a channel on one node (NSQ clusterinfo.ClientStats): `connected` in nanoseconds. */
export interface AdminClientStats {
  node: string;
  remote_address: string;
  version: string;
  client_id: string;
  hostname: string;
  user_agent: string;
  connect_ts: number;
  connected: number;
  in_flight_count: number;
  ready_count: number;
  finish_count: number;
  requeue_count: number;
  message_count: number;
  sample_rate: number;
  deflate: boolean;
  snappy: boolean;
  authed: boolean;
  auth_identity: string;
  auth_identity_url: string;
  node_topology_region?: string;
  node_topology_zone?: string;
  topology_region?: string;
  topology_zone?: string;
  tls: boolean;
  tls_cipher_suite: string;
  tls_version: string;
  tls_negotiated_protocol: string;
  tls_negotiated_protocol_is_mutual: boolean;
}

/** A channel on one node, or (`node: "*"`) over all nodes (NSQ clusterinfo.ChannelStats). */
export interface AdminChannelStats {
  node: string;
  hostname: string;
  topic_name: string;
  channel_name: string;
  depth: number;
  memory_depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  requeue_count: number;
  timeout_count: number;
  message_count: number;
  zone_local_msg_count?: number;
  region_local_msg_count?: number;
  global_msg_count?: number;
  client_count: number;
  nodes: AdminChannelStats[] | null;
  clients: AdminClientStats[] | null;
  paused: boolean;
  e2e_processing_latency: E2eAggregate | null;
}

/** A topic on one node, or (`node: "*"`) over all nodes (NSQ clusterinfo.TopicStats). */
export interface AdminTopicStats {
  node: string;
  hostname: string;
  topic_name: string;
  depth: number;
  memory_depth: number;
  backend_depth: number;
  message_count: number;
  /** Messages handed to the topic's channels: the sum of their message counts. */
  delivery_msg_count: number;
  nodes: AdminTopicStats[] | null;
  channels: AdminChannelStats[] | null;
  paused: boolean;
  e2e_processing_latency: E2eAggregate | null;
}

/** nsqadmin's `/api/counter` entry: the messages of one channel on one node. */
export interface CounterStats {
  node: string;
  topic_name: string;
  channel_name: string;
  message_count: number;
}

/**
 * An answer with the failures met on the way, one group per query that partly failed (NSQ appends one
 * `PartialErr` message per query).
 */
export interface Result<T> {
  value: T;
  warnings: Error[][];
}

/** A node name nsqadmin does not know (`404 NODE_NOT_FOUND`). */
export class NodeNotFound extends Error {
  override readonly name = "NodeNotFound";
}

function e2eOfNode(q: QuantileResult | undefined): E2eAggregate {
  const count = q?.count ?? 0;
  const percentiles = q?.percentiles
    ? q.percentiles.map((p) => ({ average: p.value, count, max: p.value, min: p.value, quantile: p.quantile, value: p.value }))
    : null;
  return { count, percentiles, topic: "", channel: "", host: "" };
}

/** E2eProcessingLatencyAggregate.Add, including its min (the smaller of the added max and the running max). */
function addE2e(into: E2eAggregate, a: E2eAggregate | null): void {
  into.host = "*";
  if (a === null) return;
  into.count += a.count;
  for (const v of a.percentiles ?? []) {
    into.percentiles ??= [];
    let p = into.percentiles.find((x) => x.quantile === v.quantile);
    if (p === undefined) {
      p = { average: 0, count: 0, max: 0, min: 0, quantile: v.quantile };
      into.percentiles.push(p);
    }
    p.max = Math.max(v.max, p.max);
    p.min = Math.min(v.max, p.max);
    p.count += v.count;
    p.average += ((v.average - p.average) * v.count) / p.count || 0;
  }
}

function clientOfNode(c: ClientStats, node: string, producer: NsqdAddress & { topology_zone?: string; topology_region?: string }): AdminClientStats {
  const nowSec = Math.floor(Date.now() / 1000);
  return {
    node,
    remote_address: c.remote_address,
    version: c.version,
    client_id: c.client_id,
    hostname: c.hostname,
    user_agent: c.user_agent,
    connect_ts: c.connect_ts,
    connected: (nowSec - c.connect_ts) * 1e9,
    in_flight_count: c.in_flight_count,
    ready_count: c.ready_count,
    finish_count: c.finish_count,
    requeue_count: c.requeue_count,
    message_count: c.message_count,
    sample_rate: c.sample_rate,
    deflate: c.deflate,
    snappy: c.snappy,
    authed: c.authed ?? false,
    auth_identity: c.auth_identity ?? "",
    auth_identity_url: c.auth_identity_url ?? "",
    ...(producer.topology_region ? { node_topology_region: producer.topology_region } : {}),
    ...(producer.topology_zone ? { node_topology_zone: producer.topology_zone } : {}),
    ...(c.topology_region ? { topology_region: c.topology_region } : {}),
    ...(c.topology_zone ? { topology_zone: c.topology_zone } : {}),
    tls: c.tls,
    tls_cipher_suite: c.tls_cipher_suite,
    tls_version: c.tls_version,
    tls_negotiated_protocol: c.tls_negotiated_protocol,
    tls_negotiated_protocol_is_mutual: c.tls_negotiated_protocol_is_mutual,
  };
}

function channelOfNode(c: ChannelStats, topic: string, ns: NodeStats): AdminChannelStats {
  const hostname = ns.producer.hostname;
  return {
    node: ns.node,
    hostname,
    topic_name: topic,
    channel_name: c.channel_name,
    depth: c.depth,
    memory_depth: c.depth - c.backend_depth,
    backend_depth: c.backend_depth,
    in_flight_count: c.in_flight_count,
    deferred_count: c.deferred_count,
    requeue_count: c.requeue_count,
    timeout_count: c.timeout_count,
    message_count: c.message_count,
    ...(c.zone_local_msg_count ? { zone_local_msg_count: c.zone_local_msg_count } : {}),
    ...(c.region_local_msg_count ? { region_local_msg_count: c.region_local_msg_count } : {}),
    ...(c.global_msg_count ? { global_msg_count: c.global_msg_count } : {}),
    client_count: c.client_count,
    nodes: null,
    clients: c.clients === null ? null : c.clients.map((cl) => clientOfNode(cl, ns.node, ns.producer)),
    paused: c.paused,
    e2e_processing_latency: e2eOfNode(c.e2e_processing_latency),
  };
}

function topicOfNode(t: TopicStats, ns: NodeStats): AdminTopicStats {
  const channels = (t.channels ?? []).map((c) => channelOfNode(c, t.topic_name, ns));
  return {
    node: ns.node,
    hostname: ns.producer.hostname,
    topic_name: t.topic_name,
    depth: t.depth,
    memory_depth: t.depth - t.backend_depth,
    backend_depth: t.backend_depth,
    message_count: t.message_count,
    delivery_msg_count: channels.reduce((n, c) => n + c.message_count, 0),
    nodes: null,
    channels: t.channels === null ? null : channels,
    paused: t.paused,
    e2e_processing_latency: e2eOfNode(t.e2e_processing_latency),
  };
}

/** An empty aggregate, as Go's zero TopicStats{TopicName} marshals before any node is added. */
export function emptyTopic(topic: string): AdminTopicStats {
  return {
    node: "",
    hostname: "",
    topic_name: topic,
    depth: 0,
    memory_depth: 0,
    backend_depth: 0,
    message_count: 0,
    delivery_msg_count: 0,
    nodes: null,
    channels: null,
    paused: false,
    e2e_processing_latency: null,
  };
}

function emptyChannel(topic: string, channel: string): AdminChannelStats {
  return {
    node: "*",
    hostname: "",
    topic_name: topic,
    channel_name: channel,
    depth: 0,
    memory_depth: 0,
    backend_depth: 0,
    in_flight_count: 0,
    deferred_count: 0,
    requeue_count: 0,
    timeout_count: 0,
    message_count: 0,
    client_count: 0,
    nodes: [],
    clients: null,
    paused: false,
    e2e_processing_latency: { count: 0, percentiles: null, topic, channel, host: "*" },
  };
}

const SUMMED_CHANNEL_FIELDS = [
  "depth", "memory_depth", "backend_depth", "in_flight_count", "deferred_count", "requeue_count", "timeout_count", "message_count",
  "client_count",
] as const;

/** ChannelStats.Add: sums, paused if paused anywhere, every node's row and clients (sorted by node and topology). */
function addChannel(into: AdminChannelStats, a: AdminChannelStats): void {
  for (const f of SUMMED_CHANNEL_FIELDS) into[f] += a[f];
  for (const f of ["zone_local_msg_count", "region_local_msg_count", "global_msg_count"] as const) {
    if (a[f]) into[f] = (into[f] ?? 0) + a[f];
  }
  into.paused ||= a.paused;
  into.nodes!.push(a);
  into.nodes!.sort((x, y) => compareStrings(x.hostname, y.hostname));
  addE2e(into.e2e_processing_latency!, a.e2e_processing_latency);
  if (a.clients !== null) {
    into.clients = [...(into.clients ?? []), ...a.clients].sort(clientsByNodeTopology);
  }
}

/** TopicStats.Add: sums, channels merged by name, every node's row sorted by hostname. */
function addTopic(into: AdminTopicStats, a: AdminTopicStats): void {
  into.node = "*";
  into.depth += a.depth;
  into.memory_depth += a.memory_depth;
  into.backend_depth += a.backend_depth;
  into.message_count += a.message_count;
  into.delivery_msg_count += a.delivery_msg_count;
  into.paused ||= a.paused;
  for (const c of a.channels ?? []) {
    into.channels ??= [];
    let agg = into.channels.find((x) => x.channel_name === c.channel_name);
    if (agg === undefined) {
      agg = emptyChannel(into.topic_name, c.channel_name);
      into.channels.push(agg);
    }
    addChannel(agg, c);
  }
  into.nodes = [...(into.nodes ?? []), a].sort((x, y) => compareStrings(x.hostname, y.hostname));
  into.e2e_processing_latency ??= { count: 0, percentiles: null, topic: into.topic_name, channel: "", host: "*" };
  addE2e(into.e2e_processing_latency, a.e2e_processing_latency);
}

/** NSQ ClientsByNodeTopologyCmp: by node, then the clients in the node's zone and region first. */
function clientsByNodeTopology(a: AdminClientStats, b: AdminClientStats): number {
  if (a.node !== b.node) return compareStrings(a.node, b.node);
  const region = a.node_topology_region ?? "";
  const zone = a.node_topology_zone ?? "";
  const rank = (c: AdminClientStats) =>
    (c.topology_region ?? "") === region && (c.topology_zone ?? "") === zone ? 0 : (c.topology_region ?? "") === region ? 1 : 2;
  return (
    rank(a) - rank(b) ||
    compareStrings(a.topology_region ?? "", b.topology_region ?? "") ||
    compareStrings(a.topology_zone ?? "", b.topology_zone ?? "")
  );
}

/** Every node's topics aggregated per topic, in name order. */
export function aggregateTopics(stats: NodeStats[]): AdminTopicStats[] {
  const byName = new Map<string, AdminTopicStats>();
  for (const ns of stats) {
    for (const t of ns.topics) {
      let agg = byName.get(t.topic_name);
      if (agg === undefined) {
        agg = emptyTopic(t.topic_name);
        byName.set(t.topic_name, agg);
      }
      addTopic(agg, topicOfNode(t, ns));
    }
  }
  return [...byName.values()].sort((a, b) => compareStrings(a.topic_name, b.topic_name));
}

/** Go's `maybeWarnMsg`: `WARNING: ` and each failed query's errors (newline-joined), `; `-joined; "" when none. */
export function warningMessage(warnings: Error[][]): string {
  if (warnings.length === 0) return "";
  return `WARNING: ${warnings.map((g) => g.map((e) => e.message).join("\n")).join("; ")}`;
}

/** The queries of nsqadmin's pages and API over the cluster its options name. */
export class Cluster {
  constructor(
    /** Read at each query: `PUT /config/nsqlookupd_http_addresses` changes it. */
    private readonly source: () => ClusterSource,
    private readonly http: GetOptions,
  ) {}

  private collect<T>(warnings: Error[][], r: PartialResult<T>): T {
    if (r.errors.length > 0) warnings.push(r.errors);
    return r.value;
  }

  /** The topic names (lookupds' union, or the nsqd's), sorted. */
  async topics(): Promise<Result<string[]>> {
    const src = this.source();
    const warnings: Error[][] = [];
    const r = src.lookupd.length > 0 ? await getLookupdTopics(src.lookupd, this.http) : await getNSQDTopics(src.nsqd, this.http);
    return { value: this.collect(warnings, r), warnings };
  }

  /** Topics lookupd knows that no nsqd produces, with their channels (`/api/topics?inactive=true`). */
  async inactiveTopics(): Promise<Result<Record<string, string[]>>> {
    const { value: topics, warnings } = await this.topics();
    const src = this.source();
    const inactive: Record<string, string[]> = {};
    if (src.lookupd.length === 0) return { value: inactive, warnings };
    await Promise.all(
      topics.map(async (t) => {
        const producers = await getLookupdTopicProducers(t, src.lookupd, this.http).catch(() => null);
        if (producers !== null && producers.value.length > 0) return;
        inactive[t] = (await getLookupdTopicChannels(t, src.lookupd, this.http).catch(() => null))?.value ?? [];
      }),
    );
    const sorted = Object.fromEntries(Object.entries(inactive).sort(([a], [b]) => compareStrings(a, b)));
    return { value: sorted, warnings };
  }

  /** One topic aggregated over the nsqd that have it. */
  async topic(name: string): Promise<Result<AdminTopicStats>> {
    const warnings: Error[][] = [];
    const producers = this.collect(warnings, await getTopicProducers(name, this.source(), this.http));
    const stats = this.collect(warnings, await getNSQDStats(producers, { topic: name, includeClients: false }, this.http));
    return { value: aggregateTopics(stats)[0] ?? emptyTopic(name), warnings };
  }

  /** One channel aggregated over the nsqd that have it, with its clients; null when no nsqd has it. */
  async channel(topic: string, channel: string): Promise<Result<AdminChannelStats | null>> {
    const warnings: Error[][] = [];
    const producers = this.collect(warnings, await getTopicProducers(topic, this.source(), this.http));
    const stats = this.collect(warnings, await getNSQDStats(producers, { topic, channel, includeClients: true }, this.http));
    const agg = aggregateTopics(stats)[0]?.channels?.find((c) => c.channel_name === channel) ?? null;
    return { value: agg, warnings };
  }

  /** Every nsqd of the cluster. */
  async nodes(): Promise<Result<ClusterNode[]>> {
    const warnings: Error[][] = [];
    return { value: this.collect(warnings, await getProducers(this.source(), this.http)), warnings };
  }

  /**
   * One nsqd (`broadcast_address:http_port`) and its topics, channels and clients.
   * @throws NodeNotFound when no nsqd of the cluster has that address
   */
  async node(node: string): Promise<Result<{ node: ClusterNode; topics: AdminTopicStats[]; total_messages: number; total_clients: number }>> {
    const warnings: Error[][] = [];
    const nodes = this.collect(warnings, await getProducers(this.source(), this.http));
    const found = nodes.find((n) => nodeAddress(n) === node);
    if (found === undefined) throw new NodeNotFound("NODE_NOT_FOUND");
    const { value: stats } = await getNSQDStats([found], { includeClients: true }, this.http);
    const topics = stats.flatMap((ns) => ns.topics.map((t) => topicOfNode(t, ns)));
    let totalClients = 0;
    let totalMessages = 0;
    for (const t of topics) {
      for (const c of t.channels ?? []) totalClients += c.clients?.length ?? 0;
      totalMessages += t.message_count;
    }
    return { value: { node: found, topics, total_messages: totalMessages, total_clients: totalClients }, warnings };
  }

  /** Every topic of every nsqd, aggregated (the streams page and the admin's own samples). */
  async allTopics(): Promise<Result<AdminTopicStats[]>> {
    const warnings: Error[][] = [];
    const nodes = this.collect(warnings, await getProducers(this.source(), this.http));
    const stats = this.collect(warnings, await getNSQDStats(nodes, { includeClients: false }, this.http));
    return { value: aggregateTopics(stats), warnings };
  }

  /** Messages per channel per node, keyed `topic:channel:node` (`/api/counter`). */
  async counter(): Promise<Result<Record<string, CounterStats>>> {
    const { value: topics, warnings } = await this.allTopics();
    const entries: [string, CounterStats][] = [];
    for (const t of topics) {
      for (const c of t.channels ?? []) {
        for (const n of c.nodes ?? []) {
          const key = `${t.topic_name}:${c.channel_name}:${n.node}`;
          entries.push([key, { node: n.node, topic_name: t.topic_name, channel_name: c.channel_name, message_count: n.message_count }]);
        }
      }
    }
    return { value: Object.fromEntries(entries.sort(([a], [b]) => compareStrings(a, b))), warnings };
  }
}
