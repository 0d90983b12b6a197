/**
 * The JSON that NSQ 1.3's nsqlookupd and nsqd HTTP APIs answer with, field for field. `| null` marks
 * what Go sends as a nil slice; `?` marks Go `omitempty` fields, sections a request can leave out, and
 * fields older versions do not send. Readers take these as they come: nothing here is validated.
 * @module
 */
import type { QuantileResult } from "../quantile.ts";

/** An nsqd as nsqlookupd lists it (`/lookup`, `/nodes`); clients connect to `broadcast_address:tcp_port`. */
export interface Producer {
  remote_address: string;
  hostname: string;
  broadcast_address: string;
  tcp_port: number;
  http_port: number;
  version: string;
  /** Added in 1.3. */
  topology_zone?: string;
  /** Added in 1.3. */
  topology_region?: string;
}

/** nsqlookupd `GET /lookup?topic=`. */
export interface LookupResponse {
  channels: string[];
  producers: Producer[];
}

/** nsqlookupd `GET /topics`. */
export interface TopicsResponse {
  topics: string[];
}

/** nsqlookupd `GET /channels?topic=`. */
export interface ChannelsResponse {
  channels: string[];
}

/** A `/nodes` producer: `tombstones[i]` says whether the producer of `topics[i]` is tombstoned. */
export type NodeProducer = Producer & { tombstones: boolean[]; topics: string[] };

/** nsqlookupd `GET /nodes`. */
export interface NodesResponse {
  producers: NodeProducer[];
}

/** nsqlookupd `GET /info`. */
export interface LookupdInfo {
  version: string;
}

export interface PubCount {
  topic: string;
  count: number;
}

/** nsqd's ClientV2Stats. */
export interface ClientStats {
  client_id: string;
  hostname: string;
  version: string;
  remote_address: string;
  state: number;
  ready_count: number;
  in_flight_count: number;
  message_count: number;
  zone_local_msg_count?: number;
  region_local_msg_count?: number;
  global_msg_count?: number;
  finish_count: number;
  requeue_count: number;
  connect_ts: number;
  sample_rate: number;
  deflate: boolean;
  snappy: boolean;
  user_agent: string;
  authed?: boolean;
  auth_identity?: string;
  auth_identity_url?: string;
  topology_zone: string;
  topology_region: string;
  /** Only for clients that published over TCP (the `producers` section). */
  pub_counts?: PubCount[];
  tls: boolean;
  tls_cipher_suite: string;
  tls_version: string;
  tls_negotiated_protocol: string;
  tls_negotiated_protocol_is_mutual: boolean;
}

export interface ChannelStats {
  channel_name: string;
  /** Memory plus backend. */
  depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  message_count: number;
  zone_local_msg_count?: number;
  region_local_msg_count?: number;
  global_msg_count?: number;
  requeue_count: number;
  timeout_count: number;
  client_count: number;
  /** null with `include_clients=false`. */
  clients: ClientStats[] | null;
  paused: boolean;
  e2e_processing_latency: QuantileResult;
}

export interface TopicStats {
  topic_name: string;
  channels: ChannelStats[] | null;
  depth: number;
  backend_depth: number;
  message_count: number;
  message_bytes: number;
  paused: boolean;
  e2e_processing_latency: QuantileResult;
}

/**
 * The `memory` section of nsqd's stats: Go runtime figures. Ours reports the first three and gc_total_runs
 * from JSC; the others have nothing behind them in JSC and are left out rather than reported as 0.
 */
export interface MemStats {
  heap_objects: number;
  heap_idle_bytes: number;
  heap_in_use_bytes: number;
  heap_released_bytes?: number;
  gc_pause_usec_100?: number;
  gc_pause_usec_99?: number;
  gc_pause_usec_95?: number;
  next_gc_bytes?: number;
  gc_total_runs: number;
}

/** nsqd `GET /stats?format=json`. */
export interface StatsResponse {
  version: string;
  /** `OK`, or `NOK - <error>`. */
  health: string;
  /** Unix seconds. */
  start_time: number;
  /** null for an unknown `topic` filter. */
  topics: TopicStats[] | null;
  /** Left out with `include_mem=false`. */
  memory?: MemStats;
  /** Clients that published over TCP; null with `include_clients=false` or when there are none. */
  producers: ClientStats[] | null;
}

/** A topic of a {@link ClusterNode}. */
export interface NodeTopic {
  topic: string;
  tombstoned: boolean;
}

/**
 * An nsqd as nsqadmin's `/api/nodes` lists it (NSQ clusterinfo.Producer): from lookupd's `/nodes`, or from the
 * nsqd's own `/info` and `/stats` when nsqadmin is given `--nsqd-http-address`.
 */
export interface ClusterNode extends Producer {
  /** `<lookupd addr>/<remote_address>` for every lookupd that lists this nsqd; null without lookupd. */
  remote_addresses: string[] | null;
  /** Sorted by name; null when it has none. */
  topics: NodeTopic[] | null;
  /** Its version is below the newest one in the cluster. */
  out_of_date: boolean;
}

/** nsqd `GET /info`. */
export interface NsqdInfo {
  version: string;
  broadcast_address: string;
  hostname: string;
  http_port: number;
  tcp_port: number;
  start_time: number;
  topology_zone?: string;
  topology_region?: string;
}
