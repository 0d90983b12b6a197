import { describe, expect, test } from "bun:test";
import { Consumer, type ConsumerOptions, type Message, NsqError, Producer } from "../../src/core/client/index.ts";
import { captureLog, deferred, until } from "../helpers/client.ts";
import { addrOf, startNsqd, testScope, type TestNsqd } from "../helpers/nsqd.ts";

const { defer, nsqd } = testScope();

function consumer(topic: string, channel: string, opts: ConsumerOptions = {}) {
  const log = captureLog();
  const c = new Consumer(topic, channel, { logger: log.logger, ...opts });
  defer(() => c.stop());
  return { c, log };
}

async function publish(d: TestNsqd, topic: string, bodies: string[]): Promise<void> {
  const p = new Producer(addrOf(d));
  await p.multiPublish(topic, bodies);
  await p.stop();
}

/** RDY of each client subscribed to topic/channel, as nsqd sees it. */
function nsqdRdy(d: TestNsqd, topic: string, channel: string): number[] {
  const ch = d.nsqd.topics.get(topic)?.channels.get(channel);
  return ch ? [...ch.clients.values()].map((c) => c.readyCount) : [];
}

describe("Consumer", () => {
  test("consumes, finishes on success, and hands the message's fields to the handler", async () => {
    const d = await nsqd();
    const before = Date.now();
    await publish(d, "t", ["a", "b", "c"]);
    const { c } = consumer("t", "ch", { maxInFlight: 10 });
    const got: Message[] = [];
    const all = deferred();
    c.addHandler((m) => {
      got.push(m);
      if (got.length === 3) all.resolve();
    });
    await c.connectToNsqd(addrOf(d));
    await all.promise;
    expect(got.map((m) => m.text())).toEqual(["a", "b", "c"]);
    expect(got[0]!.id).toMatch(/^[0-9a-f]{16}$/);
    expect(got[0]!.attempts).toBe(1);
    expect(got[0]!.nsqdAddress).toBe(addrOf(d));
    // nanoseconds, taken when nsqd got the publish
    expect(got[0]!.timestamp / 1e6).toBeGreaterThanOrEqual(before);
    expect(got[0]!.timestamp / 1e6).toBeLessThanOrEqual(Date.now());
    const ch = d.nsqd.topics.get("t")!.channels.get("ch")!;
    await until(() => ch.inFlight.size === 0 && ch.depth === 0, "FINs");
    expect(c.stats()).toEqual({ messagesReceived: 3, messagesFinished: 3, messagesRequeued: 0, connections: 1 });
  });

  test("bad names and bad use are NsqErrors", async () => {
    expect(() => new Consumer("bad topic", "c")).toThrow(NsqError);
    expect(() => new Consumer("t", "")).toThrow(/E_BAD_CHANNEL/);
    const { c } = consumer("t", "c");
    await expect(c.connectToNsqd("127.0.0.1:1")).rejects.toMatchObject({ code: "E_INVALID_CONFIG" });
    c.addHandler(() => {});
    expect(() => c.addHandler(() => {})).toThrow(/already set/);
    await expect(c.connectToNsqd("127.0.0.1:1")).rejects.toMatchObject({ code: "E_CONNECT_FAILED" });
  });

  test("max-in-flight is spread over connections and redistributed as they come and go", async () => {
    const [a, b, x] = [await nsqd(), await nsqd(), await nsqd()];
    const { c } = consumer("t", "ch", { maxInFlight: 10, lookupdPollInterval: 60_000 });
    c.addHandler(() => {});
    await c.connectToNsqd(addrOf(a));
    await until(() => nsqdRdy(a, "t", "ch")[0] === 10, "RDY 10 on the only connection");
    await c.connectToNsqd(addrOf(b));
    await until(() => nsqdRdy(a, "t", "ch")[0] === 5 && nsqdRdy(b, "t", "ch")[0] === 5, "5 + 5");
    await c.connectToNsqd(addrOf(x));
    await until(() => [a, b, x].every((d) => nsqdRdy(d, "t", "ch")[0] === 3), "3 + 3 + 3");
    expect(Object.values(c.rdyCounts()).reduce((s, n) => s + n, 0)).toBeLessThanOrEqual(10);
    // One nsqd goes away: the others take its share.
    await x.stop();
    await until(() => nsqdRdy(a, "t", "ch")[0] === 5 && nsqdRdy(b, "t", "ch")[0] === 5, "back to 5 + 5");
    expect(c.stats().connections).toBe(2);
  });

  test("many connections: every message from every nsqd arrives once", async () => {
    const ds = [await nsqd(), await nsqd(), await nsqd(), await nsqd()];
    const per = 2000;
    for (const [i, d] of ds.entries()) await publish(d, "t", Array.from({ length: per }, (_, k) => `${i}-${k}`));
    const { c } = consumer("t", "ch", { maxInFlight: 100 });
    const seen = new Set<string>();
    const all = deferred();
    c.addHandler((m) => {
      seen.add(m.text());
      if (seen.size === per * ds.length) all.resolve();
    });
    await c.connectToNsqds(ds.map(addrOf));
    await all.promise;
    expect(c.stats().messagesReceived).toBe(per * ds.length);
  });

  test("more connections than max-in-flight: RDY moves around so none starves", async () => {
    const ds = [await nsqd(), await nsqd(), await nsqd()];
    for (const d of ds) await publish(d, "t", ["x", "y"]);
    const { c } = consumer("t", "ch", { maxInFlight: 1, rdyRedistributeInterval: 20, lowRdyIdleTimeout: 50, lowRdyTimeout: 50 });
    const from = new Set<string>();
    let n = 0;
    const all = deferred();
    c.addHandler((m) => {
      from.add(m.nsqdAddress);
      if (++n === 6) all.resolve();
    });
    await c.connectToNsqds(ds.map(addrOf));
    expect(Object.values(c.rdyCounts()).reduce((s, v) => s + v, 0)).toBeLessThanOrEqual(1);
    await all.promise;
    expect(from.size).toBe(3);
  });

  test("a failing handler requeues with backoff: RDY 0, then RDY 1 to test the water, then back to full", async () => {
    const d = await nsqd();
    const { c, log } = consumer("t", "ch", {
      maxInFlight: 10,
      backoffMultiplier: 100,
      defaultRequeueDelay: 0,
    });
    const calls: { body: string; attempts: number; at: number }[] = [];
    const done = deferred();
    c.addHandler((m) => {
      calls.push({ body: m.text(), attempts: m.attempts, at: performance.now() });
      if (m.text() === "fail" && m.attempts === 1) throw new Error("not yet");
      if (calls.length === 4) done.resolve();
    });
    await c.connectToNsqd(addrOf(d));
    await until(() => nsqdRdy(d, "t", "ch")[0] === 10, "RDY 10");
    await publish(d, "t", ["fail"]);
    await until(() => calls.length === 1, "the first delivery");
    await until(() => nsqdRdy(d, "t", "ch")[0] === 0, "RDY 0 during backoff");
    await publish(d, "t", ["ok1", "ok2"]);
    await done.promise;
    expect(calls[0]).toMatchObject({ body: "fail", attempts: 1 });
    // Nothing was delivered during the 200 ms backoff (level 1: 100 ms × 2¹).
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(180);
    await until(() => nsqdRdy(d, "t", "ch")[0] === 10, "RDY 10 after backoff");
    expect(log.has(/backing off for 200ms \(backoff level 1\), setting all to RDY 0/)).toBe(true);
    expect(log.has(/backoff timeout expired, sending RDY 1/)).toBe(true);
    expect(log.has(/exiting backoff, returning all to RDY 10/)).toBe(true);
    expect(calls.filter((x) => x.body === "fail").map((x) => x.attempts)).toEqual([1, 2]);
    expect(c.stats().messagesRequeued).toBe(1);
  });

  test("max attempts: a message that keeps failing is finished without the handler and reported", async () => {
    const d = await nsqd();
    const failedIds: string[] = [];
    const { c, log } = consumer("t", "ch", {
      maxInFlight: 5,
      maxAttempts: 3,
      defaultRequeueDelay: 0,
      maxBackoffDuration: 0,
      onFailedMessage: (m) => failedIds.push(m.id),
    });
    let calls = 0;
    c.addHandler(() => {
      calls++;
      throw new Error("always");
    });
    await c.connectToNsqd(addrOf(d));
    await publish(d, "t", ["doomed"]);
    await until(() => failedIds.length === 1, "the give-up");
    expect(calls).toBe(3);
    const ch = d.nsqd.topics.get("t")!.channels.get("ch")!;
    await until(() => ch.inFlight.size === 0 && ch.depth === 0, "the FIN");
    expect(ch.requeueCount).toBe(3);
    expect(log.has(/attempted 4 times, giving up/)).toBe(true);
  });

  test("TOUCH keeps a slow message from timing out", async () => {
    const d = await nsqd();
    const { c } = consumer("t", "ch", { msgTimeout: 1000 });
    const attempts: number[] = [];
    c.addHandler(async (m) => {
      attempts.push(m.attempts);
      for (let i = 0; i < 6; i++) {
        await Bun.sleep(250); // deliberate: a handler slower than msg_timeout, touching as it goes
        m.touch();
      }
    });
    await c.connectToNsqd(addrOf(d));
    await publish(d, "t", ["slow"]);
    const ch = d.nsqd.topics.get("t")!.channels.get("ch")!;
    await until(() => c.stats().messagesFinished === 1, "the FIN", 5000);
    expect(attempts).toEqual([1]);
    expect(ch.timeoutCount).toBe(0);
  });

  test("concurrency bounds async handlers; manual responses are respected", async () => {
    const d = await nsqd();
    await publish(d, "t", Array.from({ length: 20 }, (_, i) => String(i)));
    const { c } = consumer("t", "ch", { maxInFlight: 20 });
    let running = 0;
    let peak = 0;
    let n = 0;
    const all = deferred();
    c.addHandler(
      async (m) => {
        running++;
        peak = Math.max(peak, running);
        await Bun.sleep(10); // deliberate: handlers take a while, so they overlap
        running--;
        if (m.text() === "3" && m.attempts === 1) m.requeue(0, false); // answered by hand: no automatic FIN
        if (++n === 21) all.resolve();
      },
      { concurrency: 4 },
    );
    await c.connectToNsqd(addrOf(d));
    await all.promise;
    expect(peak).toBe(4);
    await until(() => c.stats().messagesFinished === 20, "the last FIN");
    expect(c.stats()).toMatchObject({ messagesReceived: 21, messagesFinished: 20, messagesRequeued: 1 });
  });

  test("stop: CLS, in-flight messages are answered, handlers finish, then the connection closes", async () => {
    const d = await nsqd();
    await publish(d, "t", ["1", "2", "3", "4", "5"]);
    const { c, log } = consumer("t", "ch", { maxInFlight: 5 });
    let started = 0;
    let finished = 0;
    const five = deferred();
    c.addHandler(
      async () => {
        if (++started === 5) five.resolve();
        await Bun.sleep(150); // deliberate: handlers still running when stop() is called
        finished++;
      },
      { concurrency: 5 },
    );
    await c.connectToNsqd(addrOf(d));
    await five.promise;
    await c.stop();
    expect(finished).toBe(5);
    expect(c.stats().messagesFinished).toBe(5);
    const ch = d.nsqd.topics.get("t")!.channels.get("ch")!;
    await until(() => ch.inFlight.size === 0 && ch.depth === 0, "nsqd to see the FINs");
    expect(log.has(/received CLOSE_WAIT from nsqd/)).toBe(true);
    await until(() => ch.clients.size === 0, "the close");
    await publish(d, "t", ["later"]);
    expect(ch.depth).toBe(1); // no one to deliver it to
    expect(c.stats().messagesReceived).toBe(5);
    await expect(c.connectToNsqd(addrOf(d))).rejects.toMatchObject({ code: "E_STOPPED" });
  });

  test("reconnects after nsqd restarts on the same port and data dir, and keeps consuming", async () => {
    const d = await startNsqd();
    const { port, dataPath } = d;
    const { c } = consumer("t", "ch", { maxInFlight: 10, lookupdPollInterval: 100 });
    const got: string[] = [];
    c.addHandler((m) => void got.push(m.text()));
    await c.connectToNsqd(addrOf(d));
    await publish(d, "t", ["before"]);
    await until(() => got.length === 1, "the first message");
    const ch = d.nsqd.topics.get("t")!.channels.get("ch")!;
    await until(() => ch.inFlight.size === 0, "nsqd to see the FIN");
    await d.stop({ keepData: true });
    await until(() => c.stats().connections === 0, "the disconnect");
    const d2 = await nsqd({ tcpAddress: `127.0.0.1:${port}`, dataPath });
    await publish(d2, "t", ["after"]);
    await until(() => got.includes("after"), "the message after the restart");
    expect(got).toEqual(["before", "after"]);
    expect(nsqdRdy(d2, "t", "ch")).toEqual([10]);
  });

  test("TLS, snappy and deflate declined by nsqd fail the connect clearly", async () => {
    const d = await nsqd({ snappy: false, deflate: false });
    for (const opt of [{ tlsV1: true }, { snappy: true }, { deflate: true }]) {
      const { c } = consumer("t", "ch", opt);
      c.addHandler(() => {});
      await expect(c.connectToNsqd(addrOf(d))).rejects.toMatchObject({ code: "E_FEATURE_DECLINED" });
    }
  });

  test("SUB refused by nsqd rejects connectToNsqd with nsqd's code", async () => {
    const d = await nsqd({ maxChannelConsumers: 1 });
    const { c: first } = consumer("t", "ch");
    first.addHandler(() => {});
    await first.connectToNsqd(addrOf(d));
    const { c } = consumer("t", "ch");
    c.addHandler(() => {});
    await expect(c.connectToNsqd(addrOf(d))).rejects.toMatchObject({ code: "E_SUB_FAILED" });
  });
});

describe("Consumer discovery through lookupd", () => {
  test("polls /lookup, connects to new producers and drops the ones no longer listed", async () => {
    const [a, b] = [await nsqd(), await nsqd()];
    let listed = [a];
    const requests: { url: string; accept: string | null }[] = [];
    const lookupd = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        requests.push({ url: req.url, accept: req.headers.get("accept") });
        const topic = new URL(req.url).searchParams.get("topic");
        if (topic !== "t") return Response.json({ message: "TOPIC_NOT_FOUND" }, { status: 404 });
        return Response.json({
          channels: ["ch"],
          producers: listed.map((d) => ({
            remote_address: `127.0.0.1:${d.port + 1}`,
            hostname: "test",
            broadcast_address: "127.0.0.1",
            tcp_port: d.port,
            http_port: 0,
            version: "1.3.0",
          })),
        });
      },
    });
    defer(() => lookupd.stop(true));
    const { c, log } = consumer("t", "ch", { maxInFlight: 10, lookupdPollInterval: 50, lookupdPollJitter: 0.5 });
    const from: string[] = [];
    c.addHandler((m) => void from.push(m.nsqdAddress));
    await c.connectToNsqLookupd(`127.0.0.1:${lookupd.port}`);
    expect(c.connectedAddresses()).toEqual([addrOf(a)]);
    expect(requests[0]!.accept).toBe("application/vnd.nsq; version=1.0");
    expect(new URL(requests[0]!.url).pathname).toBe("/lookup");

    listed = [a, b];
    await until(() => c.stats().connections === 2, "the new producer");
    await until(() => nsqdRdy(a, "t", "ch")[0] === 5 && nsqdRdy(b, "t", "ch")[0] === 5, "5 + 5");
    await publish(a, "t", ["from a"]);
    await publish(b, "t", ["from b"]);
    await until(() => from.length === 2, "a message from each");
    expect(new Set(from)).toEqual(new Set([addrOf(a), addrOf(b)]));

    listed = [b];
    await until(() => c.connectedAddresses().join() === addrOf(b), "dropping a");
    await until(() => nsqdRdy(a, "t", "ch").length === 0, "a's connection to close");
    await until(() => nsqdRdy(b, "t", "ch")[0] === 10, "b to get all of max-in-flight");
    expect(log.has(/no longer listed by nsqlookupd, closing/)).toBe(true);
  });

  test("a lookupd error is logged and retried on the next poll; the legacy data.producers shape is read", async () => {
    const d = await nsqd();
    let fail = true;
    const lookupd = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch() {
        if (fail) return new Response("boom", { status: 500 });
        return Response.json({
          status_code: 200,
          status_txt: "OK",
          data: { channels: [], producers: [{ broadcast_address: "127.0.0.1", tcp_port: d.port }] },
        });
      },
    });
    defer(() => lookupd.stop(true));
    const { c, log } = consumer("t", "ch", { lookupdPollInterval: 30, lookupdPollJitter: 0 });
    c.addHandler(() => {});
    await c.connectToNsqLookupd(`http://127.0.0.1:${lookupd.port}/`);
    expect(c.stats().connections).toBe(0);
    expect(log.has(/error querying nsqlookupd .* got response 500 boom/)).toBe(true);
    fail = false;
    await until(() => c.stats().connections === 1, "the connection after lookupd recovers");
  });
});
