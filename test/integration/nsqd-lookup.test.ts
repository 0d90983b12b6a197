import { describe, expect, test } from "bun:test";
import { until } from "../helpers/client.ts";
import { lookupdScope, startLookupd, type TestLookupd } from "../helpers/lookupd.ts";

const { defer, nsqd, lookupd } = lookupdScope();

type LookupBody = { channels: string[]; producers: { broadcast_address: string; tcp_port: number; http_port: number; hostname: string; version: string }[] };

async function lookup(l: TestLookupd, topic: string): Promise<LookupBody | null> {
  const res = await l.http(`/lookup?topic=${encodeURIComponent(topic)}`);
  return res.status === 200 ? ((await res.json()) as LookupBody) : null;
}

/** Waits until lookupd lists `tcpPort` as a producer of `topic` (and `channels` among its channels). */
async function registered(l: TestLookupd, topic: string, tcpPort: number, channels: string[] = []): Promise<LookupBody> {
  let last: LookupBody | null = null;
  await until(
    async () => {
      last = await lookup(l, topic);
      return last !== null && last.producers.some((p) => p.tcp_port === tcpPort) && channels.every((c) => last!.channels.includes(c));
    },
    `topic ${topic} registered by nsqd :${tcpPort}`,
  );
  return last!;
}

const lookupdAddr = (l: TestLookupd) => `127.0.0.1:${l.tcpPort}`;

describe("nsqd announces itself to nsqlookupd", () => {
  test("identifies with its broadcast address and ports, registers topics and channels as they come", async () => {
    const l = await lookupd();
    const d = await nsqd({ lookupdTcpAddress: [lookupdAddr(l)], broadcastAddress: "127.0.0.1" });
    // created before the connection: registered when it is made; after: as they come
    d.nsqd.getTopic("t").getChannel("c");
    await until(() => d.nsqd.lookup.httpAddrs().length === 1, "identified to lookupd");
    d.nsqd.getTopic("solo");
    const t = await registered(l, "t", d.port, ["c"]);
    expect(t.producers).toEqual([
      expect.objectContaining({ broadcast_address: "127.0.0.1", tcp_port: d.port, http_port: d.httpPort, version: "1.3.0" }),
    ]);
    await registered(l, "solo", d.port);
    expect(d.logs.some((x) => x.includes(`LOOKUP(${lookupdAddr(l)}): adding peer`))).toBe(true);
    expect(d.logs.some((x) => x.includes(`LOOKUPD(${lookupdAddr(l)}): topic REGISTER solo`))).toBe(true);
    expect(d.logs.some((x) => x.includes(`LOOKUPD(${lookupdAddr(l)}): REGISTER t c`))).toBe(true);
  });

  test("--broadcast-tcp-port and --broadcast-http-port are what lookupd hands out", async () => {
    const l = await lookupd();
    const d = await nsqd({ lookupdTcpAddress: [lookupdAddr(l)], broadcastAddress: "nsqd.example", broadcastTcpPort: 7150, broadcastHttpPort: 7151 });
    d.nsqd.getTopic("t");
    await until(async () => (await lookup(l, "t"))?.producers.length === 1, "registration");
    expect((await lookup(l, "t"))!.producers[0]).toMatchObject({ broadcast_address: "nsqd.example", tcp_port: 7150, http_port: 7151 });
  });

  test("topics and channels loaded from nsqd.dat are registered at connect", async () => {
    const l = await lookupd();
    const first = await nsqd();
    first.nsqd.getTopic("kept").getChannel("archive");
    await first.stop({ keepData: true });
    const d = await nsqd({ dataPath: first.dataPath, lookupdTcpAddress: [lookupdAddr(l)] });
    await registered(l, "kept", d.port, ["archive"]);
  });

  test("deleting a channel or a topic unregisters it; an ephemeral channel disappears from lookupd with it", async () => {
    const l = await lookupd();
    const d = await nsqd({ lookupdTcpAddress: [lookupdAddr(l)] });
    const topic = d.nsqd.getTopic("t");
    topic.getChannel("c");
    topic.getChannel("e#ephemeral");
    await registered(l, "t", d.port, ["c", "e#ephemeral"]);
    expect(await (await d.http("/channel/delete?topic=t&channel=e%23ephemeral", { method: "POST" })).status).toBe(200);
    await until(async () => !(await lookup(l, "t"))!.channels.includes("e#ephemeral"), "ephemeral channel gone");
    expect(await (await d.http("/topic/delete?topic=t", { method: "POST" })).status).toBe(200);
    // NSQ's lookupd keeps the topic key with no producers until it is deleted over HTTP
    await until(async () => (await lookup(l, "t"))?.producers.length === 0, "producer unregistered");
  });

  test("a lookupd restarted on the same address learns every topic again without waiting for the 15 s ping", async () => {
    const first = await startLookupd();
    const tcpAddress = lookupdAddr(first);
    const d = await nsqd({ lookupdTcpAddress: [tcpAddress] });
    for (let i = 0; i < 20; i++) d.nsqd.getTopic(`t${i}`).getChannel("c");
    await registered(first, "t19", d.port, ["c"]);
    await first.stop();
    const second = await lookupd({ tcpAddress, httpAddress: `127.0.0.1:${first.httpPort}` });
    for (let i = 0; i < 20; i++) await registered(second, `t${i}`, d.port, ["c"]);
  });

  test("PUT /config/nsqlookupd_tcp_addresses adds and removes peers live", async () => {
    const a = await lookupd();
    const b = await lookupd();
    const d = await nsqd({ lookupdTcpAddress: [lookupdAddr(a)] });
    d.nsqd.getTopic("t");
    await registered(a, "t", d.port);
    const put = (addrs: string[]) => d.http("/config/nsqlookupd_tcp_addresses", { method: "PUT", body: JSON.stringify(addrs) });
    let res = await put([lookupdAddr(a), lookupdAddr(b)]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([lookupdAddr(a), lookupdAddr(b)]);
    await registered(b, "t", d.port);
    res = await put([lookupdAddr(b)]);
    expect(res.status).toBe(200);
    // the closed connection takes the registrations with it
    await until(async () => (await lookup(a, "t"))?.producers.length === 0, "nsqd gone from the removed lookupd");
    expect(d.logs.some((x) => x.includes(`LOOKUP(${lookupdAddr(a)}): removing peer`))).toBe(true);
    expect((await lookup(b, "t"))!.producers).toHaveLength(1);
  });

  test("a lookupd that cannot be reached is retried; nsqd keeps serving meanwhile", async () => {
    const l = await startLookupd();
    const tcpAddress = lookupdAddr(l);
    const httpAddress = `127.0.0.1:${l.httpPort}`;
    await l.stop();
    const d = await nsqd({ lookupdTcpAddress: [tcpAddress] });
    d.nsqd.getTopic("t");
    await until(() => d.logs.some((x) => x.includes(`LOOKUPD(${tcpAddress}): dial tcp ${tcpAddress}`)), "a failed dial logged");
    expect((await d.http("/pub?topic=t", { method: "POST", body: "x" })).status).toBe(200);
    const back = await lookupd({ tcpAddress, httpAddress });
    await registered(back, "t", d.port);
  });
});

describe("a new topic pre-creates the channels lookupd knows before it fans out", () => {
  test("a message published to a topic new to this nsqd waits in the channel another nsqd's consumers use", async () => {
    const l = await lookupd();
    const a = await nsqd({ lookupdTcpAddress: [lookupdAddr(l)], broadcastAddress: "127.0.0.1" });
    a.nsqd.getTopic("orders").getChannel("billing");
    a.nsqd.getTopic("orders").getChannel("live#ephemeral");
    await registered(l, "orders", a.port, ["billing", "live#ephemeral"]);
    const b = await nsqd({ lookupdTcpAddress: [lookupdAddr(l)], broadcastAddress: "127.0.0.1" });
    await until(() => b.nsqd.lookup.httpAddrs().length === 1, "b identified to lookupd");
    // the first publish creates the topic on b; it must not be lost for lack of a channel
    expect((await b.http("/pub?topic=orders", { method: "POST", body: "first" })).status).toBe(200);
    await until(() => b.nsqd.topics.get("orders")?.channels.get("billing")?.depth === 1, "the message in b's billing channel");
    // ephemeral channels are left for their consumers to create
    expect(b.nsqd.topics.get("orders")!.channels.has("live#ephemeral")).toBe(false);
    expect(b.nsqd.topics.get("orders")!.depth).toBe(0);
  });

  test("with lookupd unreachable the topic starts at once, and the error is logged", async () => {
    const l = await startLookupd();
    const tcpAddress = lookupdAddr(l);
    await l.stop();
    const d = await nsqd({ lookupdTcpAddress: [tcpAddress] });
    const t = d.nsqd.getTopic("t");
    expect(d.logs.some((x) => x.includes("no available nsqlookupd to query for channels to pre-create for topic t"))).toBe(true);
    t.getChannel("c");
    expect((await d.http("/pub?topic=t", { method: "POST", body: "x" })).status).toBe(200);
    expect(t.channels.get("c")!.depth).toBe(1);
  });
});
