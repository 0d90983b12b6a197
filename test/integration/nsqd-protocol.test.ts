import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ascii } from "../../src/core/protocol/bytes.ts";
import { Command, encodeCommand } from "../../src/core/protocol/commands.ts";
import { FrameType } from "../../src/core/protocol/frame.ts";
import { encodeMpubBody } from "../../src/core/protocol/mpub.ts";
import type { NsqdOptions } from "../../src/daemons/nsqd/options.ts";
import { concat } from "../helpers/chunks.ts";
import { until } from "../helpers/client.ts";
import { sleep, startNsqd, type TestNsqd, tmpDir, Wire } from "../helpers/nsqd.ts";

let daemons: TestNsqd[] = [];
let wires: Wire[] = [];
let dirs: string[] = [];

async function nsqd(over: Partial<NsqdOptions> = {}) {
  const d = await startNsqd(over);
  daemons.push(d);
  return d;
}

async function connect(d: TestNsqd, magic?: Uint8Array | null) {
  const w = await Wire.connect(d.port, magic);
  wires.push(w);
  return w;
}

/** A subscribed consumer with RDY n, flushing every 25 ms (nsqd's minimum) so tests see messages quickly. */
async function consumer(d: TestNsqd, topic: string, channel: string, rdy = 1, identify: Record<string, unknown> = {}) {
  const w = await connect(d);
  expect(await w.identify({ output_buffer_timeout: 25, ...identify })).toBe("OK");
  expect(await w.sub(topic, channel)).toBe("OK");
  if (rdy > 0) w.send(Command.rdy(rdy));
  return w;
}

afterEach(async () => {
  for (const w of wires) if (!w.isClosed) w.close();
  for (const d of daemons) await d.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  wires = [];
  daemons = [];
  dirs = [];
});

/** A directory for socket files, removed after the test. */
function scratchDir(): string {
  const d = tmpDir();
  dirs.push(d);
  return d;
}

/** The in-flight copy of message `id` in topic/channel, as nsqd holds it. */
const inFlight = (d: TestNsqd, topic: string, channel: string, id: string) => d.nsqd.topics.get(topic)!.channels.get(channel)!.inFlight.find(ascii(id))!;

/** Resolves once nsqd has taken the RDY count of the (only) client of topic/channel. */
function rdyTaken(d: TestNsqd, topic: string, channel: string, rdy: number): Promise<void> {
  const clients = () => [...(d.nsqd.topics.get(topic)?.channels.get(channel)?.clients.values() ?? [])];
  return until(() => clients().some((c) => c.readyCount === rdy), `RDY ${rdy} on ${topic}/${channel}`);
}

function sizeFrame(line: string, size: number): Uint8Array {
  const l = ascii(line);
  const out = new Uint8Array(l.length + 4);
  out.set(l);
  new DataView(out.buffer).setInt32(l.length, size);
  return out;
}

describe("connection start", () => {
  test("bad magic gets a framed E_BAD_PROTOCOL and a close", async () => {
    const d = await nsqd();
    const w = await connect(d, ascii("  V1"));
    expect(await w.error()).toBe("E_BAD_PROTOCOL");
    await w.closed();
  });

  test("magic split over several packets, commands in the same packet as the magic", async () => {
    const d = await nsqd();
    const w = await connect(d, null);
    // deliberate gaps, so that each piece arrives in a read of its own
    w.send(" ");
    await sleep(20);
    w.send(ascii(" V"));
    await sleep(20);
    w.send(concat(ascii("2"), Command.pub("t", "x")));
    expect(await w.response()).toBe("OK");
  });

  test("an unknown command is fatal", async () => {
    const d = await nsqd();
    const w = await connect(d);
    w.send("HELLO world\n");
    expect(await w.error()).toBe("E_INVALID invalid command HELLO");
    await w.closed();
  });

  test("NOP has no response; AUTH is refused while auth is not enabled", async () => {
    const d = await nsqd();
    const w = await connect(d);
    w.send(Command.nop());
    expect(await w.quiet(100)).toBe(true);
    w.send(encodeCommand("AUTH", ["x"], ascii("s")));
    expect(await w.error()).toBe("E_INVALID AUTH invalid number of parameters");
    const w2 = await connect(d);
    w2.send(Command.auth("secret"));
    expect(await w2.error()).toBe("E_AUTH_DISABLED AUTH disabled");
    await w2.closed();
  });
});

describe("IDENTIFY", () => {
  test("answers OK, or the negotiation JSON with the client's effective settings (--snappy=false, no TLS: declined)", async () => {
    const d = await nsqd({ maxDeflateLevel: 5, snappy: false });
    const w = await connect(d);
    expect(await w.identify({ client_id: "c" })).toBe("OK");
    const w2 = await connect(d);
    const resp = JSON.parse(
      await w2.identify({
        feature_negotiation: true,
        msg_timeout: 5000,
        output_buffer_size: 1024,
        output_buffer_timeout: 100,
        sample_rate: 30,
        tls_v1: true,
        snappy: true,
        deflate_level: 9,
      }),
    );
    expect(resp).toEqual({
      max_rdy_count: 2500,
      version: "1.3.0",
      max_msg_timeout: 900000,
      msg_timeout: 5000,
      tls_v1: false,
      deflate: false,
      deflate_level: 5,
      max_deflate_level: 5,
      snappy: false,
      sample_rate: 30,
      auth_required: false,
      output_buffer_size: 1024,
      output_buffer_timeout: 100,
      topology_region: "",
      topology_zone: "",
    });
  });

  const invalid: [Record<string, unknown>, string][] = [
    [{ heartbeat_interval: 999 }, "E_BAD_BODY IDENTIFY heartbeat interval (999) is invalid"],
    [{ heartbeat_interval: 60001 }, "E_BAD_BODY IDENTIFY heartbeat interval (60001) is invalid"],
    // an int in Go, so beyond int32 it decodes and fails the range check
    [{ heartbeat_interval: 3000000000 }, "E_BAD_BODY IDENTIFY heartbeat interval (3000000000) is invalid"],
    [{ output_buffer_size: 63 }, "E_BAD_BODY IDENTIFY output buffer size (63) is invalid"],
    [{ output_buffer_size: 65537 }, "E_BAD_BODY IDENTIFY output buffer size (65537) is invalid"],
    [{ output_buffer_timeout: 24 }, "E_BAD_BODY IDENTIFY output buffer timeout (24) is invalid"],
    [{ sample_rate: 100 }, "E_BAD_BODY IDENTIFY sample rate (100) is invalid"],
    [{ sample_rate: -1 }, "E_BAD_BODY IDENTIFY sample rate (-1) is invalid"],
    [{ msg_timeout: 999 }, "E_BAD_BODY IDENTIFY msg timeout (999) is invalid"],
    [{ msg_timeout: 900001 }, "E_BAD_BODY IDENTIFY msg timeout (900001) is invalid"],
    [{ heartbeat_interval: "1000" }, "E_BAD_BODY IDENTIFY failed to decode JSON body"],
    [{ feature_negotiation: 1 }, "E_BAD_BODY IDENTIFY failed to decode JSON body"],
    [{ msg_timeout: 1000.5 }, "E_BAD_BODY IDENTIFY failed to decode JSON body"],
  ];
  test.each(invalid)("%j → %s (fatal)", async (body, err) => {
    const d = await nsqd();
    const w = await connect(d);
    w.send(Command.identify(body));
    expect(await w.error()).toBe(err);
    await w.closed();
  });

  test("malformed JSON, bad sizes and a second IDENTIFY after SUB", async () => {
    const d = await nsqd({ maxBodySize: 100 });
    const cases: [Uint8Array, string][] = [
      [encodeCommand("IDENTIFY", [], ascii("{nope")), "E_BAD_BODY IDENTIFY failed to decode JSON body"],
      [encodeCommand("IDENTIFY", [], ascii("[1]")), "E_BAD_BODY IDENTIFY failed to decode JSON body"],
      // Go's decoder takes only integer literals for an int field
      [encodeCommand("IDENTIFY", [], ascii('{"msg_timeout":1000.0}')), "E_BAD_BODY IDENTIFY failed to decode JSON body"],
      [encodeCommand("IDENTIFY", [], ascii('{"msg_timeout":1e4}')), "E_BAD_BODY IDENTIFY failed to decode JSON body"],
      [sizeFrame("IDENTIFY\n", 101), "E_BAD_BODY IDENTIFY body too big 101 > 100"],
      [sizeFrame("IDENTIFY\n", 0), "E_BAD_BODY IDENTIFY invalid body size 0"],
      [sizeFrame("IDENTIFY\n", -5), "E_BAD_BODY IDENTIFY invalid body size -5"],
    ];
    for (const [bytes, err] of cases) {
      const w = await connect(d);
      w.send(bytes);
      expect(await w.error()).toBe(err);
      await w.closed();
    }
    const w = await connect(d);
    expect(await w.identify({ HeartBeat_Interval: 2000, unknown_key: [1] })).toBe("OK");
    expect(await w.sub("t", "c")).toBe("OK");
    w.send(Command.identify({}));
    expect(await w.error()).toBe("E_INVALID cannot IDENTIFY in current state");
  });
});

describe("PUB / MPUB / DPUB", () => {
  test("parameter and size errors use nsqd's codes and texts", async () => {
    const d = await nsqd({ maxMsgSize: 10, maxBodySize: 100 });
    const cases: [Uint8Array, string][] = [
      [ascii("PUB\n"), "E_INVALID PUB insufficient number of parameters"],
      [Command.pub("bad/topic", "x"), 'E_BAD_TOPIC PUB topic name "bad/topic" is not valid'],
      [sizeFrame("PUB t\n", 0), "E_BAD_MESSAGE PUB invalid message body size 0"],
      [sizeFrame("PUB t\n", 11), "E_BAD_MESSAGE PUB message too big 11 > 10"],
      [ascii("MPUB\n"), "E_INVALID MPUB insufficient number of parameters"],
      [Command.mpub("a!b", ["x"]), 'E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a!b" is not valid'],
      [sizeFrame("MPUB t\n", 0), "E_BAD_BODY MPUB invalid body size 0"],
      [sizeFrame("MPUB t\n", 101), "E_BAD_BODY MPUB body too big 101 > 100"],
      [Command.mpub("t", ["ok", "waytoolongmessage"]), "E_BAD_MESSAGE MPUB message too big 17 > 10"],
      [ascii("DPUB t\n"), "E_INVALID DPUB insufficient number of parameters"],
      [Command.dpub("t", -1, "x"), "E_INVALID DPUB could not parse timeout -1"],
      [Command.dpub("t", 3600001, "x"), "E_INVALID DPUB timeout 3600001 out of range 0-3600000"],
      [sizeFrame("DPUB t 10\n", 11), "E_BAD_MESSAGE DPUB message too big 11 > 10"],
    ];
    for (const [bytes, err] of cases) {
      const w = await connect(d);
      w.send(bytes);
      expect(await w.error()).toBe(err);
      await w.closed();
    }
  });

  test("MPUB is atomic: a bad message anywhere queues nothing", async () => {
    const d = await nsqd({ maxMsgSize: 10 });
    const w = await connect(d);
    w.send(Command.mpub("atomic", ["1", "2", "this one is too long"]));
    expect(await w.error()).toStartWith("E_BAD_MESSAGE");
    expect(d.nsqd.topics.get("atomic")?.depth ?? 0).toBe(0);
    const w2 = await connect(d);
    w2.send(Command.mpub("atomic", ["1", "2", "3"]));
    expect(await w2.response()).toBe("OK");
    expect(d.nsqd.topics.get("atomic")!.depth).toBe(3);
  });

  test("pipelined publishes each get OK, in order, and arrive in order", async () => {
    const d = await nsqd();
    const w = await connect(d);
    const n = 500;
    w.send(concat(...Array.from({ length: n }, (_, i) => Command.pub("pipe", `m${i}`))));
    for (let i = 0; i < n; i++) expect(await w.response()).toBe("OK");
    const c = await consumer(d, "pipe", "ch", n);
    for (let i = 0; i < n; i++) expect((await c.message()).text).toBe(`m${i}`);
  });

  test("DPUB holds the message for its delay; attempts start at 1 on delivery", async () => {
    const d = await nsqd();
    const c = await consumer(d, "deferred", "ch", 10);
    const p = await connect(d);
    const t0 = Date.now();
    p.send(Command.dpub("deferred", 400, "later"));
    expect(await p.response()).toBe("OK");
    p.send(Command.pub("deferred", "now"));
    expect(await p.response()).toBe("OK");
    expect((await c.message()).text).toBe("now");
    expect(d.nsqd.topics.get("deferred")!.channels.get("ch")!.deferredById.size).toBe(1);
    const m = await c.message();
    expect(m.text).toBe("later");
    expect(m.attempts).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
  });
});

describe("SUB / RDY / CLS", () => {
  test("state and parameter errors", async () => {
    const d = await nsqd();
    const cases: [Uint8Array[], string][] = [
      [[ascii("SUB t\n")], "E_INVALID SUB insufficient number of parameters"],
      [[Command.sub("t!", "c")], 'E_BAD_TOPIC SUB topic name "t!" is not valid'],
      [[Command.sub("t", "c!")], 'E_BAD_CHANNEL SUB channel name "c!" is not valid'],
      [[Command.identify({ heartbeat_interval: -1 }), Command.sub("t", "c")], "E_INVALID cannot SUB with heartbeats disabled"],
      [[Command.rdy(1)], "E_INVALID cannot RDY in current state"],
      [[Command.fin("0123456789abcdef")], "E_INVALID cannot FIN in current state"],
      [[Command.req("0123456789abcdef", 0)], "E_INVALID cannot REQ in current state"],
      [[Command.touch("0123456789abcdef")], "E_INVALID cannot TOUCH in current state"],
      [[Command.cls()], "E_INVALID cannot CLS in current state"],
    ];
    for (const [cmds, err] of cases) {
      const w = await connect(d);
      for (const c of cmds) w.send(c);
      if (cmds.length > 1) expect(await w.response()).toBe("OK");
      expect(await w.error()).toBe(err);
      await w.closed();
    }
    const w = await consumer(d, "t", "c", 0);
    w.send(Command.sub("t", "c2"));
    expect(await w.error()).toBe("E_INVALID cannot SUB in current state");
  });

  test("RDY parsing and range are fatal errors", async () => {
    const d = await nsqd({ maxRdyCount: 50 });
    for (const [arg, err] of [
      ["51", "E_INVALID RDY count 51 out of range 0-50"],
      ["-1", "E_INVALID RDY could not parse count -1"],
      ["x", "E_INVALID RDY could not parse count x"],
    ]) {
      const w = await consumer(d, "t", "c", 0);
      w.send(`RDY ${arg}\n`);
      expect(await w.error()).toBe(err!);
      await w.closed();
    }
  });

  test("a client gets at most RDY messages in flight; FIN opens the window", async () => {
    const d = await nsqd();
    const c = await consumer(d, "window", "ch", 2);
    const p = await connect(d);
    p.send(Command.mpub("window", ["1", "2", "3", "4"]));
    expect(await p.response()).toBe("OK");
    const a = await c.message();
    const b = await c.message();
    expect(await c.quiet(150)).toBe(true);
    c.send(Command.fin(a.id));
    const m3 = await c.message();
    expect(m3.text).toBe("3");
    c.send(Command.rdy(0));
    c.send(Command.fin(b.id));
    c.send(Command.fin(m3.id));
    expect(await c.quiet(150)).toBe(true);
    c.send("RDY\n"); // no count means 1
    expect((await c.message()).text).toBe("4");
  });

  test("max-channel-consumers refuses the next SUB", async () => {
    const d = await nsqd({ maxChannelConsumers: 1 });
    await consumer(d, "t", "c", 0);
    const w = await connect(d);
    w.send(Command.sub("t", "c"));
    expect(await w.error()).toBe("E_SUB_FAILED SUB failed consumers for t:c exceeds limit of 1");
  });

  test("CLS answers CLOSE_WAIT, stops delivery, and still accepts FIN", async () => {
    const d = await nsqd();
    const c = await consumer(d, "cls", "ch", 5);
    const p = await connect(d);
    expect(await p.pub("cls", "a")).toBe("OK");
    const m = await c.message();
    c.send(Command.cls());
    expect(await c.response()).toBe("CLOSE_WAIT");
    c.send(Command.rdy(5)); // ignored after CLS
    expect(await p.pub("cls", "b")).toBe("OK");
    expect(await c.quiet(150)).toBe(true);
    c.send(Command.fin(m.id));
    expect(await c.quiet(100)).toBe(true);
    expect(d.nsqd.topics.get("cls")!.channels.get("ch")!.inFlight.size).toBe(0);
  });
});

describe("FIN / REQ / TOUCH / timeouts", () => {
  test("FIN of an unknown ID is non-fatal; a malformed ID is fatal", async () => {
    const d = await nsqd();
    const c = await consumer(d, "fin", "ch", 1);
    c.send(Command.fin("0123456789abcdef"));
    expect(await c.error()).toBe("E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight");
    const p = await connect(d);
    expect(await p.pub("fin", "still works")).toBe("OK");
    expect((await c.message()).text).toBe("still works");
    c.send("FIN abc\n");
    expect(await c.error()).toBe("E_INVALID invalid message ID");
    await c.closed();
  });

  test("only the receiving connection may FIN, REQ or TOUCH a message", async () => {
    const d = await nsqd();
    const a = await consumer(d, "own", "ch", 1);
    const b = await consumer(d, "own", "ch", 0);
    const p = await connect(d);
    expect(await p.pub("own", "x")).toBe("OK");
    const m = await a.message();
    b.send(Command.fin(m.id));
    expect(await b.error()).toBe(`E_FIN_FAILED FIN ${m.id} failed client does not own message`);
    b.send(Command.req(m.id, 0));
    expect(await b.error()).toBe(`E_REQ_FAILED REQ ${m.id} failed client does not own message`);
    b.send(Command.touch(m.id));
    expect(await b.error()).toBe(`E_TOUCH_FAILED TOUCH ${m.id} failed client does not own message`);
    a.send(Command.fin(m.id));
    expect(await a.quiet(100)).toBe(true);
  });

  test("REQ 0 redelivers at once with attempts+1; REQ with delay defers it", async () => {
    const d = await nsqd();
    const c = await consumer(d, "req", "ch", 1);
    const p = await connect(d);
    expect(await p.pub("req", "again")).toBe("OK");
    const m1 = await c.message();
    c.send(Command.req(m1.id, 0));
    const m2 = await c.message();
    expect([m2.id, m2.attempts, m2.text]).toEqual([m1.id, 2, "again"]);
    const t0 = Date.now();
    c.send(Command.req(m2.id, 300));
    expect(await c.quiet(200)).toBe(true);
    const m3 = await c.message();
    expect(m3.attempts).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    const ch = d.nsqd.topics.get("req")!.channels.get("ch")!;
    expect(ch.requeueCount).toBe(2);
    c.send("REQ abcdefabcdefabcd x\n");
    expect(await c.error()).toBe("E_INVALID REQ could not parse timeout x");
  });

  test("REQ beyond --max-req-timeout is clamped, not refused", async () => {
    const d = await nsqd({ maxReqTimeout: 200 });
    const c = await consumer(d, "clamp", "ch", 1);
    const p = await connect(d);
    expect(await p.pub("clamp", "x")).toBe("OK");
    const m = await c.message();
    c.send(Command.req(m.id, 3_600_000));
    const again = await c.message(2000);
    expect(again.attempts).toBe(2);
  });

  test("an unacknowledged message times out and is redelivered; timeout_count counts it", async () => {
    const d = await nsqd();
    const c = await consumer(d, "timeout", "ch", 1, { msg_timeout: 1000 });
    const p = await connect(d);
    expect(await p.pub("timeout", "x")).toBe("OK");
    const m1 = await c.message();
    const t0 = Date.now();
    const m2 = await c.message(3000);
    expect(m2.id).toBe(m1.id);
    expect(m2.attempts).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(d.nsqd.topics.get("timeout")!.channels.get("ch")!.timeoutCount).toBe(1);
  });

  test("TOUCH pushes the deadline out, but never past delivery + --max-msg-timeout", async () => {
    const d = await nsqd({ maxMsgTimeout: 1500 });
    const c = await consumer(d, "touch", "ch", 1, { msg_timeout: 1000 });
    const p = await connect(d);
    expect(await p.pub("touch", "x")).toBe("OK");
    const m = await c.message();
    const held = inFlight(d, "touch", "ch", m.id);
    const delivered = held.deliveryTs;
    expect(held.pri).toBe(delivered + 1000);
    await sleep(200); // deliberate: a TOUCH some time after delivery
    c.send(Command.touch(m.id));
    expect(await c.pub("sync", "x")).toBe("OK"); // answered after the TOUCH is done
    expect(held.pri).toBeGreaterThan(delivered + 1000);
    await sleep(600); // deliberate: now + msg_timeout is past delivery + 1500
    c.send(Command.touch(m.id));
    expect(await c.pub("sync", "x")).toBe("OK");
    expect(held.pri).toBe(delivered + 1500);
    const again = await c.message(3000);
    expect(again.attempts).toBe(2);
    expect(Date.now() - delivered).toBeGreaterThanOrEqual(1400);
  });

  test("a disconnected consumer's in-flight messages wait for their timeout", async () => {
    const d = await nsqd();
    const a = await consumer(d, "gone", "ch", 1, { msg_timeout: 1000 });
    const p = await connect(d);
    expect(await p.pub("gone", "x")).toBe("OK");
    await a.message();
    a.close();
    const b = await consumer(d, "gone", "ch", 1);
    expect(await b.quiet(500)).toBe(true);
    const m = await b.message(2000);
    expect(m.attempts).toBe(2);
  });
});

describe("delivery", () => {
  test("every channel gets every message; a channel spreads them over its consumers", async () => {
    const d = await nsqd();
    const a1 = await consumer(d, "fan", "a", 100);
    const a2 = await consumer(d, "fan", "a", 100);
    const b = await consumer(d, "fan", "b", 100);
    const p = await connect(d);
    const n = 40;
    p.send(Command.mpub("fan", Array.from({ length: n }, (_, i) => `${i}`)));
    expect(await p.response()).toBe("OK");
    const got = { a1: [] as string[], a2: [] as string[], b: [] as string[] };
    for (let i = 0; i < n; i++) got.b.push((await b.message()).text);
    const drain = async (w: Wire, into: string[]) => {
      for (;;) {
        try {
          const m = await w.message(200);
          into.push(m.text);
        } catch {
          return;
        }
      }
    };
    await Promise.all([drain(a1, got.a1), drain(a2, got.a2)]);
    expect(got.b).toEqual(Array.from({ length: n }, (_, i) => `${i}`));
    expect([...got.a1, ...got.a2].sort((x, y) => +x - +y)).toEqual(got.b);
    expect(got.a1.length).toBeGreaterThan(5);
    expect(got.a2.length).toBeGreaterThan(5);
  });

  test("messages published before any channel exists wait in the topic", async () => {
    const d = await nsqd({ memQueueSize: 5 });
    const p = await connect(d);
    p.send(Command.mpub("backlog", Array.from({ length: 20 }, (_, i) => `${i}`)));
    expect(await p.response()).toBe("OK");
    expect(d.nsqd.topics.get("backlog")!.depth).toBe(20);
    const c = await consumer(d, "backlog", "ch", 100);
    const got: string[] = [];
    for (let i = 0; i < 20; i++) got.push((await c.message()).text);
    expect(got.sort((x, y) => +x - +y)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}`));
  });

  test("sample_rate delivers only a share of the channel's messages", async () => {
    const d = await nsqd();
    const c = await consumer(d, "sample", "ch", 2500, { sample_rate: 10 });
    const p = await connect(d);
    p.send(Command.mpub("sample", Array.from({ length: 1000 }, () => "x")));
    expect(await p.response()).toBe("OK");
    let n = 0;
    while (await c.message(300).then(() => true, () => false)) n++;
    expect(n).toBeGreaterThan(30);
    expect(n).toBeLessThan(250);
  });

  test("a paused channel holds messages and keeps RDY; unpause resumes", async () => {
    const d = await nsqd();
    const c = await consumer(d, "pause", "ch", 10);
    const ch = d.nsqd.topics.get("pause")!.channels.get("ch")!;
    ch.pause();
    const p = await connect(d);
    expect(await p.pub("pause", "held")).toBe("OK");
    expect(await c.quiet(150)).toBe(true);
    ch.unpause();
    expect((await c.message()).text).toBe("held");
  });

  test("output_buffer_timeout delays buffered messages; becoming not-ready flushes them", async () => {
    const d = await nsqd();
    const c = await connect(d);
    expect(await c.identify({ output_buffer_size: 65536, output_buffer_timeout: 300 })).toBe("OK");
    expect(await c.sub("buffered", "ch")).toBe("OK");
    c.send(Command.rdy(10));
    await rdyTaken(d, "buffered", "ch", 10);
    const p = await connect(d);
    const t0 = Date.now();
    expect(await p.pub("buffered", "x")).toBe("OK");
    await c.message();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    // a buffer timeout far longer than the wait: only the flush on becoming not-ready can deliver in time
    const c1 = await connect(d);
    expect(await c1.identify({ output_buffer_size: 65536, output_buffer_timeout: 30_000 })).toBe("OK");
    expect(await c1.sub("buffered1", "ch")).toBe("OK");
    c1.send(Command.rdy(1));
    await rdyTaken(d, "buffered1", "ch", 1);
    expect(await p.pub("buffered1", "y")).toBe("OK");
    expect((await c1.message(10_000)).text).toBe("y");
  });

  test("a consumer that does not read costs bounded memory and does not stall others", async () => {
    const d = await nsqd();
    const slow = await connect(d);
    expect(await slow.identify({})).toBe("OK");
    expect(await slow.sub("slow", "stuck")).toBe("OK");
    slow.send(Command.rdy(2500));
    (slow as unknown as { socket: { pause(): void } }).socket.pause();
    const fast = await consumer(d, "slow", "fast", 2500);
    const p = await connect(d);
    const body = "x".repeat(10_000);
    for (let i = 0; i < 20; i++) {
      p.send(Command.mpub("slow", Array.from({ length: 100 }, () => body)));
      expect(await p.response()).toBe("OK");
    }
    let n = 0;
    for (; n < 2000; n++) {
      const m = await fast.message();
      fast.send(Command.fin(m.id));
    }
    expect(n).toBe(2000);
    const stuck = d.nsqd.topics.get("slow")!.channels.get("stuck")!;
    // the kernel buffers hold some; the rest stays queued on the server, not in the client's buffers
    expect(stuck.inFlight.size).toBeLessThan(1000);
    expect(stuck.depth).toBeGreaterThan(1000);
  });
});

describe("heartbeats", () => {
  test("_heartbeat_ every interval; a client that stays silent is dropped after two", async () => {
    const d = await nsqd();
    const w = await connect(d);
    expect(await w.identify({ heartbeat_interval: 1000 })).toBe("OK");
    const t0 = Date.now();
    const f = await w.next(2000);
    expect([f!.type, f!.text]).toEqual([FrameType.Response, "_heartbeat_"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    await w.closed(3500);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
  });

  test("a client that answers with NOP stays connected", async () => {
    const d = await nsqd();
    const w = await connect(d);
    expect(await w.identify({ heartbeat_interval: 1000 })).toBe("OK");
    for (let i = 0; i < 3; i++) {
      expect((await w.next(2000))!.text).toBe("_heartbeat_");
      w.send(Command.nop());
    }
    expect(w.isClosed).toBe(false);
  });
});

describe("ephemeral topics and channels, metadata, lifecycle", () => {
  test("an #ephemeral channel goes away with its last client; an #ephemeral topic with its last channel", async () => {
    const d = await nsqd();
    const c = await consumer(d, "eph#ephemeral", "ch#ephemeral", 1);
    const c2 = await consumer(d, "durable", "tmp#ephemeral", 1);
    expect(d.nsqd.topics.get("eph#ephemeral")!.channels.has("ch#ephemeral")).toBe(true);
    d.nsqd.persistMetadata();
    const md = JSON.parse(readFileSync(join(d.dataPath, "nsqd.dat"), "utf8"));
    expect(md).toEqual({ topics: [{ name: "durable", paused: false, channels: [] }], version: "1.3.0" });
    c.close();
    c2.close();
    await until(() => !d.nsqd.topics.has("eph#ephemeral"), "the ephemeral topic to go");
    await until(() => d.nsqd.topics.get("durable")!.channels.size === 0, "the ephemeral channel to go");
  });

  test("ephemeral messages never touch disk; overflow beyond mem-queue-size is dropped", async () => {
    const d = await nsqd({ memQueueSize: 10 });
    const p = await connect(d);
    p.send(Command.mpub("e#ephemeral", Array.from({ length: 50 }, () => "x")));
    expect(await p.response()).toBe("OK");
    expect(d.nsqd.topics.get("e#ephemeral")!.depth).toBe(10);
    expect(existsSync(join(d.dataPath, "e#ephemeral.diskqueue.meta.dat"))).toBe(false);
  });

  test("topics, channels and paused state survive a restart through nsqd.dat", async () => {
    const d = await startNsqd();
    const c = await Wire.connect(d.port);
    expect(await c.sub("keep", "ch")).toBe("OK");
    d.nsqd.getTopic("paused_topic").pause();
    d.nsqd.getTopic("keep").getChannel("paused_ch").pause();
    c.close();
    await d.stop({ keepData: true });
    const md = JSON.parse(readFileSync(join(d.dataPath, "nsqd.dat"), "utf8"));
    expect(md.version).toBe("1.3.0");
    const d2 = await nsqd({ dataPath: d.dataPath });
    expect([...d2.nsqd.topics.keys()].sort()).toEqual(["keep", "paused_topic"]);
    expect(d2.nsqd.topics.get("paused_topic")!.paused).toBe(true);
    expect([...d2.nsqd.topics.get("keep")!.channels.keys()].sort()).toEqual(["ch", "paused_ch"]);
    expect(d2.nsqd.topics.get("keep")!.channels.get("paused_ch")!.paused).toBe(true);
  });

  test("a second nsqd on the same --data-path is refused", async () => {
    const d = await nsqd();
    await expect(startNsqd({ dataPath: d.dataPath })).rejects.toThrow("in use (possibly by another instance of nsqd)");
  });

  test("a clean stop keeps queued and in-flight messages; the restart delivers them", async () => {
    const d = await startNsqd();
    const c = await Wire.connect(d.port);
    expect(await c.identify({ output_buffer_size: -1 })).toBe("OK");
    expect(await c.sub("survive", "ch")).toBe("OK");
    c.send(Command.rdy(1));
    const p = await Wire.connect(d.port);
    p.send(Command.mpub("survive", ["a", "b", "c"]));
    expect(await p.response()).toBe("OK");
    expect((await c.message()).text).toBe("a"); // in flight at shutdown
    await d.stop({ keepData: true });
    const d2 = await nsqd({ dataPath: d.dataPath });
    const c2 = await consumer(d2, "survive", "ch", 10);
    const got = [(await c2.message()).text, (await c2.message()).text, (await c2.message()).text].sort();
    expect(got).toEqual(["a", "b", "c"]);
  });

  test("listens on a unix socket path", async () => {
    const path = join(scratchDir(), "nsqd.sock");
    const d = await nsqd({ tcpAddress: path });
    expect(d.nsqd.tcpAddress()).toBe(path);
    const got = await new Promise<string>((resolve) => {
      Bun.connect({
        unix: path,
        socket: {
          open(s) {
            s.write(concat(ascii("  V2"), Command.pub("u", "x")));
          },
          data(_s, chunk) {
            resolve(new TextDecoder().decode(chunk.subarray(8)));
          },
        },
      });
    });
    expect(got).toBe("OK");
  });
});

describe("unix sockets", () => {
  test("a stale unix socket file is replaced; a regular file at the path is left alone", async () => {
    const path = join(scratchDir(), "nsqd.sock");
    // a socket file whose process is gone, as a crash leaves it: a listener killed with SIGKILL
    const script = `Bun.listen({ unix: ${JSON.stringify(path)}, socket: { data() {} } }); console.log("listening");`;
    const crashed = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
    try {
      expect(new TextDecoder().decode((await crashed.stdout.getReader().read()).value)).toBe("listening\n");
    } finally {
      crashed.kill("SIGKILL");
      await crashed.exited;
    }
    expect(lstatSync(path).isSocket()).toBe(true);
    const second = await nsqd({ tcpAddress: path });
    expect(second.nsqd.tcpAddress()).toBe(path);
    const file = `${path}.txt`;
    writeFileSync(file, "mine");
    await expect(startNsqd({ tcpAddress: file })).rejects.toThrow();
    expect(readFileSync(file, "utf8")).toBe("mine");
  });
});
