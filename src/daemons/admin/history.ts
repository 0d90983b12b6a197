/**
 * The admin's own memory of the cluster, beyond NSQ: a ring of periodic samples of every topic's and channel's
 * message count and depth, so pages chart rates and depth over time without Graphite.
 * @module
 */
import type { AdminTopicStats } from "./cluster.ts";

interface Point {
  messages: number;
  depth: number;
  inFlight: number;
}

interface Sample {
  /** Epoch ms. */
  at: number;
  /** Keyed by {@link key}: each topic and channel, over all nodes and on each. */
  points: Map<string, Point>;
  /** Messages of every channel together (what the counter page counts). */
  total: number;
}

/** uPlot's data: x (unix seconds) then one array per series; null where there is no value. */
export type Series = { t: number[]; rate: (number | null)[]; depth: (number | null)[]; inFlight: (number | null)[] };

/** A bounded ring of cluster samples. */
export class History {
  private readonly samples: Sample[] = [];

  constructor(readonly capacity: number) {}

  /** Adds a sample of every topic and channel as nsqd reported them at `at` (epoch ms). */
  record(topics: AdminTopicStats[], at = Date.now()): void {
    const s: Sample = { at, points: new Map(), total: 0 };
    for (const t of topics) {
      for (const n of [t, ...(t.nodes ?? [])]) {
        s.points.set(key(t.topic_name, undefined, n.node), { messages: n.message_count, depth: n.depth, inFlight: 0 });
      }
      for (const c of t.channels ?? []) {
        for (const n of [c, ...(c.nodes ?? [])]) {
          s.points.set(key(t.topic_name, c.channel_name, n.node), { messages: n.message_count, depth: n.depth, inFlight: n.in_flight_count });
        }
        s.total += c.message_count;
      }
    }
    this.samples.push(s);
    if (this.samples.length > this.capacity) this.samples.shift();
  }

  /** Epoch ms of the newest sample, 0 when there is none. */
  lastAt(): number {
    return this.samples.at(-1)?.at ?? 0;
  }

  /**
   * A topic's (or, with `channel`, a channel's) messages per second, depth and in-flight count over the samples
   * kept, over all nodes or (with `node`) on one.
   */
  series(topic: string, channel?: string, node = "*"): Series {
    const k = key(topic, channel, node);
    return this.build((s) => s.points.get(k));
  }

  /** Messages per second over every channel of the cluster. */
  totalSeries(): Series {
    return this.build((s) => ({ messages: s.total, depth: 0, inFlight: 0 }));
  }

  private build(pick: (s: Sample) => Point | undefined): Series {
    const out: Series = { t: [], rate: [], depth: [], inFlight: [] };
    let prev: { at: number; p: Point } | null = null;
    for (const s of this.samples) {
      const p = pick(s);
      out.t.push(s.at / 1000);
      out.depth.push(p?.depth ?? null);
      out.inFlight.push(p?.inFlight ?? null);
      // a counter that went down means the nsqd restarted or the queue was deleted: no rate across it
      const rate = p && prev && p.messages >= prev.p.messages ? ((p.messages - prev.p.messages) * 1000) / (s.at - prev.at) : null;
      out.rate.push(rate === null ? null : Math.round(rate * 100) / 100);
      prev = p ? { at: s.at, p } : null;
    }
    return out;
  }
}

/** Topic and channel names cannot hold `/` or `@`, so the key is unambiguous. */
function key(topic: string, channel: string | undefined, node: string): string {
  return `${topic}${channel === undefined ? "" : `/${channel}`}@${node}`;
}
