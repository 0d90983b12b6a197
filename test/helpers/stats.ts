import type { ChannelStats, TopicStats } from "../../src/daemons/nsqd/stats.ts";

/** One channel of nsqd's `/stats` JSON: all counters zero, no clients, unless `over` says otherwise. */
export function channelStats(over: Partial<ChannelStats> = {}): ChannelStats {
  return {
    channel_name: "c",
    depth: 0,
    backend_depth: 0,
    in_flight_count: 0,
    deferred_count: 0,
    message_count: 0,
    requeue_count: 0,
    timeout_count: 0,
    client_count: 0,
    clients: null,
    paused: false,
    e2e_processing_latency: { count: 0, percentiles: null },
    ...over,
  };
}

/** One topic of nsqd's `/stats` JSON: all counters zero, no channels, unless `over` says otherwise. */
export function topicStats(over: Partial<TopicStats> = {}): TopicStats {
  return {
    topic_name: "t",
    channels: [],
    depth: 0,
    backend_depth: 0,
    message_count: 0,
    message_bytes: 0,
    paused: false,
    e2e_processing_latency: { count: 0, percentiles: null },
    ...over,
  };
}
