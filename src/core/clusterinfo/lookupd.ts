/**
 * Queries over nsqlookupd's HTTP API (NSQ internal/clusterinfo): each asks every lookupd in parallel and
 * answers with the union of what they know, as nsqadmin, nsq_stat and nsqd's channel pre-creation need it.
 * A list a lookupd leaves out counts as empty, as Go decodes it.
 * @module
 */
import { formatAddress } from "../net.ts";
import { endpointUrl, type GetOptions, getV1 } from "./http.ts";
import type { ChannelsResponse, LookupResponse, NodeProducer, NodesResponse, Producer, TopicsResponse } from "./types.ts";

/**
 * The union over the lookupds that answered, with the errors of those that did not (NSQ's `PartialErr`).
 * When none answered, the query throws instead.
 */
export interface PartialResult<T> {
  value: T;
  errors: Error[];
}

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
    addrs,
    async (a) => (await getV1<TopicsResponse>(endpointUrl(a, "/topics"), opts)).topics ?? [],
    (lists) => [...new Set(lists.flat())].sort(),
  );
}

/**
 * The channels of `topic` known to the lookupds, deduplicated and sorted.
 * @throws AggregateError when every lookupd failed
 * @example const { value: channels } = await getLookupdTopicChannels("t", ["127.0.0.1:4161"], { timeoutMs: 5000 });
 */
export function getLookupdTopicChannels(topic: string, addrs: string[], opts: GetOptions): Promise<PartialResult<string[]>> {
  return gather(
    addrs,
    async (a) => (await getV1<ChannelsResponse>(endpointUrl(a, "/channels", { topic }), opts)).channels ?? [],
    (lists) => [...new Set(lists.flat())].sort(),
  );
}

/**
 * The nsqd producing `topic`, one per `broadcast_address:http_port`, in the order the lookupds list them.
 * @throws AggregateError when every lookupd failed
 * @example const { value: producers } = await getLookupdTopicProducers("t", ["127.0.0.1:4161"], { timeoutMs: 5000 });
 */
export function getLookupdTopicProducers(topic: string, addrs: string[], opts: GetOptions): Promise<PartialResult<Producer[]>> {
  return gather(addrs, (a) => fetchLookupProducers(endpointUrl(a, "/lookup", { topic }), opts), uniqueProducers);
}

/**
 * Every nsqd registered with the lookupds (`/nodes`), one per `broadcast_address:http_port`.
 * @throws AggregateError when every lookupd failed
 * @example const { value: nodes } = await getLookupdProducers(["127.0.0.1:4161"], { timeoutMs: 5000 });
 */
export function getLookupdProducers(addrs: string[], opts: GetOptions): Promise<PartialResult<NodeProducer[]>> {
  return gather(addrs, async (a) => (await getV1<NodesResponse>(endpointUrl(a, "/nodes"), opts)).producers ?? [], uniqueProducers);
}

async function gather<R, T>(addrs: string[], query: (addr: string) => Promise<R>, union: (results: R[]) => T): Promise<PartialResult<T>> {
  // query inside the async wrapper so a malformed address fails that lookupd only, not the call
  const settled = await Promise.allSettled(addrs.map(async (a) => query(a)));
  const results: R[] = [];
  const errors: Error[] = [];
  for (const s of settled) {
    if (s.status === "fulfilled") results.push(s.value);
    else errors.push(s.reason instanceof Error ? s.reason : new Error(String(s.reason)));
  }
  if (errors.length > 0 && results.length === 0) {
    throw new AggregateError(errors, `Failed to query any nsqlookupd: ${errors.map((e) => e.message).join("\n")}`);
  }
  return { value: union(results), errors };
}

function uniqueProducers<P extends Producer>(lists: P[][]): P[] {
  const byAddr = new Map<string, P>();
  for (const p of lists.flat()) {
    const key = formatAddress(p.broadcast_address, p.http_port);
    if (!byAddr.has(key)) byAddr.set(key, p);
  }
  return [...byAddr.values()];
}
