/**
 * `GET /metrics`: nsqd's statistics in the Prometheus text exposition format 0.0.4 (asked for in
 * nsqio/nsq#732; not part of NSQ). Per-topic and per-channel gauges and counters with `topic` and
 * `channel` labels, end-to-end latency quantiles in seconds, and process memory.
 * @module
 */
import { NSQ_VERSION, VERSION } from "../../core/version.ts";
import type { NSQD } from "./nsqd.ts";
import { getStats } from "./stats.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

interface Family {
  type: "gauge" | "counter";
  help: string;
  samples: string[];
}

/** Collects samples per metric family, then writes each family's HELP, TYPE and samples together. */
class Exposition {
  private readonly families = new Map<string, Family>();

  define(name: string, type: Family["type"], help: string): void {
    this.families.set(name, { type, help, samples: [] });
  }

  add(name: string, labels: Labels | null, value: number): void {
    const f = this.families.get(name)!;
    f.samples.push(`${name}${labels === null ? "" : formatLabels(labels)} ${formatValue(value)}`);
  }

  toString(): string {
    let out = "";
    for (const [name, f] of this.families) {
      if (f.samples.length === 0) continue;
      out += `# HELP ${name} ${escapeHelp(f.help)}\n# TYPE ${name} ${f.type}\n${f.samples.join("\n")}\n`;
    }
    return out;
  }
}

/** Label values escape `\`, `"` and newline. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return `{${parts.join(",")}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

/** The exposition text for one scrape; per-client data is never looked at. */
export function renderMetrics(nsqd: NSQD): string {
  const x = new Exposition();
  x.define("nsq_build_info", "gauge", "Always 1; labels carry the NSQ version this broker is compatible with and its own version.");
  x.define("nsq_healthy", "gauge", "1 when nsqd is healthy (/ping answers OK), 0 when a backend write failed.");
  x.define("nsq_start_time_seconds", "gauge", "Start time of nsqd in seconds since the Unix epoch.");
  x.define("nsq_clients", "gauge", "TCP client connections.");
  x.define("nsq_topics", "gauge", "Topics.");
  x.define("nsq_topic_depth", "gauge", "Messages queued in the topic, in memory and on disk.");
  x.define("nsq_topic_backend_depth", "gauge", "Messages queued in the topic's disk queue.");
  x.define("nsq_topic_messages_total", "counter", "Messages published to the topic.");
  x.define("nsq_topic_message_bytes_total", "counter", "Bytes of message bodies published to the topic.");
  x.define("nsq_topic_channels", "gauge", "Channels of the topic.");
  x.define("nsq_topic_paused", "gauge", "1 when the topic is paused.");
  x.define("nsq_topic_e2e_processing_latency_seconds", "gauge", "End-to-end processing latency quantiles over the topic's channels (publish to FIN), rolling window.");
  x.define("nsq_topic_e2e_processing_latency_samples", "gauge", "Samples in the topic's end-to-end latency window.");
  x.define("nsq_channel_depth", "gauge", "Messages queued in the channel, in memory and on disk.");
  x.define("nsq_channel_backend_depth", "gauge", "Messages queued in the channel's disk queue.");
  x.define("nsq_channel_in_flight_messages", "gauge", "Messages delivered and not yet finished, requeued or timed out.");
  x.define("nsq_channel_deferred_messages", "gauge", "Messages waiting for their defer time.");
  x.define("nsq_channel_messages_total", "counter", "Messages the channel received from its topic.");
  x.define("nsq_channel_requeues_total", "counter", "Messages requeued by clients (REQ).");
  x.define("nsq_channel_timeouts_total", "counter", "Messages that timed out in flight.");
  x.define("nsq_channel_clients", "gauge", "Clients subscribed to the channel.");
  x.define("nsq_channel_paused", "gauge", "1 when the channel is paused.");
  x.define("nsq_channel_e2e_processing_latency_seconds", "gauge", "End-to-end processing latency quantiles of the channel (publish to FIN), rolling window.");
  x.define("nsq_channel_e2e_processing_latency_samples", "gauge", "Samples in the channel's end-to-end latency window.");
  x.define("nsq_process_resident_memory_bytes", "gauge", "Resident set size of the nsqd process.");
  x.define("nsq_process_heap_used_bytes", "gauge", "JavaScript heap in use.");
  x.define("nsq_process_heap_size_bytes", "gauge", "JavaScript heap size.");
  x.define("nsq_process_external_memory_bytes", "gauge", "Memory held outside the JavaScript heap by heap objects (buffers).");

  x.add("nsq_build_info", { version: NSQ_VERSION, implementation_version: VERSION, bun_version: Bun.version }, 1);
  x.add("nsq_healthy", null, nsqd.health === null ? 1 : 0);
  x.add("nsq_start_time_seconds", null, Math.floor(nsqd.startTime / 1000));
  x.add("nsq_clients", null, nsqd.clients.size);
  x.add("nsq_topics", null, nsqd.topics.size);

  const { topics } = getStats(nsqd, "", "", false);
  for (const t of topics ?? []) {
    const tl = { topic: t.topic_name };
    x.add("nsq_topic_depth", tl, t.depth);
    x.add("nsq_topic_backend_depth", tl, t.backend_depth);
    x.add("nsq_topic_messages_total", tl, t.message_count);
    x.add("nsq_topic_message_bytes_total", tl, t.message_bytes);
    x.add("nsq_topic_channels", tl, t.channels.length);
    x.add("nsq_topic_paused", tl, t.paused ? 1 : 0);
    const te = t.e2e_processing_latency;
    if (te.percentiles !== null) {
      for (const p of te.percentiles) {
        x.add("nsq_topic_e2e_processing_latency_seconds", { ...tl, quantile: String(p.quantile) }, p.value / 1e9);
      }
      x.add("nsq_topic_e2e_processing_latency_samples", tl, te.count);
    }
    for (const c of t.channels) {
      const cl = { topic: t.topic_name, channel: c.channel_name };
      x.add("nsq_channel_depth", cl, c.depth);
      x.add("nsq_channel_backend_depth", cl, c.backend_depth);
      x.add("nsq_channel_in_flight_messages", cl, c.in_flight_count);
      x.add("nsq_channel_deferred_messages", cl, c.deferred_count);
      x.add("nsq_channel_messages_total", cl, c.message_count);
      x.add("nsq_channel_requeues_total", cl, c.requeue_count);
      x.add("nsq_channel_timeouts_total", cl, c.timeout_count);
      x.add("nsq_channel_clients", cl, c.client_count);
      x.add("nsq_channel_paused", cl, c.paused ? 1 : 0);
      const ce = c.e2e_processing_latency;
      if (ce.percentiles !== null) {
        for (const p of ce.percentiles) {
          x.add("nsq_channel_e2e_processing_latency_seconds", { ...cl, quantile: String(p.quantile) }, p.value / 1e9);
        }
        x.add("nsq_channel_e2e_processing_latency_samples", cl, ce.count);
      }
    }
  }

  const m = process.memoryUsage();
  x.add("nsq_process_resident_memory_bytes", null, m.rss);
  x.add("nsq_process_heap_used_bytes", null, m.heapUsed);
  x.add("nsq_process_heap_size_bytes", null, m.heapTotal);
  x.add("nsq_process_external_memory_bytes", null, m.external);
  return x.toString();
}
