/** @jsxImportSource hono/jsx */
/**
 * The frame every page shares: navigation, the failures of daemons that did not answer, notices, the
 * confirmation of an action, charts' placeholders. Values go through hono/jsx, which escapes them.
 * @module
 */
import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";
import { UpstreamError } from "../../../core/clusterinfo/index.ts";
import type { Series } from "../history.ts";

/** What every page knows besides its data. */
export interface PageCtx {
  /** A path under `--base-path`. */
  bp: (p: string) => string;
  isAdmin: boolean;
  version: string;
  /** Graphite's render URL base (`<graphite-url>/render` or the proxy), when graphs come from Graphite. */
  graphiteRender: string | null;
  lookupd: string[];
  /** The page's own path (actions post back to it). */
  path: string;
  /** The question to confirm, when the page was asked for with `?confirm=<action>` and no JavaScript. */
  confirm: { action: string; label: string; question: string; fields: Record<string, string> } | null;
  notice: string | null;
  /** How often the client script refreshes the page. */
  refreshMs: number;
}

/** A failed daemon in words: `nsqd at 127.0.0.1:4151 unreachable: connection refused`. */
export function describeFailure(e: Error): string {
  if (!(e instanceof UpstreamError)) return e.message;
  const who = `${e.daemon ?? "daemon"} at ${e.addr}`;
  const path = new URL(e.url).pathname;
  return e.status === 0 ? `${who} unreachable: ${e.reason}` : `${who} failed: ${e.method} ${path} ${e.reason}`;
}

/** The failures as a list; nothing when there are none. */
export const Failures: FC<{ errors: Error[]; title?: string }> = ({ errors, title }) =>
  errors.length === 0 ? null : (
    <div class="alert warn" role="status">
      <strong>{title ?? "Some daemons did not answer; the rest is shown."}</strong>
      <ul>
        {errors.map((e) => (
          <li class="failure">{describeFailure(e)}</li>
        ))}
      </ul>
    </div>
  );

const NAV = [
  ["/", "Streams"],
  ["/nodes", "Nodes"],
  ["/counter", "Counter"],
  ["/lookup", "Lookup"],
] as const;

/** The whole document; `children` is the live region the client script refreshes. */
export const Layout: FC<{ ctx: PageCtx; title: string; section: string; warnings: Error[][]; children?: Child }> = ({
  ctx,
  title,
  section,
  warnings,
  children,
}) => (
  <>
    {raw("<!doctype html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <link rel="icon" href="data:," />
        <title>{`${title} · nsqadmin`}</title>
        <link rel="stylesheet" href={ctx.bp("/static/uPlot.min.css")} />
        <link rel="stylesheet" href={ctx.bp("/static/app.css")} />
      </head>
      <body data-refresh-ms={String(ctx.refreshMs)}>
        <header class="top">
          <a class="brand" href={ctx.bp("/")}>
            nsqadmin
          </a>
          <nav>
            {NAV.map(([p, label]) => (
              <a href={ctx.bp(p)} class={section === label ? "active" : ""}>
                {label}
              </a>
            ))}
          </nav>
          <span class="live-toggle" hidden>
            <label>
              <input type="checkbox" id="live" checked /> live
            </label>
          </span>
          <span class="version">{`v${ctx.version}`}</span>
        </header>
        <main id="live-region">
          {ctx.notice === null ? null : (
            <div class="alert info" role="status">
              {ctx.notice}
            </div>
          )}
          {ctx.confirm === null ? null : <ConfirmBox ctx={ctx} />}
          <Failures errors={warnings.flat()} />
          {children}
        </main>
        <dialog id="confirm-dialog">
          <form method="post">
            <p class="question" />
            <input type="hidden" name="action" />
            <div class="buttons">
              <button type="submit" class="btn danger" value="confirm">
                Confirm
              </button>
              <button type="button" class="btn" value="cancel">
                Cancel
              </button>
            </div>
          </form>
        </dialog>
        <script src={ctx.bp("/static/uPlot.iife.min.js")} defer />
        <script src={ctx.bp("/static/app.js")} defer />
      </body>
    </html>
  </>
);

/** The no-JavaScript confirmation: the question and a form that posts the action. */
const ConfirmBox: FC<{ ctx: PageCtx }> = ({ ctx }) => {
  const c = ctx.confirm!;
  return (
    <div class="alert confirm" role="alertdialog">
      <p>{c.question}</p>
      <form method="post" action={ctx.path}>
        <input type="hidden" name="action" value={c.action} />
        {Object.entries(c.fields).map(([k, v]) => (
          <input type="hidden" name={k} value={v} />
        ))}
        <button type="submit" class="btn danger">{`Yes, ${c.label}`}</button> <a href={ctx.path}>Cancel</a>
      </form>
    </div>
  );
};

/**
 * An admin action's button: without JavaScript it asks the page for its confirmation (`?confirm=`); the
 * client script opens the confirmation dialog instead. Only admins see it.
 */
export const ActionButton: FC<{
  ctx: PageCtx;
  action: string;
  label: string;
  question: string;
  kind?: "danger" | "warning" | "primary";
  fields?: Record<string, string>;
  compact?: boolean;
}> = ({ ctx, action, label, question, kind = "primary", fields = {}, compact = false }) =>
  !ctx.isAdmin ? null : (
    <form method="get" action={ctx.path} class="action" data-confirm={question} data-action={action} data-post={ctx.path}>
      <input type="hidden" name="confirm" value={action} />
      {Object.entries(fields).map(([k, v]) => (
        <input type="hidden" name={k} value={v} />
      ))}
      <button type="submit" class={compact ? "link danger" : `btn ${kind}`} title={question}>
        {label}
      </button>
    </form>
  );

/** One line of a {@link Chart}. */
export interface Line {
  label: string;
  color: string;
  values: (number | null)[];
}

const PALETTE = ["#c0392b", "#2a7ab0", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d"];

/** Lines of one measure (`key`) of several series, coloured in turn. */
export function linesOf(key: keyof Omit<Series, "t">, series: { label: string; data: Series }[]): Line[] {
  return series.map((s, i) => ({ label: s.label, color: PALETTE[i % PALETTE.length]!, values: s.data[key] }));
}

/** A chart of the admin's own samples (times `t`, unix seconds), drawn by the client script with uPlot. */
export const Chart: FC<{ title: string; t: number[]; lines: Line[] }> = ({ title, t, lines }) => {
  const spec = { title, series: lines.map(({ label, color }) => ({ label, color })), data: [t, ...lines.map((l) => l.values)] };
  return (
    <figure class="chart" data-chart={JSON.stringify(spec)}>
      <figcaption>{title}</figcaption>
      <noscript>
        <p class="muted">Charts need JavaScript; the tables above are complete without it.</p>
      </noscript>
    </figure>
  );
};

/** The messages-per-second chart of a series. */
export const RateChart: FC<{ title: string; series: Series; color?: string }> = ({ title, series, color = "#2a7ab0" }) => (
  <Chart title={title} t={series.t} lines={[{ label: "msgs/s", color, values: series.rate }]} />
);

/** A Graphite graph, as nsqadmin draws them when `--graphite-url` is set. */
export const GraphiteGraph: FC<{ ctx: PageCtx; title: string; query: URLSearchParams | null }> = ({ ctx, title, query }) =>
  ctx.graphiteRender === null || query === null ? null : (
    <figure class="graphite">
      <figcaption>{title}</figcaption>
      <img src={`${ctx.graphiteRender}?${query}`} alt={title} width="800" height="300" loading="lazy" />
    </figure>
  );

/** `<a>` to a topic, channel or node page, the names URL-encoded. */
export const links = {
  topic: (ctx: PageCtx, t: string) => ctx.bp(`/topics/${encodeURIComponent(t)}`),
  channel: (ctx: PageCtx, t: string, c: string) => ctx.bp(`/topics/${encodeURIComponent(t)}/${encodeURIComponent(c)}`),
  node: (ctx: PageCtx, n: string) => ctx.bp(`/nodes/${encodeURIComponent(n)}`),
};
