/**
 * What a client of the cluster reads from nsqlookupd and nsqd over HTTP (NSQ internal/clusterinfo): the
 * response types and the queries, shared by the Consumer, nsq_stat, nsqd and nsqadmin.
 *
 * @example
 * import { getLookupdTopicProducers } from "./src/core/clusterinfo/index.ts";
 * const { value: producers, errors } = await getLookupdTopicProducers("t", ["127.0.0.1:4161"], { timeoutMs: 5000 });
 * @module
 */
export { endpointUrl, type GetOptions, getV1 } from "./http.ts";
export {
  fetchLookupProducers, getLookupdProducers, getLookupdTopicChannels, getLookupdTopicProducers, getLookupdTopics,
  type PartialResult,
} from "./lookupd.ts";
export type {
  ChannelsResponse, ChannelStats, ClientStats, LookupdInfo, LookupResponse, MemStats, NodeProducer, NodesResponse,
  Producer, PubCount, StatsResponse, TopicsResponse, TopicStats,
} from "./types.ts";
