/** @jsxImportSource hono/jsx */
/** The streams page: every topic of the cluster with its totals and current rate. */
import type { FC } from "hono/jsx";
import type { AdminTopicStats } from "../cluster.ts";
import type { History } from "../history.ts";
import { commafy, rateText } from "./format.ts";
import { type PageCtx, links } from "./layout.tsx";

export const Streams: FC<{ ctx: PageCtx; names: string[]; topics: AdminTopicStats[]; history: History }> = ({ ctx, names, topics, history }) => {
  const byName = new Map(topics.map((t) => [t.topic_name, t]));
  const all = [...new Set([...names, ...byName.keys()])].sort();
  return (
    <>
      <h1>Streams</h1>
      {all.length === 0 ? (
        <div class="alert info">
          No topics yet. Topics appear here once an nsqd has one; create one on the <a href={ctx.bp("/lookup")}>Lookup</a> page.
        </div>
      ) : (
        <table class="grid" id="topics">
          <thead>
            <tr>
              <th>Topic</th>
              <th class="num">Depth</th>
              <th class="num">Memory + Disk</th>
              <th class="num">Messages</th>
              <th class="num">Rate</th>
              <th class="num">Channels</th>
              <th class="num">Nodes</th>
            </tr>
          </thead>
          <tbody>
            {all.map((name) => {
              const t = byName.get(name);
              const rate = history.series(name).rate.at(-1);
              return (
                <tr>
                  <td>
                    <a href={links.topic(ctx, name)}>{name}</a>
                    {t?.paused ? <span class="label paused">paused</span> : null}
                  </td>
                  {t === undefined ? (
                    <td colspan={6} class="muted">
                      no nsqd has this topic
                    </td>
                  ) : (
                    <>
                      <td class="num">{commafy(t.depth)}</td>
                      <td class="num">{`${commafy(t.memory_depth)} + ${commafy(t.backend_depth)}`}</td>
                      <td class="num">{commafy(t.message_count)}</td>
                      <td class="num">{rateText(rate)}</td>
                      <td class="num">{commafy(t.channels?.length ?? 0)}</td>
                      <td class="num">{commafy(t.nodes?.length ?? 0)}</td>
                    </>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
};
