/** @jsxImportSource hono/jsx */
/** The channel page: the channel on each nsqd, its clients, its rate and depth over time, and its actions. */
import type { FC } from "hono/jsx";
import type { AdminChannelStats, AdminClientStats } from "../cluster.ts";
import { graphQuery } from "../graphite.ts";
import type { History } from "../history.ts";
import type { AdminOptions } from "../options.ts";
import { commafy, nanotohuman } from "./format.ts";
import { ActionButton, Chart, GraphiteGraph, links, type PageCtx, RateChart } from "./layout.tsx";
import { actionQuestion } from "./questions.ts";
import { QueueCells, QueueHeads } from "./queues.tsx";

const Attributes: FC<{ c: AdminClientStats }> = ({ c }) => (
  <>
    {c.sample_rate > 0 ? <span class="label">{`Sampled ${c.sample_rate}%`}</span> : null}
    {c.tls ? (
      <span class="label tls" title={`${c.tls_version} ${c.tls_cipher_suite} ${c.tls_negotiated_protocol} mutual:${c.tls_negotiated_protocol_is_mutual}`}>
        TLS
      </span>
    ) : null}
    {c.deflate ? <span class="label">Deflate</span> : null}
    {c.snappy ? <span class="label">Snappy</span> : null}
    {c.authed ? <span class="label authed" title={c.auth_identity ? `Authed Identity: ${c.auth_identity}` : "Authed"}>{c.auth_identity || "Authed"}</span> : null}
  </>
);

export const ChannelPage: FC<{ ctx: PageCtx; opts: AdminOptions; topic: string; channel: string; c: AdminChannelStats | null; history: History }> = ({
  ctx,
  opts,
  topic,
  channel,
  c,
  history,
}) => {
  const heads = c?.e2e_processing_latency ?? null;
  const series = history.series(topic, channel);
  const clients = c?.clients ?? [];
  return (
    <>
      <nav class="crumbs">
        <a href={ctx.bp("/")}>Streams</a> / <a href={links.topic(ctx, topic)}>{topic}</a> / <span>{channel}</span>
      </nav>
      <h1>
        Channel <strong class="name">{channel}</strong> <span class="muted">of topic</span> <strong class="name">{topic}</strong>
        {c?.paused ? <span class="label paused">paused</span> : null}
      </h1>
      {c === null || (c.nodes ?? []).length === 0 ? (
        <div class="alert warn">
          No producers exist for this topic/channel. See <a href={ctx.bp("/lookup")}>Lookup</a> for more information.
        </div>
      ) : (
        <>
          <div class="actions">
            <ActionButton ctx={ctx} action="empty" label="Empty Queue" kind="warning" question={actionQuestion("empty", { topic, channel })} />
            <ActionButton ctx={ctx} action="delete" label="Delete Channel" kind="danger" question={actionQuestion("delete", { topic, channel })} />
            {c.paused ? (
              <ActionButton ctx={ctx} action="unpause" label="UnPause Channel" question={actionQuestion("unpause", { topic, channel })} />
            ) : (
              <ActionButton ctx={ctx} action="pause" label="Pause Channel" question={actionQuestion("pause", { topic, channel })} />
            )}
          </div>
          <h2>Channel</h2>
          <table class="grid" id="channel-nodes">
            <thead>
              <tr>
                <th>NSQd Host</th>
                <QueueHeads heads={heads} last="Connections" />
              </tr>
            </thead>
            <tbody>
              {(c.nodes ?? []).map((n) => (
                <tr>
                  <td>
                    <a href={links.node(ctx, n.node)}>{`${n.hostname} (${n.node})`}</a>
                    {n.paused ? <span class="label paused">paused</span> : null}
                  </td>
                  <QueueCells q={n} rate={history.series(topic, channel, n.node).rate.at(-1)} count={n.clients?.length ?? n.client_count} e2e={n.e2e_processing_latency} heads={heads} />
                </tr>
              ))}
              <tr class="total">
                <td>Total</td>
                <QueueCells q={c} rate={series.rate.at(-1)} count={clients.length} e2e={c.e2e_processing_latency} heads={heads} />
              </tr>
            </tbody>
          </table>
        </>
      )}
      <div class="charts">
        <RateChart title="Messages per second" series={series} />
        <Chart
          title="Depth and in flight"
          t={series.t}
          lines={[
            { label: "depth", color: "#c0392b", values: series.depth },
            { label: "in flight", color: "#8e44ad", values: series.inFlight },
          ]}
        />
      </div>
      <GraphiteGraph ctx={ctx} title="Messages per second (Graphite)" query={graphQuery(opts, "message_count", topic, channel)} />
      <GraphiteGraph ctx={ctx} title="Depth (Graphite)" query={graphQuery(opts, "depth", topic, channel)} />
      <h2>Client Connections</h2>
      {clients.length === 0 ? (
        <div class="alert info">No clients connected to this channel.</div>
      ) : (
        <table class="grid" id="clients">
          <thead>
            <tr>
              <th>Client Host</th>
              <th>User-Agent</th>
              <th>Attributes</th>
              <th>NSQd Host</th>
              <th class="num">RDY</th>
              <th class="num">In-Flight</th>
              <th class="num">Finished</th>
              <th class="num">Requeued</th>
              <th class="num">Messages</th>
              <th class="num">Connected</th>
            </tr>
          </thead>
          <tbody>
            {clients.map((cl) => (
              <tr>
                <td title={cl.remote_address}>{`${cl.hostname} (${cl.remote_address})`}</td>
                <td>
                  <small>{cl.user_agent}</small>
                </td>
                <td>
                  <Attributes c={cl} />
                </td>
                <td>
                  <a href={links.node(ctx, cl.node)}>{cl.node}</a>
                </td>
                <td class="num">{commafy(cl.ready_count)}</td>
                <td class="num">{commafy(cl.in_flight_count)}</td>
                <td class="num">{commafy(cl.finish_count)}</td>
                <td class="num">{commafy(cl.requeue_count)}</td>
                <td class="num">{commafy(cl.message_count)}</td>
                <td class="num">{nanotohuman(cl.connected)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
};
