import { afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "../../src/core/protocol/commands.ts";
import { startNsqd, type TestNsqd, tmpDir, Wire } from "../helpers/nsqd.ts";

let daemons: TestNsqd[] = [];
afterEach(async () => {
  for (const d of daemons) await d.stop();
  daemons = [];
});

/** A message record exactly as NSQ 1.3's nsqd writes it: [len][ts int64][attempts u16][16-byte id][body]. */
function nsqRecord(ts: bigint, attempts: number, id: string, body: string): Uint8Array {
  const b = new TextEncoder().encode(body);
  const out = new Uint8Array(4 + 26 + b.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 26 + b.length);
  v.setBigInt64(4, ts);
  v.setUint16(12, attempts);
  out.set(new TextEncoder().encode(id), 14);
  out.set(b, 30);
  return out;
}

const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));

test("a data directory written by NSQ 1.3 is adopted as is: every queued message is delivered", async () => {
  const dir = tmpDir();
  writeFileSync(
    join(dir, "nsqd.dat"),
    '{"topics":[{"name":"legacy","paused":false,"channels":[{"name":"ch","paused":false}]}],"version":"1.3.0"}',
  );
  const ts = 1_700_000_000_000_000_000n;
  const topicSeg = cat(nsqRecord(ts, 0, "0a0b0c0d0e0f0001", "from-topic-1"), nsqRecord(ts, 0, "0a0b0c0d0e0f0002", "from-topic-2"));
  writeFileSync(join(dir, "legacy.diskqueue.000000.dat"), topicSeg);
  writeFileSync(join(dir, "legacy.diskqueue.meta.dat"), `2\n0,0\n0,${topicSeg.length}\n`);
  // a channel queue whose first record was already consumed and whose next segment holds the rest
  const old = nsqRecord(ts, 1, "0a0b0c0d0e0f0003", "already-read");
  const chSeg0 = cat(old, nsqRecord(ts, 2, "0a0b0c0d0e0f0004", "from-channel-1"));
  const chSeg1 = nsqRecord(ts, 0, "0a0b0c0d0e0f0005", "from-channel-2");
  writeFileSync(join(dir, "legacy:ch.diskqueue.000000.dat"), chSeg0);
  writeFileSync(join(dir, "legacy:ch.diskqueue.000001.dat"), chSeg1);
  writeFileSync(join(dir, "legacy:ch.diskqueue.meta.dat"), `2\n0,${old.length}\n1,${chSeg1.length}\n`);

  const d = await startNsqd({ dataPath: dir });
  daemons.push(d);
  const c = await Wire.connect(d.port);
  expect(await c.identify({ output_buffer_timeout: 25 })).toBe("OK");
  expect(await c.sub("legacy", "ch")).toBe("OK");
  c.send(Command.rdy(10));
  const got = [];
  for (let i = 0; i < 4; i++) {
    const m = await c.message();
    got.push({ text: m.text, attempts: m.attempts, id: m.id, ts: m.timestamp });
    c.send(Command.fin(m.id));
  }
  expect(await c.quiet(200)).toBe(true);
  expect(got.map((m) => m.text).sort()).toEqual(["from-channel-1", "from-channel-2", "from-topic-1", "from-topic-2"]);
  expect(got.find((m) => m.text === "from-channel-1")).toEqual({
    text: "from-channel-1",
    attempts: 3,
    id: "0a0b0c0d0e0f0004",
    ts: Number(ts),
  });
});

test("what nsq nsqd leaves on disk is in NSQ's formats, so NSQ's nsqd can take the directory", async () => {
  const d = await startNsqd({ memQueueSize: 0 });
  const p = await Wire.connect(d.port);
  p.send(Command.mpub("handover", ["one", "two"]));
  expect(await p.response()).toBe("OK");
  const c = await Wire.connect(d.port);
  expect(await c.sub("handover", "ch")).toBe("OK");
  p.send(Command.pub("handover", "three"));
  expect(await p.response()).toBe("OK");
  await d.stop({ keepData: true });
  const dir = d.dataPath;

  expect(JSON.parse(readFileSync(join(dir, "nsqd.dat"), "utf8"))).toEqual({
    topics: [{ name: "handover", paused: false, channels: [{ name: "ch", paused: false }] }],
    version: "1.3.0",
  });
  // every queue: "depth\nreadFile,readPos\nwriteFile,writePos\n" and segments of [len][26-byte header][body]
  const bodies: string[] = [];
  for (const meta of readdirSync(dir).filter((f) => f.endsWith(".diskqueue.meta.dat"))) {
    const text = readFileSync(join(dir, meta), "utf8");
    expect(text).toMatch(/^\d+\n\d+,\d+\n\d+,\d+\n$/);
    const [depth, [rf, rp], [wf, wp]] = text
      .trim()
      .split("\n")
      .map((l, i) => (i === 0 ? Number(l) : l.split(",").map(Number))) as [number, number[], number[]];
    const name = meta.replace(".diskqueue.meta.dat", "");
    let n = 0;
    for (let f = rf!; f <= wf!; f++) {
      const seg = readFileSync(join(dir, `${name}.diskqueue.${String(f).padStart(6, "0")}.dat`));
      const v = new DataView(seg.buffer, seg.byteOffset, seg.byteLength);
      let at = f === rf ? rp! : 0;
      const end = f === wf ? wp! : seg.length;
      while (at < end) {
        const len = v.getUint32(at);
        const rec = seg.subarray(at + 4, at + 4 + len);
        expect(new TextDecoder().decode(rec.subarray(10, 26))).toMatch(/^[0-9a-f]{16}$/);
        bodies.push(`${name}:${new TextDecoder().decode(rec.subarray(26))}`);
        at += 4 + len;
        n++;
      }
    }
    expect(n).toBe(depth);
  }
  expect(bodies.sort()).toEqual(["handover:ch:one", "handover:ch:three", "handover:ch:two"]);
  rmSync(dir, { recursive: true, force: true });
});
