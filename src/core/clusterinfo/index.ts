/**
 * What a client of the cluster reads from nsqlookupd and nsqd over HTTP (NSQ internal/clusterinfo): the
 * response types, the queries and nsqadmin's actions, shared by the Consumer, nsq_stat, nsqd and nsqadmin.
 *
 * @example
 * import { getLookupdTopicProducers } from "./src/core/clusterinfo/index.ts";
 * const { value: producers, errors } = await getLookupdTopicProducers("t", ["127.0.0.1:4161"], { timeoutMs: 5000 });
 * @module
 */
export {
  type ClusterSource, createTopicChannel, getProducers, getTopicProducers, type QueueAction, queueAction, tombstoneNodeForTopic,
} from "./actions.ts";
export type { PartialResult } from "./gather.ts";
export { endpointUrl, type GetOptions, getV1, postV1, UpstreamError } from "./http.ts";
export {
  compareStrings, compareVersions, fetchLookupProducers, getLookupdProducers, getLookupdTopicChannels, getLookupdTopicProducers,
  getLookupdTopics,
} from "./lookupd.ts";
export {
  getNSQDProducers, getNSQDStats, getNSQDTopicProducers, getNSQDTopics, nodeAddress, type NodeStats, type NsqdAddress, type StatsFilter,
} from "./nsqd.ts";
export type {
  ChannelsResponse, ChannelStats, ClientStats, ClusterNode, LookupdInfo, LookupResponse, MemStats, NodeProducer, NodesResponse,
  NodeTopic, NsqdInfo, Producer, PubCount, StatsResponse, TopicsResponse, TopicStats,
} from "./types.ts";
