import { describe, expect, test } from "bun:test";
import { until } from "../helpers/client.ts";
import { lookupdScope, PEER, type TestLookupd, V1 } from "../helpers/lookupd.ts";
import type { Wire } from "../helpers/nsqd.ts";

const { lookupd, connect } = lookupdScope();

const NSQ_V1 = "nsq; version=1.0";
const JSON_TYPE = "application/json; charset=utf-8";
const post = (l: TestLookupd, path: string) => l.http(path, { method: "POST" });

/** An identified peer that registered `regs` (`["t", "c"]` is topic t, channel c; `["t"]` the topic only). */
async function producer(l: TestLookupd, regs: string[][], identify: Record<string, unknown> = PEER): Promise<Wire> {
  const w = await connect(l.tcpPort, identify);
  for (const [t, c] of regs) {
    w.send(V1.register(t!, c));
    expect(await w.response()).toBe("OK");
  }
  return w;
}

async function expectError(res: Response | Promise<Response>, status: number, message: string) {
  const r = await res;
  expect({ status: r.status, body: await r.text() }).toEqual({ status, body: JSON.stringify({ message }) });
  expect(r.headers.get("X-NSQ-Content-Type")).toBe(NSQ_V1);
  expect(r.headers.get("Content-Type")).toBe(JSON_TYPE);
}

async function expectEmptyOk(res: Promise<Response>) {
  const r = await res;
  expect({ status: r.status, body: await r.text() }).toEqual({ status: 200, body: "" });
  expect(r.headers.get("X-NSQ-Content-Type")).toBe(NSQ_V1);
}

/** The JSON text of a producer as Go marshals PeerInfo. */
const peerJson = (remote: string, extra = "") =>
  `{"remote_address":"${remote}","hostname":"ip.address","broadcast_address":"ip.address","tcp_port":5000,"http_port":5555,` +
  `"version":"fake-version","topology_zone":"","topology_region":""${extra}}`;

const remoteOf = (l: TestLookupd) => l.lookupd.db.findProducers("client", "", "")[0]!.peerInfo.remoteAddress;

describe("lookupd HTTP API", () => {
  test("GET /ping: plain OK, without X-NSQ-Content-Type; requests are logged as http_api.Log does", async () => {
    const l = await lookupd();
    const r = await l.http("/ping");
    expect({ status: r.status, body: await r.text() }).toEqual({ status: 200, body: "OK" });
    expect(r.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(r.headers.get("X-NSQ-Content-Type")).toBeNull();
    expect(l.logs.join("")).toMatch(/INFO: 200 GET \/ping \(127\.0\.0\.1:\d+\) [\d.]+[µnm]?s\n/);
  });

  test("GET /info: the version", async () => {
    const l = await lookupd();
    const r = await l.http("/info");
    expect(await r.text()).toBe('{"version":"1.3.0"}');
    expect(r.headers.get("X-NSQ-Content-Type")).toBe(NSQ_V1);
    expect(r.headers.get("Content-Type")).toBe(JSON_TYPE);
  });

  test("GET /topics and /channels: [] when empty, registered names after", async () => {
    const l = await lookupd();
    expect(await (await l.http("/topics")).text()).toBe('{"topics":[]}');
    await expectError(l.http("/channels"), 400, "MISSING_ARG_TOPIC");
    expect(await (await l.http("/channels?topic=t")).text()).toBe('{"channels":[]}');
    await producer(l, [["t", "c"], ["t", "d"], ["u"]]);
    expect(await l.json("/topics")).toEqual({ topics: ["t", "u"] });
    expect(await l.json("/channels?topic=t")).toEqual({ channels: ["c", "d"] });
    expect(await l.json("/channels?topic=u")).toEqual({ channels: [] });
    // no name rules on reads: `*` is a wildcard, as in NSQ
    expect(await l.json("/channels?topic=*")).toEqual({ channels: ["c", "d"] });
  });

  test("GET /lookup: channels and producers in Go's shape; 400 without a topic, 404 for an unknown one", async () => {
    const l = await lookupd();
    await expectError(l.http("/lookup"), 400, "MISSING_ARG_TOPIC");
    await expectError(l.http("/lookup?topic=t"), 404, "TOPIC_NOT_FOUND");
    await expectError(l.http("/lookup?topic="), 404, "TOPIC_NOT_FOUND");
    await expectError(l.http("/lookup?topic=%zz"), 400, "INVALID_REQUEST");
    await producer(l, [["t", "c"]]);
    const r = await l.http("/lookup?topic=t");
    expect(r.headers.get("X-NSQ-Content-Type")).toBe(NSQ_V1);
    expect(await r.text()).toBe(`{"channels":["c"],"producers":[${peerJson(remoteOf(l))}]}`);
  });

  test("a topic created over HTTP is found with no producers; the topology fields come from IDENTIFY", async () => {
    const l = await lookupd();
    await expectEmptyOk(post(l, "/topic/create?topic=t"));
    expect(await (await l.http("/lookup?topic=t")).text()).toBe('{"channels":[],"producers":[]}');
    await producer(l, [["t"]], { ...PEER, topology_zone: "z", topology_region: "r" });
    const [p] = (await l.json("/lookup?topic=t")).producers;
    expect([p.topology_zone, p.topology_region]).toEqual(["z", "r"]);
  });

  test("GET /nodes: every peer with its topics and tombstones", async () => {
    const l = await lookupd();
    expect(await (await l.http("/nodes")).text()).toBe('{"producers":[]}');
    await producer(l, [["t", "c"], ["u"]]);
    expect(await (await l.http("/nodes")).text()).toBe(
      `{"producers":[${peerJson(remoteOf(l), ',"tombstones":[false,false],"topics":["t","u"]')}]}`,
    );
  });

  test("GET /debug: registrations with producers by category:key:subkey, sorted, Go's field order and int64 times", async () => {
    const l = await lookupd();
    expect(await (await l.http("/debug")).text()).toBe("{}");
    await post(l, "/topic/create?topic=empty");
    await producer(l, [["t", "c"]]);
    const text = await (await l.http("/debug")).text();
    const body = JSON.parse(text);
    expect(Object.keys(body)).toEqual(["channel:t:c", "client::", "topic:t:"]);
    const remote = remoteOf(l);
    expect(text).toMatch(
      new RegExp(
        `^\\{"channel:t:c":\\[\\{"broadcast_address":"ip\\.address","hostname":"ip\\.address","http_port":5555,"id":"${remote}",` +
          `"last_update":\\d{19},"tcp_port":5000,"tombstoned":false,"tombstoned_at":-6795364578871345152,` +
          `"topology_region":"","topology_zone":"","version":"fake-version"\\}\\],`,
      ),
    );
    await post(l, `/topic/tombstone?topic=t&node=ip.address:5555`);
    const tombstoned = (await (await l.http("/debug")).text()).match(/"topic:t:":\[\{.*"tombstoned":true,"tombstoned_at":(\d{19}),/);
    expect(tombstoned).not.toBeNull();
  });

  test("POST /topic/create: MISSING_ARG_TOPIC, INVALID_ARG_TOPIC, then an empty 200", async () => {
    const l = await lookupd();
    await expectError(post(l, "/topic/create"), 400, "MISSING_ARG_TOPIC");
    await expectError(post(l, "/topic/create?topic=sampletopicA$"), 400, "INVALID_ARG_TOPIC");
    await expectError(post(l, "/topic/create?topic="), 400, "INVALID_ARG_TOPIC");
    await expectEmptyOk(post(l, "/topic/create?topic=sampletopicA"));
    expect(await l.json("/topics")).toEqual({ topics: ["sampletopicA"] });
    expect(l.logs.join("")).toContain("INFO: DB: adding topic(sampletopicA)\n");
  });

  test("POST /topic/delete: removes the topic and its channels, producers or not", async () => {
    const l = await lookupd();
    await expectError(post(l, "/topic/delete"), 400, "MISSING_ARG_TOPIC");
    await producer(l, [["t", "c"], ["u", "c"]]);
    await expectEmptyOk(post(l, "/topic/delete?topic=t"));
    await expectEmptyOk(post(l, "/topic/delete?topic=never-was"));
    expect(await l.json("/topics")).toEqual({ topics: ["u"] });
    expect(await l.json("/channels?topic=t")).toEqual({ channels: [] });
    await expectError(l.http("/lookup?topic=t"), 404, "TOPIC_NOT_FOUND");
    expect(l.logs.join("")).toContain("INFO: DB: removing channel(c) from topic(t)\n");
    expect(l.logs.join("")).toContain("INFO: DB: removing topic(t)\n");
  });

  test("POST /channel/create and /channel/delete: argument errors in NSQ's order, 404 for an unknown channel", async () => {
    const l = await lookupd();
    for (const path of ["/channel/create", "/channel/delete"]) {
      await expectError(post(l, path), 400, "MISSING_ARG_TOPIC");
      await expectError(post(l, `${path}?topic=t$`), 400, "INVALID_ARG_TOPIC");
      await expectError(post(l, `${path}?topic=t`), 400, "MISSING_ARG_CHANNEL");
      await expectError(post(l, `${path}?topic=t&channel=c$`), 400, "INVALID_ARG_CHANNEL");
    }
    await expectError(post(l, "/channel/delete?topic=t&channel=c"), 404, "CHANNEL_NOT_FOUND");
    await expectEmptyOk(post(l, "/channel/create?topic=t&channel=c"));
    expect(await l.json("/lookup?topic=t")).toEqual({ channels: ["c"], producers: [] });
    await expectEmptyOk(post(l, "/channel/delete?topic=t&channel=c"));
    expect(await l.json("/lookup?topic=t")).toEqual({ channels: [], producers: [] });
    expect(l.logs.join("")).toContain("INFO: DB: adding channel(c) in topic(t)\n");
  });

  test("POST /topic/tombstone: hides the producer from /lookup, not from /nodes; other topics unaffected", async () => {
    const l = await lookupd();
    await expectError(post(l, "/topic/tombstone"), 400, "MISSING_ARG_TOPIC");
    await expectError(post(l, "/topic/tombstone?topic=t"), 400, "MISSING_ARG_NODE");
    await producer(l, [["t", "c"], ["u"]]);
    await expectEmptyOk(post(l, "/topic/tombstone?topic=t&node=ip.address:5555"));
    expect(l.logs.join("")).toContain("INFO: DB: setting tombstone for producer@ip.address:5555 of topic(t)\n");
    expect((await l.json("/lookup?topic=t")).producers).toEqual([]);
    expect((await l.json("/lookup?topic=u")).producers).toHaveLength(1);
    const [node] = (await l.json("/nodes")).producers;
    expect({ topics: node.topics, tombstones: node.tombstones }).toEqual({ topics: ["t", "u"], tombstones: [true, false] });
    // a node that is not the producer's broadcast_address:http_port tombstones nothing
    await post(l, "/topic/tombstone?topic=u&node=ip.address:5000");
    expect((await l.json("/lookup?topic=u")).producers).toHaveLength(1);
  });

  test("a tombstone lasts --tombstone-lifetime", async () => {
    const l = await lookupd({ tombstoneLifetime: 50 });
    await producer(l, [["t", "c"]]);
    await post(l, "/topic/tombstone?topic=t&node=ip.address:5555");
    await until(async () => (await l.json("/lookup?topic=t")).producers.length === 1, "the producer back in /lookup");
    expect((await l.json("/nodes")).producers[0].tombstones).toEqual([false]);
  });

  test("a producer that UNREGISTERs while tombstoned stays gone", async () => {
    const l = await lookupd({ tombstoneLifetime: 50 });
    const w = await producer(l, [["t", "c"]]);
    await post(l, "/topic/tombstone?topic=t&node=ip.address:5555");
    const tombstonedAt = l.lookupd.now();
    w.send(V1.unregister("t"));
    expect(await w.response()).toBe("OK");
    await until(() => l.lookupd.now() - tombstonedAt > 50, "the tombstone to expire");
    expect((await l.json("/lookup?topic=t")).producers).toEqual([]);
  });

  test("a producer silent for more than --inactive-producer-timeout leaves /lookup and /nodes; its topics stay", async () => {
    const l = await lookupd({ inactiveProducerTimeout: 100 });
    await producer(l, [["t", "c"]]);
    await until(async () => (await l.json("/lookup?topic=t")).producers.length === 0, "the producer to go inactive");
    expect(await l.json("/nodes")).toEqual({ producers: [] });
    expect(await l.json("/topics")).toEqual({ topics: ["t"] });
    expect(l.lookupd.db.findProducers("topic", "t", "")).toHaveLength(1);
  });

  test("httprouter's answers: 404, 405 with Allow, OPTIONS, HEAD, trailing-slash redirect; no pprof", async () => {
    const l = await lookupd();
    await expectError(l.http("/nope"), 404, "NOT_FOUND");
    await expectError(l.http("/debug/pprof"), 404, "NOT_FOUND");
    await expectError(l.http("/debug/pprof/heap"), 404, "NOT_FOUND");
    let r = await post(l, "/ping");
    await expectError(r, 405, "METHOD_NOT_ALLOWED");
    expect(r.headers.get("Allow")).toBe("GET, OPTIONS");
    r = await l.http("/topic/create");
    await expectError(r, 405, "METHOD_NOT_ALLOWED");
    expect(r.headers.get("Allow")).toBe("OPTIONS, POST");
    r = await l.http("/topics", { method: "HEAD" });
    expect(r.status).toBe(405);
    r = await l.http("/lookup", { method: "OPTIONS" });
    expect({ status: r.status, allow: r.headers.get("Allow") }).toEqual({ status: 200, allow: "GET, OPTIONS" });
    r = await l.http("/topics/?x=1", { redirect: "manual" });
    expect({ status: r.status, location: r.headers.get("Location") }).toEqual({ status: 301, location: "/topics?x=1" });
    expect(l.logs.join("")).toMatch(/INFO: 405 POST \/ping \(127\.0\.0\.1:\d+\) /);
  });
});
