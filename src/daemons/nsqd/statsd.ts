/**
 * nsqd's statsd push (nsqd/statsd.go, internal/statsd, internal/writers): every --statsd-interval,
 * counters (deltas since the last push) and gauges for every topic and channel, packed whole-line into
 * datagrams of at most --statsd-udp-packet-size and spread over the interval less one second.
 * @module
 */
import type { udp } from "bun";
import { goFixed } from "../../core/quantile.ts";
import type { NSQD } from "./nsqd.ts";
import { getStats, memStats, type NsqdMemStats, type TopicStats } from "./stats.ts";

/**
 * `--statsd-prefix` with `%s` replaced by `<broadcast_address>_<http_port>` (`.` and `:` → `_`,
 * the port being --broadcast-http-port or the bound one), and a trailing `.` ensured.
 * @example statsdPrefix(nsqd) // "nsq.myhost_4151." for the default "nsq.%s"
 */
export function statsdPrefix(nsqd: NSQD): string {
  const o = nsqd.opts;
  if (o.statsdPrefix === "") return "";
  const port = o.broadcastHttpPort || nsqd.httpPort();
  const host = o.broadcastAddress.includes(":") ? `[${o.broadcastAddress}]` : o.broadcastAddress;
  const key = `${host}:${port}`.replace(/[.:]/g, "_");
  const p = o.statsdPrefix.replaceAll("%s", key);
  return p.endsWith(".") ? p : `${p}.`;
}

function isEphemeral(name: string): boolean {
  return name.endsWith("#ephemeral");
}

/** `%.0f` of a quantile in percent: 0.99 → "99", 0.999 → "100". */
function pct(q: number): string {
  return goFixed(q * 100, 0);
}

/**
 * The lines of one push, in nsqd's order. Counters are the difference to `last` (a topic or channel
 * seen for the first time counts from zero).
 */
export function statsdLines(
  prefix: string,
  topics: TopicStats[],
  last: TopicStats[],
  excludeEphemeral: boolean,
  mem: NsqdMemStats | null,
  lastMem: NsqdMemStats | null,
): string[] {
  const out: string[] = [];
  const c = (stat: string, v: number) => out.push(`${prefix}${stat}:${Math.trunc(v)}|c\n`);
  const g = (stat: string, v: number) => out.push(`${prefix}${stat}:${Math.trunc(v)}|g\n`);
  for (const t of topics) {
    if (excludeEphemeral && isEphemeral(t.topic_name)) continue;
    const lt = last.find((x) => x.topic_name === t.topic_name);
    const tn = t.topic_name;
    c(`topic.${tn}.message_count`, t.message_count - (lt?.message_count ?? 0));
    c(`topic.${tn}.message_bytes`, t.message_bytes - (lt?.message_bytes ?? 0));
    g(`topic.${tn}.depth`, t.depth);
    g(`topic.${tn}.backend_depth`, t.backend_depth);
    for (const p of t.e2e_processing_latency.percentiles ?? []) {
      g(`topic.${tn}.e2e_processing_latency_${pct(p.quantile)}`, p.value);
    }
    for (const ch of t.channels) {
      if (excludeEphemeral && isEphemeral(ch.channel_name)) continue;
      const lc = lt?.channels.find((x) => x.channel_name === ch.channel_name);
      const cn = `topic.${tn}.channel.${ch.channel_name}`;
      c(`${cn}.message_count`, ch.message_count - (lc?.message_count ?? 0));
      g(`${cn}.depth`, ch.depth);
      g(`${cn}.backend_depth`, ch.backend_depth);
      g(`${cn}.in_flight_count`, ch.in_flight_count);
      g(`${cn}.deferred_count`, ch.deferred_count);
      c(`${cn}.requeue_count`, ch.requeue_count - (lc?.requeue_count ?? 0));
      c(`${cn}.timeout_count`, ch.timeout_count - (lc?.timeout_count ?? 0));
      g(`${cn}.clients`, ch.client_count);
      for (const p of ch.e2e_processing_latency.percentiles ?? []) {
        g(`${cn}.e2e_processing_latency_${pct(p.quantile)}`, p.value);
      }
    }
  }
  if (mem !== null) {
    g("mem.heap_objects", mem.heap_objects);
    g("mem.heap_idle_bytes", mem.heap_idle_bytes);
    g("mem.heap_in_use_bytes", mem.heap_in_use_bytes);
    c("mem.gc_runs", mem.gc_total_runs - (lastMem?.gc_total_runs ?? 0));
  }
  return out;
}

/**
 * NSQ's BoundaryBufferedWriter: whole lines packed greedily into datagrams of at most `size` bytes;
 * a line longer than `size` travels alone.
 */
export function packDatagrams(lines: string[], size: number): string[] {
  const out: string[] = [];
  let cur = "";
  for (const l of lines) {
    if (cur.length > 0 && cur.length + l.length > size) {
      out.push(cur);
      cur = "";
    }
    if (cur.length === 0 && l.length > size) out.push(l);
    else cur += l;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** The statsd loop of one nsqd: a push every --statsd-interval until `stop`. */
export class StatsdLoop {
  private timer: Timer | null = null;
  private readonly pending = new Set<Timer>();
  private readonly sockets = new Set<udp.ConnectedSocket<"buffer">>();
  private lastStats: TopicStats[] = [];
  private lastMem: NsqdMemStats | null = null;
  private stopped = false;

  constructor(private readonly nsqd: NSQD) {}

  start(): this {
    this.timer = setInterval(() => void this.push(), this.nsqd.opts.statsdInterval);
    return this;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    for (const s of this.sockets) s.close();
    this.sockets.clear();
    this.nsqd.log.info("STATSD: closing");
  }

  /** One push: collect now, send the datagrams spread over the interval less a second. */
  async push(): Promise<void> {
    const o = this.nsqd.opts;
    const addr = o.statsdAddress;
    const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(addr);
    let socket: udp.ConnectedSocket<"buffer">;
    try {
      if (m === null) throw new Error("missing port in address");
      socket = await Bun.udpSocket({ connect: { hostname: m[1] ?? m[2] ?? "", port: Number(m[3]) } });
    } catch {
      this.nsqd.log.error(`failed to create UDP socket to statsd(${addr})`);
      return;
    }
    if (this.stopped) {
      socket.close();
      return;
    }
    this.sockets.add(socket);
    this.nsqd.log.info(`STATSD: pushing stats to ${addr}`);

    const topics = getStats(this.nsqd, "", "", false).topics ?? [];
    const mem = o.statsdMemStats ? memStats() : null;
    const lines = statsdLines(statsdPrefix(this.nsqd), topics, this.lastStats, o.statsdExcludeEphemeral, mem, this.lastMem);
    this.lastStats = topics;
    if (mem !== null) this.lastMem = mem;

    const datagrams = packDatagrams(lines, o.statsdUdpPacketSize);
    const gap = datagrams.length > 0 ? Math.max(0, o.statsdInterval - 1000) / datagrams.length : 0;
    const done = () => {
      this.sockets.delete(socket);
      socket.close();
    };
    datagrams.forEach((d, i) => {
      const send = () => {
        socket.send(d);
        if (i === datagrams.length - 1) done();
      };
      if (i === 0 || gap === 0) send();
      else {
        const t = setTimeout(() => {
          this.pending.delete(t);
          send();
        }, i * gap);
        this.pending.add(t);
      }
    });
    if (datagrams.length === 0) done();
  }
}
