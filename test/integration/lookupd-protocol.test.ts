import { describe, expect, test } from "bun:test";
import os from "node:os";
import { ascii } from "../../src/core/protocol/bytes.ts";
import { MAGIC_V1 } from "../../src/core/protocol/frame.ts";
import { MAX_IDENTIFY_BODY } from "../../src/daemons/lookupd/protocol-v1.ts";
import { concat } from "../helpers/chunks.ts";
import { until } from "../helpers/client.ts";
import { lookupdScope, PEER, V1 } from "../helpers/lookupd.ts";
import { Wire } from "../helpers/nsqd.ts";

const { lookupd, connect, track } = lookupdScope();

/** The connection answers `text`, then lookupd closes it (every V1 error is fatal). */
async function expectFatal(w: Wire, text: string) {
  expect(await w.response()).toBe(text);
  await w.closed();
}

const topicKey = (t: string) => ({ category: "topic", key: t, subKey: "" });
const channelKey = (t: string, c: string) => ({ category: "channel", key: t, subKey: c });

describe("lookupd V1 protocol", () => {
  test("a bad magic gets a size-prefixed E_BAD_PROTOCOL and is closed", async () => {
    const l = await lookupd();
    const w = track(await Wire.connect(l.tcpPort, ascii("  V2"), { v1: true }));
    await expectFatal(w, "E_BAD_PROTOCOL");
  });

  test("PING answers OK before and after IDENTIFY; after, it refreshes the peer and is logged", async () => {
    const l = await lookupd();
    const w = await connect(l.tcpPort);
    w.send(V1.ping());
    expect(await w.response()).toBe("OK");
    expect(l.logs.some((x) => x.includes("pinged"))).toBe(false);
    w.send(V1.identify());
    await w.response();
    const peer = l.lookupd.db.findProducers("client", "", "")[0]!.peerInfo;
    const before = peer.lastUpdate;
    await until(() => l.lookupd.now() > before, "the clock to move");
    w.send(V1.ping());
    expect(await w.response()).toBe("OK");
    expect(peer.lastUpdate).toBeGreaterThan(before);
    expect(l.logs.some((x) => /INFO: CLIENT\(127\.0\.0\.1:\d+\): pinged \(last ping [\d.]+[µnm]?s\)\n$/.test(x))).toBe(true);
  });

  test("IDENTIFY answers lookupd's ports and addresses (Go's sorted map keys) and registers a client", async () => {
    const l = await lookupd({ broadcastAddress: "lookupd.example" });
    const w = await connect(l.tcpPort);
    w.send(V1.identify({ ...PEER, topology_zone: "z1", topology_region: "r1", extra: [1] }));
    expect(await w.response()).toBe(
      `{"broadcast_address":"lookupd.example","hostname":${JSON.stringify(os.hostname())},"http_port":${l.httpPort},"tcp_port":${l.tcpPort},"version":"1.3.0"}`,
    );
    const [p] = l.lookupd.db.findProducers("client", "", "");
    expect(p!.peerInfo).toMatchObject({
      broadcastAddress: "ip.address",
      hostname: "ip.address",
      tcpPort: 5000,
      httpPort: 5555,
      version: "fake-version",
      topologyZone: "z1",
      topologyRegion: "r1",
    });
    expect(p!.peerInfo.id).toBe(p!.peerInfo.remoteAddress);
    expect(l.logs.join("")).toMatch(
      /INFO: CLIENT\((127\.0\.0\.1:\d+)\): IDENTIFY Address:ip\.address TCP:5000 HTTP:5555 Version:fake-version\n.*INFO: DB: client\(\1\) REGISTER category:client key: subkey:\n/,
    );
  });

  test("IDENTIFY keys match case-insensitively and remote_address is the connection's", async () => {
    const l = await lookupd();
    const w = await connect(l.tcpPort);
    w.send(V1.identify({ BROADCAST_ADDRESS: "b", Tcp_Port: 1, http_port: 2, version: "v", remote_address: "spoofed:1" }));
    await w.response();
    const peer = l.lookupd.db.findProducers("client", "", "")[0]!.peerInfo;
    expect(peer).toMatchObject({ broadcastAddress: "b", tcpPort: 1 });
    expect(peer.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  test("IDENTIFY again is fatal", async () => {
    const l = await lookupd();
    const w = await connect(l.tcpPort, PEER);
    w.send(V1.identify());
    await expectFatal(w, "E_INVALID cannot IDENTIFY again");
  });

  test.each([
    ["not JSON", "{"],
    ["an array", "[]"],
    ["a port as a string", JSON.stringify({ ...PEER, tcp_port: "5000" })],
    ["a fractional port", '{"broadcast_address":"a","tcp_port":1.5,"http_port":2,"version":"v"}'],
    ["a port in exponent form", '{"broadcast_address":"a","tcp_port":1e3,"http_port":2,"version":"v"}'],
    ["a version as a number", JSON.stringify({ ...PEER, version: 1 })],
  ])("IDENTIFY with %s: E_BAD_BODY failed to decode", async (_, body) => {
    const l = await lookupd();
    const w = await connect(l.tcpPort);
    w.send(concat(ascii("IDENTIFY\n"), new Uint8Array([0, 0, 0, body.length]), ascii(body)));
    await expectFatal(w, "E_BAD_BODY IDENTIFY failed to decode JSON body");
    expect(l.lookupd.db.findProducers("client", "", "")).toEqual([]);
  });

  test.each(["broadcast_address", "tcp_port", "http_port", "version"])("IDENTIFY without %s: missing fields", async (field) => {
    const l = await lookupd();
    const w = await connect(l.tcpPort);
    w.send(V1.identify({ ...PEER, [field]: null }));
    await expectFatal(w, "E_BAD_BODY IDENTIFY missing fields");
  });

  test("IDENTIFY body sizes: empty, negative and over the bound are refused before any body is read", async () => {
    const l = await lookupd();
    const cases: [number, string][] = [
      [0, "E_BAD_BODY IDENTIFY failed to decode JSON body"],
      [-1, "E_BAD_BODY IDENTIFY invalid body size -1"],
      [MAX_IDENTIFY_BODY + 1, `E_BAD_BODY IDENTIFY body too big ${MAX_IDENTIFY_BODY + 1} > ${MAX_IDENTIFY_BODY}`],
    ];
    for (const [size, text] of cases) {
      const w = await connect(l.tcpPort);
      const header = new Uint8Array(4);
      new DataView(header.buffer).setInt32(0, size);
      w.send(concat(ascii("IDENTIFY\n"), header));
      await expectFatal(w, text);
    }
  });

  test.each([
    ["REGISTER", V1.register("t", "c")],
    ["UNREGISTER", V1.unregister("t")],
  ])("%s before IDENTIFY is fatal", async (_, cmd) => {
    const l = await lookupd();
    const w = await connect(l.tcpPort);
    w.send(cmd);
    await expectFatal(w, "E_INVALID client must IDENTIFY");
  });

  test.each([
    ["REGISTER\n", "E_INVALID REGISTER insufficient number of params"],
    ["UNREGISTER   \n", "E_INVALID UNREGISTER insufficient number of params"],
    ["REGISTER a!b\n", "E_BAD_TOPIC REGISTER topic name 'a!b' is not valid"],
    ["UNREGISTER t c/d\n", "E_BAD_CHANNEL UNREGISTER channel name 'c/d' is not valid"],
    [`REGISTER ${"x".repeat(65)}\n`, `E_BAD_TOPIC REGISTER topic name '${"x".repeat(65)}' is not valid`],
  ])("%j after IDENTIFY: %s", async (line, text) => {
    const l = await lookupd();
    const w = await connect(l.tcpPort, PEER);
    w.send(line);
    await expectFatal(w, text);
  });

  test.each([
    ["FOO bar\n", "E_INVALID invalid command FOO"],
    ["ping\n", "E_INVALID invalid command ping"],
    ["\n", "E_INVALID invalid command "],
  ])("an invalid command %j is fatal", async (line, text) => {
    const l = await lookupd();
    const w = await connect(l.tcpPort);
    w.send(line);
    await expectFatal(w, text);
    expect(l.logs.join("")).toContain(`ERROR: [127.0.0.1:`);
  });

  test("lines are trimmed (strings.TrimSpace) and split on single spaces", async () => {
    const l = await lookupd();
    const w = await connect(l.tcpPort, PEER);
    w.send(" \t PING \v\r\n");
    expect(await w.response()).toBe("OK");
    // the empty parameter between two spaces is the channel: a topic-only registration
    w.send("REGISTER t  c\n");
    expect(await w.response()).toBe("OK");
    expect(l.lookupd.db.findRegistrations("topic", "t", "")).toEqual([topicKey("t")]);
    expect(l.lookupd.db.findRegistrations("channel", "*", "*")).toEqual([]);
  });

  test("REGISTER topic channel: both keys; REGISTER topic: the topic only; each logged once", async () => {
    const l = await lookupd();
    const w = await connect(l.tcpPort, PEER);
    for (const cmd of [V1.register("t", "c"), V1.register("t", "c"), V1.register("u")]) {
      w.send(cmd);
      expect(await w.response()).toBe("OK");
    }
    const db = l.lookupd.db;
    expect(db.findRegistrations("topic", "*", "")).toEqual([topicKey("t"), topicKey("u")]);
    expect(db.findRegistrations("channel", "*", "*")).toEqual([channelKey("t", "c")]);
    expect(db.findProducers("channel", "t", "c").map((p) => p.peerInfo.tcpPort)).toEqual([5000]);
    const registers = l.logs.filter((x) => x.includes(" REGISTER category:")).map((x) => x.replace(/^.*DB: client\([^)]*\) /, ""));
    expect(registers).toEqual([
      "REGISTER category:client key: subkey:\n",
      "REGISTER category:channel key:t subkey:c\n",
      "REGISTER category:topic key:t subkey:\n",
      "REGISTER category:topic key:u subkey:\n",
    ]);
  });

  test("UNREGISTER leaves the keys of durable topics and channels, without the producer", async () => {
    const l = await lookupd();
    const w = await connect(l.tcpPort, PEER);
    w.send(concat(V1.register("t", "c"), V1.register("t", "d"), V1.unregister("t", "c")));
    for (let i = 0; i < 3; i++) expect(await w.response()).toBe("OK");
    const db = l.lookupd.db;
    expect(db.findRegistrations("channel", "t", "c")).toEqual([channelKey("t", "c")]);
    expect(db.findProducers("channel", "t", "c")).toEqual([]);
    // a topic UNREGISTER also takes the producer off the topic's channels, with a warning
    w.send(V1.unregister("t"));
    expect(await w.response()).toBe("OK");
    expect(db.findProducers("channel", "t", "d")).toEqual([]);
    expect(db.findProducers("topic", "t", "")).toEqual([]);
    expect(db.findRegistrations("topic", "t", "")).toEqual([topicKey("t")]);
    expect(l.logs.join("")).toMatch(/WARNING: client\(127\.0\.0\.1:\d+\) unexpected UNREGISTER category:channel key:t subkey:d\n/);
    expect(l.logs.join("")).toMatch(/INFO: DB: client\(127\.0\.0\.1:\d+\) UNREGISTER category:topic key:t subkey:\n/);
  });

  test("an ephemeral channel or topic is removed with its last producer", async () => {
    const l = await lookupd();
    const a = await connect(l.tcpPort, PEER);
    const b = await connect(l.tcpPort, PEER);
    for (const w of [a, b]) {
      w.send(concat(V1.register("t", "c#ephemeral"), V1.register("e#ephemeral")));
      expect([await w.response(), await w.response()]).toEqual(["OK", "OK"]);
    }
    const db = l.lookupd.db;
    a.send(concat(V1.unregister("t", "c#ephemeral"), V1.unregister("e#ephemeral")));
    expect([await a.response(), await a.response()]).toEqual(["OK", "OK"]);
    expect(db.findRegistrations("channel", "t", "c#ephemeral")).toHaveLength(1);
    expect(db.findRegistrations("topic", "e#ephemeral", "")).toHaveLength(1);
    b.send(concat(V1.unregister("t", "c#ephemeral"), V1.unregister("e#ephemeral")));
    expect([await b.response(), await b.response()]).toEqual(["OK", "OK"]);
    expect(db.findRegistrations("channel", "t", "c#ephemeral")).toEqual([]);
    expect(db.findRegistrations("topic", "e#ephemeral", "")).toEqual([]);
    expect(db.findRegistrations("topic", "t", "")).toHaveLength(1);
  });

  test("a disconnect takes the peer off every registration; the keys stay (ephemeral ones too, as in NSQ)", async () => {
    const l = await lookupd();
    const w = await connect(l.tcpPort, PEER);
    w.send(concat(V1.register("t", "c"), V1.register("t", "c#ephemeral")));
    expect([await w.response(), await w.response()]).toEqual(["OK", "OK"]);
    const db = l.lookupd.db;
    w.close();
    await until(() => db.findProducers("client", "", "").length === 0, "the peer to be unregistered");
    expect(db.findProducers("topic", "*", "*")).toEqual([]);
    expect(db.findProducers("channel", "*", "*")).toEqual([]);
    expect(db.findRegistrations("channel", "t", "*").map((r) => r.subKey)).toEqual(["c", "c#ephemeral"]);
    expect((await l.json("/lookup?topic=t")).producers).toEqual([]);
    const lines = l.logs.join("");
    expect(lines).toMatch(/INFO: PROTOCOL\(V1\): \[(127\.0\.0\.1:\d+)\] exiting ioloop\n/);
    for (const reg of ["client key: subkey:", "channel key:t subkey:c", "channel key:t subkey:c#ephemeral", "topic key:t subkey:"]) {
      expect(lines).toContain(` UNREGISTER category:${reg}\n`);
    }
    expect(lines).toMatch(/ERROR: client\(127\.0\.0\.1:\d+\) - EOF\n/);
  });

  test("a garbage client is closed while another keeps working", async () => {
    const l = await lookupd();
    const good = await connect(l.tcpPort, PEER);
    const bad = await connect(l.tcpPort);
    bad.send(new Uint8Array([0xff, 0x00, 0x13, 0x37, 0x0a, 0xde, 0xad]));
    expect(await bad.response()).toStartWith("E_INVALID invalid command ");
    await bad.closed();
    good.send(V1.register("t"));
    expect(await good.response()).toBe("OK");
    good.send(V1.ping());
    expect(await good.response()).toBe("OK");
    expect(l.lookupd.db.findProducers("topic", "t", "")).toHaveLength(1);
  });

  test("exit closes every connection and ends its registrations", async () => {
    const l = await lookupd();
    const w = await connect(l.tcpPort, PEER);
    w.send(V1.register("t"));
    await w.response();
    await l.stop();
    await w.closed();
    expect(l.lookupd.db.findProducers("topic", "t", "")).toEqual([]);
    expect(l.logs.join("")).toMatch(/INFO: TCP: closing 127\.0\.0\.1:\d+\n[^]*INFO: HTTP: closing 127\.0\.0\.1:\d+\n/);
  });
});

describe("lookupd V1 framing", () => {
  // one conversation, fed whole, byte by byte and split in two at every boundary
  const stream = concat(MAGIC_V1, V1.identify(), V1.register("t", "c"), ascii("  PING \r\n"), V1.unregister("t", "c"), V1.register("u"));

  async function converse(port: number, parts: Uint8Array[]): Promise<string[]> {
    const w = track(await Wire.connect(port, null, { v1: true }));
    for (const p of parts) {
      w.send(p);
      await Bun.sleep(1); // let lookupd read each part on its own
    }
    const out: string[] = [];
    for (let i = 0; i < 5; i++) out.push(await w.response());
    w.close();
    return out;
  }

  test("gives the same responses however the bytes arrive", async () => {
    const l = await lookupd();
    const expected = await converse(l.tcpPort, [stream]);
    expect(expected.slice(1)).toEqual(["OK", "OK", "OK", "OK"]);
    expect(JSON.parse(expected[0]!).tcp_port).toBe(l.tcpPort);
    expect(await converse(l.tcpPort, Array.from(stream, (_, i) => stream.subarray(i, i + 1)))).toEqual(expected);
    for (let i = 1; i < stream.length; i++) {
      expect({ split: i, got: await converse(l.tcpPort, [stream.subarray(0, i), stream.subarray(i)]) }).toEqual({ split: i, got: expected });
    }
    expect(l.lookupd.db.findRegistrations("topic", "*", "").map((r) => r.key)).toEqual(["t", "u"]);
  });
});
