/** @jsxImportSource hono/jsx */
/**
 * nsqadmin's HTTP app: the server-rendered pages (each also works without JavaScript: actions are forms that
 * post back to their page), the static assets embedded in the binary, NSQ's `/api/*` and `/config/:opt`
 * routes and the Graphite proxy, all under `--base-path`.
 * @module
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { compress } from "hono/compress";
import type { Child } from "hono/jsx";
import { UpstreamError } from "../../core/clusterinfo/index.ts";
import { ApiError, queryGet, reqParams } from "../../core/http.ts";
import { type ApiEnv, type ApiRoute, mountRoutes } from "../../core/http-router.ts";
import { isValidChannelName, isValidTopicName } from "../../core/protocol/names.ts";
import { NSQ_VERSION } from "../../core/version.ts";
import { apiRoutes, origin } from "./api.ts";
import { emptyTopic, NodeNotFound, type Result, warningMessage } from "./cluster.ts";
import type { Action, NSQAdmin } from "./nsqadmin.ts";
import { ChannelPage } from "./pages/channel.tsx";
import { CounterPage } from "./pages/counter.tsx";
import { describeFailure, Failures, Layout, type PageCtx } from "./pages/layout.tsx";
import { LookupPage } from "./pages/lookup.tsx";
import { NodePage, NodesPage } from "./pages/nodes.tsx";
import { type ActionTarget, actionDone, actionLabel, actionQuestion } from "./pages/questions.ts";
import { Streams } from "./pages/streams.tsx";
import { TopicPage } from "./pages/topic.tsx";
import { ASSETS } from "./static/assets.ts";

type Section = "Streams" | "Nodes" | "Counter" | "Lookup";

/** A page's content and the failures met while gathering it. */
interface Built {
  title: string;
  body: Child;
  warnings: Error[][];
}

/** The app: `app.fetch` under Bun.serve, `app.request()` in tests. */
export function adminApp(a: NSQAdmin): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const bp = (p: string) => a.path(p);
  app.use(compress());

  const page = (path: string, section: Section, build: (ctx: PageCtx, c: Context<ApiEnv>) => Promise<Built>): ApiRoute => ({
    method: "GET",
    path: bp(path),
    kind: "v1",
    log: true,
    handler: (c) => render(a, c, section, build),
  });
  const form = (path: string, act: (c: Context<ApiEnv>, f: Record<string, string>) => { action: Action; target: ActionTarget; back: string; verb: string }): ApiRoute => ({
    method: "POST",
    path: bp(path),
    kind: "v1",
    log: true,
    handler: (c) => submit(a, c, act),
  });
  const p = (c: Context<ApiEnv>, name: string) => c.req.param(name) ?? "";
  const topicLink = (t: string) => bp(`/topics/${encodeURIComponent(t)}`);

  const routes: ApiRoute[] = [
    { method: "GET", path: bp("/ping"), kind: "plain", log: true, handler: () => "OK" },
    page("/", "Streams", (ctx) => streams(a, ctx)),
    page("/topics", "Streams", (ctx) => streams(a, ctx)),
    page("/topics/:topic", "Streams", async (ctx, c) => {
      const r = await unknownTopicIsEmpty(a.cluster.topic(p(c, "topic")), { value: emptyTopic(p(c, "topic")), warnings: [] });
      return { title: r.value.topic_name, body: <TopicPage ctx={ctx} opts={a.opts} t={r.value} history={a.history} />, warnings: r.warnings };
    }),
    page("/topics/:topic/:channel", "Streams", async (ctx, c) => {
      const [topic, channel] = [p(c, "topic"), p(c, "channel")];
      const r = await unknownTopicIsEmpty(a.cluster.channel(topic, channel), { value: null, warnings: [] });
      const body = <ChannelPage ctx={ctx} opts={a.opts} topic={topic} channel={channel} c={r.value} history={a.history} />;
      return { title: `${topic}/${channel}`, body, warnings: r.warnings };
    }),
    page("/nodes", "Nodes", async (ctx) => {
      const r = await a.cluster.nodes();
      return { title: "Nodes", body: <NodesPage ctx={ctx} nodes={r.value} />, warnings: r.warnings };
    }),
    page("/nodes/:node", "Nodes", async (ctx, c) => {
      const r = await a.cluster.node(p(c, "node"));
      const v = r.value;
      const body = <NodePage ctx={ctx} node={v.node} topics={v.topics} totalMessages={v.total_messages} totalClients={v.total_clients} history={a.history} />;
      return { title: p(c, "node"), body, warnings: r.warnings };
    }),
    page("/counter", "Counter", async (ctx) => {
      const r = await a.cluster.counter();
      const total = Object.values(r.value).reduce((n, s) => n + s.message_count, 0);
      return { title: "Counter", body: <CounterPage ctx={ctx} total={total} history={a.history} />, warnings: r.warnings };
    }),
    page("/lookup", "Lookup", async (ctx) => {
      const r = await a.cluster.inactiveTopics();
      return { title: "Lookup", body: <LookupPage ctx={ctx} inactive={r.value} />, warnings: r.warnings };
    }),
    form("/topics/:topic", (c, f) => {
      const topic = p(c, "topic");
      const action = queueAction(f.action);
      if (f.action === "tombstone") {
        const node = f.node ?? "";
        return { action: { kind: "tombstone", topic, node }, target: { topic, node }, back: topicLink(topic), verb: "tombstone" };
      }
      return { action: { kind: "topic", action, topic }, target: { topic }, back: action === "delete" ? bp("/") : topicLink(topic), verb: action };
    }),
    form("/topics/:topic/:channel", (c, f) => {
      const [topic, channel] = [p(c, "topic"), p(c, "channel")];
      const action = queueAction(f.action);
      const back = action === "delete" ? topicLink(topic) : bp(`/topics/${encodeURIComponent(topic)}/${encodeURIComponent(channel)}`);
      return { action: { kind: "channel", action, topic, channel }, target: { topic, channel }, back, verb: action };
    }),
    form("/lookup", (_c, f) => {
      const topic = f.topic ?? "";
      const channel = f.channel ?? "";
      const back = bp("/lookup");
      if (!isValidTopicName(topic)) throw new ApiError(400, "INVALID_TOPIC");
      if (f.action === "create") {
        if (channel !== "" && !isValidChannelName(channel)) throw new ApiError(400, "INVALID_CHANNEL");
        return { action: { kind: "create", topic, channel }, target: { topic, ...(channel ? { channel } : {}) }, back, verb: "create" };
      }
      if (f.action === "delete_topic") return { action: { kind: "topic", action: "delete", topic }, target: { topic }, back, verb: "delete" };
      if (f.action === "delete_channel") {
        return { action: { kind: "channel", action: "delete", topic, channel }, target: { topic, channel }, back, verb: "delete" };
      }
      throw new ApiError(400, "INVALID_ACTION");
    }),
    {
      method: "GET",
      path: bp("/static/:asset"),
      kind: "plain",
      log: true,
      handler: (c) => {
        const name = p(c, "asset");
        const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
        if (asset === undefined) throw new ApiError(404, "NOT_FOUND");
        return new Response(asset.body, { headers: { "Content-Type": asset.type, "Cache-Control": "max-age=3600" } });
      },
    },
    ...apiRoutes(a, bp),
  ];
  if (a.opts.proxyGraphite) {
    routes.push({ method: "GET", path: bp("/render"), kind: "plain", log: true, handler: (c) => proxyGraphite(a, c) });
  }
  mountRoutes(app, routes, a.log);
  return app;
}

/**
 * lookupd answers 404 for a topic it does not know, which NSQ's API reports as 502 UPSTREAM_ERROR; a page
 * says there are no producers instead.
 */
async function unknownTopicIsEmpty<T>(query: Promise<Result<T>>, empty: Result<T>): Promise<Result<T>> {
  try {
    return await query;
  } catch (e) {
    if (e instanceof AggregateError && e.errors.every((x) => x instanceof UpstreamError && x.status === 404)) return empty;
    throw e;
  }
}

function queueAction(action: string | undefined): "pause" | "unpause" | "empty" | "delete" {
  if (action === "pause" || action === "unpause" || action === "empty" || action === "delete") return action;
  throw new ApiError(400, "INVALID_ACTION");
}

/** A path segment decoded; one that is not valid percent-encoding stays as it came. */
function decodePart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function pageCtx(a: NSQAdmin, c: Context<ApiEnv>): PageCtx {
  const bp = (p: string) => a.path(p);
  const q = reqParams(c.req.raw);
  const path = new URL(c.req.url).pathname;
  const isAdmin = a.isAdmin(c.req.raw);
  const action = queryGet(q, "confirm");
  const names = path.slice(a.basePath.length).split("/").filter((s) => s !== "").map(decodePart);
  let confirm: PageCtx["confirm"] = null;
  if (isAdmin && action !== undefined && action !== "") {
    // the names come from the page's own path (topic and channel pages) or the form (lookup page)
    const fields: Record<string, string> = {};
    for (const k of ["node", "topic", "channel"]) {
      const v = queryGet(q, k);
      if (v !== undefined) fields[k] = v;
    }
    const target: ActionTarget =
      names[0] === "topics" ? { topic: names[1] ?? "", ...(names[2] ? { channel: names[2] } : {}), ...(fields.node ? { node: fields.node } : {}) }
      : { topic: fields.topic ?? "", ...(fields.channel ? { channel: fields.channel } : {}) };
    confirm = { action, label: actionLabel(action), question: actionQuestion(action, target), fields };
  }
  const graphiteRender = a.opts.graphiteUrl === "" ? null : a.opts.proxyGraphite ? bp("/render") : `${a.opts.graphiteUrl}/render`;
  return { bp, isAdmin, version: NSQ_VERSION, graphiteRender, lookupd: a.opts.lookupdHttpAddress, path, confirm, notice: queryGet(q, "notice") ?? null, refreshMs: a.refreshMs };
}

async function render(a: NSQAdmin, c: Context<ApiEnv>, section: Section, build: (ctx: PageCtx, c: Context<ApiEnv>) => Promise<Built>): Promise<Response> {
  const ctx = pageCtx(a, c);
  let built: Built;
  let status = 200;
  try {
    built = await build(ctx, c);
  } catch (e) {
    // never a bare error: the frame renders and names what failed
    if (e instanceof NodeNotFound) {
      status = 404;
      built = { title: "Node not found", body: <div class="alert warn">{`No nsqd of the cluster is at ${c.req.param("node")}.`}</div>, warnings: [] };
    } else if (e instanceof AggregateError) {
      status = 502;
      a.log.error(`failed to render ${c.req.path} - ${e.message}`);
      built = { title: "Unreachable", body: <Failures errors={e.errors as Error[]} title="No daemon of the cluster answered." />, warnings: [] };
    } else {
      status = 500;
      a.log.error(`failed to render ${c.req.path} - ${(e as Error).stack ?? e}`);
      built = { title: "Error", body: <div class="alert error">{`Internal error: ${(e as Error).message}`}</div>, warnings: [] };
    }
  }
  for (const g of built.warnings) a.log.warn(g.map((e) => e.message).join("\n"));
  const html = (
    <Layout ctx={ctx} title={built.title} section={section} warnings={built.warnings}>
      {built.body}
    </Layout>
  );
  return c.html(html, status as 200);
}

async function streams(a: NSQAdmin, ctx: PageCtx): Promise<Built> {
  const [names, topics] = await Promise.allSettled([a.cluster.topics(), a.cluster.allTopics()]);
  if (names.status === "rejected" && topics.status === "rejected") throw names.reason;
  const warnings: Error[][] = [];
  const pick = <T,>(r: PromiseSettledResult<{ value: T; warnings: Error[][] }>, empty: T): T => {
    if (r.status === "rejected") {
      warnings.push((r.reason as AggregateError).errors ?? [r.reason]);
      return empty;
    }
    warnings.push(...r.value.warnings);
    return r.value.value;
  };
  const list = pick(names, [] as string[]);
  const stats = pick(topics, []);
  if (topics.status === "fulfilled" && Date.now() - a.history.lastAt() > 1000) a.history.record(stats);
  return { title: "Streams", body: <Streams ctx={ctx} names={list} topics={stats} history={a.history} />, warnings: dedupe(warnings) };
}

/** The same daemon failing for two queries of one page is named once. */
function dedupe(groups: Error[][]): Error[][] {
  const seen = new Set<string>();
  return groups
    .map((g) =>
      g.filter((e) => {
        const k = describeFailure(e);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      }),
    )
    .filter((g) => g.length > 0);
}

/** A page's action form: admins only (403 otherwise), then back to a page with what happened (post/redirect/get). */
async function submit(
  a: NSQAdmin,
  c: Context<ApiEnv>,
  act: (c: Context<ApiEnv>, f: Record<string, string>) => { action: Action; target: ActionTarget; back: string; verb: string },
): Promise<Response> {
  if (!a.isAdmin(c.req.raw)) return errorPage(a, c, 403, "Only admin users may do that (FORBIDDEN).");
  const body = await c.req.parseBody();
  const f = Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === "string")) as Record<string, string>;
  let plan;
  try {
    plan = act(c, f);
  } catch (e) {
    if (e instanceof ApiError) return errorPage(a, c, e.status, `Cannot do that: ${e.text}`);
    throw e;
  }
  let notice: string;
  try {
    const errors = await a.act(plan.action, origin(c));
    notice = actionDone(plan.verb, plan.target);
    if (errors.length > 0) {
      a.log.warn(warningMessage([errors]));
      notice += ` Not everywhere: ${errors.map(describeFailure).join("; ")}.`;
    }
  } catch (e) {
    const errs = e instanceof AggregateError ? (e.errors as Error[]) : [e as Error];
    a.log.error(`failed to ${plan.verb} - ${(e as Error).message}`);
    notice = `Could not ${plan.verb}: ${errs.map(describeFailure).join("; ")}.`;
  }
  return c.redirect(`${plan.back}?notice=${encodeURIComponent(notice)}`, 303);
}

function errorPage(a: NSQAdmin, c: Context<ApiEnv>, status: number, text: string): Response | Promise<Response> {
  const ctx = pageCtx(a, c);
  return c.html(
    <Layout ctx={ctx} title="Not allowed" section="Streams" warnings={[]}>
      <div class="alert error">{text}</div>
    </Layout>,
    status as 200,
  );
}

/** NSQ's Graphite proxy: `GET <base>/render?…` to the Graphite server, with the basic auth of `--graphite-url`. */
async function proxyGraphite(a: NSQAdmin, c: Context<ApiEnv>): Promise<Response> {
  const target = new URL(a.opts.graphiteUrl);
  const url = new URL(c.req.url);
  const headers: Record<string, string> = {};
  if (target.username !== "") headers.Authorization = `Basic ${btoa(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`)}`;
  const to = `${target.protocol}//${target.host}${url.pathname.slice(a.basePath === "/" ? 0 : a.basePath.length)}${url.search}`;
  try {
    const res = await (a.http.fetch ?? fetch)(to, { headers, signal: AbortSignal.timeout(a.http.timeoutMs) });
    return new Response(res.body, { status: res.status, headers: { "Content-Type": res.headers.get("content-type") ?? "application/octet-stream" } });
  } catch (e) {
    a.log.error(`graphite proxy failed - ${(e as Error).message}`);
    return new Response(null, { status: 502 });
  }
}
