/**
 * nsqd's statistics (nsqd/stats.go, client_v2.go Stats, http.go printStats): the `/stats` JSON shapes
 * with NSQ's field names, order and nil-slice nulls, the text rendering, and the memory section.
 * Without clients nothing per client is touched, so nsqadmin and nsq_stat polling stays cheap.
 * @module
 */
import { heapSize, heapStats } from "bun:jsc";
import type { ChannelStats, ClientStats, MemStats, PubCount, TopicStats as RemoteTopicStats } from "../../core/clusterinfo/index.ts";
import { formatDuration } from "../../core/duration.ts";
import { Recount } from "../../core/recount.ts";
import { aggregate, EMPTY_RESULT, resultString } from "../../core/quantile.ts";
import { versionString } from "../../core/version.ts";
import type { Channel } from "./channel.ts";
import type { Client } from "./client.ts";
import type { NSQD } from "./nsqd.ts";
import type { Topic } from "./topic.ts";

export type { ChannelStats, ClientStats, PubCount };

/** What nsqd emits: its topics always carry a channel list. */
export type TopicStats = RemoteTopicStats & { channels: ChannelStats[] };

export interface Stats {
  /** null for an unknown `topic` filter (Go's nil slice). */
  topics: TopicStats[] | null;
  /** null without clients, and when nobody has published over TCP. */
  producers: ClientStats[] | null;
}

/** nsqd's GetStats(topic, channel, includeClients). */
export function getStats(nsqd: NSQD, topic = "", channel = "", includeClients = true): Stats {
  let topics: Topic[];
  if (topic === "") topics = [...nsqd.topics.values()];
  else {
    const t = nsqd.topics.get(topic);
    if (t === undefined) return { topics: null, producers: null };
    topics = [t];
  }
  topics.sort(byName);
  const out: TopicStats[] = [];
  for (const t of topics) {
    let channels: Channel[];
    if (channel === "") channels = [...t.channels.values()].sort(byName);
    else {
      const c = t.channels.get(channel);
      if (c === undefined) continue;
      channels = [c];
    }
    const cs = channels.map((c) => channelStats(c, includeClients ? [...c.clients.values()].map((cl) => clientStats(cl, topic)) : null));
    out.push(topicStats(t, cs));
  }
  let producers: ClientStats[] | null = null;
  if (includeClients) {
    for (const c of nsqd.clients.values()) {
      if (c.pubCounts.size > 0) (producers ??= []).push(clientStats(c, topic));
    }
  }
  return { topics: out, producers };
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function topicStats(t: Topic, channels: ChannelStats[]): TopicStats {
  const e2e = aggregate(Array.from(t.channels.values(), (c) => c.e2e));
  return {
    topic_name: t.name,
    channels,
    depth: t.depth,
    backend_depth: t.queue.backend.depth(),
    message_count: t.messageCount,
    message_bytes: t.messageBytes,
    paused: t.paused,
    e2e_processing_latency: e2e === null ? EMPTY_RESULT : e2e.result(),
  };
}

export function channelStats(c: Channel, clients: ClientStats[] | null): ChannelStats {
  return {
    channel_name: c.name,
    depth: c.depth,
    backend_depth: c.queue.backend.depth(),
    in_flight_count: c.inFlight.size,
    deferred_count: c.deferredById.size,
    message_count: c.messageCount,
    requeue_count: c.requeueCount,
    timeout_count: c.timeoutCount,
    client_count: c.clients.size,
    clients,
    paused: c.paused,
    e2e_processing_latency: c.e2e === null ? EMPTY_RESULT : c.e2e.result(),
  };
}

/** A client's stats; with a topic filter its pub counts are that topic's only. */
export function clientStats(c: Client, topicFilter = ""): ClientStats {
  const pubCounts: PubCount[] = [];
  for (const [topic, count] of c.pubCounts) {
    if (topicFilter === "" || topic === topicFilter) pubCounts.push({ topic, count });
  }
  pubCounts.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  const s: ClientStats = {
    client_id: c.clientId,
    hostname: c.hostname,
    version: "V2",
    remote_address: goHostPort(c.remoteAddress),
    state: c.state,
    ready_count: c.readyCount,
    in_flight_count: c.inFlightCount,
    message_count: c.messageCount,
    finish_count: c.finishCount,
    requeue_count: c.requeueCount,
    connect_ts: Math.floor(c.connectTs / 1000),
    sample_rate: c.sampleRate,
    deflate: c.deflate,
    snappy: c.snappy,
    user_agent: c.userAgent,
    topology_zone: c.topologyZone,
    topology_region: c.topologyRegion,
    tls: c.tls,
    tls_cipher_suite: c.tlsCipherSuite,
    tls_version: c.tlsVersion,
    // ALPN: NSQ's clients negotiate none; Go reports "mutual" true on every TLS connection (deprecated field)
    tls_negotiated_protocol: "",
    tls_negotiated_protocol_is_mutual: c.tls,
  };
  const identity = c.authState?.identity ?? "";
  const identityUrl = c.authState?.identityUrl ?? "";
  if (c.authed || identity || identityUrl || pubCounts.length > 0) {
    // rebuild to keep Go's field order for the omitempty fields
    const { topology_zone, topology_region, tls, tls_cipher_suite, tls_version, tls_negotiated_protocol, tls_negotiated_protocol_is_mutual, ...head } = s;
    return {
      ...head,
      ...(c.authed ? { authed: true } : {}),
      ...(identity ? { auth_identity: identity } : {}),
      ...(identityUrl ? { auth_identity_url: identityUrl } : {}),
      topology_zone,
      topology_region,
      ...(pubCounts.length > 0 ? { pub_counts: pubCounts } : {}),
      tls,
      tls_cipher_suite,
      tls_version,
      tls_negotiated_protocol,
      tls_negotiated_protocol_is_mutual,
    };
  }
  return s;
}

/** `host:port` as Go prints a net.Addr: IPv6 hosts in brackets. */
function goHostPort(addr: string): string {
  const i = addr.lastIndexOf(":");
  if (i < 0) return addr;
  const host = addr.slice(0, i);
  return host.includes(":") && !host.startsWith("[") ? `[${host}]${addr.slice(i)}` : addr;
}

/**
 * nsqd's `memory` section from JSC's figures. Go runtime.MemStats fields JSC keeps nothing like
 * (heap_released_bytes, gc_pause_usec_100/99/95, next_gc_bytes) are left out, not reported as 0.
 */
export type NsqdMemStats = Pick<MemStats, "heap_objects" | "heap_idle_bytes" | "heap_in_use_bytes" | "gc_total_runs">;

/**
 * Collections seen: JSC counts none, so a sentinel only a collection can free is re-armed each time its
 * finalizer runs. A lower bound: collections before a finalizer has run count once.
 */
let gcRuns = 0;
const gcSentinel = new FinalizationRegistry<undefined>(() => {
  gcRuns++;
  gcSentinel.register({}, undefined);
});
gcSentinel.register({}, undefined);

/** JSC counts live objects only by walking the heap (heapStats also tallies them by type: 50 ms at 1M objects). */
const heapCount = new Recount(() => {
  const h = heapStats();
  return { objects: h.objectCount, idleBytes: Math.max(0, h.heapCapacity - h.heapSize) };
});

/** The `memory` section: live objects and free heap as of the last count, heap in use and collections now. */
export function memStats(): NsqdMemStats {
  const { objects, idleBytes } = heapCount.get();
  return {
    heap_objects: objects,
    heap_idle_bytes: idleBytes,
    heap_in_use_bytes: heapSize(),
    gc_total_runs: gcRuns,
  };
}

/** nsqd's GetHealth: `OK`, or `NOK - <error>`. */
export function healthString(nsqd: NSQD): string {
  return nsqd.health === null ? "OK" : `NOK - ${nsqd.health}`;
}

/** The `/stats?format=json` body. */
export function statsJson(nsqd: NSQD, stats: Stats, mem: NsqdMemStats | null, version: string): string {
  return JSON.stringify({
    version,
    health: healthString(nsqd),
    start_time: Math.floor(nsqd.startTime / 1000),
    topics: stats.topics,
    ...(mem !== null ? { memory: mem } : {}),
    producers: stats.producers,
  });
}

/** The default `/stats` text (http.go printStats). */
export function statsText(nsqd: NSQD, stats: Stats, mem: NsqdMemStats | null, now = Date.now()): string {
  const lines: string[] = [];
  lines.push(versionString("nsqd"));
  lines.push(`start_time ${rfc3339(nsqd.startTime)}`);
  lines.push(`uptime ${formatDuration(now - nsqd.startTime)}`);
  lines.push("", `Health: ${healthString(nsqd)}`);
  if (mem !== null) {
    lines.push("", "Memory:");
    for (const [k, v] of Object.entries(mem)) lines.push(`   ${k.padEnd(25)}\t${v}`);
  }
  const topics = stats.topics ?? [];
  let out = `${lines.join("\n")}\n`;
  out += topics.length === 0 ? "\nTopics: None\n" : "\nTopics:";
  for (const t of topics) {
    out +=
      `\n${t.paused ? "*P " : "   "}[${t.topic_name.padEnd(15)}] depth: ${pad(t.depth, 5)} be-depth: ${pad(t.backend_depth, 5)} ` +
      `msgs: ${pad(t.message_count, 8)} e2e%: ${resultString(t.e2e_processing_latency)}\n`;
    for (const c of t.channels) {
      out +=
        `${c.paused ? "   *P " : "      "}[${c.channel_name.padEnd(25)}] depth: ${pad(c.depth, 5)} be-depth: ${pad(c.backend_depth, 5)} ` +
        `inflt: ${pad(c.in_flight_count, 4)} def: ${pad(c.deferred_count, 4)} re-q: ${pad(c.requeue_count, 5)} ` +
        `timeout: ${pad(c.timeout_count, 5)} msgs: ${pad(c.message_count, 8)} e2e%: ${resultString(c.e2e_processing_latency)}\n`;
      for (const cl of c.clients ?? []) out += `        ${clientString(cl, now)}\n`;
    }
  }
  const producers = stats.producers ?? [];
  if (producers.length === 0) out += "\nProducers: None\n";
  else {
    out += "\nProducers:\n";
    for (const p of producers) out += `   ${clientString(p, now)}\n`;
  }
  return out;
}

/** ClientV2Stats.String(): a producer line when it has pub counts, else a consumer line. */
export function clientString(s: ClientStats, now = Date.now()): string {
  const connected = formatDuration(Math.max(0, Math.floor(now / 1000) - s.connect_ts) * 1000);
  const port = s.remote_address.slice(s.remote_address.lastIndexOf(":") + 1);
  const id = `${s.hostname}:${port} ${s.user_agent}`.padEnd(21);
  if (s.pub_counts !== undefined && s.pub_counts.length > 0) {
    const total = s.pub_counts.reduce((n, p) => n + p.count, 0);
    const topics = s.pub_counts.map((p) => `${p.topic}=${p.count}`).join(",");
    return `[${s.version} ${id}] msgs: ${pad(total, 8)} topics: ${topics} connected: ${connected}`;
  }
  return (
    `[${s.version} ${id}] state: ${s.state} inflt: ${pad(s.in_flight_count, 4)} rdy: ${pad(s.ready_count, 4)} ` +
    `fin: ${pad(s.finish_count, 8)} re-q: ${pad(s.requeue_count, 8)} msgs: ${pad(s.message_count, 8)} connected: ${connected}`
  );
}

function pad(n: number, width: number): string {
  return String(n).padEnd(width);
}

/** Go's time.RFC3339 in local time: `2006-01-02T15:04:05Z07:00`. */
export function rfc3339(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const two = (n: number) => String(n).padStart(2, "0");
  const zone = off === 0 ? "Z" : `${off > 0 ? "+" : "-"}${two(Math.floor(Math.abs(off) / 60))}:${two(Math.abs(off) % 60)}`;
  return (
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}${zone}`
  );
}
