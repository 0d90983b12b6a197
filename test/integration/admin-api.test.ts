// nsqadmin's API and pages over a real cluster: `nsq lookupd` and two `nsq nsqd` processes (NSQ nsqadmin/http_test.go).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AdminCluster, startAdmin, startAdminCluster, type TestAdmin } from "../helpers/admin.ts";
import { until } from "../helpers/client.ts";

let c: AdminCluster;
let a: TestAdmin;
const extra: TestAdmin[] = [];

beforeAll(async () => {
  c = await startAdminCluster(2, ["--e2e-processing-latency-percentile=0.99,0.5"]);
  a = await startAdmin({ lookupdHttpAddress: [c.lookupdHttp] });
}, 30_000);

afterAll(async () => {
  for (const x of [a, ...extra]) await x?.stop();
  await c?.stop();
});

async function another(over: Parameters<typeof startAdmin>[0], tuning?: Parameters<typeof startAdmin>[1]): Promise<TestAdmin> {
  const x = await startAdmin(over, tuning);
  extra.push(x);
  return x;
}

/** A response's JSON, untyped as the assertions read it. */
const json = async (res: Response | Promise<Response>): Promise<any> => (await res).json();

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  a.http(path, { method: "POST", body: JSON.stringify(body), headers });

/** A TCP port on loopback that nothing listens on. */
function closedPort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

describe("read routes", () => {
  test("/ping", async () => {
    const res = await a.http("/ping");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("OK");
  });

  test("/api/topics: the lookupd's topics; ?inactive=true: those no nsqd has, with their channels", async () => {
    await c.prepare("reads", ["ch"]);
    await until(async () => (await a.json("/api/topics")).topics.includes("reads"), "topic listed");
    const res = await a.http("/api/topics");
    expect(res.headers.get("x-nsq-content-type")).toBe("nsq; version=1.0");
    expect(await res.json()).toMatchObject({ message: "" });
    await fetch(`http://${c.lookupdHttp}/channel/create?topic=ghost&channel=g1`, { method: "POST" });
    expect((await a.json("/api/topics?inactive=true")).topics).toEqual({ ghost: ["g1"] });
  });

  test("/api/topics/:topic aggregates every nsqd: sums, per-node rows, channels merged", async () => {
    await c.prepare("agg", ["a", "b"]);
    await c.publish(0, "agg", 3);
    await c.publish(1, "agg", 5);
    const t = await a.json("/api/topics/agg");
    expect(t).toMatchObject({ node: "*", topic_name: "agg", depth: 0, message_count: 8, paused: false, message: "" });
    expect(t.nodes.map((n: { node: string }) => n.node).sort()).toEqual([...c.nodes].sort());
    expect(t.nodes.map((n: { message_count: number }) => n.message_count).sort()).toEqual([3, 5]);
    expect(t.channels.map((ch: { channel_name: string }) => ch.channel_name)).toEqual(["a", "b"]);
    const ch = t.channels[0];
    expect(ch).toMatchObject({ node: "*", topic_name: "agg", depth: 8, memory_depth: 8, backend_depth: 0, message_count: 8 });
    expect(ch.nodes).toHaveLength(2);
    expect(t.e2e_processing_latency).toMatchObject({ topic: "agg", host: "*" });
    expect(t.delivery_msg_count).toBe(16);
  });

  test("/api/topics/:topic/:channel: per node and per client, values as nsqd reports them", async () => {
    await c.prepare("chan", ["ch"]);
    await c.publish(0, "chan", 2);
    await c.publish(1, "chan", 1);
    const w = await c.consume(0, "chan", "ch", { user_agent: "<script>alert(1)</script>", client_id: "cid", hostname: "h<b>" }, 5);
    await w.message();
    const ch = await a.json("/api/topics/chan/ch");
    expect(ch).toMatchObject({ topic_name: "chan", channel_name: "ch", depth: 1, in_flight_count: 2, client_count: 1, message: "" });
    expect(ch.clients).toHaveLength(1);
    expect(ch.clients[0]).toMatchObject({ node: c.nodes[0], user_agent: "<script>alert(1)</script>", ready_count: 5, in_flight_count: 2, tls: false });
    expect(ch.clients[0].connected).toBeGreaterThanOrEqual(0);
    // names and values from the cluster are escaped on the page
    const html = await (await a.http("/topics/chan/ch")).text();
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toContain("h&lt;b&gt;");
    w.close();
  });

  test("e2e latency percentiles: each node's as nsqd reports them, averaged over nodes weighted by count", async () => {
    await c.prepare("e2e", ["ch"]);
    for (const i of [0, 1]) {
      await c.publish(i, "e2e", 3);
      const w = await c.consume(i, "e2e", "ch", {}, 3);
      for (let k = 0; k < 3; k++) w.send(`FIN ${(await w.message()).id}\n`);
    }
    await until(async () => (await a.json("/api/topics/e2e/ch")).e2e_processing_latency?.count === 6, "six latencies");
    const ch = await a.json("/api/topics/e2e/ch");
    const agg = ch.e2e_processing_latency;
    expect(agg).toMatchObject({ count: 6, topic: "e2e", channel: "ch", host: "*" });
    expect(agg.percentiles.map((p: { quantile: number }) => p.quantile)).toEqual([0.99, 0.5]);
    expect(Object.keys(agg.percentiles[0])).toEqual(["average", "count", "max", "min", "quantile"]);
    const nodes = ch.nodes.map((n: { e2e_processing_latency: { percentiles: { value: number; average: number; count: number }[] } }) => n.e2e_processing_latency.percentiles[0]!);
    expect(nodes.every((p: { value: number; average: number; count: number }) => p.value === p.average && p.count === 3)).toBe(true);
    expect(agg.percentiles[0].average).toBeCloseTo((nodes[0].value + nodes[1].value) / 2, 0);
    expect(agg.percentiles[0].max).toBe(Math.max(nodes[0].value, nodes[1].value));
    expect(await (await a.http("/topics/e2e/ch")).text()).toContain("e2e 99th");
  });

  test("a topic lookupd does not know: NSQ's 502 from the API, 'no producers' on the page", async () => {
    const res = await a.http("/api/topics/nosuch");
    expect(res.status).toBe(502);
    expect((await json(res)).message).toEndWith(`/lookup?topic=nosuch got response 404 {"message":"TOPIC_NOT_FOUND"}`);
    const page = await a.http("/topics/nosuch/ch");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("No producers exist for this topic/channel.");
  });

  test("a channel no nsqd has: an empty shape", async () => {
    await c.prepare("nochan", []);
    expect(await a.json("/api/topics/nochan/ch")).toEqual({ message: "" });
    expect(await a.json("/api/topics/nochan")).toMatchObject({ topic_name: "nochan", channels: null, depth: 0 });
  });

  test("/api/nodes and /api/nodes/:node", async () => {
    await c.prepare("nodes_t", ["x"]);
    const { nodes, message } = await a.json("/api/nodes");
    expect(message).toBe("");
    expect(nodes).toHaveLength(2);
    const n = nodes.find((x: { http_port: number }) => x.http_port === c.nsqds[0]!.httpPort);
    expect(n).toMatchObject({ broadcast_address: "127.0.0.1", tcp_port: c.nsqds[0]!.port, version: "1.3.0", out_of_date: false });
    expect(n.remote_addresses).toHaveLength(1);
    expect(n.remote_addresses[0]).toStartWith(`${c.lookupdHttp}/127.0.0.1:`);
    expect(n.topics).toContainEqual({ topic: "nodes_t", tombstoned: false });
    const one = await a.json(`/api/nodes/${c.nodes[0]}`);
    expect(one.node).toBe(c.nodes[0]);
    expect(one.topics.map((t: { topic_name: string }) => t.topic_name)).toContain("nodes_t");
    expect(one).toHaveProperty("total_messages");
    expect(one).toHaveProperty("total_clients");
    const missing = await a.http("/api/nodes/127.0.0.1:1");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: "NODE_NOT_FOUND" });
  });

  test("/api/counter: messages per topic:channel:node", async () => {
    await c.prepare("count", ["c1"]);
    await c.publish(1, "count", 4);
    const { stats } = await a.json("/api/counter");
    expect(stats[`count:c1:${c.nodes[1]}`]).toEqual({ node: c.nodes[1], topic_name: "count", channel_name: "c1", message_count: 4 });
    expect(stats[`count:c1:${c.nodes[0]}`].message_count).toBe(0);
  });

  test("routing: 404 and 405 as NSQ's router answers them", async () => {
    expect((await a.http("/api/nope")).status).toBe(404);
    const res = await a.http("/api/counter", { method: "POST" });
    expect(res.status).toBe(405);
    expect(await res.json()).toEqual({ message: "METHOD_NOT_ALLOWED" });
    expect((await a.http("/static/app.css")).headers.get("content-type")).toStartWith("text/css");
    expect((await a.http("/static/uPlot.iife.min.js")).status).toBe(200);
    expect((await a.http("/static/toString")).status).toBe(404);
  });
});

describe("actions", () => {
  test("pause, unpause and empty a channel and a topic on every nsqd", async () => {
    await c.prepare("act", ["ch"]);
    await c.publish(0, "act", 2);
    await c.publish(1, "act", 2);
    expect((await post("/api/topics/act/ch", { action: "pause" })).status).toBe(200);
    for (const i of [0, 1]) expect((await c.channelStats(i, "act", "ch"))!.paused).toBe(true);
    expect(await (await post("/api/topics/act/ch", { action: "unpause" })).json()).toEqual({ message: "" });
    for (const i of [0, 1]) expect((await c.channelStats(i, "act", "ch"))!.paused).toBe(false);
    expect((await post("/api/topics/act/ch", { action: "empty" })).status).toBe(200);
    for (const i of [0, 1]) expect((await c.channelStats(i, "act", "ch"))!.depth).toBe(0);
    expect((await post("/api/topics/act", { action: "pause" })).status).toBe(200);
    expect((await a.json("/api/topics/act")).paused).toBe(true);
    expect((await post("/api/topics/act", { action: "unpause" })).status).toBe(200);
    const bad = await post("/api/topics/act", { action: "explode" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ message: "INVALID_ACTION" });
    expect((await a.http("/api/topics/act", { method: "POST" })).status).toBe(400);
  });

  test("create a topic and channel, delete them, tombstone a node", async () => {
    expect((await post("/api/topics", { topic: "bad topic" })).status).toBe(400);
    expect(await (await post("/api/topics", { topic: "ok", channel: "bad channel" })).json()).toEqual({ message: "INVALID_CHANNEL" });
    await c.prepare("made", []);
    expect((await post("/api/topics", { topic: "made", channel: "fresh" })).status).toBe(200);
    const channels = await json(fetch(`http://${c.lookupdHttp}/channels?topic=made`));
    expect(channels.channels).toContain("fresh");
    for (const i of [0, 1]) expect(await c.channelStats(i, "made", "fresh")).toBeDefined();

    expect((await a.http("/api/topics/made/fresh", { method: "DELETE" })).status).toBe(200);
    for (const i of [0, 1]) expect(await c.channelStats(i, "made", "fresh")).toBeUndefined();

    const tomb = await a.http(`/api/nodes/${c.nodes[0]}`, { method: "DELETE", body: JSON.stringify({ topic: "made" }) });
    expect(tomb.status).toBe(200);
    const lookup = await json(fetch(`http://${c.lookupdHttp}/lookup?topic=made`));
    expect(lookup.producers.map((p: { http_port: number }) => p.http_port)).toEqual([c.nsqds[1]!.httpPort]);
    expect((await json(c.nsqd(0, "/stats?format=json&topic=made"))).topics).toEqual(null);

    expect((await a.http("/api/topics/made", { method: "DELETE" })).status).toBe(200);
    expect((await json(fetch(`http://${c.lookupdHttp}/topics`))).topics).not.toContain("made");
  });

  test("--admin-user: only the users the ACL header names may act (403 FORBIDDEN), and only they see the buttons", async () => {
    const acl = await another({ lookupdHttpAddress: [c.lookupdHttp], adminUser: ["alice"], aclHttpHeader: "X-Auth-User" });
    await c.prepare("acl", ["ch"]);
    const act = (user: string | null) =>
      acl.http("/api/topics/acl/ch", { method: "POST", body: JSON.stringify({ action: "pause" }), headers: user ? { "X-Auth-User": user } : {} });
    for (const user of [null, "bob"]) {
      const res = await act(user);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ message: "FORBIDDEN" });
    }
    expect((await c.channelStats(0, "acl", "ch"))!.paused).toBe(false);
    expect((await act("alice")).status).toBe(200);
    expect((await c.channelStats(0, "acl", "ch"))!.paused).toBe(true);
    const asBob = await (await acl.http("/topics/acl/ch", { headers: { "X-Auth-User": "bob" } })).text();
    expect(asBob).not.toContain("UnPause Channel");
    const asAlice = await (await acl.http("/topics/acl/ch", { headers: { "X-Auth-User": "alice" } })).text();
    expect(asAlice).toContain("UnPause Channel");
    const form = await acl.http("/topics/acl/ch", { method: "POST", body: new URLSearchParams({ action: "unpause" }), headers: { "X-Auth-User": "bob" } });
    expect(form.status).toBe(403);
    expect(await form.text()).toContain("FORBIDDEN");
  });

  test("--notification-http-endpoint receives NSQ's payload for each action", async () => {
    const got: { body: Record<string, unknown>; type: string | null }[] = [];
    const endpoint = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => {
        got.push({ body: (await req.json()) as Record<string, unknown>, type: req.headers.get("content-type") });
        return new Response("OK");
      },
    });
    try {
      const n = await another({ lookupdHttpAddress: [c.lookupdHttp], notificationHttpEndpoint: `http://127.0.0.1:${endpoint.port}/notify` });
      await c.prepare("notified", ["ch"]);
      const before = Math.floor(Date.now() / 1000);
      const res = await n.http("/api/topics/notified/ch?x=1", {
        method: "POST",
        body: JSON.stringify({ action: "empty" }),
        headers: { Authorization: `Basic ${btoa("carol:secret")}`, "User-Agent": "ops-script/1.0" },
      });
      expect(res.status).toBe(200);
      await n.http("/api/topics", { method: "POST", body: JSON.stringify({ topic: "notified", channel: "new" }) });
      await until(() => got.length === 3, "three notifications");
      const [empty, createTopic, createChannel] = got.map((g) => g.body);
      expect(got[0]!.type).toBe("application/json");
      expect(empty).toMatchObject({
        action: "empty_channel",
        topic: "notified",
        channel: "ch",
        user: "carol",
        user_agent: "ops-script/1.0",
        url: `http://127.0.0.1:${n.admin.httpPort()}/api/topics/notified/ch?x=1`,
      });
      expect(Object.keys(empty!)).toEqual(["action", "topic", "channel", "timestamp", "user", "remote_ip", "user_agent", "url", "via"]);
      expect(empty!.remote_ip as string).toMatch(/^127\.0\.0\.1:\d+$/);
      // Unix seconds, taken while the action was handled
      expect(empty!.timestamp as number).toBeGreaterThanOrEqual(before);
      expect(empty!.timestamp as number).toBeLessThanOrEqual(Date.now() / 1000);
      expect(empty!.via).toBe(require("node:os").hostname());
      expect(createTopic).toMatchObject({ action: "create_topic", topic: "notified" });
      expect(createTopic).not.toHaveProperty("channel");
      expect(createChannel).toMatchObject({ action: "create_channel", topic: "notified", channel: "new" });
    } finally {
      endpoint.stop(true);
    }
  });
});

describe("pages work without JavaScript", () => {
  test("every page renders", async () => {
    await c.prepare("pages", ["p1"]);
    for (const [path, text] of [
      ["/", "pages"],
      ["/topics", "pages"],
      ["/topics/pages", "Channel Message Queues"],
      ["/topics/pages/p1", "Client Connections"],
      ["/nodes", "NSQd Nodes (2)"],
      [`/nodes/${encodeURIComponent(c.nodes[0]!)}`, "pages"],
      ["/counter", "Messages Processed"],
      ["/lookup", c.lookupdHttp],
    ] as const) {
      const res = await a.http(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("text/html");
      expect(await res.text()).toContain(text);
    }
  });

  test("an action asks for confirmation on the page, then posts and comes back with a notice", async () => {
    await c.prepare("nojs", ["ch"]);
    const ask = await (await a.http("/topics/nojs/ch?confirm=pause")).text();
    expect(ask).toContain("Are you sure you want to pause nojs/ch?");
    expect(ask).toContain('<form method="post" action="/topics/nojs/ch">');
    const res = await a.http("/topics/nojs/ch", { method: "POST", body: new URLSearchParams({ action: "pause" }) });
    expect(res.status).toBe(303);
    const back = res.headers.get("location")!;
    expect(back).toStartWith("/topics/nojs/ch?notice=");
    for (const i of [0, 1]) expect((await c.channelStats(i, "nojs", "ch"))!.paused).toBe(true);
    expect(await (await a.http(back)).text()).toContain("Paused nojs/ch.");

    const del = await a.http("/topics/nojs/ch", { method: "POST", body: new URLSearchParams({ action: "delete" }) });
    expect(del.headers.get("location")).toStartWith("/topics/nojs?notice=");
    const create = await a.http("/lookup", { method: "POST", body: new URLSearchParams({ action: "create", topic: "from_form", channel: "c" }) });
    expect(create.status).toBe(303);
    expect((await json(fetch(`http://${c.lookupdHttp}/channels?topic=from_form`))).channels).toEqual(["c"]);
  });

  test("the admin's own samples chart rates without Graphite", async () => {
    const s = await another({ lookupdHttpAddress: [c.lookupdHttp] }, { sampleIntervalMs: 100 });
    await c.prepare("charted", ["ch"]);
    // a rate needs a sample before the messages and one after
    await until(() => s.admin.history.series("charted", "ch").depth.some((d) => d !== null), "a sample of the channel");
    await c.publish(0, "charted", 10);
    await until(() => s.admin.history.series("charted", "ch").rate.some((r) => r !== null && r > 0), "a positive rate sample");
    const html = await (await s.http("/topics/charted/ch")).text();
    const spec = /data-chart="([^"]*)"/.exec(html)![1]!.replaceAll("&quot;", '"');
    const chart = JSON.parse(spec) as { data: (number | null)[][] };
    expect(chart.data[0]!.length).toBeGreaterThan(1);
  });
});

describe("failures are named, the rest still renders", () => {
  test("an unreachable nsqd: a WARNING in the API, the nsqd named on the page", async () => {
    const dead = `127.0.0.1:${closedPort()}`;
    await c.prepare("partial", ["ch"]);
    const p = await another({ nsqdHttpAddress: [c.nodes[0]!, dead] });
    const topics = await p.json("/api/topics");
    expect(topics.topics).toContain("partial");
    expect(topics.message).toStartWith(`WARNING: GET http://${dead}/stats?format=json&include_clients=false - connection refused`);
    const res = await p.http("/");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`nsqd at ${dead} unreachable: connection refused`);
    expect(html).toContain('href="/topics/partial"');
    expect((await p.json("/api/nodes")).nodes).toHaveLength(1);
  });

  test("no lookupd answers: 502 UPSTREAM_ERROR from the API, a page naming it", async () => {
    const dead = `127.0.0.1:${closedPort()}`;
    const p = await another({ lookupdHttpAddress: [dead] });
    const res = await p.http("/api/topics");
    expect(res.status).toBe(502);
    expect((await json(res)).message).toStartWith(`UPSTREAM_ERROR: Failed to query any nsqlookupd: GET http://${dead}/topics - connection refused`);
    const page = await p.http("/topics/x");
    expect(page.status).toBe(502);
    const html = await page.text();
    expect(html).toContain(`nsqlookupd at ${dead} unreachable: connection refused`);
    expect(html).toContain("<nav>");
  });
});

describe("/config/:opt", () => {
  test("reads and changes the lookupds and the log level", async () => {
    const cfg = await another({ lookupdHttpAddress: [c.lookupdHttp] });
    expect(await (await cfg.http("/config/nsqlookupd_http_addresses")).text()).toBe(JSON.stringify([c.lookupdHttp]));
    const addrs = JSON.stringify([c.lookupdHttp, "127.0.0.1:1"]);
    const put = await cfg.http("/config/nsqlookupd_http_addresses", { method: "PUT", body: addrs });
    expect(put.status).toBe(200);
    expect(await put.text()).toBe(addrs);
    expect((await cfg.json("/api/topics")).message).toStartWith("WARNING: ");
    expect((await cfg.http("/config/log_level", { method: "PUT", body: "fatal" })).status).toBe(200);
    expect(await (await cfg.http("/config/log_level")).text()).toBe("5");
    expect((await cfg.http("/config/log_level", { method: "PUT", body: "bad" })).status).toBe(400);
    expect(await (await cfg.http("/config/http_client_request_timeout")).text()).toBe("5000000000");
    expect(await (await cfg.http("/config/nope")).json()).toEqual({ message: "INVALID_OPTION" });
  });

  test("--allow-config-from-cidr: others get 403 FORBIDDEN", async () => {
    const cfg = await another({ lookupdHttpAddress: [c.lookupdHttp], allowConfigFromCidr: "10.0.0.0/8" });
    const res = await cfg.http("/config/nsqlookupd_http_addresses");
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: "FORBIDDEN" });
  });
});
