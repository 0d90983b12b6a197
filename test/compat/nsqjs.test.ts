import { afterEach, describe, expect, test } from "bun:test";
// nsqjs is a third-party NSQ client (npm), written against NSQ's own nsqd: it is our compatibility oracle.
import nsq, { type Reader, type Writer } from "nsqjs";
import { deferred, until } from "../helpers/client.ts";
import { startNsqd, type TestNsqd } from "../helpers/nsqd.ts";

type Msg = {
  id: string;
  attempts: number;
  body: Buffer;
  finish(): void;
  requeue(delay?: number, backoff?: boolean): void;
  touch(): void;
};

let daemons: TestNsqd[] = [];
let closers: (() => void)[] = [];

afterEach(async () => {
  for (const c of closers) c();
  closers = [];
  for (const d of daemons) await until(() => d.nsqd.clients.size === 0, "nsqjs to close its connections");
  for (const d of daemons) await d.stop();
  daemons = [];
});

async function setup() {
  const d = await startNsqd();
  daemons.push(d);
  return d;
}

function writer(d: TestNsqd): Promise<Writer> {
  const w = new nsq.Writer("127.0.0.1", d.port);
  closers.push(() => w.close());
  return new Promise((resolve, reject) => {
    w.on("ready", () => resolve(w));
    w.on("error", reject);
    w.connect();
  });
}

function reader(d: TestNsqd, topic: string, channel: string, opts: Record<string, unknown> = {}) {
  const r = new nsq.Reader(topic, channel, { nsqdTCPAddresses: [`127.0.0.1:${d.port}`], ...opts });
  closers.push(() => r.close());
  r.connect();
  return r;
}

const publish = (w: Writer, topic: string, msgs: string | string[]) =>
  new Promise<void>((resolve, reject) => w.publish(topic, msgs, (err?: Error) => (err ? reject(err) : resolve())));

function collect(r: Reader, n: number, onMessage: (m: Msg) => void = (m) => m.finish()): Promise<Msg[]> {
  const got: Msg[] = [];
  return new Promise((resolve, reject) => {
    r.on("error", reject);
    r.on("message", (m: Msg) => {
      got.push(m);
      onMessage(m);
      if (got.length === n) resolve(got);
    });
  });
}

describe("nsqjs against nsq nsqd", () => {
  test("publish one and many, consume them all", async () => {
    const d = await setup();
    const w = await writer(d);
    await publish(w, "js", "hello");
    await publish(w, "js", ["a", "b", "c"]);
    const r = reader(d, "js", "ch", { maxInFlight: 10 });
    const got = await collect(r, 4);
    expect(got.map((m) => m.body.toString())).toEqual(["hello", "a", "b", "c"]);
    expect(got.every((m) => m.attempts === 1 && /^[0-9a-f]{16}$/.test(m.id))).toBe(true);
  });

  test("deferred publish arrives after its delay", async () => {
    const d = await setup();
    const w = await writer(d);
    const r = reader(d, "jsdefer", "ch");
    const ch = () => d.nsqd.topics.get("jsdefer")?.channels.get("ch");
    await until(() => [...(ch()?.clients.values() ?? [])].some((c) => c.readyCount > 0), "the reader to be ready");
    const t0 = Date.now();
    await new Promise<void>((res, rej) => w.deferPublish("jsdefer", ["later"], 500, (e?: Error) => (e ? rej(e) : res())));
    const [m] = await collect(r, 1);
    expect(m!.body.toString()).toBe("later");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
  });

  test("requeue redelivers with attempts counted", async () => {
    const d = await setup();
    const w = await writer(d);
    await publish(w, "jsreq", "retry me");
    const r = reader(d, "jsreq", "ch", { maxInFlight: 5 });
    const got = await collect(r, 3, (m) => (m.attempts < 3 ? m.requeue(0, false) : m.finish()));
    expect(got.map((m) => m.attempts)).toEqual([1, 2, 3]);
    expect(new Set(got.map((m) => m.id)).size).toBe(1);
  });

  test("touch keeps a slow message from timing out", async () => {
    const d = await setup();
    const w = await writer(d);
    await publish(w, "jstouch", "slow");
    const r = reader(d, "jstouch", "ch", { messageTimeout: 1000 });
    const finished = deferred();
    // deliberate: the handler holds the message past its timeout, touching it every 400 ms
    const got = await collect(r, 1, (m) => {
      const t = setInterval(() => m.touch(), 400);
      setTimeout(() => {
        clearInterval(t);
        m.finish();
        finished.resolve();
      }, 1800);
    });
    await finished.promise;
    expect(got).toHaveLength(1);
    const ch = d.nsqd.topics.get("jstouch")!.channels.get("ch")!;
    await until(() => ch.inFlight.size === 0, "the FIN");
    expect(ch.timeoutCount).toBe(0);
  });

  test("many messages, many consumers, max-in-flight > 1: each delivered once per channel", async () => {
    const d = await setup();
    const w = await writer(d);
    const n = 5000;
    const bodies = Array.from({ length: n }, (_, i) => `m${i}`);
    for (let i = 0; i < n; i += 500) await publish(w, "jsmany", bodies.slice(i, i + 500));
    const seen = new Map<string, number>();
    let total = 0;
    const done = new Promise<void>((resolve) => {
      for (let k = 0; k < 4; k++) {
        const r = reader(d, "jsmany", "ch", { maxInFlight: 50 });
        r.on("message", (m: Msg) => {
          const b = m.body.toString();
          seen.set(b, (seen.get(b) ?? 0) + 1);
          m.finish();
          if (++total === n) resolve();
        });
      }
    });
    const other = collect(reader(d, "jsmany", "other", { maxInFlight: 200 }), n);
    await done;
    expect(seen.size).toBe(n);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    expect((await other).length).toBe(n);
  }, 30_000);
});
