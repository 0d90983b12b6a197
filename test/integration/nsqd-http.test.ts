/**
 * nsqd's HTTP API through `app.request()` (no HTTP socket; the TCP listener is real for clients),
 * checked against NSQ 1.3's routes, parameters, status codes, error codes and JSON shapes.
 */
import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DiskQueueFs } from "../../src/core/diskqueue/index.ts";
import { Command } from "../../src/core/protocol/commands.ts";
import { encodeMpubBody } from "../../src/core/protocol/mpub.ts";
import { HttpApi } from "../../src/daemons/nsqd/http.ts";
import type { NsqdOptions } from "../../src/daemons/nsqd/options.ts";
import { until } from "../helpers/client.ts";
import { startNsqd, type TestNsqd, Wire } from "../helpers/nsqd.ts";
import { topicStats } from "../helpers/stats.ts";

/** A response body as JSON, typed loosely for field-by-field checks. */
const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json();

let daemons: TestNsqd[] = [];
let wires: Wire[] = [];

afterEach(async () => {
  for (const w of wires) if (!w.isClosed) w.close();
  for (const d of daemons) await d.stop();
  wires = [];
  daemons = [];
});

async function setup(over: Partial<NsqdOptions> = {}, diskFs?: DiskQueueFs) {
  const d = await startNsqd({ httpAddress: "", ...over }, diskFs);
  daemons.push(d);
  const api = new HttpApi(d.nsqd);
  const req = (path: string, init?: RequestInit) => api.app.request(path, init);
  const post = (path: string, body?: RequestInit["body"]) => req(path, { method: "POST", body });
  return { d, api, req, post, nsqd: d.nsqd };
}

async function expectError(res: Response | Promise<Response>, status: number, message: string) {
  const r = await res;
  expect({ status: r.status, body: await r.text() }).toEqual({ status, body: JSON.stringify({ message }) });
  expect(r.headers.get("X-NSQ-Content-Type")).toBe("nsq; version=1.0");
  expect(r.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
}

async function expectOk(res: Response | Promise<Response>, body = "") {
  const r = await res;
  expect({ status: r.status, body: await r.text() }).toEqual({ status: 200, body });
  expect(r.headers.get("X-NSQ-Content-Type")).toBe("nsq; version=1.0");
}

async function consumer(d: TestNsqd, topic: string, channel: string, rdy: number, identify: Record<string, unknown> = {}) {
  const w = await Wire.connect(d.port);
  wires.push(w);
  expect(await w.identify({ output_buffer_timeout: 25, ...identify })).toBe("OK");
  expect(await w.sub(topic, channel)).toBe("OK");
  if (rdy > 0) w.send(Command.rdy(rdy));
  return w;
}

/** A request body that arrives without a Content-Length (chunked). */
function streamed(data: Uint8Array | string): ReadableStream<Uint8Array> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return new ReadableStream({
    start(c) {
      for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.slice(i, i + 1000));
      c.close();
    },
  });
}

describe("/ping and /info", () => {
  test("/ping answers OK as plain text, without X-NSQ-Content-Type", async () => {
    const { req } = await setup();
    const r = await req("/ping");
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("OK");
    expect(r.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(r.headers.get("X-NSQ-Content-Type")).toBeNull();
  });

  test("/ping answers 500 'NOK - <err>' while unhealthy, OK again once healthy", async () => {
    const { req, nsqd } = await setup();
    nsqd.setHealth(new Error("disk on fire"));
    const r = await req("/ping");
    expect(r.status).toBe(500);
    expect(await r.text()).toBe("NOK - disk on fire");
    nsqd.setHealth(null);
    expect(await (await req("/ping")).text()).toBe("OK");
  });

  test("/info: NSQ's fields in order, durations in nanoseconds", async () => {
    const { req, nsqd } = await setup({ broadcastAddress: "b.example", topologyZone: "z1", topologyRegion: "r1" });
    const r = await req("/info");
    expect(r.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    const info = await json(r);
    expect(Object.keys(info)).toEqual([
      "version",
      "broadcast_address",
      "hostname",
      "http_port",
      "tcp_port",
      "start_time",
      "max_heartbeat_interval",
      "max_output_buffer_size",
      "max_output_buffer_timeout",
      "max_deflate_level",
      "topology_zone",
      "topology_region",
    ]);
    expect(info).toMatchObject({
      version: "1.3.0",
      broadcast_address: "b.example",
      http_port: 0,
      tcp_port: nsqd.tcpPort(),
      start_time: Math.floor(nsqd.startTime / 1000),
      max_heartbeat_interval: 60_000_000_000,
      max_output_buffer_size: 65536,
      max_output_buffer_timeout: 30_000_000_000,
      max_deflate_level: 6,
      topology_zone: "z1",
      topology_region: "r1",
    });
    expect(info.hostname).toBe((await import("node:os")).hostname());
  });
});

describe("/pub", () => {
  test("publishes the body; the answer is OK text with X-NSQ-Content-Type", async () => {
    const { post, nsqd, d } = await setup();
    const r = await post("/pub?topic=t", "hello");
    expect(r.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    await expectOk(r, "OK");
    expect(nsqd.topics.get("t")!.depth).toBe(1);
    const w = await consumer(d, "t", "c", 1);
    expect((await w.message()).text).toBe("hello");
  });

  test("errors in nsqd's order: size, emptiness, then the query", async () => {
    const { post, nsqd } = await setup({ maxMsgSize: 10 });
    await expectError(post("/pub", ""), 400, "MSG_EMPTY");
    await expectError(post("/pub?topic=bad!name", ""), 400, "MSG_EMPTY");
    await expectError(post("/pub", "x".repeat(11)), 413, "MSG_TOO_BIG");
    await expectError(post("/pub", "x"), 400, "MISSING_ARG_TOPIC");
    await expectError(post("/pub?topic=bad!name", "x"), 400, "INVALID_TOPIC");
    await expectError(post(`/pub?topic=${"a".repeat(65)}`, "x"), 400, "INVALID_TOPIC");
    await expectError(post("/pub?topic=", "x"), 400, "INVALID_TOPIC");
    await expectError(post("/pub?topic=a;b", "x"), 400, "INVALID_REQUEST");
    await expectError(post("/pub?topic=%zz", "x"), 400, "INVALID_REQUEST");
    expect([...nsqd.topics.keys()]).toEqual([]);
    await expectOk(post("/pub?topic=t", "x".repeat(10)), "OK");
    await expectOk(post("/pub?topic=t%23ephemeral&topic=other", "y"), "OK");
    expect([...nsqd.topics.keys()]).toEqual(["t", "t#ephemeral"]);
  });

  test("a body without Content-Length is limited while it is read", async () => {
    const { post, nsqd } = await setup({ maxMsgSize: 2000 });
    await expectError(post("/pub?topic=t", streamed("x".repeat(2001))), 413, "MSG_TOO_BIG");
    await expectError(post("/pub?topic=t", streamed("x".repeat(50_000))), 413, "MSG_TOO_BIG");
    await expectOk(post("/pub?topic=t", streamed("x".repeat(2000))), "OK");
    expect(nsqd.topics.get("t")!.messageBytes).toBe(2000);
  });

  test("a body that fails while it is read is 500 INTERNAL_ERROR, not a panic", async () => {
    const { post, d } = await setup();
    const broken = new ReadableStream({
      pull(c) {
        c.error(new Error("connection reset"));
      },
    });
    await expectError(post("/pub?topic=t", broken), 500, "INTERNAL_ERROR");
    expect(d.logs.join("")).toContain("ERROR: failed to read request body - connection reset");
    expect(d.logs.join("")).not.toContain("panic");
  });

  test("defer: milliseconds, 0..--max-req-timeout, anything else INVALID_DEFER", async () => {
    const { post, nsqd } = await setup({ maxReqTimeout: 60_000 });
    await post("/channel/create"); // no topic yet: the topic is created by /pub below
    for (const bad of ["abc", "-1", "1.5", "", " 5", "60001", "1e3", "0x10", "99999999999999999999"]) {
      await expectError(post(`/pub?topic=d&defer=${encodeURIComponent(bad)}`, "m"), 400, "INVALID_DEFER");
    }
    // nsqd creates the topic before it looks at defer
    expect(nsqd.topics.get("d")!.messageCount).toBe(0);
    nsqd.topics.get("d")!.getChannel("c");
    const before = Date.now();
    await expectOk(post("/pub?topic=d&defer=60000", "later"), "OK");
    await expectOk(post("/pub?topic=d&defer=%2B5000", "later"), "OK");
    await expectOk(post("/pub?topic=d&defer=0", "now"), "OK");
    const after = Date.now();
    const ch = nsqd.topics.get("d")!.channels.get("c")!;
    expect(ch.deferredById.size).toBe(2);
    expect(ch.depth).toBe(1);
    // due times, as offsets from the span in which they were published
    const due = [...ch.deferredById.values()].map((m) => m.pri).sort((a, b) => a - b);
    expect(due[0]! - before).toBeGreaterThanOrEqual(5000);
    expect(due[0]! - after).toBeLessThanOrEqual(5000);
    expect(due[1]! - before).toBeGreaterThanOrEqual(60_000);
    expect(due[1]! - after).toBeLessThanOrEqual(60_000);
  });

  test("a topic that is exiting answers 503 EXITING, health untouched", async () => {
    const { post, nsqd } = await setup();
    nsqd.getTopic("x").exiting = true;
    await expectError(post("/pub?topic=x", "m"), 503, "EXITING");
    await expectError(post("/mpub?topic=x", "a\nb"), 503, "EXITING");
    expect(nsqd.health).toBeNull();
  });

  test("a failing disk answers 503 EXITING and turns /ping NOK; the next good write heals it", async () => {
    const budget = { fail: false };
    const failingFs: DiskQueueFs = {
      ...fs,
      writeSync: ((...args: Parameters<typeof fs.writeSync>) => {
        if (budget.fail) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        return (fs.writeSync as (...a: unknown[]) => number)(...args);
      }) as typeof fs.writeSync,
    };
    const { post, req, nsqd } = await setup({ memQueueSize: 0 }, failingFs);
    await expectOk(post("/pub?topic=disk", "first"), "OK");
    budget.fail = true;
    // the disk queue takes a record into its buffer and finds out when it flushes; puts fail from then on
    let r = await post("/pub?topic=disk", "second");
    for (let i = 0; i < 3 && r.status === 200; i++) r = await post("/pub?topic=disk", "again");
    await expectError(r, 503, "EXITING");
    const ping = await req("/ping");
    expect(ping.status).toBe(500);
    expect(await ping.text()).toStartWith("NOK - ENOSPC");
    budget.fail = false;
    // the disk queue retries a failed disk at most every so often
    await until(async () => (r = await post("/pub?topic=disk", "third")).status === 200, "a publish once the disk is back");
    await expectOk(r, "OK");
    expect(nsqd.health).toBeNull();
    expect(await (await req("/ping")).text()).toBe("OK");
  });
});

describe("/mpub", () => {
  test("text: one message per line; the trailing newline and empty lines are skipped", async () => {
    const { post, nsqd, d } = await setup();
    await expectOk(post("/mpub?topic=m", "one\ntwo\n\n\nthree\n"), "OK");
    expect(nsqd.topics.get("m")!.messageCount).toBe(3);
    const w = await consumer(d, "m", "c", 3);
    expect([(await w.message()).text, (await w.message()).text, (await w.message()).text]).toEqual(["one", "two", "three"]);
    await expectOk(post("/mpub?topic=m&binary=false", "\n\n"), "OK");
    await expectOk(post("/mpub?topic=m&binary=0", "four"), "OK");
    expect(nsqd.topics.get("m")!.messageCount).toBe(4);
  });

  test("text limits: BODY_TOO_BIG by Content-Length or while read, MSG_TOO_BIG for a line; atomic", async () => {
    const { post, nsqd } = await setup({ maxBodySize: 100, maxMsgSize: 10 });
    await expectError(post("/mpub?topic=m", "a\n".repeat(51)), 413, "BODY_TOO_BIG");
    await expectError(post("/mpub?topic=m", streamed("a\n".repeat(51))), 413, "BODY_TOO_BIG");
    await expectError(post("/mpub?topic=m", "ok\nok\n12345678901\nok"), 413, "MSG_TOO_BIG");
    // a long line before the limit is hit is reported first, as nsqd reads line by line
    await expectError(post("/mpub?topic=m", streamed(`${"x".repeat(20)}\n${"a\n".repeat(60)}`)), 413, "MSG_TOO_BIG");
    expect(nsqd.topics.get("m")!.messageCount).toBe(0);
    await expectOk(post("/mpub?topic=m", streamed("a\n".repeat(50))), "OK");
    expect(nsqd.topics.get("m")!.messageCount).toBe(50);
  });

  test("binary: NSQ's MPUB body; true, 1 and unknown values select it (unknown ones are logged)", async () => {
    const { post, nsqd, d } = await setup();
    const body = encodeMpubBody([new TextEncoder().encode("b1"), new Uint8Array([0, 10, 255])]);
    await expectOk(post("/mpub?topic=b&binary=true", body), "OK");
    await expectOk(post("/mpub?topic=b&binary=1", body), "OK");
    await expectOk(post("/mpub?topic=b&binary=yes", body), "OK");
    expect(nsqd.topics.get("b")!.messageCount).toBe(6);
    expect(d.logs.join("")).toContain("WARNING: deprecated value 'yes' used for /mpub binary param");
    const w = await consumer(d, "b", "c", 2);
    expect((await w.message()).text).toBe("b1");
    expect([...(await w.message()).body]).toEqual([0, 10, 255]);
  });

  test("binary errors are 413 with the TCP code minus E_, and nothing is queued", async () => {
    const { post, nsqd } = await setup({ maxMsgSize: 10, maxBodySize: 1000 });
    const good = new TextEncoder().encode("ok");
    const mpub = (...m: Uint8Array[]) => encodeMpubBody(m);
    const count = (n: number) => new Uint8Array(new Int32Array([n]).buffer).reverse();
    await expectError(post("/mpub?topic=b&binary=true", new Uint8Array([0, 0])), 413, "BAD_BODY");
    await expectError(post("/mpub?topic=b&binary=true", count(0)), 413, "BAD_BODY");
    await expectError(post("/mpub?topic=b&binary=true", count(1000)), 413, "BAD_BODY");
    await expectError(post("/mpub?topic=b&binary=true", mpub(good, new Uint8Array(11))), 413, "BAD_MESSAGE");
    await expectError(post("/mpub?topic=b&binary=true", mpub(good, new Uint8Array(0))), 413, "BAD_MESSAGE");
    await expectError(post("/mpub?topic=b&binary=true", mpub(good, good).subarray(0, 12)), 413, "BAD_MESSAGE");
    await expectError(post("/mpub?topic=b&binary=true", new Uint8Array(1001)), 413, "BODY_TOO_BIG");
    await expectError(post("/mpub?topic=b&binary=true", streamed(new Uint8Array(1001))), 413, "BODY_TOO_BIG");
    expect(nsqd.topics.get("b")!.messageCount).toBe(0);
    // nsqd stops reading after the declared messages: trailing bytes are ignored
    const trailing = new Uint8Array([...mpub(good, good), 1, 2, 3]);
    await expectOk(post("/mpub?topic=b&binary=true", trailing), "OK");
    expect(nsqd.topics.get("b")!.messageCount).toBe(2);
  });

  test("topic errors come before the body is looked at; Content-Length over the limit comes first", async () => {
    const { post, req } = await setup({ maxBodySize: 100 });
    const big = (path: string) => req(path, { method: "POST", body: "x".repeat(101), headers: { "Content-Length": "101" } });
    await expectError(big("/mpub"), 413, "BODY_TOO_BIG");
    await expectError(big("/mpub?topic=a!"), 413, "BODY_TOO_BIG");
    await expectError(post("/mpub", "x"), 400, "MISSING_ARG_TOPIC");
    await expectError(post("/mpub?topic=a!", "x"), 400, "INVALID_TOPIC");
    await expectError(post("/mpub?topic=t&binary=true&x=%", "x"), 400, "INVALID_REQUEST");
  });
});

describe("/stats", () => {
  const TOP = ["version", "health", "start_time", "topics", "memory", "producers"];
  const TOPIC = ["topic_name", "channels", "depth", "backend_depth", "message_count", "message_bytes", "paused", "e2e_processing_latency"];
  const CHANNEL = [
    "channel_name",
    "depth",
    "backend_depth",
    "in_flight_count",
    "deferred_count",
    "message_count",
    "requeue_count",
    "timeout_count",
    "client_count",
    "clients",
    "paused",
    "e2e_processing_latency",
  ];
  const CLIENT_HEAD = [
    "client_id",
    "hostname",
    "version",
    "remote_address",
    "state",
    "ready_count",
    "in_flight_count",
    "message_count",
    "finish_count",
    "requeue_count",
    "connect_ts",
    "sample_rate",
    "deflate",
    "snappy",
    "user_agent",
    "topology_zone",
    "topology_region",
  ];
  const CLIENT_TLS = ["tls", "tls_cipher_suite", "tls_version", "tls_negotiated_protocol", "tls_negotiated_protocol_is_mutual"];
  // Go's heap_released_bytes, gc_pause_usec_100/99/95 and next_gc_bytes have nothing behind them in JSC: left out
  const MEMORY = ["heap_objects", "heap_idle_bytes", "heap_in_use_bytes", "gc_total_runs"];

  test("the JSON shape, field by field, with consumers and producers", async () => {
    const { req, post, d, nsqd } = await setup({ e2eProcessingLatencyPercentile: [0.99, 0.5] });
    const before = Math.floor(Date.now() / 1000);
    const w = await consumer(d, "zeta", "ch", 5, { client_id: "cid", hostname: "host.one", user_agent: "ua/1.0", sample_rate: 0 });
    await post("/channel/create?topic=zeta&channel=alpha");
    await post("/topic/create?topic=alpha");
    const p = await Wire.connect(d.port);
    wires.push(p);
    expect(await p.pub("zeta", "m1")).toBe("OK");
    expect(await p.pub("zeta", "m22")).toBe("OK");
    const m1 = await w.message();
    await w.message();
    w.send(Command.fin(m1.id));
    await until(() => nsqd.topics.get("zeta")!.channels.get("ch")!.inFlight.size === 1, "the FIN");

    const res = await req("/stats?format=json");
    expect(res.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("X-NSQ-Content-Type")).toBe("nsq; version=1.0");
    const s = await json(res);
    expect(Object.keys(s)).toEqual(TOP);
    expect(s.version).toBe("1.3.0");
    expect(s.health).toBe("OK");
    expect(s.start_time).toBe(Math.floor(nsqd.startTime / 1000));
    expect(Object.keys(s.memory)).toEqual(MEMORY);
    expect(s.memory.heap_in_use_bytes).toBeGreaterThan(0);
    expect(s.memory.heap_objects).toBeGreaterThan(0);

    expect(s.topics.map((t: { topic_name: string }) => t.topic_name)).toEqual(["alpha", "zeta"]);
    const [alpha, zeta] = s.topics;
    for (const t of s.topics) expect(Object.keys(t)).toEqual(TOPIC);
    expect(alpha).toEqual(topicStats({ topic_name: "alpha" }));
    expect(zeta.message_count).toBe(2);
    expect(zeta.message_bytes).toBe(5);
    expect(zeta.e2e_processing_latency.count).toBe(1);
    expect(zeta.channels.map((c: { channel_name: string }) => c.channel_name)).toEqual(["alpha", "ch"]);
    for (const c of zeta.channels) expect(Object.keys(c)).toEqual(CHANNEL);
    const [calpha, ch] = zeta.channels;
    expect(calpha).toMatchObject({ depth: 2, message_count: 2, in_flight_count: 0, client_count: 0, clients: [] });
    expect(calpha.e2e_processing_latency).toEqual({
      count: 0,
      percentiles: [
        { quantile: 0.99, value: 0 },
        { quantile: 0.5, value: 0 },
      ],
    });
    expect(ch).toMatchObject({
      channel_name: "ch",
      depth: 0,
      backend_depth: 0,
      in_flight_count: 1,
      deferred_count: 0,
      message_count: 2,
      requeue_count: 0,
      timeout_count: 0,
      client_count: 1,
      paused: false,
    });
    expect(ch.e2e_processing_latency.count).toBe(1);
    expect(ch.e2e_processing_latency.percentiles.map((p: { quantile: number }) => p.quantile)).toEqual([0.99, 0.5]);
    expect(ch.e2e_processing_latency.percentiles[0].value).toBeGreaterThanOrEqual(0);
    expect(ch.e2e_processing_latency.percentiles[0].value).toBeLessThanOrEqual((Date.now() / 1000 - before + 1) * 1e9); // no longer than the test has run

    expect(ch.clients).toHaveLength(1);
    const cl = ch.clients[0];
    expect(Object.keys(cl)).toEqual([...CLIENT_HEAD, ...CLIENT_TLS]);
    expect(cl).toMatchObject({
      client_id: "cid",
      hostname: "host.one",
      version: "V2",
      state: 3,
      ready_count: 5,
      in_flight_count: 1,
      message_count: 2,
      finish_count: 1,
      requeue_count: 0,
      sample_rate: 0,
      deflate: false,
      snappy: false,
      user_agent: "ua/1.0",
      topology_zone: "",
      topology_region: "",
      tls: false,
      tls_cipher_suite: "",
      tls_version: "",
      tls_negotiated_protocol: "",
      tls_negotiated_protocol_is_mutual: false,
    });
    expect(cl.remote_address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(cl.connect_ts).toBeGreaterThanOrEqual(before);

    expect(s.producers).toHaveLength(1);
    const prod = s.producers[0];
    expect(Object.keys(prod)).toEqual([...CLIENT_HEAD, "pub_counts", ...CLIENT_TLS]);
    expect(prod.pub_counts).toEqual([{ topic: "zeta", count: 2 }]);
    expect(prod.state).toBe(2);
  });

  test("filters and nulls: unknown topic → topics null, unknown channel → [], include_clients=false → nulls", async () => {
    const { req, post, d } = await setup();
    await post("/pub?topic=t1", "x");
    await post("/pub?topic=t2", "x");
    await post("/channel/create?topic=t1&channel=a");
    await post("/channel/create?topic=t1&channel=b");
    await post("/channel/create?topic=t2&channel=b");
    await consumer(d, "t1", "a", 0);
    const get = async (q: string) => json(req(`/stats?format=json${q}`));

    const none = await get("&topic=nope");
    expect(none.topics).toBeNull();
    expect(none.producers).toBeNull();
    expect((await get("&topic=t1&channel=nope")).topics).toEqual([]);
    const onlyB = await get("&channel=b");
    expect(onlyB.topics.map((t: { topic_name: string; channels: { channel_name: string }[] }) => [t.topic_name, t.channels.map((c) => c.channel_name)])).toEqual([
      ["t1", ["b"]],
      ["t2", ["b"]],
    ]);
    const t1 = await get("&topic=t1");
    expect(t1.topics.map((t: { topic_name: string }) => t.topic_name)).toEqual(["t1"]);
    expect(t1.topics[0].channels[0].clients).toHaveLength(1);
    expect(t1.topics[0].channels[1].clients).toEqual([]);
    expect(t1.producers).toBeNull(); // nobody published over TCP

    for (const v of ["false", "0"]) {
      const s = await get(`&include_clients=${v}&include_mem=${v}`);
      expect(s.topics[0].channels[0].clients).toBeNull();
      expect(s.topics[0].channels[0].client_count).toBe(1);
      expect(s.producers).toBeNull();
      expect("memory" in s).toBe(false);
      expect(Object.keys(s)).toEqual(["version", "health", "start_time", "topics", "producers"]);
    }
    for (const v of ["true", "1", "yes", ""]) {
      const s = await get(`&include_clients=${v}&include_mem=${v}`);
      expect(s.topics[0].channels[0].clients).toHaveLength(1);
      expect(Object.keys(s.memory)).toHaveLength(4);
    }
    await expectError(req("/stats?topic=a;b"), 400, "INVALID_REQUEST");
  });

  test("pub_counts are limited to the topic filter", async () => {
    const { req, d } = await setup();
    const p = await Wire.connect(d.port);
    wires.push(p);
    await p.pub("b", "1");
    await p.pub("a", "1");
    await p.pub("a", "2");
    const all = await json(req("/stats?format=json"));
    expect(all.producers[0].pub_counts).toEqual([
      { topic: "a", count: 2 },
      { topic: "b", count: 1 },
    ]);
    const b = await json(req("/stats?format=json&topic=b"));
    expect(b.producers[0].pub_counts).toEqual([{ topic: "b", count: 1 }]);
  });

  test("health shows NOK - <err> in the stats", async () => {
    const { req, nsqd } = await setup();
    nsqd.setHealth(new Error("boom"));
    expect((await json(req("/stats?format=json"))).health).toBe("NOK - boom");
  });

  test("text format: NSQ's layout", async () => {
    const { req, post, d } = await setup({ e2eProcessingLatencyPercentile: [0.99] });
    const empty = await (await req("/stats?include_mem=false")).text();
    expect(empty).toMatch(/^nsqd v1\.3\.0 .*\nstart_time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\nuptime \S+\n\nHealth: OK\n\nTopics: None\n\nProducers: None\n$/);

    await post("/pub?topic=events", "x");
    await post("/channel/create?topic=events&channel=archive");
    // the topic hands its backlog to the new channel on the next turn
    await until(() => d.nsqd.topics.get("events")!.channels.get("archive")!.depth === 1, "the backlog in the new channel");
    await post("/topic/pause?topic=events");
    await post("/channel/pause?topic=events&channel=archive");
    const w = await consumer(d, "events", "live", 2, { hostname: "worker", user_agent: "ua" });
    const p = await Wire.connect(d.port);
    wires.push(p);
    await p.pub("events", "y");
    const text = await (await req("/stats")).text();
    expect(text).toMatch(/\nMemory:\n   heap_objects             \t[1-9]\d*\n   heap_idle_bytes          \t\d+\n   heap_in_use_bytes        \t\d+\n   gc_total_runs            \t\d+\n\n/);
    expect(text).toContain("\nTopics:\n*P [events         ] depth: 1     be-depth: 0     msgs: 2        e2e%: 0.0ns\n");
    expect(text).toContain("   *P [archive                  ] depth: 1     be-depth: 0     inflt: 0    def: 0    re-q: 0     timeout: 0     msgs: 1        e2e%: 0.0ns\n");
    expect(text).toMatch(/\n {6}\[live {21}\] depth: 0 {5}be-depth: 0 {5}inflt: 0 {4}def: 0 {4}re-q: 0 {5}timeout: 0 {5}msgs: 0 {8}e2e%: 0\.0ns\n {8}\[V2 worker:\d+ ua\s*\] state: 3 inflt: 0 {4}rdy: 2 {4}fin: 0 {8}re-q: 0 {8}msgs: 0 {8}connected: \d+s\n/);
    expect(text).toMatch(/\nProducers:\n {3}\[V2 127\.0\.0\.1:\d+ \s*\] msgs: 1 {8}topics: events=1 connected: \d+s\n$/);
    expect(w.isClosed).toBe(false);
  });
});

describe("/topic/*", () => {
  test("create, then the errors of each action", async () => {
    const { post, nsqd } = await setup();
    await expectOk(post("/topic/create?topic=t"));
    expect(nsqd.topics.has("t")).toBe(true);
    await expectError(post("/topic/create"), 400, "MISSING_ARG_TOPIC");
    await expectError(post("/topic/create?topic=no/slash"), 400, "INVALID_TOPIC");
    await expectError(post("/topic/create?topic=%"), 400, "INVALID_REQUEST");
    for (const action of ["delete", "empty", "pause", "unpause"]) {
      await expectError(post(`/topic/${action}`), 400, "MISSING_ARG_TOPIC");
      await expectError(post(`/topic/${action}?topic=missing`), 404, "TOPIC_NOT_FOUND");
      await expectError(post(`/topic/${action}?x=%zz`), 400, "INVALID_REQUEST");
    }
    await expectError(post("/topic/empty?topic=bad!"), 400, "INVALID_TOPIC");
    // delete and (un)pause take any name and answer 404 for one that cannot exist
    await expectError(post("/topic/delete?topic=bad!"), 404, "TOPIC_NOT_FOUND");
    await expectError(post("/topic/pause?topic=bad!"), 404, "TOPIC_NOT_FOUND");
  });

  test("pause and unpause persist nsqd.dat at once; empty drops; delete removes", async () => {
    const { post, nsqd, d } = await setup();
    await post("/pub?topic=t", "a");
    await post("/pub?topic=t", "b");
    const dat = () => JSON.parse(readFileSync(join(d.dataPath, "nsqd.dat"), "utf8"));
    await expectOk(post("/topic/pause?topic=t"));
    expect(nsqd.topics.get("t")!.paused).toBe(true);
    expect(dat().topics).toEqual([{ name: "t", paused: true, channels: [] }]);
    await expectOk(post("/topic/unpause?topic=t"));
    expect(dat().topics).toEqual([{ name: "t", paused: false, channels: [] }]);
    await expectOk(post("/topic/empty?topic=t"));
    expect(nsqd.topics.get("t")!.depth).toBe(0);
    await expectOk(post("/topic/delete?topic=t"));
    expect(nsqd.topics.has("t")).toBe(false);
    await expectError(post("/topic/delete?topic=t"), 404, "TOPIC_NOT_FOUND");
  });
});

describe("/channel/*", () => {
  test("argument errors in GetTopicChannelArgs' order, then existence", async () => {
    const { post } = await setup();
    await post("/topic/create?topic=t");
    for (const action of ["create", "delete", "empty", "pause", "unpause"]) {
      const p = `/channel/${action}`;
      await expectError(post(`${p}?x=%`), 400, "INVALID_REQUEST");
      await expectError(post(p), 400, "MISSING_ARG_TOPIC");
      await expectError(post(`${p}?channel=c`), 400, "MISSING_ARG_TOPIC");
      await expectError(post(`${p}?topic=t!&channel=c`), 400, "INVALID_ARG_TOPIC");
      await expectError(post(`${p}?topic=t`), 400, "MISSING_ARG_CHANNEL");
      await expectError(post(`${p}?topic=t&channel=c!`), 400, "INVALID_ARG_CHANNEL");
      await expectError(post(`${p}?topic=nope&channel=c`), 404, "TOPIC_NOT_FOUND");
      if (action !== "create") await expectError(post(`${p}?topic=t&channel=nope`), 404, "CHANNEL_NOT_FOUND");
    }
  });

  test("create, pause (persisted), unpause, empty, delete", async () => {
    const { post, nsqd, d } = await setup();
    await post("/topic/create?topic=t");
    await expectOk(post("/channel/create?topic=t&channel=c"));
    const ch = nsqd.topics.get("t")!.channels.get("c")!;
    await post("/pub?topic=t", "m");
    expect(ch.depth).toBe(1);
    await expectOk(post("/channel/pause?topic=t&channel=c"));
    expect(ch.paused).toBe(true);
    const dat = JSON.parse(readFileSync(join(d.dataPath, "nsqd.dat"), "utf8"));
    expect(dat.topics[0].channels).toEqual([{ name: "c", paused: true }]);
    await expectOk(post("/channel/unpause?topic=t&channel=c"));
    expect(ch.paused).toBe(false);
    await expectOk(post("/channel/empty?topic=t&channel=c"));
    expect(ch.depth).toBe(0);
    await expectOk(post("/channel/delete?topic=t&channel=c"));
    expect(nsqd.topics.get("t")!.channels.size).toBe(0);
  });
});

describe("/config/:opt", () => {
  test("GET: Go's JSON for numbers, durations in ns, log level as a number, strings as raw text", async () => {
    const { req, nsqd } = await setup({ lookupdTcpAddress: ["l1:4160"], broadcastAddress: "bcast" });
    const get = async (opt: string) => {
      const r = await req(`/config/${opt}`);
      return { status: r.status, type: r.headers.get("Content-Type"), body: await r.text() };
    };
    expect(await get("mem_queue_size")).toEqual({ status: 200, type: "application/json; charset=utf-8", body: "10000" });
    expect(await get("msg_timeout")).toEqual({ status: 200, type: "application/json; charset=utf-8", body: "60000000000" });
    expect((await get("output_buffer_timeout")).body).toBe("250000000");
    expect((await get("log_level")).body).toBe("2");
    expect(await get("tcp_address")).toEqual({ status: 200, type: "text/plain; charset=utf-8", body: "127.0.0.1:0" });
    expect((await get("nsqlookupd_tcp_addresses")).body).toBe('["l1:4160"]');
    expect((await get("e2e_processing_latency_percentiles")).body).toBe("[]");
    expect((await get("id")).body).toBe(String(nsqd.opts.nodeId));
    expect((await get("statsd_mem_stats")).body).toBe("true");
    expect((await get("tls_required")).body).toBe("0");
    expect((await get("tls_min_version")).body).toBe("769");
    expect(await get("tls_cert")).toEqual({ status: 200, type: null, body: "" });
    expect((await get("statsd_prefix")).body).toBe("nsq.bcast_0.");
    expect((await get("broadcast_tcp_port")).body).toBe(String(nsqd.tcpPort()));
    for (const opt of ["nope", "verbose", "version", "config", "worker_id", "node_id", "lookupd_tcp_address"]) {
      await expectError(req(`/config/${opt}`), 400, "INVALID_OPTION");
    }
  });

  test("PUT log_level and nsqlookupd_tcp_addresses; everything else is refused", async () => {
    const { req, nsqd, d } = await setup();
    const put = (opt: string, body: string) => req(`/config/${opt}`, { method: "PUT", body });
    await expectOk(put("log_level", "WARN"), "3");
    expect(nsqd.opts.logLevel).toBe("warn");
    expect(nsqd.log.enabled("info")).toBe(false);
    const n = d.logs.length;
    nsqd.log.info("hidden");
    expect(d.logs.length).toBe(n);
    await expectOk(put("log_level", "debug"), "1");
    expect(nsqd.log.enabled("debug")).toBe(true);
    await expectError(put("log_level", "loud"), 400, "INVALID_VALUE");
    await expectError(put("log_level", ""), 413, "INVALID_VALUE");
    await expectError(put("log_level", "x".repeat(nsqd.opts.maxMsgSize + 1)), 413, "INVALID_VALUE");

    await expectOk(put("nsqlookupd_tcp_addresses", '["a:4160","b:4160"]'), '["a:4160","b:4160"]');
    expect(nsqd.opts.lookupdTcpAddress).toEqual(["a:4160", "b:4160"]);
    await expectError(put("nsqlookupd_tcp_addresses", '"a:4160"'), 400, "INVALID_VALUE");
    await expectError(put("nsqlookupd_tcp_addresses", "[1]"), 400, "INVALID_VALUE");
    await expectError(put("nsqlookupd_tcp_addresses", "[nope"), 400, "INVALID_VALUE");
    await expectError(put("mem_queue_size", "5"), 400, "INVALID_OPTION");
    await expectError(put("nope", ""), 413, "INVALID_VALUE");
    await expectError(req("/config/log_level", { method: "POST" }), 405, "METHOD_NOT_ALLOWED");
  });
});

describe("the router: 404, 405, OPTIONS, HEAD, redirects, panics, TLS required", () => {
  test("unknown paths 404 NOT_FOUND; a known path with another method 405 METHOD_NOT_ALLOWED with Allow", async () => {
    const { req, d } = await setup();
    await expectError(req("/nope"), 404, "NOT_FOUND");
    await expectError(req("/put?topic=t", { method: "POST", body: "x" }), 404, "NOT_FOUND"); // removed in 1.0
    await expectError(req("/create_topic?topic=t"), 404, "NOT_FOUND");
    const r = await req("/pub?topic=t");
    expect(r.headers.get("Allow")).toBe("OPTIONS, POST");
    await expectError(r, 405, "METHOD_NOT_ALLOWED");
    await expectError(req("/stats", { method: "DELETE" }), 405, "METHOD_NOT_ALLOWED");
    await expectError(req("/topic/create"), 405, "METHOD_NOT_ALLOWED");
    expect(d.logs.join("")).toMatch(/INFO: 404 GET \/nope \(\) [\d.]+(µs|ms|ns)\n/);
    expect(d.logs.join("")).toMatch(/INFO: 405 GET \/pub\?topic=t \(\) /);
  });

  test("HEAD is not GET (httprouter has no HEAD routes); OPTIONS lists the methods", async () => {
    const { req } = await setup();
    const head = await req("/ping", { method: "HEAD" });
    expect(head.status).toBe(405);
    expect(head.headers.get("Allow")).toBe("GET, OPTIONS");
    const opt = await req("/config/log_level", { method: "OPTIONS" });
    expect(opt.status).toBe(200);
    expect(opt.headers.get("Allow")).toBe("GET, OPTIONS, PUT");
    expect(await opt.text()).toBe("");
  });

  test("trailing slash and wrong case redirect", async () => {
    const { req } = await setup();
    const r = await req("/stats/?format=json");
    expect(r.status).toBe(301);
    expect(r.headers.get("Location")).toBe("/stats?format=json");
    const p = await req("/Topic/Create?topic=x", { method: "POST" });
    expect(p.status).toBe(307);
    expect(p.headers.get("Location")).toBe("/topic/create?topic=x");
  });

  test("an unexpected exception is 500 INTERNAL_ERROR, logged, and the next request is served", async () => {
    const { post, req, nsqd, d } = await setup();
    nsqd.getTopic = () => {
      throw new TypeError("unexpected");
    };
    await expectError(post("/topic/create?topic=t"), 500, "INTERNAL_ERROR");
    expect(d.logs.join("")).toContain("ERROR: panic in HTTP handler - TypeError: unexpected");
    expect(await (await req("/ping")).text()).toBe("OK");
  });

  test("--tls-required=true refuses plain HTTP with 403 TLS_REQUIRED on every path", async () => {
    const { d } = await setup({ tlsRequired: "true" });
    const api = new HttpApi(d.nsqd, { httpsPort: () => 4152 });
    for (const [path, method] of [["/ping", "GET"], ["/pub?topic=t", "POST"], ["/nope", "GET"]] as const) {
      const r = await api.app.request(path, { method, body: method === "POST" ? "x" : undefined });
      expect(r.status).toBe(403);
      expect(await r.text()).toBe('{"message": "TLS_REQUIRED", "https_port": 4152}');
      expect(r.headers.get("X-NSQ-Content-Type")).toBe("nsq; version=1.0");
    }
    const tls = new HttpApi(d.nsqd, { tls: true });
    expect(await (await tls.app.request("/ping")).text()).toBe("OK");
    const except = await setup({ tlsRequired: "tcp-https" });
    expect(await (await except.req("/ping")).text()).toBe("OK");
  });

  test("while closing, every request answers 503 EXITING", async () => {
    const { api, req } = await setup();
    api.closing = true;
    await expectError(req("/ping"), 503, "EXITING");
    await expectError(req("/pub?topic=t", { method: "POST", body: "x" }), 503, "EXITING");
  });

  test("POST /debug/freememory runs a full GC and answers 200", async () => {
    const { post } = await setup();
    await expectOk(post("/debug/freememory"));
  });
});
