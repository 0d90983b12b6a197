import { describe, expect, test } from "bun:test";
import { Command } from "../../src/core/protocol/commands.ts";
import { FrameDecoder, FrameType, MAGIC_V2 } from "../../src/core/protocol/frame.ts";
import { until } from "../helpers/client.ts";
import { testScope, type TestNsqd } from "../helpers/nsqd.ts";

const { defer, nsqd } = testScope();

/** Counts nsqd's socket writes to its one client (a spy on the real socket; the bytes still go out). */
function countWrites(d: TestNsqd): { readonly n: number } {
  const [client] = d.nsqd.clients.values();
  const socket = client!.socket as unknown as { write: (...a: unknown[]) => number };
  const write = socket.write.bind(socket);
  const counter = { n: 0 };
  socket.write = (...a: unknown[]) => {
    counter.n++;
    return write(...a);
  };
  return counter;
}

describe("delivery is batched per read, not per message", () => {
  test("a burst of 100 FINs to a full client gets its 100 next messages in a few socket writes, not 100", async () => {
    const d = await nsqd();
    d.nsqd.getTopic("t").getChannel("c");
    const bodies = Array.from({ length: 300 }, (_, i) => `m${i}`);
    expect((await d.http("/mpub?topic=t", { method: "POST", body: bodies.join("\n") })).status).toBe(200);

    const ids: string[] = [];
    const decoder = new FrameDecoder((type, data) => {
      if (type === FrameType.Message) ids.push(new TextDecoder().decode(data.subarray(10, 26)));
    });
    const s = await Bun.connect({ hostname: "127.0.0.1", port: d.port, socket: { data: (_s, chunk) => void decoder.push(chunk) } });
    defer(() => s.end());
    s.write(Buffer.concat([MAGIC_V2, Command.sub("t", "c"), Command.rdy(100)]));
    await until(() => ids.length === 100, "the first RDY window");

    const writes = countWrites(d);
    s.write(Buffer.concat(ids.slice(0, 100).map((id) => Command.fin(id))));
    await until(() => ids.length === 200, "the next 100 messages");
    // the FINs may arrive in a few reads; each read's deliveries leave in one write
    expect(writes.n).toBeLessThan(10);
  });

  /** A subscriber with RDY 1000 (it stays ready), then an MPUB of 20: the socket writes that carried them. */
  async function writesForTwenty(d: TestNsqd, identify: Uint8Array[] = []): Promise<number> {
    d.nsqd.getTopic("t").getChannel("c");
    let got = 0;
    const decoder = new FrameDecoder((type) => {
      if (type === FrameType.Message) got++;
    });
    const s = await Bun.connect({ hostname: "127.0.0.1", port: d.port, socket: { data: (_s, chunk) => void decoder.push(chunk) } });
    defer(() => s.end());
    s.write(Buffer.concat([MAGIC_V2, ...identify, Command.sub("t", "c"), Command.rdy(1000)]));
    await until(() => d.nsqd.topics.get("t")!.channels.get("c")!.clients.size === 1, "subscribed");
    const writes = countWrites(d);
    expect((await d.http("/mpub?topic=t", { method: "POST", body: Array.from({ length: 20 }, (_, i) => `m${i}`).join("\n") })).status).toBe(200);
    await until(() => got === 20, "20 messages");
    return writes.n;
  }

  test("messages for a client that stays ready wait for the output buffer timeout, not a timer each", async () => {
    expect(await writesForTwenty(await nsqd({ outputBufferTimeout: 50 }))).toBe(1);
  });

  test("unbuffered (output_buffer_size -1): the messages of one publish go out at once, in one write, not one each", async () => {
    expect(await writesForTwenty(await nsqd(), [Command.identify({ output_buffer_size: -1 })])).toBe(1);
  });
});
