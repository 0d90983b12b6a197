/** nsqd's statsd push, read back by a real UDP listener, and its pure parts (prefix, lines, packing). */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import type { udp } from "bun";
import { Command } from "../../src/core/protocol/commands.ts";
import type { NsqdOptions } from "../../src/daemons/nsqd/options.ts";
import { packDatagrams, statsdLines, statsdPrefix } from "../../src/daemons/nsqd/statsd.ts";
import { until } from "../helpers/client.ts";
import { startNsqd, type TestNsqd, Wire } from "../helpers/nsqd.ts";
import { topicStats as topic } from "../helpers/stats.ts";

interface Datagram {
  at: number;
  text: string;
}

let daemons: TestNsqd[] = [];
let sockets: udp.Socket<"buffer">[] = [];

afterEach(async () => {
  for (const d of daemons) await d.stop();
  for (const s of sockets) s.close();
  daemons = [];
  sockets = [];
});

async function listener() {
  const got: Datagram[] = [];
  const s = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(_s, buf) {
        got.push({ at: performance.now(), text: new TextDecoder().decode(buf) });
      },
    },
  });
  sockets.push(s);
  return { port: s.port, got };
}

async function nsqd(over: Partial<NsqdOptions>) {
  const d = await startNsqd(over);
  daemons.push(d);
  return d;
}

/** statsd lines of all datagrams, as `key → value|type`. */
function parse(ds: Datagram[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const d of ds) {
    expect(d.text.endsWith("\n")).toBe(true);
    for (const line of d.text.slice(0, -1).split("\n")) {
      const match = /^([^:]+):(-?\d+\|[cg])$/.exec(line);
      expect(match).not.toBeNull();
      m.set(match![1]!, match![2]!);
    }
  }
  return m;
}

describe("the statsd loop against a UDP listener", () => {
  test("keys, prefix, counter deltas between pushes, gauges, mem stats; datagrams of whole lines ≤ the packet size", async () => {
    const udp = await listener();
    const d = await nsqd({
      statsdAddress: `127.0.0.1:${udp.port}`,
      statsdInterval: 300,
      broadcastAddress: "my.host",
      statsdUdpPacketSize: 200,
    });
    const prefix = `nsq.my_host_${d.httpPort}.`;
    await d.http("/topic/create?topic=t", { method: "POST" });
    await d.http("/channel/create?topic=t&channel=c", { method: "POST" });
    await d.http("/mpub?topic=t", { method: "POST", body: "aa\nbb\ncc" });

    await until(() => udp.got.some((g) => g.text.includes("mem.gc_runs")), "the first push");
    const first = udp.got.splice(0);
    for (const g of first) expect(g.text.length).toBeLessThanOrEqual(200);
    expect(first.length).toBeGreaterThan(1);
    const a = parse(first);
    expect(a.get(`${prefix}topic.t.message_count`)).toBe("3|c");
    expect(a.get(`${prefix}topic.t.message_bytes`)).toBe("6|c");
    expect(a.get(`${prefix}topic.t.depth`)).toBe("0|g");
    expect(a.get(`${prefix}topic.t.backend_depth`)).toBe("0|g");
    expect(a.get(`${prefix}topic.t.channel.c.message_count`)).toBe("3|c");
    expect(a.get(`${prefix}topic.t.channel.c.depth`)).toBe("3|g");
    expect(a.get(`${prefix}topic.t.channel.c.backend_depth`)).toBe("0|g");
    expect(a.get(`${prefix}topic.t.channel.c.in_flight_count`)).toBe("0|g");
    expect(a.get(`${prefix}topic.t.channel.c.deferred_count`)).toBe("0|g");
    expect(a.get(`${prefix}topic.t.channel.c.requeue_count`)).toBe("0|c");
    expect(a.get(`${prefix}topic.t.channel.c.timeout_count`)).toBe("0|c");
    expect(a.get(`${prefix}topic.t.channel.c.clients`)).toBe("0|g");
    for (const k of ["heap_objects", "heap_idle_bytes", "heap_in_use_bytes"]) {
      expect(a.get(`${prefix}mem.${k}`)).toMatch(/^\d+\|g$/);
    }
    // what JSC has nothing behind is not sent; gc_runs counts the collections seen since start, as NSQ's first push does
    expect([...a.keys()].filter((k) => /mem\.(heap_released|gc_pause|next_gc)/.test(k))).toEqual([]);
    expect(a.get(`${prefix}mem.gc_runs`)).toMatch(/^\d+\|c$/);
    expect([...a.keys()].filter((k) => k.includes("e2e"))).toEqual([]);
    expect(d.logs.join("")).toContain(`INFO: STATSD: pushing stats to 127.0.0.1:${udp.port}\n`);

    // a consumer, two more messages, one requeue: the next push carries the differences
    const w = await Wire.connect(d.port);
    expect(await w.identify({ output_buffer_timeout: 25 })).toBe("OK");
    expect(await w.sub("t", "c")).toBe("OK");
    w.send(Command.rdy(1));
    const m = await w.message();
    w.send(Command.req(m.id, 0));
    await d.http("/mpub?topic=t", { method: "POST", body: "dd\nee" });
    await until(() => d.nsqd.topics.get("t")!.channels.get("c")!.requeueCount === 1, "the REQ");
    await until(() => udp.got.some((g) => g.text.includes("mem.gc_runs")), "the second push");
    const b = parse(udp.got.splice(0));
    expect(b.get(`${prefix}topic.t.message_count`)).toBe("2|c");
    expect(b.get(`${prefix}topic.t.message_bytes`)).toBe("4|c");
    expect(b.get(`${prefix}topic.t.channel.c.message_count`)).toBe("2|c");
    expect(b.get(`${prefix}topic.t.channel.c.requeue_count`)).toBe("1|c");
    expect(b.get(`${prefix}topic.t.channel.c.clients`)).toBe("1|g");
    expect(b.get(`${prefix}topic.t.channel.c.in_flight_count`)).toBe("1|g");
    w.close();

    await until(() => udp.got.some((g) => g.text.includes("mem.gc_runs")), "the third push");
    const c = parse(udp.got.splice(0));
    expect(c.get(`${prefix}topic.t.message_count`)).toBe("0|c");
    expect(c.get(`${prefix}topic.t.channel.c.requeue_count`)).toBe("0|c");
  });

  test("--statsd-exclude-ephemeral, --statsd-mem-stats=false, e2e percentile keys, a custom prefix", async () => {
    const udp = await listener();
    const d = await nsqd({
      statsdAddress: `127.0.0.1:${udp.port}`,
      statsdInterval: 300,
      statsdPrefix: "app.%s.nsqd",
      broadcastAddress: "10.0.0.1",
      statsdExcludeEphemeral: true,
      statsdMemStats: false,
      e2eProcessingLatencyPercentile: [1.0, 0.99, 0.5],
    });
    for (const [t, c] of [["keep", "a"], ["keep", "b#ephemeral"], ["gone#ephemeral", "a"]]) {
      await d.http(`/topic/create?topic=${encodeURIComponent(t!)}`, { method: "POST" });
      await d.http(`/channel/create?topic=${encodeURIComponent(t!)}&channel=${encodeURIComponent(c!)}`, { method: "POST" });
    }
    // the last line of a push in nsqd's order (no mem stats here): the whole push is in
    await until(() => udp.got.some((g) => g.text.includes("topic.keep.channel.a.e2e_processing_latency_50")), "a whole push");
    const keys = [...parse(udp.got.splice(0)).keys()];
    const prefix = `app.10_0_0_1_${d.httpPort}.nsqd.`;
    expect(keys.every((k) => k.startsWith(prefix))).toBe(true);
    const rest = keys.map((k) => k.slice(prefix.length));
    expect(rest.filter((k) => k.includes("ephemeral"))).toEqual([]);
    expect(rest.filter((k) => k.startsWith("mem."))).toEqual([]);
    expect(rest).toContain("topic.keep.e2e_processing_latency_100");
    expect(rest).toContain("topic.keep.e2e_processing_latency_99");
    expect(rest).toContain("topic.keep.channel.a.e2e_processing_latency_50");
    expect(rest.filter((k) => k.startsWith("topic.keep.channel.a."))).toHaveLength(11);
  });

  test("the datagrams of a push are spread over the interval less one second", async () => {
    const udp = await listener();
    const timers = spyOn(globalThis, "setTimeout");
    try {
      const d = await nsqd({ statsdAddress: `127.0.0.1:${udp.port}`, statsdInterval: 1600, statsdUdpPacketSize: 64 });
      for (let i = 0; i < 4; i++) await d.http(`/topic/create?topic=topic${i}`, { method: "POST" });
      await until(() => udp.got.some((g) => g.text.includes("mem.gc_runs")), "a whole push", 5000);
      const push = udp.got.splice(0);
      const n = push.length;
      expect(n).toBeGreaterThan(10);
      // 600 ms spread evenly: datagram i is sent i/n of the way through (the schedule, not a stopwatch)
      const gap = 600 / n;
      const delays = timers.mock.calls.map((c) => c[1]);
      for (let i = 1; i < n; i++) expect(delays).toContain(i * gap);
      // and they did wait for it: the last one arrived (n-1)/n of the way through, or later
      expect(push.at(-1)!.at - push[0]!.at).toBeGreaterThan(400);
    } finally {
      timers.mockRestore();
    }
  });

  test("an address that does not resolve is logged each time; stop logs STATSD: closing", async () => {
    const d = await nsqd({ statsdAddress: "no-such-host.invalid:8125", statsdInterval: 100 });
    await until(() => d.logs.join("").includes("failed to create UDP socket to statsd(no-such-host.invalid:8125)"), "the error");
    await d.stop();
    daemons = [];
    expect(d.logs.join("")).toContain("INFO: STATSD: closing\n");
  });
});

describe("statsd pure parts", () => {
  test("statsdPrefix: %s → broadcast address and HTTP port with . and : as _, and a trailing dot", async () => {
    const d = await nsqd({ broadcastAddress: "a.b.c", broadcastHttpPort: 4151 });
    expect(statsdPrefix(d.nsqd)).toBe("nsq.a_b_c_4151.");
    d.nsqd.opts.statsdPrefix = "x.%s.%s.";
    expect(statsdPrefix(d.nsqd)).toBe("x.a_b_c_4151.a_b_c_4151.");
    d.nsqd.opts.statsdPrefix = "plain";
    expect(statsdPrefix(d.nsqd)).toBe("plain.");
    d.nsqd.opts.statsdPrefix = "";
    expect(statsdPrefix(d.nsqd)).toBe("");
    d.nsqd.opts.statsdPrefix = "nsq.%s";
    d.nsqd.opts.broadcastAddress = "::1";
    expect(statsdPrefix(d.nsqd)).toBe("nsq.[__1]_4151.");
    d.nsqd.opts.broadcastHttpPort = 0;
    expect(statsdPrefix(d.nsqd)).toBe(`nsq.[__1]_${d.httpPort}.`);
  });

  test("statsdLines: nsqd's order, counters as differences, a new topic counted from zero", () => {
    const now = topic({ message_count: 10, message_bytes: 100, depth: 4, backend_depth: 1 });
    const lines = statsdLines("p.", [now], [topic({ message_count: 7, message_bytes: 60 })], false, null, null);
    expect(lines).toEqual(["p.topic.t.message_count:3|c\n", "p.topic.t.message_bytes:40|c\n", "p.topic.t.depth:4|g\n", "p.topic.t.backend_depth:1|g\n"]);
    expect(statsdLines("p.", [now], [], false, null, null)[0]).toBe("p.topic.t.message_count:10|c\n");
    const e2e = topic({ e2e_processing_latency: { count: 2, percentiles: [{ quantile: 0.999, value: 1234.9 }, { quantile: 0.125, value: 5 }] } });
    expect(statsdLines("", [e2e], [], false, null, null).slice(4)).toEqual(["topic.t.e2e_processing_latency_100:1234|g\n", "topic.t.e2e_processing_latency_12:5|g\n"]);
  });

  test("packDatagrams: greedy whole lines; an oversize line alone", () => {
    expect(packDatagrams(["aaa\n", "bbb\n", "ccc\n"], 8)).toEqual(["aaa\nbbb\n", "ccc\n"]);
    expect(packDatagrams(["aaa\n", "bbbbbbbbbbbb\n", "c\n"], 8)).toEqual(["aaa\n", "bbbbbbbbbbbb\n", "c\n"]);
    expect(packDatagrams(["12345678"], 8)).toEqual(["12345678"]);
    expect(packDatagrams([], 8)).toEqual([]);
  });
});
