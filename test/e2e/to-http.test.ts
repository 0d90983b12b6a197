import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { until } from "../helpers/client.ts";
import { addrOf, testScope, type TestNsqd } from "../helpers/nsqd.ts";
import { allFinished, publish, spawnTool } from "../helpers/tool.ts";

const { defer, nsqd } = testScope();


function channel(d: TestNsqd, topic = "t", name = "nsq_to_http") {
  return d.nsqd.topics.get(topic)?.channels.get(name);
}


/** An HTTP endpoint in the test, as a Hono app on a real port. */
function serve(app: Hono): string {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  defer(() => server.stop(true));
  return `http://127.0.0.1:${server.port}`;
}

// Retries come back at once and backoff stays short, so a failed request is retried within the test.
const FAST_RETRY = ["--consumer-opt=default_requeue_delay,0", "--consumer-opt=backoff_multiplier,10ms"];

describe("nsq to-http", () => {
  test("POST, round-robin over two endpoints that fail some requests: every message delivered, failed ones retried", async () => {
    const d = await nsqd();
    const all = Array.from({ length: 120 }, (_, i) => `msg-${i}`);
    await publish(d, "t", all);
    const delivered = new Set<string>();
    const seen: { endpoint: string; headers: Record<string, string> }[] = [];
    let requests = 0;
    const endpoint = (name: string) => {
      const app = new Hono();
      app.post("/in", async (c) => {
        const body = await c.req.text();
        seen.push({ endpoint: name, headers: Object.fromEntries(c.req.raw.headers) });
        // every fifth request fails: a 500, or no answer at all until the client gives up
        if (++requests % 5 === 0) return requests % 10 === 0 ? c.text("nope", 500) : new Promise<Response>(() => {});
        delivered.add(body);
        return c.text("ok");
      });
      return `${serve(app)}/in`;
    };
    const [a, b] = [endpoint("a"), endpoint("b")];
    const t = spawnTool(
      [
        "to-http",
        "--topic=t",
        `--nsqd-tcp-address=${addrOf(d)}`,
        `--post=${a}`,
        `--post=${b}`,
        "--mode=round-robin",
        "--content-type=text/plain",
        "--header=X-Source: nsq",
        "--http-client-request-timeout=200ms",
        "-n=4",
        "--status-every=100",
        ...FAST_RETRY,
      ],
      defer,
    );
    await until(() => allFinished(d, "t", "nsq_to_http", 120), "every message finished", 15_000);
    const r = await t.stop();
    expect(r.code).toBe(0);
    expect(delivered).toEqual(new Set(all));
    expect(channel(d)!.requeueCount).toBeGreaterThan(0);
    expect(new Set(seen.map((s) => s.endpoint))).toEqual(new Set(["a", "b"]));
    expect(seen[0]!.headers).toMatchObject({ "content-type": "text/plain", "x-source": "nsq", "user-agent": "nsq_to_http v1.3.0" });
    expect(r.stderr).toMatch(/got status code 500/);
    expect(r.stderr).toMatch(/context deadline exceeded \(Client\.Timeout exceeded while awaiting headers\)/);
    expect(r.stderr).toMatch(/INFO: \[aggregate\]: finished 100 - 99th: [\d.]+ms - 95th: [\d.]+ms - avg: [\d.]+ms\n/);
  }, 20_000);

  test("GET: the query-escaped body in place of %s, to every endpoint with --mode=all", async () => {
    const d = await nsqd();
    const all = ["a b", "x&y=z", "ünï/?#", "plain"];
    await publish(d, "t", all);
    const got: Record<string, string[]> = { one: [], two: [] };
    const endpoint = (name: string) => {
      const app = new Hono();
      app.get("/q", (c) => {
        got[name]!.push(c.req.query("data")!);
        return c.text("ok");
      });
      return `${serve(app)}/q?data=%s`;
    };
    const t = spawnTool(["to-http", "--topic=t", `--nsqd-tcp-address=${addrOf(d)}`, `--get=${endpoint("one")}`, `--get=${endpoint("two")}`, "--mode=all"], defer);
    await until(() => allFinished(d, "t", "nsq_to_http", 4), "every message finished");
    const r = await t.stop();
    expect(r.code).toBe(0);
    expect(got.one!.toSorted()).toEqual(all.toSorted());
    expect(got.two!.toSorted()).toEqual(all.toSorted());
    expect(r.stderr).not.toContain("WARNING: --mode");
  });

  test("SIGINT with requests under way: they finish, their messages are finished, then exit 0", async () => {
    const d = await nsqd();
    await publish(d, "t", Array.from({ length: 8 }, (_, i) => `slow-${i}`));
    let started = 0;
    const answered: string[] = [];
    const app = new Hono();
    app.post("/", async (c) => {
      started++;
      const body = await c.req.text();
      await Bun.sleep(150); // deliberate: a slow endpoint, so requests are under way at SIGINT
      answered.push(body);
      return c.text("ok");
    });
    const t = spawnTool(["to-http", "--topic=t", `--nsqd-tcp-address=${addrOf(d)}`, `--post=${serve(app)}/`, "-n=4"], defer);
    await until(() => started >= 2, "requests under way");
    const r = await t.stop("SIGINT");
    expect(r.code).toBe(0);
    // what the consumer had received was handled before it closed; nothing is left in flight
    expect(answered.length).toBe(8);
    expect(channel(d)!.inFlight.size).toBe(0);
    expect(channel(d)!.depth).toBe(0);
  });

  test("an unreachable endpoint: the address and the OS's reason, the message requeued until it answers", async () => {
    const d = await nsqd();
    await publish(d, "t", ["once"]);
    const t = spawnTool(["to-http", "--topic=t", `--nsqd-tcp-address=${addrOf(d)}`, "--post=http://127.0.0.1:1/", ...FAST_RETRY], defer);
    await t.waitFor(/POST "http:\/\/127\.0\.0\.1:1\/": dial tcp 127\.0\.0\.1:1: connect: connection refused/);
    expect((await t.stop()).code).toBe(0);
    expect(channel(d)!.depth + channel(d)!.deferredById.size).toBe(1);
  });

  test("bad flags: NSQ's messages, exit 1", async () => {
    const run = (args: string[]) => spawnTool(["to-http", ...args], defer).finished();
    const src = "--nsqd-tcp-address=127.0.0.1:4150";
    const cases: [string[], string][] = [
      [[src], "--topic and --channel are required"],
      [["--topic=t", src], "--get or --post required"],
      [["--topic=t", src, "--get=http://x/", "--post=http://y/"], "use --get or --post not both"],
      [["--topic=t", src, "--get=http://x/"], "invalid GET address - must be a printf string"],
      [["--topic=t", src, "--get=http://x/%s", "--content-type=a/b"], "--content-type only used with --post"],
      [["--topic=t", src, "--post=http://x/", "--sample=2"], "--sample must be between 0.0 and 1.0"],
      [["--topic=t", src, "--post=http://x/", "--header=nocolon"], '--header "nocolon" is invalid: want "Key: Value"'],
      [["--topic=t", src, "--post=ftp://x/"], 'invalid address "ftp://x/" - must be an http:// or https:// URL'],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    expect(results).toEqual(cases.map(([, msg]) => ({ code: 1, stderr: `nsq_to_http: ${msg}\n` })));
    const down = await run(["--topic=t", "--nsqd-tcp-address=127.0.0.1:1", "--post=http://x/"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("FATAL: E_CONNECT_FAILED dial tcp 127.0.0.1:1: connect: connection refused\n");
  });
});
