import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { Command } from "../../src/core/protocol/commands.ts";
import { until } from "../helpers/client.ts";
import { sleep, tmpDir, Wire } from "../helpers/nsqd.ts";
import { type Spawned, spawnNsqd } from "../helpers/spawn.ts";

let procs: Spawned[] = [];
let dirs: string[] = [];

afterEach(async () => {
  for (const p of procs) {
    p.proc.kill("SIGKILL");
    await p.proc.exited;
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  procs = [];
  dirs = [];
});

async function start(args: string[]) {
  const p = await spawnNsqd(args);
  procs.push(p);
  return p;
}

/** Consumes until nothing more arrives for `quietMs`. */
async function drainAll(port: number, topic: string, quietMs = 700): Promise<string[]> {
  const w = await Wire.connect(port);
  expect(await w.identify({ output_buffer_timeout: 25 })).toBe("OK");
  expect(await w.sub(topic, "ch")).toBe("OK");
  w.send(Command.rdy(2500));
  const got: string[] = [];
  for (;;) {
    let m;
    try {
      m = await w.message(quietMs);
    } catch {
      break;
    }
    got.push(m.text);
    w.send(Command.fin(m.id));
  }
  w.close();
  return got;
}

test("kill -9 while publishing in durable mode: every publish that got OK is delivered after restart", async () => {
  const data = tmpDir();
  dirs.push(data);
  const flags = [`--data-path=${data}`, "--mem-queue-size=0", "--sync-every=1"];
  const first = await start(flags);
  const w = await Wire.connect(first.port);
  const acked: string[] = [];
  let sent = 0;
  let stop = false;
  // keep 20 publishes in flight, as a pipelining client would
  const pump = (async () => {
    const inFlight: string[] = [];
    for (; sent < 20; sent++) {
      inFlight.push(`msg-${sent}`);
      w.send(Command.pub("durable", `msg-${sent}`));
    }
    while (!stop) {
      const f = await w.nextNonHeartbeat(2000).catch(() => null);
      if (f === null) return;
      expect(f.text).toBe("OK");
      acked.push(inFlight.shift()!);
      inFlight.push(`msg-${sent}`);
      w.send(Command.pub("durable", `msg-${sent++}`));
    }
  })();
  await until(() => acked.length > 50, "publishes acknowledged while more are in flight", 10_000);
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  stop = true;
  await pump;
  expect(acked.length).toBeGreaterThan(20);

  const second = await start(flags);
  const got = new Set(await drainAll(second.port, "durable"));
  const missing = acked.filter((b) => !got.has(b));
  expect(missing).toEqual([]);
}, 30_000);

test("SIGTERM keeps queued, in-flight and requeued messages; the restart delivers each exactly once", async () => {
  const data = tmpDir();
  dirs.push(data);
  const first = await start([`--data-path=${data}`, "--mem-queue-size=100"]);
  const c = await Wire.connect(first.port);
  expect(await c.identify({ output_buffer_size: -1 })).toBe("OK");
  expect(await c.sub("clean", "ch")).toBe("OK");
  const p = await Wire.connect(first.port);
  const n = 1000;
  p.send(Command.mpub("clean", Array.from({ length: n }, (_, i) => `m${i}`)));
  expect(await p.response()).toBe("OK");
  c.send(Command.rdy(3));
  const m1 = await c.message();
  await c.message();
  await c.message();
  c.send(Command.rdy(0)); // so the requeued one stays queued
  c.send(Command.req(m1.id, 0)); // back in the queue
  expect(await c.pub("sync", "x")).toBe("OK"); // answered once the REQ is done
  first.proc.kill("SIGTERM");
  expect(await first.proc.exited).toBe(0);

  const second = await start([`--data-path=${data}`, "--mem-queue-size=100"]);
  const got = await drainAll(second.port, "clean");
  expect(got.length).toBe(n);
  expect(new Set(got).size).toBe(n);
}, 30_000);

/** Subscribes and returns the first message with the time it arrived. */
async function firstMessage(port: number, topic: string, timeoutMs: number) {
  const w = await Wire.connect(port);
  expect(await w.identify({ output_buffer_timeout: 25 })).toBe("OK");
  expect(await w.sub(topic, "ch")).toBe("OK");
  w.send(Command.rdy(10));
  const m = await w.message(timeoutMs);
  const at = Date.now();
  w.send(Command.fin(m.id));
  return { m, at, w };
}

for (const [mode, flags, stop] of [
  ["clean stop, default mode", [] as string[], "SIGTERM"],
  ["kill -9, durable mode", ["--mem-queue-size=0"], "SIGKILL"],
] as const) {
  test(`deferred messages keep their due time across a restart (${mode})`, async () => {
    const data = tmpDir();
    dirs.push(data);
    const first = await start([`--data-path=${data}`, ...flags]);
    const c = await Wire.connect(first.port);
    expect(await c.identify({ output_buffer_size: -1 })).toBe("OK");
    expect(await c.sub("later", "ch")).toBe("OK");
    c.send(Command.rdy(1));
    const p = await Wire.connect(first.port);
    const t0 = Date.now();
    p.send(Command.dpub("later", 2500, "dpub"));
    expect(await p.response()).toBe("OK");
    p.send(Command.pub("later", "req"));
    expect(await p.response()).toBe("OK");
    const m = await c.message();
    expect(m.text).toBe("req");
    c.send(Command.req(m.id, 2500));
    expect(await c.pub("sync", "x")).toBe("OK"); // answered once the REQ is done
    first.proc.kill(stop);
    await first.proc.exited;

    const second = await start([`--data-path=${data}`, ...flags]);
    const { m: a, at, w } = await firstMessage(second.port, "later", 5000);
    expect(at - t0).toBeGreaterThanOrEqual(2400);
    const b = await w.message(2000);
    expect([a.text, b.text].sort()).toEqual(["dpub", "req"]);
    expect(b.attempts + a.attempts).toBe(3); // req was delivered once before
    w.close();
  }, 30_000);
}

test("a DPUB to a topic with no channel yet keeps its due time across a kill -9 in durable mode", async () => {
  const data = tmpDir();
  dirs.push(data);
  const flags = [`--data-path=${data}`, "--mem-queue-size=0"];
  const first = await start(flags);
  const p = await Wire.connect(first.port);
  const t0 = Date.now();
  p.send(Command.dpub("nochannel", 2000, "waiting"));
  expect(await p.response()).toBe("OK");
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  const second = await start(flags);
  const { m, at, w } = await firstMessage(second.port, "nochannel", 4000);
  expect(m.text).toBe("waiting");
  expect(at - t0).toBeGreaterThanOrEqual(1900);
  w.close();
}, 30_000);

test("a DPUB waiting in a topic with no channel keeps its original due time across a clean stop", async () => {
  const data = tmpDir();
  dirs.push(data);
  const first = await start([`--data-path=${data}`]);
  const p = await Wire.connect(first.port);
  const t0 = Date.now();
  p.send(Command.dpub("waited", 2500, "on time"));
  expect(await p.response()).toBe("OK");
  await sleep(1200); // deliberate: time spent waiting must count towards the delay
  first.proc.kill("SIGTERM");
  await first.proc.exited;
  const second = await start([`--data-path=${data}`]);
  // a marker deferred 1900 ms from now: behind "on time" (at most 1300 ms left), ahead of a 2500 ms restarted clock
  const q = await Wire.connect(second.port);
  q.send(Command.dpub("waited", 1900, "marker"));
  expect(await q.response()).toBe("OK");
  q.close();
  const { m, at, w } = await firstMessage(second.port, "waited", 5000);
  expect(m.text).toBe("on time");
  expect(at - t0).toBeGreaterThanOrEqual(2400);
  expect((await w.message(5000)).text).toBe("marker");
  w.close();
}, 30_000);

test("kill -9 with messages in flight in durable mode: they come back after a restart, when they would have timed out", async () => {
  const data = tmpDir();
  dirs.push(data);
  const flags = [`--data-path=${data}`, "--mem-queue-size=0", "--msg-timeout=1s"];
  const first = await start(flags);
  const consumer = await Wire.connect(first.port);
  expect(await consumer.sub("t", "ch")).toBe("OK");
  consumer.send(Command.rdy(10));
  // delivered straight to the waiting consumer: in NSQ these live only in memory once in flight
  const producer = await Wire.connect(first.port);
  for (let i = 0; i < 5; i++) expect(await producer.pub("t", `held-${i}`)).toBe("OK");
  const held: string[] = [];
  for (let i = 0; i < 5; i++) held.push((await consumer.message()).text);
  expect(held.sort()).toEqual(["held-0", "held-1", "held-2", "held-3", "held-4"]);
  first.proc.kill("SIGKILL");
  await first.proc.exited;

  const second = await start(flags);
  expect((await drainAll(second.port, "t", 2500)).sort()).toEqual(held);
});
