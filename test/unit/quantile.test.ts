import { describe, expect, test } from "bun:test";
import { aggregate, e2eQuantile, EMPTY_RESULT, goFixed, nanosecondToHuman, Quantile, resultString } from "../../src/core/quantile.ts";

/**
 * Oracle: a line-by-line port of bmizerany/perks quantile/stream.go at the commit NSQ pins (d9a9656),
 * in-place slice inserts and all, kept deliberately naive.
 */
type S = { Value: number; Width: number; Delta: number };
class PerksStream {
  b: S[] = [];
  sorted = true;
  l: S[] = [];
  n = 0;
  constructor(private readonly qs: number[]) {}
  f(r: number) {
    let m = Number.MAX_VALUE;
    for (const q of this.qs) {
      const f = q * this.n <= r ? (2 * 0.01 * r) / q : (2 * 0.01 * (this.n - r)) / (1 - q);
      m = Math.min(m, f);
    }
    return m;
  }
  Insert(v: number) {
    this.b.push({ Value: v, Width: 1, Delta: 0 });
    this.sorted = false;
    if (this.b.length === 500) {
      this.flush();
      this.compress();
    }
  }
  Query(q: number) {
    if (this.l.length === 0) {
      const l = this.b.length;
      if (l === 0) return 0;
      let i = Math.trunc(l * q);
      if (i > 0) i--;
      this.maybeSort();
      return this.b[i]!.Value;
    }
    this.flush();
    let t = Math.ceil(q * this.n);
    t += Math.ceil(this.f(t) / 2);
    let p = this.l[0]!;
    let r = 0;
    for (const c of this.l.slice(1)) {
      if (r + c.Width + c.Delta > t) return p.Value;
      r += p.Width;
      p = c;
    }
    return p.Value;
  }
  Merge(samples: S[]) {
    samples.sort((a, b) => a.Value - b.Value);
    this.merge(samples);
  }
  Samples(): S[] {
    if (this.l.length === 0) return this.b.map((s) => ({ ...s }));
    this.flush();
    this.compress();
    return this.l.map((c) => ({ ...c }));
  }
  Count() {
    return this.b.length + this.n;
  }
  flush() {
    this.maybeSort();
    this.merge(this.b);
    this.b = [];
  }
  maybeSort() {
    if (!this.sorted) {
      this.sorted = true;
      this.b.sort((a, b) => a.Value - b.Value);
    }
  }
  merge(samples: S[]) {
    let r = 0;
    let i = 0;
    outer: for (const sample of samples) {
      for (; i < this.l.length; i++) {
        const c = this.l[i]!;
        if (c.Value > sample.Value) {
          this.l.splice(i, 0, { Value: sample.Value, Width: sample.Width, Delta: Math.floor(this.f(r)) - 1 });
          i++;
          this.n += sample.Width;
          continue outer;
        }
        r += c.Width;
      }
      this.l.push({ Value: sample.Value, Width: sample.Width, Delta: 0 });
      i++;
      this.n += sample.Width;
    }
  }
  compress() {
    if (this.l.length < 2) return;
    let x = this.l[this.l.length - 1]!;
    let r = this.n - 1 - x.Width;
    for (let i = this.l.length - 2; i >= 0; i--) {
      const c = this.l[i]!;
      if (c.Width + x.Width + x.Delta <= this.f(r)) {
        x.Width += c.Width;
        this.l.splice(i, 1);
      } else {
        x = c;
      }
      r -= c.Width;
    }
  }
}

/** A deterministic PRNG so a failure is reproducible. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

describe("Quantile", () => {
  for (const [n, qs] of [
    [0, [0.99]],
    [1, [0.99, 0.5]],
    [10, [0.5]],
    [499, [0.99, 0.95, 0.5]],
    [500, [0.99, 0.95, 0.5]],
    [501, [1, 0.5]],
    [2345, [0.999, 0.9]],
    [40_000, [0.99, 0.95, 0.5]],
  ] as [number, number[]][]) {
    test(`${n} samples, percentiles ${qs}: same result as perks (the oracle)`, () => {
      const now = 1_700_000_000_000;
      const q = new Quantile(600_000, qs, () => now);
      const oracle = new PerksStream(qs);
      const rand = rng(n + 7);
      for (let i = 0; i < n; i++) {
        const latencyNs = Math.floor(rand() * 1000) * 1e6; // whole ms: exact in both
        q.insert(now * 1e6 - latencyNs);
        oracle.Insert(latencyNs);
      }
      const merged = new PerksStream(qs);
      merged.Merge(oracle.Samples());
      merged.Merge(new PerksStream(qs).Samples());
      const r = q.result();
      expect(r.count).toBe(n);
      expect(r.percentiles).toEqual(qs.map((quantile) => ({ quantile, value: merged.Query(quantile) })));
    });
  }

  test("few samples: all kept, and the rank query reaches f(r)/2 past q·n, as NSQ reports it", () => {
    const now = 1e12;
    const q = new Quantile(60_000, [0.5, 0.9, 1], () => now);
    for (const ms of [7, 1, 9, 3, 5, 2, 8, 4, 10, 6]) q.insert((now - ms) * 1e6);
    // p50: t = ceil(0.5·10) + ceil(f(5)/2) = 5 + 1 → the 7th value
    expect(q.result()).toEqual({
      count: 10,
      percentiles: [
        { quantile: 0.5, value: 7e6 },
        { quantile: 0.9, value: 10e6 },
        { quantile: 1, value: 10e6 },
      ],
    });
  });

  test("accuracy stays within a few percent of rank for a large uniform stream", () => {
    const now = 1e12;
    const q = new Quantile(60_000, [0.99, 0.5], () => now);
    const rand = rng(1);
    for (let i = 0; i < 100_000; i++) q.insert(now * 1e6 - Math.floor(rand() * 100_000) * 1000);
    const [p99, p50] = q.result().percentiles!;
    expect(p99!.value / 1000).toBeGreaterThan(97_000);
    expect(p50!.value / 1000).toBeGreaterThan(47_000);
    expect(p50!.value / 1000).toBeLessThan(53_000);
  });

  test("two sub-windows of window/2: a sample counts for at least half a window and at most a whole one", () => {
    let now = 1_000_000;
    const q = new Quantile(1000, [0.99], () => now);
    q.insert(now * 1e6 - 5e6);
    now += 499;
    expect(q.result().count).toBe(1);
    now += 101; // 600 ms: the other window took over, the sample's window is still there
    expect(q.result().count).toBe(1);
    q.insert(now * 1e6 - 7e6);
    expect(q.result().count).toBe(2);
    now += 500; // 1100 ms: the first window is reset
    expect(q.result()).toEqual({ count: 1, percentiles: [{ quantile: 0.99, value: 7e6 }] });
    now += 3_600_000; // idle for an hour: both windows emptied in one step
    expect(q.result()).toEqual({ count: 0, percentiles: [{ quantile: 0.99, value: 0 }] });
    q.insert(now * 1e6 - 1e6);
    expect(q.result().count).toBe(1);
  });

  test("aggregate merges channels into a topic; null when no channel tracks anything", () => {
    const now = 5e12;
    const a = new Quantile(60_000, [0.5], () => now);
    const b = new Quantile(60_000, [0.5], () => now);
    for (let i = 1; i <= 3; i++) a.insert((now - i) * 1e6);
    for (let i = 10; i <= 14; i++) b.insert((now - i) * 1e6);
    expect(aggregate([null, null])).toBeNull();
    expect(aggregate([])).toBeNull();
    const t = aggregate([a, null, b])!;
    expect(t.result().count).toBe(8);
    expect(a.result().count).toBe(3);
  });

  test("e2eQuantile: nothing is allocated without percentiles", () => {
    expect(e2eQuantile({ e2eProcessingLatencyPercentile: [], e2eProcessingLatencyWindowTime: 600_000 })).toBeNull();
    const q = e2eQuantile({ e2eProcessingLatencyPercentile: [0.99], e2eProcessingLatencyWindowTime: 600_000 })!;
    expect(q.moveWindow).toBe(300_000);
    expect(q.percentiles).toEqual([0.99]);
  });

  test("EMPTY_RESULT is NSQ's Result{} of a nil quantile", () => {
    expect(JSON.stringify(EMPTY_RESULT)).toBe('{"count":0,"percentiles":null}');
  });
});

describe("formatting", () => {
  test("nanosecondToHuman follows stringy.NanoSecondToHuman's thresholds (strictly greater than)", () => {
    expect(nanosecondToHuman(0)).toBe("0.0ns");
    expect(nanosecondToHuman(1000)).toBe("1000.0ns");
    expect(nanosecondToHuman(1001)).toBe("1.0us");
    expect(nanosecondToHuman(1_000_000)).toBe("1000.0us");
    expect(nanosecondToHuman(2_500_000)).toBe("2.5ms");
    expect(nanosecondToHuman(1_500_000_000)).toBe("1.5s");
  });

  test("goFixed rounds exact ties to even, as Go's %f does", () => {
    expect(goFixed(12.5, 0)).toBe("12");
    expect(goFixed(13.5, 0)).toBe("14");
    expect(goFixed(-2.5, 0)).toBe("-2");
    expect(goFixed(0.25, 1)).toBe("0.2");
    expect(goFixed(0.75, 1)).toBe("0.8");
    expect(goFixed(99.9, 0)).toBe("100");
    expect(goFixed(0.99 * 100, 0)).toBe("99");
    expect(goFixed(1.15, 1)).toBe("1.1"); // 1.15 is really 1.1499999…: not a tie
  });

  test("resultString joins the humanised values", () => {
    expect(resultString(EMPTY_RESULT)).toBe("");
    expect(
      resultString({
        count: 3,
        percentiles: [
          { quantile: 0.99, value: 2_000_000 },
          { quantile: 0.5, value: 900 },
        ],
      }),
    ).toBe("2.0ms, 900.0ns");
  });
});
