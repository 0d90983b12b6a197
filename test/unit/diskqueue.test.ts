import { afterEach, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DiskQueue, formatMetaData, metaDataFileName, parseMetaData, segmentFileName, writeRecord, type DiskQueueFs,
  type DiskQueueOptions,
} from "../../src/core/diskqueue/index.ts";
import { until } from "../helpers/client.ts";

const dirs: string[] = [];
const queues: DiskQueue[] = [];

afterEach(() => {
  for (const q of queues.splice(0)) q.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(join(tmpdir(), "nsq-dq-test-"));
  dirs.push(d);
  return d;
}

type Opts = Partial<DiskQueueOptions> & { dataPath: string };

/** A queue with small limits and a log that the test can inspect. */
function open(o: Opts): DiskQueue & { logs: string[] } {
  const logs: string[] = [];
  const q = new DiskQueue({
    name: "t", maxBytesPerFile: 1024, minMsgSize: 1, maxMsgSize: 1 << 16, syncEvery: 2500, syncTimeout: 2000,
    log: (level, msg) => logs.push(`${level} ${msg}`), ...o,
  });
  queues.push(q);
  return Object.assign(q, { logs });
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string) => enc.encode(s);
const s = (x: Uint8Array | null) => (x === null ? null : dec.decode(x));
/** A payload of exactly `n` bytes that names itself. */
const str = (tag: string | number, n: number) => String(tag).padEnd(n, ".");
const sized = (tag: string | number, n: number) => b(str(tag, n));

function records(...payloads: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(payloads.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of payloads) at = writeRecord(out, at, p);
  return out;
}

function drain(q: DiskQueue): string[] {
  const out: string[] = [];
  for (let r = q.readNext(); r !== null; r = q.readNext()) out.push(s(r)!);
  return out;
}

const files = (dir: string) => fs.readdirSync(dir).filter((f) => !f.endsWith(".tmp")).sort();
const seg = (dir: string, n: number, name = "t") => segmentFileName(dir, name, n);
const meta = (dir: string, name = "t") => fs.readFileSync(metaDataFileName(dir, name), "utf8");
const tick = () => new Promise<void>((r) => setTimeout(r, 0));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const metaOrNull = (dir: string) => (fs.existsSync(metaDataFileName(dir, "t")) ? meta(dir) : null);
/** Policy syncs land in the background: wait for the metadata text. */
async function metaBecomes(dir: string, text: string): Promise<void> {
  await until(() => metaOrNull(dir) === text, "the metadata").catch(() => {});
  expect(metaOrNull(dir)).toBe(text);
}

describe("format", () => {
  test("record framing is a 4-byte big-endian length then the payload", () => {
    const buf = new Uint8Array(16);
    expect(writeRecord(buf, 2, b("hello"))).toBe(11);
    expect([...buf.subarray(0, 11)]).toEqual([0, 0, 0, 0, 0, 5, 104, 101, 108, 108, 111]);
    const big = new Uint8Array(4 + 0x010203);
    writeRecord(big, 0, new Uint8Array(0x010203));
    expect([...big.subarray(0, 4)]).toEqual([0, 0x01, 0x02, 0x03]);
  });

  test("file names", () => {
    expect(segmentFileName("/data", "t", 0)).toBe("/data/t.diskqueue.000000.dat");
    expect(segmentFileName("/data", "t:c", 42)).toBe("/data/t:c.diskqueue.000042.dat");
    expect(segmentFileName("/data/", "t", 1234567)).toBe("/data/t.diskqueue.1234567.dat");
    expect(metaDataFileName("/data", "t:c#ephemeral")).toBe("/data/t:c#ephemeral.diskqueue.meta.dat");
  });

  test("metadata text", () => {
    const m = { depth: 7, readFileNum: 1, readPos: 460, writeFileNum: 3, writePos: 92 };
    expect(formatMetaData(m)).toBe("7\n1,460\n3,92\n");
    expect(parseMetaData("7\n1,460\n3,92\n")).toEqual(m);
    expect(parseMetaData("-2\n0,0\n0,0\n")?.depth).toBe(-2);
    expect(parseMetaData("7\n1,460\n3,92")).toEqual(m);
    for (const bad of ["", "7\n1;460\n3,92\n", "x\n0,0\n0,0\n", "1\n-1,0\n0,0\n", "1\n0,0\n"]) {
      expect(parseMetaData(bad)).toBeNull();
    }
  });

  test("what the queue writes is byte-identical to go-diskqueue", async () => {
    const dir = tmp();
    const q = open({ dataPath: dir, name: "t:c" });
    q.put(b("hello"));
    q.put(b("nsq"));
    expect(q.readNext()).toEqual(b("hello"));
    q.close();
    expect(files(dir)).toEqual(["t:c.diskqueue.000000.dat", "t:c.diskqueue.meta.dat"]);
    expect(fs.readFileSync(seg(dir, 0, "t:c"))).toEqual(Buffer.from([0, 0, 0, 5, ...b("hello"), 0, 0, 0, 3, ...b("nsq")]));
    expect(meta(dir, "t:c")).toBe("1\n0,9\n0,16\n");
  });

  test("adopts a data directory written by NSQ", () => {
    const dir = tmp();
    fs.writeFileSync(seg(dir, 3), records(b("old-1"), b("old-2"), b("old-3")));
    fs.writeFileSync(seg(dir, 4), records(b("new-1")));
    fs.writeFileSync(metaDataFileName(dir, "t"), "3\n3,9\n4,9\n"); // first record of file 3 already read
    const q = open({ dataPath: dir });
    expect(q.depth()).toBe(3);
    expect(drain(q)).toEqual(["old-2", "old-3", "new-1"]);
    expect(q.depth()).toBe(0);
    expect(files(dir)).toEqual(["t.diskqueue.000004.dat", "t.diskqueue.meta.dat"]);
  });
});

describe("put and readNext", () => {
  test("round trip in order, depth follows", async () => {
    const q = open({ dataPath: tmp(), maxBytesPerFile: 1 << 20 });
    const want = Array.from({ length: 500 }, (_, i) => `m${i}-${"x".repeat(i % 37)}`);
    want.forEach((m, i) => {
      q.put(b(m));
      expect(q.depth()).toBe(i + 1);
    });
    await tick();
    expect(q.readNext()).toEqual(b(want[0]!));
    expect(q.depth()).toBe(499);
    expect(drain(q)).toEqual(want.slice(1));
    expect(q.depth()).toBe(0);
    expect(q.readNext()).toBeNull();
  });

  test("readNextWith hands each record over in place, from files and from the write buffer alike", async () => {
    const q = open({ dataPath: tmp(), maxBytesPerFile: 256 });
    const want = Array.from({ length: 60 }, (_, i) => str(i, 10 + (i % 20)));
    for (const m of want.slice(0, 40)) q.put(b(m));
    await tick(); // the first 40 are in segment files, the rest stay in the write buffer
    for (const m of want.slice(40)) q.put(b(m));
    const got: string[] = [];
    const spans: number[] = [];
    for (;;) {
      const r = q.readNextWith((buf, start, end) => {
        spans.push(end - start);
        return dec.decode(buf.subarray(start, end));
      });
      if (r === null) break;
      got.push(r);
    }
    expect(got).toEqual(want);
    expect(spans).toEqual(want.map((m) => m.length));
    expect(q.depth()).toBe(0);
  });

  test("records still in the write buffer are readable before any flush", () => {
    const dir = tmp();
    const q = open({ dataPath: dir });
    q.put(b("a"));
    q.put(b("bb"));
    expect(fs.existsSync(seg(dir, 0))).toBe(false); // no syscall yet: flushed at the end of the tick
    expect(drain(q)).toEqual(["a", "bb"]);
    q.put(b("ccc"));
    expect(drain(q)).toEqual(["ccc"]);
  });

  test("one write per burst: the microtask flush, then reads come back through the file", async () => {
    const dir = tmp();
    let writes = 0;
    const counting: DiskQueueFs = { ...fs, writeSync: ((...a: Parameters<typeof fs.writeSync>) => (writes++, fs.writeSync(...a))) as typeof fs.writeSync };
    const q = open({ dataPath: dir, fs: counting });
    for (let i = 0; i < 50; i++) q.put(sized(i, 10));
    expect(writes).toBe(0);
    await tick();
    expect(writes).toBe(1);
    expect(fs.statSync(seg(dir, 0)).size).toBe(50 * 14);
    expect(drain(q)).toEqual(Array.from({ length: 50 }, (_, i) => str(i, 10)));
  });

  test("returned records are copies the caller owns", () => {
    const q = open({ dataPath: tmp() });
    q.put(b("first"));
    q.put(b("second"));
    const first = q.readNext()!;
    q.put(b("third"));
    first.fill(0);
    expect(drain(q)).toEqual(["second", "third"]);
  });

  test("size limits and closed queue", () => {
    const q = open({ dataPath: tmp(), minMsgSize: 3, maxMsgSize: 5 });
    expect(() => q.put(b("ab"))).toThrow("invalid message write size (2)");
    expect(() => q.put(b("abcdef"))).toThrow("invalid message write size (6)");
    q.put(b("abc"));
    q.put(b("abcde"));
    expect(q.depth()).toBe(2);
    q.close();
    expect(() => q.put(b("abc"))).toThrow("exiting");
    expect(q.readNext()).toBeNull();
  });

  test("a record larger than the buffer", () => {
    const dir = tmp();
    const q = open({ dataPath: dir, bufferSize: 64, maxMsgSize: 1000, maxBytesPerFile: 1 << 20 });
    q.put(sized("small", 20));
    q.put(sized("big", 500));
    q.put(sized("small2", 30));
    expect(drain(q)).toEqual([str("small", 20), str("big", 500), str("small2", 30)]);
    q.close();
    expect(fs.statSync(seg(dir, 0)).size).toBe(24 + 504 + 34);
  });
});

describe("segment files", () => {
  test("rolls before a record that would pass maxBytesPerFile", async () => {
    const dir = tmp();
    const q = open({ dataPath: dir, maxBytesPerFile: 3 * 14 });
    for (let i = 0; i < 7; i++) q.put(sized(i, 10));
    await tick();
    expect(files(dir)).toEqual(["t.diskqueue.000000.dat", "t.diskqueue.000001.dat", "t.diskqueue.000002.dat", "t.diskqueue.meta.dat"]);
    expect(fs.statSync(seg(dir, 0)).size).toBe(42);
    expect(fs.statSync(seg(dir, 1)).size).toBe(42);
    expect(fs.statSync(seg(dir, 2)).size).toBe(14);
    expect(meta(dir)).toBe("6\n0,0\n2,0\n"); // persisted at the last roll
  });

  test("a record larger than maxBytesPerFile gets a file of its own", async () => {
    const dir = tmp();
    const q = open({ dataPath: dir, maxBytesPerFile: 100 });
    q.put(sized("a", 10));
    q.put(sized("huge", 300));
    q.put(sized("b", 10));
    q.close();
    expect([0, 1, 2].map((n) => fs.statSync(seg(dir, n)).size)).toEqual([14, 304, 14]);
    const r = open({ dataPath: dir, maxBytesPerFile: 100 });
    expect(drain(r)).toEqual([str("a", 10), str("huge", 300), str("b", 10)]);
  });

  test("a consumed segment is deleted as the reader moves past it", async () => {
    const dir = tmp();
    const q = open({ dataPath: dir, maxBytesPerFile: 2 * 14 });
    for (let i = 0; i < 5; i++) q.put(sized(i, 10));
    await tick();
    expect(files(dir).filter((f) => f.endsWith(".dat") && !f.includes("meta"))).toHaveLength(3);
    q.readNext();
    expect(fs.existsSync(seg(dir, 0))).toBe(true);
    q.readNext();
    expect(fs.existsSync(seg(dir, 0))).toBe(false);
    await metaBecomes(dir, "3\n1,0\n2,14\n"); // moving to a new file syncs
    drain(q);
    expect(files(dir)).toEqual(["t.diskqueue.000002.dat", "t.diskqueue.meta.dat"]);
  });

  test("completed files are read to their real size when maxBytesPerFile changed, and v1.0.0 oversized files", () => {
    const dir = tmp();
    const q = open({ dataPath: dir, maxBytesPerFile: 10 * 14 });
    for (let i = 0; i < 25; i++) q.put(sized(i, 10));
    q.close();
    const smaller = open({ dataPath: dir, maxBytesPerFile: 3 * 14 });
    expect(drain(smaller)).toEqual(Array.from({ length: 25 }, (_, i) => str(i, 10)));
    smaller.close();

    const old = tmp(); // go-diskqueue v1.0.0 rolled after passing the limit
    fs.writeFileSync(seg(old, 0), records(sized("a", 60), sized("b", 60)));
    fs.writeFileSync(seg(old, 1), records(sized("c", 10)));
    fs.writeFileSync(metaDataFileName(old, "t"), "3\n0,0\n1,14\n");
    expect(drain(open({ dataPath: old, maxBytesPerFile: 100 }))).toEqual([str("a", 60), str("b", 60), str("c", 10)]);
  });
});

describe("go-diskqueue #38 / #42: a reader caught up at a roll boundary", () => {
  const noBad = (dir: string) => expect(files(dir).filter((f) => f.endsWith(".bad"))).toEqual([]);

  for (const flushed of [false, true]) {
    test(`alternate put and read while files fill exactly (#38)${flushed ? ", flushed between" : ""}`, async () => {
      const dir = tmp();
      const q = open({ dataPath: dir, maxBytesPerFile: 2 * 14 });
      for (let i = 0; i < 9; i++) {
        q.put(sized(i, 10));
        if (flushed) await tick();
        expect(s(q.readNext())).toBe(str(i, 10));
        expect(q.depth()).toBe(0);
      }
      await tick();
      noBad(dir);
      expect(q.logs.filter((l) => l.startsWith("error") || l.startsWith("warn"))).toEqual([]);
      expect(files(dir)).toEqual(["t.diskqueue.000004.dat", "t.diskqueue.meta.dat"]);
    });
  }

  test("read right after a write roll (#42 / go-diskqueue TestWriteRollReadEOF)", async () => {
    const dir = tmp();
    const q = open({ dataPath: dir, maxBytesPerFile: 100 });
    q.put(sized("m1", 60));
    await tick();
    expect(s(q.readNext())).toBe(str("m1", 60)); // reader at 64, still in the write file
    q.put(sized("m2", 60)); // 64 + 64 > 100: rolls
    await tick();
    expect(s(q.readNext())).toBe(str("m2", 60));
    q.put(sized("m3", 10));
    expect(s(q.readNext())).toBe(str("m3", 10));
    noBad(dir);
    expect(q.logs.filter((l) => l.startsWith("error"))).toEqual([]);
  });

  test("metadata saved by go-diskqueue at the exact end of a completed file", () => {
    const dir = tmp();
    fs.writeFileSync(seg(dir, 0), records(sized("a", 10), sized("b", 10)));
    fs.writeFileSync(seg(dir, 1), records(sized("c", 10)));
    fs.writeFileSync(metaDataFileName(dir, "t"), "1\n0,28\n1,14\n");
    const q = open({ dataPath: dir, maxBytesPerFile: 1000 });
    expect(drain(q)).toEqual([str("c", 10)]);
    noBad(dir);
    expect(fs.existsSync(seg(dir, 0))).toBe(false);
    expect(q.logs.filter((l) => l.startsWith("error"))).toEqual([]);
  });

  test("closed while caught up at a boundary, reopened, then written", () => {
    const dir = tmp();
    const q = open({ dataPath: dir, maxBytesPerFile: 28 });
    q.put(sized("a", 10));
    q.put(sized("b", 10));
    drain(q);
    q.close();
    const r = open({ dataPath: dir, maxBytesPerFile: 28 });
    r.put(sized("c", 10)); // rolls with the reader exactly at the end
    expect(drain(r)).toEqual([str("c", 10)]);
    noBad(dir);
  });
});

describe("close, reopen, sync", () => {
  test("depth and position survive close/reopen, nothing doubled", async () => {
    const dir = tmp();
    let q = open({ dataPath: dir, maxBytesPerFile: 5 * 14 });
    for (let i = 0; i < 12; i++) q.put(sized(i, 10));
    expect(drain(q).length).toBe(12);
    for (let i = 12; i < 22; i++) q.put(sized(i, 10));
    expect(s(q.readNext())).toBe(str(12, 10));
    expect(s(q.readNext())).toBe(str(13, 10));
    q.close();
    q.close();
    q = open({ dataPath: dir, maxBytesPerFile: 5 * 14 });
    expect(q.depth()).toBe(8);
    q.close();
    q = open({ dataPath: dir, maxBytesPerFile: 5 * 14 });
    expect(q.depth()).toBe(8);
    expect(drain(q)).toEqual(Array.from({ length: 8 }, (_, i) => str(i + 14, 10)));
    q.close();
    q = open({ dataPath: dir, maxBytesPerFile: 5 * 14 });
    expect(q.depth()).toBe(0);
    expect(q.readNext()).toBeNull();
    expect(q.logs.filter((l) => l.startsWith("error") || l.startsWith("warn"))).toEqual([]);
  });

  test("syncEvery counts reads and writes", async () => {
    const dir = tmp();
    const q = open({ dataPath: dir, syncEvery: 5 });
    for (let i = 0; i < 4; i++) q.put(sized(i, 10));
    await sleep(20); // a window in which no sync may happen
    expect(metaOrNull(dir)).toBeNull();
    q.put(sized(4, 10));
    expect(fs.statSync(seg(dir, 0)).size).toBe(70); // flushed before the metadata snapshot
    await metaBecomes(dir, "5\n0,0\n0,70\n");
    q.readNext();
    q.readNext();
    q.put(sized(5, 10));
    q.put(sized(6, 10));
    await sleep(20); // a window in which no sync may happen
    expect(meta(dir)).toBe("5\n0,0\n0,70\n");
    q.readNext();
    await metaBecomes(dir, "4\n0,42\n0,98\n");
  });

  test("an explicit sync() is done when it returns", () => {
    const dir = tmp();
    const q = open({ dataPath: dir });
    q.put(sized(0, 10));
    q.sync();
    expect(meta(dir)).toBe("1\n0,0\n0,14\n");
    expect(fs.statSync(seg(dir, 0)).size).toBe(14);
  });

  test("a background sync overtaken by close, empty or delete never lands", async () => {
    for (const end of ["close", "empty", "delete"] as const) {
      const dir = tmp();
      const q = open({ dataPath: dir, syncEvery: 1 });
      q.put(sized(0, 10)); // starts a background sync of "1 / 0,0 / 0,14"
      q.readNext(); // and requests another
      if (end === "close") q.close();
      else if (end === "empty") q.empty();
      else q.delete();
      await sleep(50); // a window in which the overtaken sync must not land
      expect(metaOrNull(dir)).toBe(end === "close" ? "0\n0,14\n0,14\n" : null);
      expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    }
  });

  test("a roll while a background fsync holds the old file's fd", async () => {
    const dir = tmp();
    const q = open({ dataPath: dir, syncEvery: 1, maxBytesPerFile: 14 });
    q.put(sized(0, 10)); // background fsync of file 0
    q.put(sized(1, 10)); // rolls: file 0's fd is closed only after that fsync
    q.put(sized(2, 10));
    expect(drain(q)).toEqual([0, 1, 2].map((i) => str(i, 10)));
    await metaBecomes(dir, "0\n2,14\n2,14\n"); // the background syncs are done
    expect(q.health).toBeNull();
    q.close();
    expect(meta(dir)).toBe("0\n2,14\n2,14\n");
  });

  test("syncTimeout syncs after activity, and only then", async () => {
    const dir = tmp();
    const q = open({ dataPath: dir, syncTimeout: 30 });
    q.put(sized(1, 10));
    await tick();
    expect(fs.existsSync(metaDataFileName(dir, "t"))).toBe(false);
    await metaBecomes(dir, "1\n0,0\n0,14\n");
    fs.unlinkSync(metaDataFileName(dir, "t"));
    await sleep(100); // a window of three sync timeouts in which an idle queue must not rewrite
    expect(metaOrNull(dir)).toBeNull();
    q.readNext();
    await metaBecomes(dir, "0\n0,14\n0,14\n");
  });

  test("the sync timer does not keep the process alive", async () => {
    const dir = tmp();
    const script = `
      import { DiskQueue } from ${JSON.stringify(join(import.meta.dir, "../../src/core/diskqueue/index.ts"))};
      const q = new DiskQueue({ name: "t", dataPath: ${JSON.stringify(dir)}, maxBytesPerFile: 1024, minMsgSize: 1,
        maxMsgSize: 100, syncEvery: 2500, syncTimeout: 60000 });
      q.put(new Uint8Array(10));
    `;
    const proc = Bun.spawn([process.execPath, "-e", script], { stderr: "pipe" });
    const code = await Promise.race([proc.exited, sleep(5000).then(() => "hung")]);
    if (code === "hung") proc.kill();
    expect(code).toBe(0);
  });

  test("a crash with unsynced metadata: the longer write file is salvaged, writing goes on in the next file", async () => {
    const dir = tmp();
    const q = open({ dataPath: dir, syncEvery: 3 });
    for (let i = 0; i < 3; i++) q.put(sized(i, 10)); // synced: depth 3, writePos 42
    await metaBecomes(dir, "3\n0,0\n0,42\n");
    for (let i = 3; i < 5; i++) q.put(sized(i, 10));
    await tick(); // written, not synced
    const crashed = tmp();
    fs.cpSync(dir, crashed, { recursive: true });
    expect(meta(crashed)).toBe("3\n0,0\n0,42\n");

    const r = open({ dataPath: crashed });
    expect(r.logs.some((l) => l.includes("metadata writePos 42 != file size of 70, skipping to new file"))).toBe(true);
    expect(r.depth()).toBe(5); // the salvaged tail counts, so a reader gated on depth() > 0 reaches it
    r.put(b("after"));
    expect(drain(r)).toEqual([...Array.from({ length: 5 }, (_, i) => str(i, 10)), "after"]);
    expect(r.depth()).toBe(0);
    expect(r.logs.filter((l) => l.includes("depth at tail"))).toEqual([]);
    r.close();
    expect(files(crashed)).toEqual(["t.diskqueue.000001.dat", "t.diskqueue.meta.dat"]);
  });

  test("segments without metadata (a crash before the first sync) are recovered, not overwritten", () => {
    const dir = tmp();
    fs.writeFileSync(seg(dir, 7), records(b("x1"), b("x2")));
    const torn = records(b("x3"), b("x4"));
    fs.writeFileSync(seg(dir, 8), torn.subarray(0, torn.length - 1)); // x4 torn by the crash
    const q = open({ dataPath: dir });
    expect(q.depth()).toBe(3);
    q.put(b("y1")); // in a new file 9, not after the torn record
    expect(drain(q)).toEqual(["x1", "x2", "x3", "y1"]);
    expect(q.depth()).toBe(0);
    expect(files(dir)).toEqual(["t.diskqueue.000008.dat.bad", "t.diskqueue.000009.dat", "t.diskqueue.meta.dat"]);
  });
});

describe("corruption", () => {
  const bad = (dir: string) => files(dir).filter((f) => f.endsWith(".bad"));

  function threeFiles(dir: string): void {
    const q = new DiskQueue({ name: "t", dataPath: dir, maxBytesPerFile: 3 * 14, minMsgSize: 1, maxMsgSize: 100, syncEvery: 2500, syncTimeout: 2000 });
    for (let i = 0; i < 8; i++) q.put(sized(i, 10)); // files 0 and 1 full, 2 holds 6 and 7
    q.close();
  }

  test("an invalid record length renames the file to .bad and reading goes on in the next file", () => {
    const dir = tmp();
    threeFiles(dir);
    const fd = fs.openSync(seg(dir, 1), "r+");
    fs.writeSync(fd, new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0, 4, 14); // record 4's length
    fs.closeSync(fd);
    const q = open({ dataPath: dir, maxBytesPerFile: 3 * 14, maxMsgSize: 100 });
    expect(drain(q)).toEqual([0, 1, 2, 3, 6, 7].map((i) => str(i, 10)));
    expect(bad(dir)).toEqual(["t.diskqueue.000001.dat.bad"]);
    expect(q.logs.some((l) => l.includes("reading at 14 of") && l.includes("invalid message read size (-1)"))).toBe(true);
    expect(q.logs.some((l) => l.includes("positive depth at tail (2), data loss, resetting 0"))).toBe(true);
    expect(q.depth()).toBe(0);
    q.put(b("z"));
    expect(drain(q)).toEqual(["z"]);
  });

  test("a truncated record (EOF mid-record) in a completed file", () => {
    const dir = tmp();
    threeFiles(dir);
    fs.truncateSync(seg(dir, 0), 14 + 7);
    const q = open({ dataPath: dir, maxBytesPerFile: 3 * 14, maxMsgSize: 100 });
    expect(drain(q)).toEqual([0, 3, 4, 5, 6, 7].map((i) => str(i, 10)));
    expect(bad(dir)).toEqual(["t.diskqueue.000000.dat.bad"]);
  });

  test("corruption in the write file rolls the writer; records still buffered survive in the new file", async () => {
    const dir = tmp();
    const q = open({ dataPath: dir, maxBytesPerFile: 1000 });
    for (let i = 0; i < 3; i++) q.put(sized(i, 10));
    await tick();
    const fd = fs.openSync(seg(dir, 0), "r+");
    fs.writeSync(fd, new Uint8Array([0, 0, 0, 0]), 0, 4, 14); // zero length < minMsgSize
    fs.closeSync(fd);
    q.put(sized(3, 10));
    q.put(sized(4, 10)); // buffered, not yet written
    expect(drain(q)).toEqual([0, 3, 4].map((i) => str(i, 10)));
    expect(bad(dir)).toEqual(["t.diskqueue.000000.dat.bad"]);
    q.put(sized(5, 10));
    q.close();
    expect(fs.readFileSync(seg(dir, 1))).toEqual(Buffer.from(records(sized(3, 10), sized(4, 10), sized(5, 10))));
    expect(meta(dir)).toBe("1\n1,28\n1,42\n");
  });

  test("missing segments are skipped in one step", () => {
    const dir = tmp();
    fs.writeFileSync(seg(dir, 900), records(b("late")));
    fs.writeFileSync(metaDataFileName(dir, "t"), "1\n0,0\n900,9\n");
    const q = open({ dataPath: dir });
    expect(drain(q)).toEqual(["late"]);
    expect(q.logs.filter((l) => l.startsWith("error"))).toHaveLength(1);
  });

  test("a depth driven below zero (go-diskqueue's own salvage) is recounted when data is unread", () => {
    const dir = tmp();
    fs.writeFileSync(seg(dir, 0), records(b("a1"), b("a2"), b("a3")));
    fs.writeFileSync(seg(dir, 1), records(b("b1")));
    fs.writeFileSync(metaDataFileName(dir, "t"), "-2\n0,6\n1,6\n");
    const q = open({ dataPath: dir });
    expect(q.depth()).toBe(3);
    expect(q.logs.some((l) => l.includes("depth -2 with data unread, recounted 3"))).toBe(true);
    expect(drain(q)).toEqual(["a2", "a3", "b1"]);
    expect(q.logs.filter((l) => l.includes("depth at tail"))).toEqual([]);
  });

  test("metadata with the reader past the writer skips both to a fresh file", () => {
    const dir = tmp();
    fs.writeFileSync(seg(dir, 2), records(b("x")));
    fs.writeFileSync(metaDataFileName(dir, "t"), "4\n2,50\n2,5\n");
    const q = open({ dataPath: dir });
    expect(q.logs.some((l) => l.includes("readPos > writePos (50 > 5)"))).toBe(true);
    expect(q.depth()).toBe(0);
    expect(q.readNext()).toBeNull();
    q.put(b("y"));
    expect(drain(q)).toEqual(["y"]);
    q.close();
    expect(meta(dir)).toBe("0\n3,5\n3,5\n");
  });
});

describe("empty and delete", () => {
  test("empty removes segments and metadata and continues at writeFileNum + 1", async () => {
    const dir = tmp();
    const q = open({ dataPath: dir, maxBytesPerFile: 2 * 14 });
    for (let i = 0; i < 5; i++) q.put(sized(i, 10));
    q.readNext();
    q.sync();
    q.empty();
    expect(files(dir)).toEqual([]);
    expect(q.depth()).toBe(0);
    expect(q.readNext()).toBeNull();
    q.put(b("again"));
    expect(drain(q)).toEqual(["again"]);
    q.close();
    expect(files(dir)).toEqual(["t.diskqueue.000003.dat", "t.diskqueue.meta.dat"]);
    expect(meta(dir)).toBe("0\n3,9\n3,9\n");
  });

  test("delete closes and removes every file of the queue, and only of that queue", async () => {
    const dir = tmp();
    const other = open({ dataPath: dir, name: "t:c" });
    other.put(b("keep"));
    other.close();
    const q = open({ dataPath: dir, maxBytesPerFile: 2 * 14 });
    for (let i = 0; i < 5; i++) q.put(sized(i, 10));
    q.sync();
    q.delete();
    await sleep(10); // a window in which a late background write must not bring a file back
    expect(files(dir)).toEqual(["t:c.diskqueue.000000.dat", "t:c.diskqueue.meta.dat"]);
    expect(() => q.put(b("x"))).toThrow("exiting");
  });
});

describe("write errors", () => {
  const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });

  /** node:fs whose writes fail while `failing`; `partial` lets the next write take only that many bytes first. */
  function flakyFs() {
    const state = { failing: false, partial: 0, refused: 0 };
    const flaky: DiskQueueFs = {
      ...fs,
      writeSync: ((fd: number, buf: any, off?: any, len?: any, pos?: any) => {
        if (state.partial > 0 && typeof buf !== "string") {
          const n = state.partial;
          state.partial = 0;
          return fs.writeSync(fd, buf, off, Math.min(n, len), pos);
        }
        if (state.failing) {
          state.refused++;
          throw enospc();
        }
        return fs.writeSync(fd, buf, off, len, pos);
      }) as typeof fs.writeSync,
      openSync: ((p: fs.PathLike, flags?: any, mode?: any) => {
        if (state.failing && String(p).endsWith(".tmp")) {
          state.refused++;
          throw enospc();
        }
        return fs.openSync(p, flags, mode);
      }) as typeof fs.openSync,
    };
    return { state, flaky };
  }

  test("ENOSPC: accepted records are kept, puts are refused, and everything lands once the disk recovers", async () => {
    const dir = tmp();
    const { state, flaky } = flakyFs();
    const q = open({ dataPath: dir, fs: flaky, syncTimeout: 40 });
    q.put(sized(0, 10));
    await tick();
    for (let i = 1; i < 4; i++) q.put(sized(i, 10));
    state.partial = 20; // a partial write, then the disk is full
    state.failing = true;
    await tick();
    expect(q.health?.message).toContain("ENOSPC");
    expect(() => q.put(sized("rejected", 10))).toThrow("ENOSPC");
    expect(q.depth()).toBe(4);
    expect(q.logs.filter((l) => l.includes("write failed"))).toHaveLength(1);
    expect(s(q.readNext())).toBe(str(0, 10)); // reading goes on meanwhile
    expect(s(q.readNext())).toBe(str(1, 10));

    const refused = state.refused;
    await until(() => state.refused >= refused + 2, "two retries by the sync timer");
    expect(q.health).not.toBeNull(); // they fail quietly
    expect(q.logs.filter((l) => l.includes("write failed"))).toHaveLength(1);
    state.failing = false;
    await until(() => q.health === null, "the sync timer to retry and recover");
    expect(q.logs.some((l) => l.includes("writes recovered"))).toBe(true);
    q.put(sized(4, 10));
    q.close();
    expect(fs.readFileSync(seg(dir, 0))).toEqual(Buffer.from(records(...[0, 1, 2, 3, 4].map((i) => sized(i, 10)))));
    const r = open({ dataPath: dir });
    expect(drain(r)).toEqual([2, 3, 4].map((i) => str(i, 10)));
  });

  test("a put retries the flush itself, at most every 100 ms", async () => {
    const { state, flaky } = flakyFs();
    const q = open({ dataPath: tmp(), fs: flaky });
    q.put(sized(0, 10));
    state.failing = true;
    q.flush();
    expect(q.health).not.toBeNull();
    state.failing = false;
    expect(() => q.put(sized(1, 10))).not.toThrow(); // first retry is immediate
    state.failing = true;
    q.flush();
    state.failing = false;
    expect(() => q.put(sized(2, 10))).toThrow("ENOSPC"); // too soon
    await sleep(110); // deliberate: past the 100 ms between retries
    q.put(sized(2, 10));
    expect(drain(q)).toEqual([0, 1, 2].map((i) => str(i, 10)));
  });

  test("a full buffer on a failing disk refuses the put that does not fit", () => {
    const { state, flaky } = flakyFs();
    const q = open({ dataPath: tmp(), fs: flaky, bufferSize: 64 });
    state.failing = true;
    for (let i = 0; i < 4; i++) q.put(sized(i, 10)); // 56 bytes buffered
    expect(() => q.put(sized(4, 10))).toThrow("ENOSPC");
    expect(q.depth()).toBe(4);
    state.failing = false;
    q.sync();
    expect(q.health).toBeNull();
    expect(drain(q)).toEqual([0, 1, 2, 3].map((i) => str(i, 10)));
  });

  test("a background fsync that fails (EIO) refuses puts until a sync succeeds", async () => {
    const dir = tmp();
    let failures = 1;
    const eio: DiskQueueFs = {
      ...fs,
      fsync: ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
        if (failures-- > 0) return cb(Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" }));
        fs.fsync(fd, cb);
      }) as typeof fs.fsync,
    };
    const q = open({ dataPath: dir, fs: eio, syncEvery: 2, syncTimeout: 30 });
    q.put(sized(0, 10));
    q.put(sized(1, 10)); // background sync, whose fsync fails
    await until(() => q.health !== null, "the failed fsync");
    expect(q.health?.message).toContain("EIO");
    expect(metaOrNull(dir)).toBeNull();
    await until(() => q.health === null, "the timer's sync (fsyncSync) to succeed");
    expect(meta(dir)).toBe("2\n0,0\n0,28\n");
    q.put(sized(2, 10));
    expect(drain(q)).toEqual([0, 1, 2].map((i) => str(i, 10)));
  });

  test("closing on a dead disk drops only what could not be written and says so", () => {
    const dir = tmp();
    const { state, flaky } = flakyFs();
    const q = open({ dataPath: dir, fs: flaky, syncEvery: 2 });
    q.put(sized(0, 10));
    q.put(sized(1, 10)); // synced
    q.put(sized(2, 10));
    state.failing = true;
    q.close();
    expect(q.logs.some((l) => l.includes("14 bytes unwritten, 1 unread records lost"))).toBe(true);
    state.failing = false;
    const r = open({ dataPath: dir });
    expect(drain(r)).toEqual([0, 1].map((i) => str(i, 10)));
  });
});

describe("model check", () => {
  test("random puts, reads, flushes and reopens agree with an in-memory FIFO", async () => {
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const dir = tmp();
    const cfg = { dataPath: dir, maxBytesPerFile: 200, maxMsgSize: 300, bufferSize: 128 };
    let q = open(cfg);
    const model: string[] = [];
    let next = 0;
    for (let step = 0; step < 4000; step++) {
      const op = rnd(100);
      if (op < 50) {
        const m = sized(next++, 1 + rnd(op < 2 ? 300 : 40));
        q.put(m);
        model.push(s(m)!);
      } else if (op < 90) {
        expect(s(q.readNext())).toBe(model.shift() ?? null);
      } else if (op < 97) {
        await tick();
      } else {
        q.close();
        q = open(cfg);
      }
      expect(q.depth()).toBe(model.length);
    }
    expect(drain(q)).toEqual(model);
    expect(files(dir).filter((f) => f.endsWith(".bad"))).toEqual([]);
    expect(q.logs.filter((l) => l.startsWith("error") || l.startsWith("warn"))).toEqual([]);
  });
});
