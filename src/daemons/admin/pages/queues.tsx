/** @jsxImportSource hono/jsx */
/** The columns every queue table shares (topic, channel and node pages): counts, rate and e2e latency. */
import type { FC } from "hono/jsx";
import type { AdminChannelStats, AdminTopicStats, E2eAggregate } from "../cluster.ts";
import { commafy, nanotohuman, percentileLabel, rateText } from "./format.ts";

/** What a queue row counts: a channel's own figures, or a topic's with its channels' summed. */
export type QueueCounts = Pick<
  AdminChannelStats,
  "depth" | "memory_depth" | "backend_depth" | "in_flight_count" | "deferred_count" | "requeue_count" | "timeout_count" | "message_count"
>;

/** A topic's counts, with what is in flight, deferred, requeued and timed out in its channels. */
export function topicCounts(t: AdminTopicStats): QueueCounts {
  const q = { ...t, in_flight_count: 0, deferred_count: 0, requeue_count: 0, timeout_count: 0 };
  for (const c of t.channels ?? []) {
    q.in_flight_count += c.in_flight_count;
    q.deferred_count += c.deferred_count;
    q.requeue_count += c.requeue_count;
    q.timeout_count += c.timeout_count;
  }
  return q;
}

/** Header cells for {@link QueueCells}; `last` names the count column (connections, channels). */
export const QueueHeads: FC<{ heads: E2eAggregate | null; last: string }> = ({ heads, last }) => (
  <>
    <th class="num">Depth</th>
    <th class="num">Memory + Disk</th>
    <th class="num">In-Flight</th>
    <th class="num">Deferred</th>
    <th class="num">Requeued</th>
    <th class="num">Timed Out</th>
    <th class="num">Messages</th>
    <th class="num">Rate</th>
    <th class="num">{last}</th>
    {(heads?.percentiles ?? []).map((p) => (
      <th class="num" title="end-to-end processing latency">{`e2e ${percentileLabel(p.quantile)}`}</th>
    ))}
  </>
);

/** A row's queue cells, e2e percentiles in the columns `heads` has (a dash where this row has none). */
export const QueueCells: FC<{ q: QueueCounts; rate: number | null | undefined; count: number; e2e: E2eAggregate | null; heads: E2eAggregate | null }> = ({
  q,
  rate,
  count,
  e2e,
  heads,
}) => (
  <>
    <td class="num">{commafy(q.depth)}</td>
    <td class="num">{`${commafy(q.memory_depth)} + ${commafy(q.backend_depth)}`}</td>
    <td class="num">{commafy(q.in_flight_count)}</td>
    <td class="num">{commafy(q.deferred_count)}</td>
    <td class="num">{commafy(q.requeue_count)}</td>
    <td class="num">{commafy(q.timeout_count)}</td>
    <td class="num">{commafy(q.message_count)}</td>
    <td class="num">{rateText(rate)}</td>
    <td class="num">{commafy(count)}</td>
    {(heads?.percentiles ?? []).map((h) => {
      const p = e2e?.percentiles?.find((x) => x.quantile === h.quantile);
      return p === undefined ? (
        <td class="num muted">–</td>
      ) : (
        <td class="num" title={`${percentileLabel(p.quantile)}: min = ${nanotohuman(p.min)}, max = ${nanotohuman(p.max)}`}>
          {nanotohuman(p.average)}
        </td>
      );
    })}
  </>
);
