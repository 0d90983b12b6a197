/** @jsxImportSource hono/jsx */
/** The topic page: the topic on each nsqd, its channels, its rate and depth over time, and its actions. */
import type { FC } from "hono/jsx";
import type { AdminTopicStats } from "../cluster.ts";
import { graphQuery } from "../graphite.ts";
import type { History } from "../history.ts";
import type { AdminOptions } from "../options.ts";
import { ActionButton, Chart, GraphiteGraph, links, linesOf, type PageCtx, RateChart } from "./layout.tsx";
import { actionQuestion } from "./questions.ts";
import { QueueCells, QueueHeads, topicCounts } from "./queues.tsx";

const TopicRow: FC<{ ctx: PageCtx; t: AdminTopicStats; rate: number | null | undefined; heads: AdminTopicStats["e2e_processing_latency"]; total?: boolean }> = ({
  ctx,
  t,
  rate,
  heads,
  total,
}) => {
  return (
    <tr class={total ? "total" : ""}>
      <td>
        {total ? (
          "Total"
        ) : (
          <>
            <ActionButton
              ctx={ctx}
              action="tombstone"
              label="✘"
              compact
              fields={{ node: t.node }}
              question={actionQuestion("tombstone", { topic: t.topic_name, node: t.node })}
            />
            <a href={links.node(ctx, t.node)}>{`${t.hostname} (${t.node})`}</a>
          </>
        )}
        {t.paused ? <span class="label paused">paused</span> : null}
      </td>
      <QueueCells q={topicCounts(t)} rate={rate} count={t.channels?.length ?? 0} e2e={t.e2e_processing_latency} heads={heads} />
    </tr>
  );
};

export const TopicPage: FC<{ ctx: PageCtx; opts: AdminOptions; t: AdminTopicStats; history: History }> = ({ ctx, opts, t, history }) => {
  const name = t.topic_name;
  const nodes = t.nodes ?? [];
  const heads = t.e2e_processing_latency;
  const series = history.series(name);
  return (
    <>
      <nav class="crumbs">
        <a href={ctx.bp("/")}>Streams</a> / <span>{name}</span>
      </nav>
      <h1>
        Topic <strong class="name">{name}</strong>
        {t.paused ? <span class="label paused">paused</span> : null}
      </h1>
      {nodes.length === 0 ? (
        <div class="alert warn">
          No producers exist for this topic. See <a href={ctx.bp("/lookup")}>Lookup</a> for more information.
        </div>
      ) : (
        <>
          <div class="actions">
            <ActionButton ctx={ctx} action="empty" label="Empty Queue" kind="warning" question={actionQuestion("empty", { topic: name })} />
            <ActionButton ctx={ctx} action="delete" label="Delete Topic" kind="danger" question={actionQuestion("delete", { topic: name })} />
            {t.paused ? (
              <ActionButton ctx={ctx} action="unpause" label="UnPause Topic" question={actionQuestion("unpause", { topic: name })} />
            ) : (
              <ActionButton ctx={ctx} action="pause" label="Pause Topic" question={actionQuestion("pause", { topic: name })} />
            )}
          </div>
          <h2>Topic Message Queue</h2>
          <table class="grid" id="topic-nodes">
            <thead>
              <tr>
                <th>NSQd Host</th>
                <QueueHeads heads={heads} last="Channels" />
              </tr>
            </thead>
            <tbody>
              {nodes.map((n) => (
                <TopicRow ctx={ctx} t={n} rate={history.series(name, undefined, n.node).rate.at(-1)} heads={heads} />
              ))}
              <TopicRow ctx={ctx} t={t} rate={series.rate.at(-1)} heads={heads} total />
            </tbody>
          </table>
        </>
      )}
      <div class="charts">
        <RateChart title="Messages per second" series={series} />
        <Chart
          title="Depth of the topic and its channels"
          t={series.t}
          lines={linesOf("depth", [
            { label: "topic", data: series },
            ...(t.channels ?? []).map((c) => ({ label: c.channel_name, data: history.series(name, c.channel_name) })),
          ])}
        />
      </div>
      <GraphiteGraph ctx={ctx} title="Messages per second (Graphite)" query={graphQuery(opts, "message_count", name)} />
      <GraphiteGraph ctx={ctx} title="Depth (Graphite)" query={graphQuery(opts, "depth", name)} />
      <h2>Channel Message Queues</h2>
      {(t.channels ?? []).length === 0 ? (
        <div class="alert info">No channels exist for this topic. Messages will queue at the topic until a channel is created.</div>
      ) : (
        <table class="grid" id="channels">
          <thead>
            <tr>
              <th>Channel</th>
              <QueueHeads heads={heads} last="Connections" />
            </tr>
          </thead>
          <tbody>
            {(t.channels ?? []).map((c) => (
              <tr>
                <td>
                  <a href={links.channel(ctx, name, c.channel_name)}>{c.channel_name}</a>
                  {c.paused ? <span class="label paused">paused</span> : null}
                </td>
                <QueueCells q={c} rate={history.series(name, c.channel_name).rate.at(-1)} count={c.client_count} e2e={c.e2e_processing_latency} heads={heads} />
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
};
