import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/core/log.ts";
import { type Clock, type RdyConfig, RdyController, type RdyConn } from "../../src/core/client/rdy.ts";

/** A clock whose time moves only when the test says so; due timers fire in order. */
class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.timers.delete(id as number);
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.timers].filter(([, x]) => x.at <= end).sort(([, a], [, b]) => a.at - b.at)[0];
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

/** A connection as nsqd would serve it: it delivers from `queue` while in flight < RDY. */
class FakeConn implements RdyConn {
  inFlight = 0;
  maxRdyCount = 2500;
  rtt = 0;
  rdy = 0;
  sent: number[] = [];
  queue = 0;

  constructor(readonly addr: string) {}

  sendRdy(count: number): void {
    this.rdy = count;
    this.sent.push(count);
  }
}

const CFG: RdyConfig = {
  maxInFlight: 1,
  lowRdyIdleTimeout: 100,
  lowRdyTimeout: 30_000,
  backoffStrategy: "exponential",
  backoffMultiplier: 1000,
  maxBackoffDuration: 120_000,
};

function setup(over: Partial<RdyConfig> = {}, n = 2) {
  const clock = new FakeClock();
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
  const rdy = new RdyController({ ...CFG, ...over }, log, "", clock);
  const conns = Array.from({ length: n }, (_, i) => new FakeConn(`nsqd${i}`));
  const used = () => conns.reduce((s, c) => s + Math.max(c.rdy, c.inFlight), 0);
  /** nsqd's side: deliver while the connection is ready. */
  const deliver = (c: FakeConn) => {
    while (c.queue > 0 && c.inFlight < c.rdy) {
      c.queue--;
      c.inFlight++;
      rdy.onMessage(c);
    }
  };
  const answer = (c: FakeConn, signal: "resume" | "backoff" | "continue" = "resume") => {
    c.inFlight--;
    rdy.onAnswered(c, signal);
  };
  return { clock, rdy, conns, used, deliver, answer, lines };
}

describe("RdyController: spread (connections ≤ max-in-flight)", () => {
  test("max-in-flight / connections each, go-nsq's rounding down; the others' share grows when one leaves", () => {
    const { rdy, conns } = setup({ maxInFlight: 10 }, 3);
    const [a, b, c] = conns as [FakeConn, FakeConn, FakeConn];
    rdy.add(a);
    expect(a.rdy).toBe(10);
    rdy.add(b);
    expect([a.rdy, b.rdy]).toEqual([5, 5]);
    rdy.add(c);
    expect(conns.map((x) => x.rdy)).toEqual([3, 3, 3]);
    rdy.closed(c);
    expect([a.rdy, b.rdy]).toEqual([5, 5]);
    // a lowered before b raised: the RDY a nsqd reads never adds up to more than 10
    expect(a.sent).toEqual([10, 5, 3, 5]);
  });

  test("a newcomer waits for messages already in flight elsewhere, and is raised in a few steps", () => {
    const { rdy, conns, answer, used } = setup({ maxInFlight: 8 });
    const [a, b] = conns as [FakeConn, FakeConn];
    rdy.add(a);
    a.inFlight = 8;
    rdy.add(b);
    expect(a.rdy).toBe(4);
    expect(b.rdy).toBe(0);
    for (let i = 0; i < 8; i++) {
      answer(a);
      expect(used()).toBeLessThanOrEqual(8);
    }
    expect(b.rdy).toBe(4);
    expect(b.sent.length).toBeLessThanOrEqual(4);
  });

  test("changeMaxInFlight(0) pauses every connection; raising it resumes", () => {
    const { rdy, conns } = setup({ maxInFlight: 4 });
    for (const c of conns) rdy.add(c);
    rdy.setMaxInFlight(0);
    expect(conns.map((c) => c.rdy)).toEqual([0, 0]);
    rdy.setMaxInFlight(4);
    expect(conns.map((c) => c.rdy)).toEqual([2, 2]);
  });

  test("a removed connection's messages in flight count until they are answered", () => {
    const { rdy, conns, answer } = setup({ maxInFlight: 4 });
    const [a, b] = conns as [FakeConn, FakeConn];
    rdy.add(a);
    rdy.add(b);
    a.inFlight = 2;
    rdy.remove(a);
    expect(b.rdy).toBe(2);
    answer(a);
    expect(b.rdy).toBe(3);
    answer(a);
    expect(b.rdy).toBe(4);
  });
});

describe("RdyController: rotate (connections > max-in-flight)", () => {
  test("the scenario: x and y on the first nsqd, z on the second, max-in-flight 1: z within one idle timeout", () => {
    const { rdy, conns, deliver, answer, clock, used } = setup();
    const [a, b] = conns as [FakeConn, FakeConn];
    rdy.add(a);
    rdy.add(b);
    expect([a.rdy, b.rdy]).toEqual([1, 0]);
    a.queue = 2;
    b.queue = 1;
    deliver(a);
    answer(a);
    deliver(a);
    answer(a);
    expect(a.queue).toBe(0);
    clock.advance(99);
    deliver(b);
    expect(b.queue).toBe(1);
    clock.advance(1);
    expect([a.rdy, b.rdy]).toEqual([0, 1]);
    deliver(b);
    expect(b.inFlight).toBe(1);
    expect(used()).toBe(1);
  });

  test("an idle holder passes RDY round the ring, one connection at a time", () => {
    const { rdy, conns, clock } = setup({}, 4);
    for (const c of conns) rdy.add(c);
    const holders: string[] = [];
    for (let i = 0; i < 8; i++) {
      expect(conns.filter((c) => c.rdy > 0)).toHaveLength(1);
      holders.push(conns.find((c) => c.rdy > 0)!.addr);
      clock.advance(100);
    }
    expect(holders).toEqual(["nsqd0", "nsqd1", "nsqd2", "nsqd3", "nsqd0", "nsqd1", "nsqd2", "nsqd3"]);
  });

  test("a holder with a message in flight keeps RDY however long its handler takes", () => {
    const { rdy, conns, deliver, answer, clock } = setup();
    const [a, b] = conns as [FakeConn, FakeConn];
    rdy.add(a);
    rdy.add(b);
    a.queue = 1;
    deliver(a);
    clock.advance(10_000);
    expect([a.rdy, b.rdy]).toEqual([1, 0]);
    answer(a);
    clock.advance(100);
    expect([a.rdy, b.rdy]).toEqual([0, 1]);
  });

  test("a busy holder passes RDY on at the answer after low_rdy_timeout, before its FIN goes out", () => {
    const { rdy, conns, deliver, answer, clock } = setup({ lowRdyTimeout: 1000 });
    const [a, b] = conns as [FakeConn, FakeConn];
    rdy.add(a);
    rdy.add(b);
    a.queue = 1_000_000;
    b.queue = 1;
    for (let t = 0; t < 1000; t += 10) {
      deliver(a);
      clock.advance(10);
      answer(a);
    }
    // the last answer came at 1000 ms: RDY 0 was sent from inside onAnswered, so ahead of the FIN
    expect(a.sent.at(-1)).toBe(0);
    expect(b.rdy).toBe(1);
    deliver(b);
    expect(b.queue).toBe(0);
  });

  test("the idle timeout stretches to four round trips on a slow link", () => {
    const { rdy, conns, clock } = setup();
    const [a, b] = conns as [FakeConn, FakeConn];
    a.rtt = 50;
    rdy.add(a);
    rdy.add(b);
    clock.advance(199);
    expect(a.rdy).toBe(1);
    clock.advance(1);
    expect([a.rdy, b.rdy]).toEqual([0, 1]);
  });

  test("10 connections, max-in-flight 1, messages on all of them: all drained, never two in flight", () => {
    const { rdy, conns, deliver, answer, clock, used } = setup({}, 10);
    for (const [i, c] of conns.entries()) c.queue = 5 + i;
    for (const c of conns) rdy.add(c);
    let maxUsed = 0;
    for (let step = 0; step < 10_000 && conns.some((c) => c.queue > 0 || c.inFlight > 0); step++) {
      for (const c of conns) deliver(c);
      maxUsed = Math.max(maxUsed, used(), conns.reduce((s, c) => s + c.inFlight, 0));
      for (const c of conns) if (c.inFlight > 0) answer(c);
      clock.advance(10);
    }
    expect(conns.map((c) => c.queue)).toEqual(Array(10).fill(0));
    expect(maxUsed).toBe(1);
    // one full drain takes about one idle timeout per connection, not go-nsq's 15–25 s each
    expect(clock.now()).toBeLessThan(3000);
  });

  test("random deliveries, answers and timings: in flight never exceeds max-in-flight, and everything drains", () => {
    for (const m of [1, 2, 3]) {
      const { rdy, conns, deliver, answer, clock, used } = setup({ maxInFlight: m, lowRdyTimeout: 500 }, 5);
      let seed = m * 7919;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      for (const c of conns) {
        c.queue = Math.floor(rand() * 40);
        rdy.add(c);
      }
      for (let step = 0; step < 20_000 && conns.some((c) => c.queue > 0 || c.inFlight > 0); step++) {
        const c = conns[Math.floor(rand() * conns.length)]!;
        if (rand() < 0.05) c.queue += 1;
        deliver(c);
        if (c.inFlight > 0 && rand() < 0.5) answer(c, rand() < 0.02 ? "continue" : "resume");
        expect(used()).toBeLessThanOrEqual(m);
        clock.advance(Math.floor(rand() * 30));
      }
      expect(conns.every((c) => c.queue === 0 && c.inFlight === 0)).toBe(true);
    }
  });
});

describe("RdyController: backoff", () => {
  test("RDY 0 everywhere, one connection tests the water after the wait, success returns all to their share", () => {
    const { rdy, conns, deliver, answer, clock, lines } = setup({ maxInFlight: 4, backoffMultiplier: 100 });
    const [a, b] = conns as [FakeConn, FakeConn];
    rdy.add(a);
    rdy.add(b);
    a.queue = 1;
    deliver(a);
    answer(a, "backoff");
    expect([a.rdy, b.rdy]).toEqual([0, 0]);
    expect(lines.some((l) => l.includes("backing off for 200ms (backoff level 1), setting all to RDY 0"))).toBe(true);
    clock.advance(199);
    expect(a.rdy + b.rdy).toBe(0);
    clock.advance(1);
    expect(a.rdy + b.rdy).toBe(1);
    expect(lines.some((l) => l.includes("backoff timeout expired, sending RDY 1"))).toBe(true);
    const tester = a.rdy === 1 ? a : b;
    tester.queue = 1;
    deliver(tester);
    answer(tester);
    expect([a.rdy, b.rdy]).toEqual([2, 2]);
    expect(lines.some((l) => l.includes("exiting backoff, returning all to RDY 2"))).toBe(true);
  });

  test("while testing the water with several connections, the one RDY rotates like max-in-flight 1", () => {
    const { rdy, conns, deliver, answer, clock } = setup({ maxInFlight: 4, backoffMultiplier: 100 }, 3);
    for (const c of conns) rdy.add(c);
    conns[0]!.queue = 1;
    deliver(conns[0]!);
    answer(conns[0]!, "backoff");
    clock.advance(200);
    const first = conns.findIndex((c) => c.rdy === 1);
    clock.advance(100);
    const second = conns.findIndex((c) => c.rdy === 1);
    expect(second).not.toBe(first);
    expect(conns.reduce((s, c) => s + c.rdy, 0)).toBe(1);
  });

  test("stop: no RDY is sent afterwards and no timer fires", () => {
    const { rdy, conns, clock } = setup();
    for (const c of conns) rdy.add(c);
    const before = conns.map((c) => c.sent.length);
    rdy.stop();
    clock.advance(10_000);
    rdy.closed(conns[0]!);
    expect(conns.map((c) => c.sent.length)).toEqual(before);
  });
});
