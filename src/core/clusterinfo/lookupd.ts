/**
 * Queries over nsqlookupd's HTTP API (NSQ internal/clusterinfo): each asks every lookupd in parallel and
 * answers with the union of what they know, as nsqadmin, nsq_stat and nsqd's channel pre-creation need it.
 * A list a lookupd leaves out counts as empty, as Go decodes it.
 * @module
 */
import { formatAddress } from "../net.ts";
import { gather, type PartialResult } from "./gather.ts";
import { endpointUrl, type GetOptions, getV1 } from "./http.ts";
import type { ChannelsResponse, ClusterNode, LookupResponse, NodeProducer, NodesResponse, Producer, TopicsResponse } from "./types.ts";

/**
 * The producers of `topic` listed by one `/lookup` endpoint (see {@link endpointUrl}). The Consumer
 * polls one lookupd at a time with this.
 * @example await fetchLookupProducers("http://127.0.0.1:4161/lookup?topic=t", { timeoutMs: 60_000 })
 */
export async function fetchLookupProducers(endpoint: string, opts: GetOptions): Promise<Producer[]> {
  return (await getV1<LookupResponse>(endpoint, opts)).producers ?? [];
}

/**
 * All topics known to the lookupds, deduplicated and sorted.
 * @throws AggregateError `Failed to query any nsqlookupd: …` when every lookupd failed
 * @example const { value: topics, errors } = await getLookupdTopics(["127.0.0.1:4161"], { timeoutMs: 5000 });
 */
export function getLookupdTopics(addrs: string[], opts: GetOptions): Promise<PartialResult<string[]>> {
  return gather(
    "nsqlookupd",
    addrs,
    async (a) => (await getV1<TopicsResponse>(endpointUrl(a, "/topics"), opts)).topics ?? [],
    (lists) => [...new Set(lists.flat())].sort(compareStrings),
  );
}

/**
 * The channels of `topic` known to the lookupds, deduplicated and sorted.
 * @throws AggregateError when every lookupd failed
 * @example const { value: channels } = await getLookupdTopicChannels("t", ["127.0.0.1:4161"], { timeoutMs: 5000 });
 */
export function getLookupdTopicChannels(topic: string, addrs: string[], opts: GetOptions): Promise<PartialResult<string[]>> {
  return gather(
    "nsqlookupd",
    addrs,
    async (a) => (await getV1<ChannelsResponse>(endpointUrl(a, "/channels", { topic }), opts)).channels ?? [],
    (lists) => [...new Set(lists.flat())].sort(compareStrings),
  );
}

/**
 * The nsqd producing `topic`, one per `broadcast_address:http_port`, in the order the lookupds list them.
 * @throws AggregateError when every lookupd failed
 * @example const { value: producers } = await getLookupdTopicProducers("t", ["127.0.0.1:4161"], { timeoutMs: 5000 });
 */
export function getLookupdTopicProducers(topic: string, addrs: string[], opts: GetOptions): Promise<PartialResult<Producer[]>> {
  return gather("nsqlookupd", addrs, (a) => fetchLookupProducers(endpointUrl(a, "/lookup", { topic }), opts), (lists) => {
    const byAddr = new Map<string, Producer>();
    for (const p of lists.flat()) {
      const key = formatAddress(p.broadcast_address, p.http_port);
      if (!byAddr.has(key)) byAddr.set(key, p);
    }
    return [...byAddr.values()];
  });
}

/**
 * Every nsqd registered with the lookupds (`/nodes`), as nsqadmin lists them (NSQ GetLookupdProducers): one per
 * `broadcast_address:tcp_port`, with the lookupds that list it, its topics sorted, `out_of_date` when its version
 * is below the newest, sorted by hostname.
 * @throws AggregateError when every lookupd failed
 * @example const { value: nodes } = await getLookupdProducers(["127.0.0.1:4161"], { timeoutMs: 5000 });
 */
export function getLookupdProducers(addrs: string[], opts: GetOptions): Promise<PartialResult<ClusterNode[]>> {
  return gather(
    "nsqlookupd",
    addrs,
    async (a) => ({ addr: a, producers: (await getV1<NodesResponse>(endpointUrl(a, "/nodes"), opts)).producers ?? [] }),
    (answers) => {
      const byAddr = new Map<string, ClusterNode>();
      for (const { addr, producers } of answers) {
        for (const p of producers) {
          const key = formatAddress(p.broadcast_address, p.tcp_port);
          let node = byAddr.get(key);
          if (node === undefined) {
            node = clusterNode(p);
            byAddr.set(key, node);
          }
          node.remote_addresses!.push(`${addr}/${p.remote_address || "N/A"}`);
        }
      }
      const nodes = [...byAddr.values()];
      const newest = nodes.reduce((max, n) => (compareVersions(n.version, max) > 0 ? n.version : max), "0.0.0");
      for (const n of nodes) n.out_of_date = compareVersions(n.version, newest) < 0;
      return nodes.sort((a, b) => compareStrings(a.hostname, b.hostname));
    },
  );
}

function clusterNode(p: NodeProducer): ClusterNode {
  const topics = (p.topics ?? []).map((topic, i) => ({ topic, tombstoned: p.tombstones?.[i] ?? false }));
  topics.sort((a, b) => compareStrings(a.topic, b.topic));
  return {
    remote_addresses: [],
    remote_address: p.remote_address,
    hostname: p.hostname,
    broadcast_address: p.broadcast_address,
    tcp_port: p.tcp_port,
    http_port: p.http_port,
    version: p.version,
    ...(p.topology_zone ? { topology_zone: p.topology_zone } : {}),
    ...(p.topology_region ? { topology_region: p.topology_region } : {}),
    topics: topics.length > 0 ? topics : null,
    out_of_date: false,
  };
}

/** Go's byte-wise string order (sort.Strings, cmp.Compare on strings). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** blang/semver order of `major.minor.patch[-pre]`; an unparsable version counts as 0.0.0, as NSQ does. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x.nums[i] !== y.nums[i]) return x.nums[i]! - y.nums[i]!;
  // a pre-release sorts below its release
  if (x.pre === y.pre) return 0;
  if (x.pre === "") return 1;
  if (y.pre === "") return -1;
  return compareStrings(x.pre, y.pre);
}

function parseVersion(v: string): { nums: number[]; pre: string } {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(v);
  return m === null ? { nums: [0, 0, 0], pre: "" } : { nums: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ?? "" };
}
