import { describe, expect, test } from "bun:test";
import { constants, deflateRawSync } from "node:zlib";
import { deflateCodec } from "../../src/core/codec/deflate.ts";
import { snappyCodec } from "../../src/core/codec/snappy.ts";
import { ascii } from "../../src/core/protocol/bytes.ts";
import { Command } from "../../src/core/protocol/commands.ts";
import { decodeMessage } from "../../src/core/protocol/message.ts";
import { concat } from "../helpers/chunks.ts";
import { until } from "../helpers/client.ts";
import { testScope, type TestNsqd } from "../helpers/nsqd.ts";
import { RawClient } from "../helpers/raw-client.ts";

const { defer, nsqd } = testScope();

async function raw(d: TestNsqd): Promise<RawClient> {
  const c = await RawClient.connect(d.port);
  defer(() => c.isClosed || c.close());
  return c;
}

const codecs = { snappy: () => snappyCodec(), deflate: () => deflateCodec(6) };

describe("snappy and deflate", () => {
  for (const [name, codec] of Object.entries(codecs)) {
    test(`${name}: JSON answer in plain text, then a compressed OK, then everything compressed both ways`, async () => {
      const d = await nsqd();
      const c = await raw(d);
      const resp = await c.identify({ [name]: true });
      expect(resp).toMatchObject({ snappy: name === "snappy", deflate: name === "deflate", deflate_level: 6 });
      c.setCodec(codec());
      expect(await c.response()).toBe("OK");
      // a burst of commands in one write, as a compressed stream carries them
      const body = "x".repeat(5000);
      c.send(concat(Command.pub("z", body), Command.sub("z", "ch"), Command.rdy(1)));
      expect(await c.response()).toBe("OK");
      expect(await c.response()).toBe("OK");
      const m = await c.next();
      expect(new TextDecoder().decode(decodeMessage(m!.data).body)).toBe(body);
      const s = (await (await d.http("/stats?format=json")).json()) as { topics: { channels: { clients: Record<string, unknown>[] }[] }[] };
      expect(s.topics[0]!.channels[0]!.clients[0]).toMatchObject({ snappy: name === "snappy", deflate: name === "deflate", tls: false });
    });
  }

  test("deflate_level is capped by --max-deflate-level; --deflate=false and --snappy=false decline", async () => {
    const d = await nsqd({ maxDeflateLevel: 3, snappy: false });
    const c = await raw(d);
    expect(await c.identify({ deflate: true, deflate_level: 9 })).toMatchObject({ deflate: true, deflate_level: 3, max_deflate_level: 3 });
    const off = await nsqd({ deflate: false });
    const p = await raw(off);
    expect(await p.identify({ deflate: true })).toMatchObject({ deflate: false });
    p.send(Command.pub("t", "plain"));
    expect(await p.response()).toBe("OK");
    const q = await raw(d);
    expect(await q.identify({ snappy: true })).toMatchObject({ snappy: false });
  });

  test("both at once: E_IDENTIFY_FAILED", async () => {
    const d = await nsqd();
    const c = await raw(d);
    c.send(Command.identify({ feature_negotiation: true, snappy: true, deflate: true }));
    expect(await c.error()).toBe("E_IDENTIFY_FAILED cannot enable both deflate and snappy compression");
    await c.closed();
  });
});

describe("bad compressed input closes that connection, logged, and no other", () => {
  async function setup(name: keyof typeof codecs) {
    const d = await nsqd();
    const other = await raw(d);
    other.send(Command.identify({ client_id: "bystander" }));
    expect(await other.response()).toBe("OK");
    const c = await raw(d);
    await c.identify({ [name]: true });
    c.setCodec(codecs[name]());
    expect(await c.response()).toBe("OK");
    const survives = async () => {
      other.send(Command.pub("t", "still here"));
      expect(await other.response()).toBe("OK");
      expect(d.nsqd.clients.size).toBe(1);
    };
    return { d, c, survives };
  }

  test("a snappy chunk whose CRC does not match", async () => {
    const { d, c, survives } = await setup("snappy");
    const chunk = snappyCodec().encoder.encode(Command.pub("t", "corrupted")).subarray(10);
    chunk[4]! ^= 0xff;
    c.socket.write(chunk);
    await c.closed();
    await until(() => d.logs.some((l) => l.includes("failed to read command - snappy: corrupt input")), "the log line");
    await survives();
  });

  test("a deflate stream that does not inflate", async () => {
    const { d, c, survives } = await setup("deflate");
    c.socket.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff));
    await c.closed();
    await until(() => d.logs.some((l) => l.includes("failed to read command - flate: corrupt input")), "the log line");
    await survives();
  });

  test("a compression bomb is bounded by the protocol's limits, not inflated whole", async () => {
    const { d, c, survives } = await setup("deflate");
    // 32 MiB of a line that never ends, in ~32 KiB on the wire
    c.socket.write(deflateRawSync(new Uint8Array(32 * 1024 * 1024).fill(0x41), { finishFlush: constants.Z_SYNC_FLUSH }));
    expect(await c.error()).toBe("E_INVALID command line too long (over 16384 bytes)");
    await c.closed();
    expect(d.logs.some((l) => l.includes("command line too long"))).toBe(true);
    await survives();
  });

  test("a message larger than --max-msg-size inside a snappy stream", async () => {
    const { c, survives } = await setup("snappy");
    c.send(concat(ascii("PUB t\n"), Uint8Array.of(0, 0x20, 0, 0)));
    expect(await c.error()).toBe("E_BAD_MESSAGE PUB message too big 2097152 > 1048576");
    await c.closed();
    await survives();
  });
});
