import { describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { Producer } from "../../src/core/client/index.ts";
import { until } from "../helpers/client.ts";
import { addrOf, testScope, type TestNsqd, Wire } from "../helpers/nsqd.ts";
import { CLI } from "../helpers/spawn.ts";
import { channelStats, topicStats } from "../helpers/stats.ts";

const { defer, nsqd } = testScope();

const dec = new TextDecoder();

/** `bun cli/nsq.ts <args>` as a user runs it, stdin a real pipe. */
function spawn(args: string[]): Subprocess<"pipe", "pipe", "pipe"> {
  const p = Bun.spawn([...CLI, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  defer(() => {
    if (p.exitCode === null) p.kill("SIGKILL");
  });
  return p;
}

async function finish(p: Subprocess<"pipe", "pipe", "pipe">) {
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, code };
}

/** Runs a tool with `input` written to its stdin in one go. */
async function run(args: string[], input = "") {
  const p = spawn(args);
  p.stdin.write(input);
  await p.stdin.end();
  return finish(p);
}

/** Bodies queued in a topic that has no channel yet (all in memory with a large --mem-queue-size). */
function topicBodies(d: TestNsqd, topic: string): string[] {
  return [...(d.nsqd.topics.get(topic)?.queue.mem ?? [])].map((m) => dec.decode(m.body));
}

async function publish(d: TestNsqd, topic: string, bodies: string[]) {
  const p = new Producer(addrOf(d));
  await p.multiPublish(topic, bodies);
  await p.stop();
}

describe("nsq to-nsq", () => {
  test("a million lines through a pipe all arrive, once each", async () => {
    const d = await nsqd({ memQueueSize: 2_000_000 });
    const N = 1_000_000;
    const lines: string[] = new Array(N);
    for (let i = 0; i < N; i++) lines[i] = `line-${i}`;
    const data = new TextEncoder().encode(`${lines.join("\n")}\n`);
    const p = spawn(["to-nsq", "--topic=big", `--nsqd-tcp-address=${addrOf(d)}`]);
    // Written in pieces as a producer program would, so the pipe fills and drains many times.
    for (let at = 0; at < data.length; at += 1 << 20) {
      p.stdin.write(data.subarray(at, at + (1 << 20)));
      await p.stdin.flush();
    }
    await p.stdin.end();
    const r = await finish(p);
    expect(r.code).toBe(0);
    const topic = d.nsqd.topics.get("big")!;
    expect(topic.messageCount).toBe(N);
    const seen = new Uint8Array(N);
    let wrong = 0;
    for (const m of topic.queue.mem) {
      const s = dec.decode(m.body);
      const i = Number(s.slice(5));
      if (s !== `line-${i}` || seen[i] !== 0) wrong++;
      else seen[i] = 1;
    }
    expect(wrong).toBe(0);
    expect(seen.every((x) => x === 1)).toBe(true);
  }, 60_000);

  test("a slow stdin is published as it comes; records split across writes stay whole; empty records skipped", async () => {
    const d = await nsqd();
    const p = spawn(["to-nsq", "--topic=slow", `--nsqd-tcp-address=${addrOf(d)}`]);
    p.stdin.write("one\n\ntw");
    await p.stdin.flush();
    await until(() => d.nsqd.topics.get("slow")?.messageCount === 1, "the first line before stdin ends");
    p.stdin.write("o\nthree\n\n");
    await p.stdin.flush();
    await until(() => d.nsqd.topics.get("slow")?.messageCount === 3, "the split record and the next one before stdin ends");
    p.stdin.write("last-without-newline");
    await p.stdin.end();
    const r = await finish(p);
    expect(r.code).toBe(0);
    expect(topicBodies(d, "slow")).toEqual(["one", "two", "three", "last-without-newline"]);
  });

  test("--delimiter, and every record to every --nsqd-tcp-address", async () => {
    const [a, b] = [await nsqd(), await nsqd()];
    const r = await run(["to-nsq", "--topic=t", "--delimiter=,", `--nsqd-tcp-address=${addrOf(a)}`, `--nsqd-tcp-address=${addrOf(b)}`], "x,y,,z\n");
    expect(r.code).toBe(0);
    expect(topicBodies(a, "t")).toEqual(["x", "y", "z\n"]);
    expect(topicBodies(b, "t")).toEqual(["x", "y", "z\n"]);
  });

  test("--rate throttles to n messages per second", async () => {
    const d = await nsqd();
    const started = performance.now();
    const r = await run(["to-nsq", "--topic=t", "--rate=50", `--nsqd-tcp-address=${addrOf(d)}`], "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n");
    const took = performance.now() - started;
    expect(r.code).toBe(0);
    expect(topicBodies(d, "t")).toHaveLength(11);
    // One token at the start, then one every 20 ms: at least 200 ms for the other ten.
    expect(took).toBeGreaterThan(190);
    expect(r.stderr).toContain("Throttling messages rate to max:50/second");
  });

  test("a failed publish: non-zero exit and a message naming nsqd's error", async () => {
    const d = await nsqd({ maxMsgSize: 8 });
    const r = await run(["to-nsq", "--topic=t", `--nsqd-tcp-address=${addrOf(d)}`], "short\nthis line is too long\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`FATAL: failed to publish to ${addrOf(d)} - E_BAD_MESSAGE MPUB message too big 21 > 8\\n$`));
    const bad = await run(["to-nsq", "--topic=no spaces", `--nsqd-tcp-address=${addrOf(d)}`], "x\n");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('E_BAD_TOPIC topic name "no spaces" is not valid');
    const gone = await run(["to-nsq", "--topic=t", "--nsqd-tcp-address=127.0.0.1:1"], "x\n");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("failed to publish to 127.0.0.1:1 - E_CONNECT_FAILED");
  });
});

describe("nsq tail", () => {
  test("-n: prints that many bodies, hands the rest back, exits 0", async () => {
    const d = await nsqd();
    const w = await Wire.connect(d.port); // create the channel so the messages wait in it
    await w.identify();
    await w.sub("t", "named");
    w.close();
    await publish(d, "t", ["m1", "m2", "m3", "m4", "m5"]);
    const r = await finish(spawn(["tail", "--topic=t", "--channel=named", "-n", "3", `--nsqd-tcp-address=${addrOf(d)}`]));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("m1\nm2\nm3\n");
    const ch = d.nsqd.topics.get("t")!.channels.get("named")!;
    await until(() => ch.depth + ch.deferredById.size === 2 && ch.inFlight.size === 0, "the other two back in the channel");
    expect(r.stderr).toContain("connecting to nsqd");
  });

  test("--print-topic over several --topic; the default channel is a fresh ephemeral one; SIGINT stops it cleanly", async () => {
    const d = await nsqd();
    const p = spawn(["tail", "--topic=a", "--topic=b", "--print-topic", `--nsqd-tcp-address=${addrOf(d)}`]);
    await until(() => d.nsqd.topics.get("a")?.channels.size === 1 && d.nsqd.topics.get("b")?.channels.size === 1, "both subscriptions");
    const [name] = [...d.nsqd.topics.get("a")!.channels.keys()];
    expect(name).toMatch(/^tail\d{6}#ephemeral$/);
    await publish(d, "a", ["from-a"]);
    await publish(d, "b", ["from-b"]);
    const handled = (t: string) => {
      const ch = d.nsqd.topics.get(t)!.channels.get(name!)!;
      return ch.messageCount === 1 && ch.inFlight.size === 0 && ch.depth === 0;
    };
    await until(() => handled("a") && handled("b"), "both printed and finished");
    p.kill("SIGINT");
    const r = await finish(p);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").sort()).toEqual(["", "a | from-a", "b | from-b"]);
    expect(r.stderr).toContain("stopping...");
    expect(r.stderr).toContain("received CLOSE_WAIT from nsqd");
  });

  test("discovers nsqd through --lookupd-http-address", async () => {
    const d = await nsqd();
    const lookupd = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        Response.json({ channels: [], producers: [{ broadcast_address: "127.0.0.1", tcp_port: d.port, http_port: 0, version: "1.3.0" }] }),
    });
    defer(() => lookupd.stop(true));
    await publish(d, "t", ["hello"]); // no channel yet: it waits in the topic for the first one
    const r = await finish(spawn(["tail", "--topic=t", "-n", "1", `--lookupd-http-address=127.0.0.1:${lookupd.port}`]));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("hello\n");
    expect(r.stderr).toContain(`querying nsqlookupd http://127.0.0.1:${lookupd.port}/lookup?topic=t`);
  });

  test("an unreachable nsqd is a fatal error", async () => {
    const r = await finish(spawn(["tail", "--topic=t", "--nsqd-tcp-address=127.0.0.1:1"]));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FATAL: E_CONNECT_FAILED /);
  });
});

describe("nsq stat", () => {
  /** A fake nsqd /stats whose channel counters move by a fixed step per request. */
  function fakeStats(opts: { step: number; topic?: string; channel?: string }) {
    let polls = 0;
    const urls: string[] = [];
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        urls.push(req.url);
        polls++;
        const channels = [
          channelStats({
            channel_name: opts.channel ?? "c",
            depth: 10 * polls,
            backend_depth: 4 * polls,
            in_flight_count: 3,
            deferred_count: 2,
            message_count: opts.step * polls,
            requeue_count: 7,
            timeout_count: 1,
            client_count: 2,
          }),
        ];
        return Response.json(
          {
            version: "1.3.0",
            health: "OK",
            start_time: 0,
            topics: [topicStats({ topic_name: opts.topic ?? "t", channels })],
            producers: null,
          },
          { headers: { "X-NSQ-Content-Type": "nsq; version=1.0" } },
        );
      },
    });
    defer(() => server.stop(true));
    return { server, urls, addr: `127.0.0.1:${server.port}` };
  }

  const HEADER = [
    "------rate------+----------------depth----------------+--------------metadata---------------",
    "ingress  egress |   total     mem    disk inflt   def |     req     t-o         msgs clients",
  ];

  test("prints nsq_stat's columns: a baseline poll, then --count reports every --interval", async () => {
    const a = fakeStats({ step: 50 });
    const b = fakeStats({ step: 25 });
    const r = await finish(
      spawn(["stat", "--topic=t", "--channel=c", `--nsqd-http-address=${a.addr}`, `--nsqd-http-address=${b.addr}`, "--interval=100ms", "--count=3"]),
    );
    expect(r.code).toBe(0);
    // Summed over both: messages +75 and depth +20 per poll; 0.1 s interval.
    expect(r.stdout.split("\n")).toEqual([
      ...HEADER,
      "    750     550 |      40      24      16     6     4 |      14       2          150       4",
      "    750     550 |      60      36      24     6     4 |      14       2          225       4",
      "    750     550 |      80      48      32     6     4 |      14       2          300       4",
      "",
    ]);
    expect(new URL(a.urls[0]!).search).toBe("?format=json&topic=t&channel=c&include_clients=false");
  });

  test("against nsq nsqd's own /stats: depth, in-flight and message counts of a real channel", async () => {
    const d = await nsqd();
    const w = await Wire.connect(d.port);
    defer(() => w.close());
    await w.identify();
    await w.sub("t", "c");
    await publish(d, "t", ["1", "2", "3", "4", "5"]);
    w.send("RDY 2\n");
    await w.message();
    await w.message();
    const r = await finish(
      spawn(["stat", "--topic=t", "--channel=c", `--nsqd-http-address=127.0.0.1:${d.nsqd.httpPort()}`, "--interval=50ms", "--count=1"]),
    );
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      ...HEADER,
      "      0       0 |       3       3       0     2     0 |       0       0            5       1",
      "",
    ]);
  });

  test("finds producers through --lookupd-http-address; a missing channel is fatal", async () => {
    const s = fakeStats({ step: 10 });
    const lookupd = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => Response.json({ channels: [], producers: [{ broadcast_address: "127.0.0.1", tcp_port: 1, http_port: s.server.port }] }),
    });
    defer(() => lookupd.stop(true));
    const ok = await finish(spawn(["stat", "--topic=t", "--channel=c", `--lookupd-http-address=127.0.0.1:${lookupd.port}`, "--interval=50ms", "--count=1"]));
    expect(ok.code).toBe(0);
    expect(ok.stdout.split("\n")).toEqual([...HEADER, "    200       0 |      20      12       8     3     2 |       7       1           20       2", ""]);
    const missing = await finish(spawn(["stat", "--topic=t", "--channel=nope", `--nsqd-http-address=${s.addr}`, "--count=1"]));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("FATAL: failed to find channel(nope) in stats metadata for topic(t)");
    const down = await finish(spawn(["stat", "--topic=t", "--channel=c", "--nsqd-http-address=127.0.0.1:1", "--count=1"]));
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("FATAL: failed to get nsqd stats - GET http://127.0.0.1:1/stats");
  });
});
