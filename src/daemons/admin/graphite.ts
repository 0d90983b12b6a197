/**
 * Graphite targets for the graphs nsqadmin draws when `--graphite-url` is set (NSQ's handlebars helpers
 * `large_graph` and `genTargets`): statsd keys as nsqd sends them, formatted as the statsd server stores them.
 * @module
 */
import type { AdminOptions } from "./options.ts";

const COUNTERS = new Set(["message_count", "requeue_count", "timeout_count"]);

/** statsdaemon's key sanitizing: what nsqd's topic and channel names become in a statsd key. */
function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_.-]/g, "_");
}

function statsdPrefix(opts: AdminOptions, node: string): string {
  // nsqadmin's prefix check never matches, so a dot is always appended
  return `${opts.statsdPrefix.replaceAll("%s", node.replace(/[.:]/g, "_"))}.`;
}

function formatKey(opts: AdminOptions, key: string, counter: boolean): string {
  const fmt = counter ? opts.statsdCounterFormat : opts.statsdGaugeFormat;
  return fmt === "" ? key : fmt.replaceAll("%s", key);
}

/**
 * The query of a large graph of `key` for a topic (or a channel), summed over every node (`*`) or one, per
 * second for counters, as nsqadmin renders it; null without Graphite.
 */
export function graphQuery(opts: AdminOptions, key: string, topic: string, channel = "", node = "*"): URLSearchParams | null {
  if (opts.graphiteUrl === "") return null;
  const counter = COUNTERS.has(key);
  const path = `topic.${sanitize(topic)}${channel === "" ? "" : `.channel.${sanitize(channel)}`}.${key}`;
  let target = `sumSeries(${formatKey(opts, statsdPrefix(opts, node) + path, counter)})`;
  const interval = Math.floor(opts.statsdInterval / 1000);
  if (counter) target = `scale(${target},${1 / interval})`;
  return new URLSearchParams({
    colorList: key === "depth" ? "red" : "blue",
    height: "300",
    width: "800",
    bgcolor: "ff000000",
    fgcolor: "999999",
    yMin: "0",
    lineMode: "connected",
    drawNullAsZero: "false",
    from: "-2h",
    until: "-1min",
    target: `summarize(${target},"${interval}sec","avg")`,
  });
}
