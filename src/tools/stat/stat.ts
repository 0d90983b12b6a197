/**
 * `nsq stat` (NSQ's `nsq_stat`): poll `/stats` of every nsqd producing a topic and print the channel's
 * aggregate: rates, depths and counters, in nsq_stat's exact columns, with the header every 25 lines.
 * @module
 */
import { endpointUrl, type GetOptions, getLookupdTopicProducers, getV1, type StatsResponse } from "../../core/clusterinfo/index.ts";
import type { Logger } from "../../core/log.ts";
import { formatAddress } from "../../core/net.ts";
import type { StatOptions } from "./options.ts";

export interface StatIo {
  /** Receives whole lines (with their `\n`). */
  write: (text: string) => void;
  log: Logger;
  /** Aborting stops polling (SIGINT, SIGTERM). */
  signal?: AbortSignal;
  /** For tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/** The channel figures nsq_stat sums over nsqd (clusterinfo `ChannelStats.Add`). */
export interface ChannelTotals {
  depth: number;
  memoryDepth: number;
  backendDepth: number;
  inFlightCount: number;
  deferredCount: number;
  requeueCount: number;
  timeoutCount: number;
  messageCount: number;
  clientCount: number;
}

const pad = (v: string | number, width: number) => String(v).padStart(width);

/** nsq_stat's two header lines. */
export function statHeader(): string {
  return (
    "------rate------+----------------depth----------------+--------------metadata---------------\n" +
    `${pad("ingress", 7)} ${pad("egress", 7)} | ${pad("total", 7)} ${pad("mem", 7)} ${pad("disk", 7)} ${pad("inflt", 5)} ` +
    `${pad("def", 5)} | ${pad("req", 7)} ${pad("t-o", 7)} ${pad("msgs", 12)} ${pad("clients", 7)}\n`
  );
}

/** One report line: `%7d %7d | %7d %7d %7d %5d %5d | %7d %7d %12d %7d`, rates per second of `intervalMs`. */
export function statRow(c: ChannelTotals, o: ChannelTotals, intervalMs: number): string {
  // Go's Duration.Seconds(), so truncation lands where nsq_stat's does (3 / 0.1 = 29.999… → 29).
  const ns = Math.round(intervalMs * 1e6);
  const whole = Math.trunc(ns / 1e9);
  const secs = whole + (ns - whole * 1e9) / 1e9;
  const ingress = Math.trunc((c.messageCount - o.messageCount) / secs);
  const egress = Math.trunc((c.messageCount - o.messageCount - (c.depth - o.depth)) / secs);
  return (
    `${pad(ingress, 7)} ${pad(egress, 7)} | ${pad(c.depth, 7)} ${pad(c.memoryDepth, 7)} ${pad(c.backendDepth, 7)} ` +
    `${pad(c.inFlightCount, 5)} ${pad(c.deferredCount, 5)} | ${pad(c.requeueCount, 7)} ${pad(c.timeoutCount, 7)} ` +
    `${pad(c.messageCount, 12)} ${pad(c.clientCount, 7)}\n`
  );
}

export class StatError extends Error {
  override readonly name = "StatError";
}

/**
 * Polls and prints every `--interval`, `--count` reports (forever when 0). The first poll only sets the
 * baseline for the rates, as in nsq_stat.
 * @throws StatError `failed to get topic producers - …`, `failed to get nsqd stats - …`, or
 *   `failed to find channel(c) in stats metadata for topic(t)`
 * @example
 * const opts = { ...statSpec.defaults(), topic: "t", channel: "c", nsqdHttpAddress: ["127.0.0.1:4151"], count: 5 };
 * await stat(opts, { write: (s) => process.stdout.write(s), log: createLogger() });
 */
export async function stat(opts: StatOptions, io: StatIo): Promise<void> {
  const http: GetOptions = { timeoutMs: opts.httpClientRequestTimeout, fetch: io.fetch };
  let prev: ChannelTotals | null = null;
  for (let i = 0; opts.count === 0 || opts.count >= i; i++) {
    if (io.signal?.aborted) return;
    let responses: StatsResponse[];
    try {
      const nsqds = opts.lookupdHttpAddress.length > 0 ? await topicProducers(opts, http) : opts.nsqdHttpAddress;
      responses = await Promise.all(nsqds.map((a) => getV1<StatsResponse>(statsUrl(a, opts), http)));
    } catch (e) {
      if (e instanceof StatError) throw e;
      throw new StatError(`failed to get nsqd stats - ${(e as Error).message}`);
    }
    const c = aggregate(responses, opts.topic, opts.channel);
    if (c === null) throw new StatError(`failed to find channel(${opts.channel}) in stats metadata for topic(${opts.topic})`);
    if (i % 25 === 0) io.write(statHeader());
    if (prev !== null) io.write(statRow(c, prev, opts.interval));
    prev = c;
    // nsq_stat sleeps after its last report too; there is no point in that.
    if (opts.count !== 0 && i >= opts.count) return;
    if (!(await sleep(opts.interval, io.signal))) return;
  }
}

function statsUrl(addr: string, o: StatOptions): string {
  return endpointUrl(addr, "/stats", { format: "json", topic: o.topic, channel: o.channel, include_clients: "false" });
}

/** The topic's nsqd over all lookupds, as `broadcast_address:http_port`. */
async function topicProducers(o: StatOptions, http: GetOptions): Promise<string[]> {
  const r = await getLookupdTopicProducers(o.topic, o.lookupdHttpAddress, http).catch((e: Error) => ({ value: [], errors: [e] }));
  // nsq_stat treats clusterinfo's partial error as fatal too
  if (r.errors.length > 0) throw new StatError(`failed to get topic producers - ${r.errors.map((e) => e.message).join("\n")}`);
  return r.value.map((p) => formatAddress(p.broadcast_address, p.http_port));
}

function aggregate(responses: StatsResponse[], topic: string, channel: string): ChannelTotals | null {
  let total: ChannelTotals | null = null;
  for (const r of responses) {
    for (const t of r.topics ?? []) {
      if (t.topic_name !== topic) continue;
      for (const ch of t.channels ?? []) {
        if (ch.channel_name !== channel) continue;
        total ??= {
          depth: 0,
          memoryDepth: 0,
          backendDepth: 0,
          inFlightCount: 0,
          deferredCount: 0,
          requeueCount: 0,
          timeoutCount: 0,
          messageCount: 0,
          clientCount: 0,
        };
        // Go decodes a field a remote leaves out as 0
        const depth = ch.depth ?? 0;
        const backend = ch.backend_depth ?? 0;
        total.depth += depth;
        total.backendDepth += backend;
        total.memoryDepth += depth - backend;
        total.inFlightCount += ch.in_flight_count ?? 0;
        total.deferredCount += ch.deferred_count ?? 0;
        total.requeueCount += ch.requeue_count ?? 0;
        total.timeoutCount += ch.timeout_count ?? 0;
        total.messageCount += ch.message_count ?? 0;
        total.clientCount += ch.client_count ?? 0;
      }
    }
  }
  return total;
}

function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
