import { describe, expect, test } from "bun:test";
import { parseDuration } from "../../src/core/duration.ts";
import { NSQ_VERSION, VERSION } from "../../src/core/version.ts";
import { until } from "../helpers/client.ts";
import { addrOf, testScope, type TestNsqd } from "../helpers/nsqd.ts";
import { CLI } from "../helpers/spawn.ts";

const { defer, nsqd } = testScope();

/** `bun cli/nsq.ts <args>` as a user runs it. */
async function nsq(args: string[], argv0?: string) {
  const p = Bun.spawn([...CLI, ...args], { argv0, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  defer(() => {
    if (p.exitCode === null) p.kill("SIGKILL");
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, code };
}

const DURATION = String.raw`\d+(?:\.\d+)?(?:ns|µs|ms|s|m\d+(?:\.\d+)?s)`;
const RESULT = (tool: string) =>
  new RegExp(String.raw`^\[${tool}\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d duration: (${DURATION}) - \d+\.\d{3}mb/s - (\d+\.\d{3})ops/s - (\d+\.\d{3}|\+Inf)us/op\n$`);

/** The message count a result line stands for: ops/s × duration (both printed with enough digits). */
function countOf(line: string, tool: string): number {
  const m = RESULT(tool).exec(line);
  if (!m) throw new Error(`not a ${tool} result line: ${JSON.stringify(line)}`);
  return Math.round((Number(m[2]) * parseDuration(m[1]!)) / 1000);
}

interface ChannelStats {
  depth: number;
  in_flight_count: number;
  requeue_count: number;
  timeout_count: number;
  message_count: number;
  client_count: number;
}

async function stats(d: TestNsqd, topic: string): Promise<{ message_count: number; channels: ChannelStats[] }> {
  const s = (await (await d.http(`/stats?format=json&topic=${topic}`)).json()) as { topics: { message_count: number; channels: ChannelStats[] }[] };
  return s.topics[0]!;
}

async function createChannel(d: TestNsqd, topic: string, channel: string): Promise<void> {
  expect((await d.http(`/topic/create?topic=${topic}`, { method: "POST" })).status).toBe(200);
  expect((await d.http(`/channel/create?topic=${topic}&channel=${channel}`, { method: "POST" })).status).toBe(200);
}

describe("nsq bench", () => {
  test("writer, then a reader that FINs everything the writer wrote", async () => {
    const d = await nsqd();
    await createChannel(d, "sub_bench", "ch");
    const w = await nsq(["bench", "writer", `--nsqd-tcp-address=${addrOf(d)}`, "--runfor=500ms", "--batch-size=50", "--size=100"]);
    expect(w.code).toBe(0);
    expect(w.stderr).toMatch(RESULT("bench_writer"));
    const written = countOf(w.stderr, "bench_writer");
    expect(written).toBeGreaterThan(0);
    expect(written % 50).toBe(0);
    expect((await stats(d, "sub_bench")).message_count).toBe(written);

    // Through the program name, with --count so it stops once the backlog is drained.
    const r = await nsq([`--nsqd-tcp-address=${addrOf(d)}`, "--runfor=20s", `--count=${written}`, "--size=100", "--rdy=100"], "bench_reader");
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(RESULT("bench_reader"));
    expect(countOf(r.stderr, "bench_reader")).toBe(written);
    await until(async () => (await stats(d, "sub_bench")).channels[0]!.client_count === 0, "reader gone");
    expect((await stats(d, "sub_bench")).channels[0]).toMatchObject({
      depth: 0,
      in_flight_count: 0,
      requeue_count: 0,
      timeout_count: 0,
      message_count: written,
    });
  });

  test("writer --pub and a reader at once; an empty channel reads as Go prints nothing", async () => {
    const d = await nsqd();
    await createChannel(d, "pubs", "ch");
    const addr = `--nsqd-tcp-address=${addrOf(d)}`;
    const [w, r] = await Promise.all([
      nsq(["bench", "writer", addr, "--topic=pubs", "--pub", "--workers=1", "--runfor=400ms"]),
      nsq(["bench", "reader", addr, "--topic=pubs", "--workers=3", "--runfor=1500ms"]),
    ]);
    expect(w.code).toBe(0);
    expect(r.code).toBe(0);
    const written = countOf(w.stderr, "bench_writer");
    expect(written).toBeGreaterThan(0);
    expect(countOf(r.stderr, "bench_reader")).toBe(written);
    await until(async () => (await stats(d, "pubs")).channels[0]!.client_count === 0, "reader gone");
    expect((await stats(d, "pubs")).channels[0]).toMatchObject({ depth: 0, in_flight_count: 0, message_count: written });

    const empty = await nsq(["bench", "reader", addr, "--topic=pubs", "--runfor=200ms"]);
    expect(empty.code).toBe(0);
    expect(empty.stderr).toMatch(/duration: 2\d\d(\.\d+)?ms - 0\.000mb\/s - 0\.000ops\/s - \+Infus\/op\n$/);
  });

  test("latency: every message back, percentiles in order", async () => {
    const d = await nsqd();
    const l = await nsq(["bench", "latency", `--nsqd-tcp-address=${addrOf(d)}`, "--runfor=500ms", "--rate=2000", "--output-buffer-size=-1"]);
    expect(l.code).toBe(0);
    const m =
      /^\[bench_latency\] [\d/]+ [\d:]+ duration: \S+ - sent: 1000 \([\d.]+\/s\) - received: 1000 - p50: (\S+) - p99: (\S+) - p999: (\S+) - max: (\S+)\n$/.exec(
        l.stderr,
      );
    expect(m).not.toBeNull();
    const [p50, p99, p999, max] = m!.slice(1).map(parseDuration) as [number, number, number, number];
    expect(p50).toBeGreaterThan(0);
    expect(p50 <= p99 && p99 <= p999 && p999 <= max).toBe(true);
  });

  test("flags, --version, help and errors as NSQ's tools", async () => {
    const version = (p: string) => `${p} v${NSQ_VERSION} (nsq ${VERSION}, bun ${Bun.version})\n`;
    expect(await nsq(["bench", "writer", "--version"])).toEqual({ stdout: version("bench_writer"), stderr: "", code: 0 });
    expect(await nsq(["bench_reader", "-version"])).toEqual({ stdout: version("bench_reader"), stderr: "", code: 0 });
    const help = await nsq(["bench", "reader", "--help"]);
    expect(help.stdout).toStartWith("Usage of bench_reader:\n");
    for (const flag of ["channel string", "deadline string", "nsqd-tcp-address string", "rdy int", "runfor duration", "size int", "topic string"]) {
      expect(help.stdout).toContain(`  -${flag}\n`);
    }
    expect(help.stdout).toContain('(default "127.0.0.1:4150")');
    expect(help.stdout).toContain("RDY count to use (default 2500)");
    expect((await nsq(["bench", "writer", "-h"])).stdout).toContain("batch size of messages (default 200)");
    const usage = await nsq(["bench"]);
    expect(usage.code).toBe(0);
    expect(usage.stdout).toContain("writer");
    expect((await nsq(["bench", "nope"])).code).toBe(2);
    const refused = await nsq(["bench", "writer", "--nsqd-tcp-address=127.0.0.1:1", "--runfor=100ms"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^\[bench_writer\] [\d/]+ [\d:]+ dial tcp 127\.0\.0\.1:1: connect: connection refused\n$/);
  });
});
