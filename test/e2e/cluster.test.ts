import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
// nsqjs is a third-party NSQ client (npm): it finds producers through lookupd as it would with NSQ's.
import nsq from "nsqjs";
import { Consumer } from "../../src/core/client/index.ts";
import { until } from "../helpers/client.ts";
import { testScope, tmpDir } from "../helpers/nsqd.ts";
import { CLI, type Spawned, spawnLookupd, spawnNsqdWithHttp } from "../helpers/spawn.ts";

const { defer } = testScope();

/** Stops a spawned daemon after the test (SIGKILL if it is still there after SIGTERM). */
function owned(p: Spawned): Spawned {
  defer(async () => {
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
    p.proc.kill("SIGTERM");
    await p.proc.exited;
  });
  return p;
}

interface Cluster {
  lookupd: Spawned;
  nsqds: Spawned[];
  lookupdHttp: string;
}

/** The seed deployment: one lookupd, nsqd registered with it by `-lookupd-tcp-address` and `-broadcast-address`. */
async function cluster(n = 2, lookupdArgs: string[] = []): Promise<Cluster> {
  const lookupd = owned(await spawnLookupd(lookupdArgs));
  const nsqds: Spawned[] = [];
  for (let i = 0; i < n; i++) {
    const data = tmpDir();
    defer(() => rmSync(data, { recursive: true, force: true }));
    nsqds.push(owned(await spawnNsqdWithHttp([`-lookupd-tcp-address=127.0.0.1:${lookupd.port}`, "-broadcast-address=127.0.0.1", `--data-path=${data}`])));
  }
  return { lookupd, nsqds, lookupdHttp: `127.0.0.1:${lookupd.httpPort}` };
}

const post = (d: Spawned, path: string, body?: string) => fetch(`http://127.0.0.1:${d.httpPort}${path}`, { method: "POST", body });

async function lookupPorts(c: Cluster, topic: string): Promise<number[]> {
  const res = await fetch(`http://${c.lookupdHttp}/lookup?topic=${topic}`);
  if (res.status !== 200) return [];
  const body = (await res.json()) as { producers: { tcp_port: number }[] };
  return body.producers.map((p) => p.tcp_port).sort();
}

const portsOf = (ds: Spawned[]) => ds.map((d) => d.port).sort();

/** Creates `topic` and `channels` on every nsqd, as consumers that exist before the burst would. */
async function prepare(c: Cluster, topic: string, channels: string[]): Promise<void> {
  for (const d of c.nsqds) {
    expect((await post(d, `/topic/create?topic=${topic}`)).status).toBe(200);
    for (const ch of channels) expect((await post(d, `/channel/create?topic=${topic}&channel=${ch}`)).status).toBe(200);
  }
  await until(async () => (await lookupPorts(c, topic)).join() === portsOf(c.nsqds).join(), "every nsqd registered");
}

/** Publishes `count` messages to each nsqd over HTTP; returns every body. */
async function publishEverywhere(c: Cluster, topic: string, count: number): Promise<string[]> {
  const all: string[] = [];
  for (const [i, d] of c.nsqds.entries()) {
    const bodies = Array.from({ length: count }, (_, j) => `n${i}-m${j}`);
    expect((await post(d, `/mpub?topic=${topic}`, bodies.join("\n"))).status).toBe(200);
    all.push(...bodies);
  }
  return all.sort();
}

function ourConsumer(topic: string, channel: string, c: Cluster, got: string[]): Consumer {
  const consumer = new Consumer(topic, channel, { maxInFlight: 10, lookupdPollInterval: 200 });
  consumer.addHandler((m) => void got.push(new TextDecoder().decode(m.body)));
  defer(async () => {
    consumer.stop();
    await consumer.stopped;
  });
  return consumer;
}

describe("a cluster of nsq daemons, discovered through nsq lookupd", () => {
  test("producers on each nsqd; nsqjs and the project's Consumer find both nsqd and receive every message", async () => {
    const c = await cluster();
    await prepare(c, "events", ["nsqjs", "ours"]);
    const sent = await publishEverywhere(c, "events", 50);

    const viaNsqjs: string[] = [];
    const reader = new nsq.Reader("events", "nsqjs", { lookupdHTTPAddresses: [c.lookupdHttp], maxInFlight: 10 });
    reader.on("message", (m: { body: Buffer; finish(): void }) => {
      viaNsqjs.push(m.body.toString());
      m.finish();
    });
    defer(() => reader.close());
    reader.connect();

    const ours: string[] = [];
    await ourConsumer("events", "ours", c, ours).connectToNsqLookupd(c.lookupdHttp);

    await until(() => viaNsqjs.length >= sent.length && ours.length >= sent.length, "every message on both channels", 15_000);
    expect([...new Set(viaNsqjs)].sort()).toEqual(sent);
    expect([...new Set(ours)].sort()).toEqual(sent);
  });

  test("two consumers of one channel share its messages; a consumer of another channel gets them all", async () => {
    const c = await cluster();
    await prepare(c, "jobs", ["workers", "audit"]);
    const a: string[] = [];
    const b: string[] = [];
    const audit: string[] = [];
    await ourConsumer("jobs", "workers", c, a).connectToNsqLookupd(c.lookupdHttp);
    await ourConsumer("jobs", "workers", c, b).connectToNsqLookupd(c.lookupdHttp);
    await ourConsumer("jobs", "audit", c, audit).connectToNsqLookupd(c.lookupdHttp);
    // both workers on both nsqd before the burst
    await until(async () => {
      for (const d of c.nsqds) {
        const s = (await (await fetch(`http://127.0.0.1:${d.httpPort}/stats?format=json&topic=jobs&channel=workers`)).json()) as {
          topics: { channels: { client_count: number }[] }[];
        };
        if (s.topics[0]?.channels[0]?.client_count !== 2) return false;
      }
      return true;
    }, "two workers on each nsqd");
    const sent = await publishEverywhere(c, "jobs", 200);
    await until(() => a.length + b.length >= sent.length && audit.length >= sent.length, "all delivered", 15_000);
    expect([...a, ...b].sort()).toEqual(sent);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect([...audit].sort()).toEqual(sent);
  });

  test("a killed nsqd leaves /lookup; a tombstoned producer is hidden for --tombstone-lifetime", async () => {
    const c = await cluster(2, ["--tombstone-lifetime=1s"]);
    await prepare(c, "t", []);
    const [a, b] = c.nsqds as [Spawned, Spawned];
    const res = await fetch(`http://${c.lookupdHttp}/topic/tombstone?topic=t&node=127.0.0.1:${b.httpPort}`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await lookupPorts(c, "t")).toEqual([a.port]);
    await until(async () => (await lookupPorts(c, "t")).length === 2, "the tombstone expires");

    b.proc.kill("SIGKILL");
    await until(async () => (await lookupPorts(c, "t")).join() === String(a.port), "the killed nsqd unregistered");
  });

  test("a lookupd restarted mid-run is repopulated by every nsqd", async () => {
    const c = await cluster();
    await prepare(c, "t", ["c"]);
    c.lookupd.proc.kill("SIGKILL");
    await c.lookupd.proc.exited;
    const again = owned(await spawnLookupd([`--tcp-address=127.0.0.1:${c.lookupd.port}`, `--http-address=${c.lookupdHttp}`]));
    expect(again.port).toBe(c.lookupd.port);
    await until(async () => (await lookupPorts(c, "t")).join() === portsOf(c.nsqds).join(), "both nsqd registered again", 10_000);
    const channels = (await (await fetch(`http://${c.lookupdHttp}/channels?topic=t`)).json()) as { channels: string[] };
    expect(channels.channels).toEqual(["c"]);
  });

  test("nsq tail --lookupd-http-address prints what is published to every nsqd", async () => {
    const c = await cluster();
    await prepare(c, "logs", []);
    const tail = Bun.spawn([...CLI, "tail", `--lookupd-http-address=${c.lookupdHttp}`, "--topic=logs", "-n", "4"], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    defer(() => {
      if (tail.exitCode === null) tail.kill("SIGKILL");
    });
    // tail's ephemeral channel must exist on both nsqd before the messages go out
    await until(async () => {
      for (const d of c.nsqds) {
        const s = (await (await fetch(`http://127.0.0.1:${d.httpPort}/stats?format=json&topic=logs`)).json()) as {
          topics: { channels: { client_count: number }[] }[];
        };
        if ((s.topics[0]?.channels[0]?.client_count ?? 0) < 1) return false;
      }
      return true;
    }, "tail connected to both nsqd");
    const sent = await publishEverywhere(c, "logs", 2);
    const out = await new Response(tail.stdout).text();
    expect(await tail.exited).toBe(0);
    expect(out.trim().split("\n").sort()).toEqual(sent);
  });
});
