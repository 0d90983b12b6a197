import { describe, expect, test } from "bun:test";
import { Command } from "../../src/core/protocol/commands.ts";
import { encodeMessage } from "../../src/core/protocol/message.ts";
import { BufferedWriter, FinBatcher, finFlushDue } from "../../src/tools/bench/fin-batcher.ts";
import { publishCommand } from "../../src/tools/bench/writer.ts";
import { goFixed3, logLine, parseDeadline, percentile, resultLine, utcString } from "../../src/tools/bench/report.ts";

/** A socket stand-in: every write the tool makes, as the bytes it would send. */
function sink() {
  const writes: Uint8Array[] = [];
  let sent = 0;
  return {
    writes,
    sent: () => sent,
    write: (b: Uint8Array, start: number, end: number) => {
      writes.push(b.slice(start, end));
      sent += end - start;
    },
  };
}

const id = (n: number) => n.toString(16).padStart(16, "0");
const message = (n: number) => encodeMessage({ timestamp: 0, attempts: 1, id: id(n), body: new Uint8Array(200) });
const FIN = 21; // "FIN " + 16-byte id + "\n"

describe("BufferedWriter (Go's bufio.Writer)", () => {
  test("small writes go out only in whole buffers, a write split across two", () => {
    const s = sink();
    const w = new BufferedWriter(s.write, 8);
    for (let i = 0; i < 5; i++) w.write(new Uint8Array([i, i, i]));
    expect(s.writes.map((b) => [...b])).toEqual([[0, 0, 0, 1, 1, 1, 2, 2]]);
    expect(w.buffered).toBe(7);
    w.flush();
    expect(s.writes.map((b) => [...b])).toEqual([
      [0, 0, 0, 1, 1, 1, 2, 2],
      [2, 3, 3, 3, 4, 4, 4],
    ]);
  });

  test("a buffer that is exactly full waits for the next write; a large write to an empty buffer goes straight out", () => {
    const s = sink();
    const w = new BufferedWriter(s.write, 4);
    w.write(new Uint8Array([1, 2, 3, 4]));
    expect(s.writes).toHaveLength(0);
    w.write(new Uint8Array([5]));
    expect(s.writes.map((b) => [...b])).toEqual([[1, 2, 3, 4]]);
    w.flush();
    w.write(new Uint8Array([6, 7, 8, 9, 10, 11]));
    expect(s.writes.map((b) => [...b])).toEqual([[1, 2, 3, 4], [5], [6, 7, 8, 9, 10, 11]]);
    expect(w.buffered).toBe(0);
  });
});

describe("FinBatcher: bench_reader's FINs", () => {
  test("the flush rule: every message in the last quarter of each RDY window", () => {
    expect(finFlushDue(1875, 2500)).toBe(false);
    expect(finFlushDue(1876, 2500)).toBe(true);
    expect(finFlushDue(2499, 2500)).toBe(true);
    expect(finFlushDue(2500, 2500)).toBe(false);
    expect(finFlushDue(2501, 2500)).toBe(false);
    expect(finFlushDue(4376, 2500)).toBe(true);
    // As in Go, RDY 1 to 4 never flush on this rule.
    for (let n = 1; n <= 10; n++) expect(finFlushDue(n, 4)).toBe(false);
  });

  test("FINs leave in 4 KiB bursts, then one write per message in the last quarter of the window", () => {
    const s = sink();
    const f = new FinBatcher(2500, s.write);
    const sentAfter: number[] = [0];
    for (let k = 1; k <= 5000; k++) {
      f.message(message(k));
      sentAfter.push(s.sent());
    }
    for (let k = 1; k <= 1875; k++) expect(sentAfter[k]).toBe(Math.floor((FIN * k) / 4096) * 4096);
    for (let k = 1876; k <= 2499; k++) expect(sentAfter[k]).toBe(FIN * k);
    expect(sentAfter[2500]).toBe(FIN * 2499);
    const base = FIN * 2499;
    for (let k = 2501; k <= 4375; k++) expect(sentAfter[k]).toBe(base + Math.floor((FIN * (k - 2499)) / 4096) * 4096);
    for (let k = 4376; k <= 4999; k++) expect(sentAfter[k]).toBe(FIN * k);

    // The first window: 9 full buffers (~195 FINs each), then 624 single-FIN writes (the first carries the rest).
    const firstWindow = s.writes.slice(0, 9 + 624);
    expect(firstWindow.slice(0, 9).every((b) => b.length === 4096)).toBe(true);
    expect(firstWindow[9]!.length).toBe(FIN * 1876 - 9 * 4096);
    expect(firstWindow.slice(10).every((b) => b.length === FIN)).toBe(true);

    f.flush();
    expect(f.count).toBe(5000);
    const all = Buffer.concat(s.writes);
    const expected = Buffer.concat(Array.from({ length: 5000 }, (_, i) => Command.fin(id(i + 1))));
    expect(all.equals(expected)).toBe(true);
  });

  test("a frame too short to be a message is an error", () => {
    const f = new FinBatcher(2500, sink().write);
    expect(() => f.message(new Uint8Array(10))).toThrow("invalid message buffer size (10)");
  });
});

describe("bench output", () => {
  test("the result line: Go's Duration, %.03f, microseconds truncated", () => {
    expect(resultLine(1000, 1000, 200)).toBe("duration: 1s - 0.191mb/s - 1000.000ops/s - 1000.000us/op");
    expect(resultLine(10_003.241567, 2_154_493, 200)).toBe(
      "duration: 10.003241567s - 41.080mb/s - 215379.483ops/s - 4.643us/op",
    );
    expect(resultLine(500.25, 0, 200)).toBe("duration: 500.25ms - 0.000mb/s - 0.000ops/s - +Infus/op");
    expect(goFixed3(NaN)).toBe("NaN");
  });

  test("log lines: prefix, then Go's standard date and time", () => {
    expect(logLine("[bench_reader] ", "x")).toMatch(/^\[bench_reader\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d x\n$/);
  });

  test("--deadline is UTC, as time.Parse without a zone", () => {
    const t = parseDeadline("2026-01-01 10:00:00");
    expect(t).toBe(Date.UTC(2026, 0, 1, 10, 0, 0));
    expect(utcString(t)).toBe("2026-01-01 10:00:00 +0000 UTC");
    expect(() => parseDeadline("tomorrow")).toThrow('parsing time "tomorrow" as "2006-01-02 15:04:05"');
    expect(() => parseDeadline("2026-02-30 10:00:00")).toThrow("day out of range");
  });

  test("nearest-rank percentiles", () => {
    const s = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect([percentile(s, 0.5), percentile(s, 0.99), percentile(s, 0.999), percentile(s, 1)]).toEqual([500, 990, 999, 1000]);
    expect(percentile(new Float64Array(0), 0.5)).toBeNaN();
  });
});

describe("bench writer's command", () => {
  test("one MPUB of --batch-size zero bodies, or one PUB", () => {
    const mpub = publishCommand({ topic: "t", size: 3, batchSize: 2, pub: false });
    expect(mpub.perCommand).toBe(2);
    expect([...mpub.bytes]).toEqual([...Command.mpub("t", [new Uint8Array(3), new Uint8Array(3)])]);
    const pub = publishCommand({ topic: "t", size: 3, batchSize: 2, pub: true });
    expect(pub.perCommand).toBe(1);
    expect([...pub.bytes]).toEqual([...Command.pub("t", new Uint8Array(3))]);
  });
});
