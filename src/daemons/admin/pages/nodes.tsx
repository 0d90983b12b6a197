/** @jsxImportSource hono/jsx */
/** The nodes page (every nsqd of the cluster) and the node page (one nsqd's topics, channels and clients). */
import type { FC } from "hono/jsx";
import { type ClusterNode, nodeAddress } from "../../../core/clusterinfo/index.ts";
import type { AdminTopicStats } from "../cluster.ts";
import type { History } from "../history.ts";
import { commafy } from "./format.ts";
import { links, type PageCtx } from "./layout.tsx";
import { QueueCells, QueueHeads, topicCounts } from "./queues.tsx";

export const NodesPage: FC<{ ctx: PageCtx; nodes: ClusterNode[] }> = ({ ctx, nodes }) => (
  <>
    <h1>NSQd Nodes ({nodes.length})</h1>
    {nodes.length === 0 ? (
      <div class="alert warn">No nsqd is registered with the configured nsqlookupd.</div>
    ) : (
      <table class="grid" id="nodes">
        <thead>
          <tr>
            <th>Hostname</th>
            <th>Broadcast Address</th>
            <th class="num">TCP Port</th>
            <th class="num">HTTP Port</th>
            <th>Version</th>
            <th>Region / Zone</th>
            {ctx.lookupd.length > 0 ? <th class="num">Lookupd Conns.</th> : null}
            <th>Topics</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => {
            const conns = n.remote_addresses?.length ?? 0;
            return (
              <tr>
                <td>
                  <a href={links.node(ctx, nodeAddress(n))}>{n.hostname}</a>
                </td>
                <td>{n.broadcast_address}</td>
                <td class="num">{n.tcp_port}</td>
                <td class="num">{n.http_port}</td>
                <td class={n.out_of_date ? "warn" : ""} title={n.out_of_date ? "older than the newest nsqd of the cluster" : ""}>
                  {n.version}
                </td>
                <td>{[n.topology_region, n.topology_zone].filter(Boolean).join(" / ") || "–"}</td>
                {ctx.lookupd.length > 0 ? (
                  <td class={`num ${conns !== ctx.lookupd.length ? "warn" : ""}`} title={(n.remote_addresses ?? []).join("\n")}>
                    {conns}
                  </td>
                ) : null}
                <td>
                  {(n.topics ?? []).map((t) => (
                    <a href={links.topic(ctx, t.topic)} class={`label topic ${t.tombstoned ? "tombstoned" : ""}`} title={t.tombstoned ? "tombstoned" : ""}>
                      {t.topic}
                    </a>
                  ))}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    )}
  </>
);

export const NodePage: FC<{ ctx: PageCtx; node: ClusterNode; topics: AdminTopicStats[]; totalMessages: number; totalClients: number; history: History }> = ({
  ctx,
  node,
  topics,
  totalMessages,
  totalClients,
  history,
}) => (
  <>
    <nav class="crumbs">
      <a href={ctx.bp("/nodes")}>Nodes</a> / <span>{nodeAddress(node)}</span>
    </nav>
    <h1>
      Node <strong class="name">{node.hostname}</strong> <span class="muted">{nodeAddress(node)}</span>
    </h1>
    <p class="summary">
      {`nsqd v${node.version} · TCP ${node.tcp_port} · ${commafy(topics.length)} topics · ${commafy(totalMessages)} messages · ${commafy(totalClients)} clients`}
    </p>
    {topics.length === 0 ? (
      <div class="alert info">This nsqd has no topics.</div>
    ) : (
      <table class="grid" id="node-topics">
        <thead>
          <tr>
            <th>Topic / Channel</th>
            <QueueHeads heads={null} last="Connections" />
          </tr>
        </thead>
        {topics.map((t) => (
          <tbody>
            <tr class="topic-row">
              <td>
                <a href={links.topic(ctx, t.topic_name)}>{t.topic_name}</a>
                {t.paused ? <span class="label paused">paused</span> : null}
              </td>
              <QueueCells q={topicCounts(t)} rate={history.series(t.topic_name, undefined, t.node).rate.at(-1)} count={0} e2e={null} heads={null} />
            </tr>
            {(t.channels ?? []).map((c) => (
              <tr>
                <td class="indent">
                  <a href={links.channel(ctx, t.topic_name, c.channel_name)}>{c.channel_name}</a>
                  {c.paused ? <span class="label paused">paused</span> : null}
                </td>
                <QueueCells
                  q={c}
                  rate={history.series(t.topic_name, c.channel_name, t.node).rate.at(-1)}
                  count={c.clients?.length ?? c.client_count}
                  e2e={null}
                  heads={null}
                />
              </tr>
            ))}
          </tbody>
        ))}
      </table>
    )}
  </>
);
