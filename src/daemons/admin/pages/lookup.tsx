/** @jsxImportSource hono/jsx */
/** The lookup page: the lookupds, topics and channels they know that no nsqd produces, and topic creation. */
import type { FC } from "hono/jsx";
import { ActionButton, links, type PageCtx } from "./layout.tsx";
import { actionQuestion } from "./questions.ts";

export const LookupPage: FC<{ ctx: PageCtx; inactive: Record<string, string[]> }> = ({ ctx, inactive }) => {
  const topics = Object.keys(inactive);
  return (
    <>
      <h1>Lookup</h1>
      {ctx.lookupd.length === 0 ? (
        <div class="alert warn">nsqadmin is running with --nsqd-http-address: there is no nsqlookupd to look up.</div>
      ) : (
        <>
          <h2>nsqlookupd Hosts</h2>
          <ul class="hosts">
            {ctx.lookupd.map((l) => (
              <li>{l}</li>
            ))}
          </ul>
          <h2>Inactive Topics and Channels</h2>
          {topics.length === 0 ? (
            <p class="muted">Every topic lookupd knows is on some nsqd.</p>
          ) : (
            <ul class="tree" id="inactive">
              {topics.map((t) => (
                <li>
                  <a href={links.topic(ctx, t)}>{t}</a>
                  <ActionButton ctx={ctx} action="delete_topic" label="✘" compact fields={{ topic: t }} question={actionQuestion("delete_topic", { topic: t })} />
                  <ul>
                    {inactive[t]!.map((c) => (
                      <li>
                        {c}
                        <ActionButton
                          ctx={ctx}
                          action="delete_channel"
                          label="✘"
                          compact
                          fields={{ topic: t, channel: c }}
                          question={actionQuestion("delete_channel", { topic: t, channel: c })}
                        />
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
          )}
          {ctx.isAdmin ? (
            <>
              <h2>Create Topic / Channel</h2>
              <form method="post" action={ctx.path} class="create" id="create">
                <input type="hidden" name="action" value="create" />
                <label>
                  Topic <input name="topic" required pattern="[.a-zA-Z0-9_\-]+(#ephemeral)?" maxlength={64} />
                </label>
                <label>
                  Channel <input name="channel" placeholder="(optional)" maxlength={64} />
                </label>
                <button type="submit" class="btn primary">
                  Create
                </button>
              </form>
              <p class="muted">The topic is created on every nsqlookupd; a channel also on every nsqd that has the topic.</p>
            </>
          ) : null}
        </>
      )}
    </>
  );
};
