/**
 * End-to-end processing latency quantiles, as nsqd computes them (internal/quantile over
 * bmizerany/perks): a targeted CKMS stream ("Effective Computation of Biased Quantiles over Data
 * Streams", ε = 0.01) per sub-window, two sub-windows of window/2 that take turns being reset, and a
 * query that merges both.
 * @module
 */

const EPSILON = 0.01;
const BUFFER = 500;

/** One compressed summary entry: a value, how many samples it stands for, and its rank uncertainty. */
interface Sample {
  value: number;
  width: number;
  delta: number;
}

/** perks `quantile.Stream` built with `NewTargeted(quantiles...)`. Not exported: Quantile is the API. */
class Stream {
  /** Unflushed values (each width 1, delta 0): `bn` of them in `b`. */
  private readonly b = new Float64Array(BUFFER);
  private bn = 0;
  private sorted = true;
  private l: Sample[] = [];
  private n = 0;

  constructor(private readonly targets: readonly number[]) {}

  /** The invariant f(r): the largest error allowed at rank r for the targeted quantiles. */
  private f(r: number): number {
    let m = Number.MAX_VALUE;
    const n = this.n;
    for (const q of this.targets) {
      const f = q * n <= r ? (2 * EPSILON * r) / q : (2 * EPSILON * (n - r)) / (1 - q);
      if (f < m) m = f;
    }
    return m;
  }

  insert(v: number): void {
    this.b[this.bn++] = v;
    this.sorted = false;
    if (this.bn === BUFFER) {
      this.flush();
      this.compress();
    }
  }

  count(): number {
    return this.bn + this.n;
  }

  reset(): void {
    this.l = [];
    this.n = 0;
    this.bn = 0;
    this.sorted = true;
  }

  query(q: number): number {
    if (this.l.length === 0) {
      // few samples: read the buffer directly, which is exact
      const len = this.bn;
      if (len === 0) return 0;
      let i = Math.trunc(len * q);
      if (i > 0) i -= 1;
      this.sortBuffer();
      return this.b[i]!;
    }
    this.flush();
    const l = this.l;
    let t = Math.ceil(q * this.n);
    t += Math.ceil(this.f(t) / 2);
    let p = l[0]!;
    let r = 0;
    for (let i = 1; i < l.length; i++) {
      const c = l[i]!;
      if (r + c.width + c.delta > t) return p.value;
      r += p.width;
      p = c;
    }
    return p.value;
  }

  /** The summary, flushed and compressed; raw buffered values when nothing was flushed yet. */
  samples(): Sample[] {
    if (this.l.length === 0) return Array.from(this.b.subarray(0, this.bn), (value) => ({ value, width: 1, delta: 0 }));
    this.flush();
    this.compress();
    return this.l.map((s) => ({ ...s }));
  }

  merge(samples: Sample[]): void {
    samples.sort((a, b) => a.value - b.value);
    this.mergeSorted(samples);
  }

  private sortBuffer(): void {
    if (!this.sorted) {
      this.sorted = true;
      this.b.subarray(0, this.bn).sort();
    }
  }

  private flush(): void {
    const b = this.b;
    const bn = this.bn;
    if (bn === 0) return;
    this.sortBuffer();
    const old = this.l;
    const out: Sample[] = [];
    let i = 0;
    let r = 0;
    for (let k = 0; k < bn; k++) {
      const v = b[k]!;
      while (i < old.length && old[i]!.value <= v) {
        r += old[i]!.width;
        out.push(old[i++]!);
      }
      out.push({ value: v, width: 1, delta: i < old.length ? Math.floor(this.f(r)) - 1 : 0 });
      this.n += 1;
    }
    while (i < old.length) out.push(old[i++]!);
    this.l = out;
    this.bn = 0;
  }

  /**
   * perks inserts each sample in place; a linear merge gives the same list: `r` counts only the
   * widths of entries that were there before, and `n` grows as samples go in.
   */
  private mergeSorted(samples: Sample[]): void {
    const old = this.l;
    const out: Sample[] = [];
    let i = 0;
    let r = 0;
    for (const s of samples) {
      while (i < old.length && old[i]!.value <= s.value) {
        r += old[i]!.width;
        out.push(old[i++]!);
      }
      const delta = i < old.length ? Math.floor(this.f(r)) - 1 : 0;
      out.push({ value: s.value, width: s.width, delta });
      this.n += s.width;
    }
    while (i < old.length) out.push(old[i++]!);
    this.l = out;
  }

  private compress(): void {
    const l = this.l;
    if (l.length < 2) return;
    let x = l[l.length - 1]!;
    let r = this.n - 1 - x.width;
    // walk down from the top, writing survivors from the end of the array towards its start
    let w = l.length - 1;
    for (let i = l.length - 2; i >= 0; i--) {
      const c = l[i]!;
      if (c.width + x.width + x.delta <= this.f(r)) {
        x.width += c.width;
      } else {
        x = c;
        l[--w] = c;
      }
      r -= c.width;
    }
    this.l = w === 0 ? l : l.slice(w);
  }
}

/** `{"quantile":0.99,"value":<ns>}`; Go marshals the map with its keys sorted, which is this order. */
export interface Percentile {
  quantile: number;
  value: number;
}

/** NSQ's quantile.Result: `percentiles` is null when no percentiles are tracked (a nil Go slice). */
export interface QuantileResult {
  count: number;
  percentiles: Percentile[] | null;
}

/** The result nsqd reports for a channel or topic that tracks nothing. */
export const EMPTY_RESULT: Readonly<QuantileResult> = Object.freeze({ count: 0, percentiles: null });

/**
 * Rolling-window quantiles of end-to-end latency in nanoseconds (NSQ internal/quantile.Quantile).
 * @example
 * const q = new Quantile(600_000, [0.99, 0.5]);
 * q.insert(msg.timestamp); // on FIN: now - publish time
 * q.result(); // { count: 1, percentiles: [{ quantile: 0.99, value: 1200000 }, ...] }
 */
export class Quantile {
  private readonly streams: [Stream, Stream];
  private current = 0;
  private lastMove: number;
  /** Half the window, ms. */
  readonly moveWindow: number;

  constructor(
    windowMs: number,
    readonly percentiles: readonly number[],
    private readonly now: () => number = Date.now,
  ) {
    this.moveWindow = windowMs / 2;
    this.streams = [new Stream(percentiles), new Stream(percentiles)];
    this.lastMove = now();
  }

  /** Records `now - start`; `startNs` is the message timestamp in Unix nanoseconds. */
  insert(startNs: number): void {
    const now = this.now();
    this.advance(now);
    // whole µs: Unix ns exceed 2^53, and this keeps the float noise of ms-based timestamps out
    this.streams[this.current]!.insert(Math.round((now - startNs / 1e6) * 1000) * 1000);
  }

  /** Both sub-windows merged, as one fresh stream (perks: a new targeted stream fed both summaries). */
  private merged(): Stream {
    this.advance(this.now());
    const m = new Stream(this.percentiles);
    m.merge(this.streams[0].samples());
    m.merge(this.streams[1].samples());
    return m;
  }

  result(): QuantileResult {
    const m = this.merged();
    return {
      count: m.count(),
      percentiles: this.percentiles.map((quantile) => ({ quantile, value: m.query(quantile) })),
    };
  }

  /** Folds another quantile's windows into this one (topic = all of its channels). */
  merge(them: Quantile): void {
    const us = this.current;
    const other = them.current;
    this.streams[us]!.merge(them.streams[other]!.samples());
    this.streams[us ^ 1]!.merge(them.streams[other ^ 1]!.samples());
    if (this.lastMove < them.lastMove) this.lastMove = them.lastMove;
  }

  /** Go loops "while stale: move"; after two moves both windows are empty, so the loop is arithmetic. */
  private advance(now: number): void {
    const elapsed = now - this.lastMove;
    if (!(elapsed > this.moveWindow)) return;
    const moves = this.moveWindow > 0 ? Math.ceil(elapsed / this.moveWindow) - 1 : 2;
    if (moves >= 2) {
      this.streams[0].reset();
      this.streams[1].reset();
    } else {
      this.streams[this.current ^ 1]!.reset();
    }
    this.current ^= moves & 1;
    this.lastMove += this.moveWindow > 0 ? moves * this.moveWindow : elapsed;
  }
}

/** nsqd tracks latency only when percentiles are configured; otherwise nothing is allocated or recorded. */
export function e2eQuantile(opts: {
  e2eProcessingLatencyPercentile: readonly number[];
  e2eProcessingLatencyWindowTime: number;
}): Quantile | null {
  const ps = opts.e2eProcessingLatencyPercentile;
  return ps.length > 0 ? new Quantile(opts.e2eProcessingLatencyWindowTime, ps) : null;
}

/** Topic latency: the merge of its channels' windows, or null when none tracks anything. */
export function aggregate(qs: Iterable<Quantile | null>): Quantile | null {
  let agg: Quantile | null = null;
  for (const q of qs) {
    if (q === null) continue;
    agg ??= new Quantile(q.moveWindow * 2, q.percentiles);
    agg.merge(q);
  }
  return agg;
}

/** NSQ's stringy.NanoSecondToHuman: `1.2ms`, `350.0us`, `2.0s`. */
export function nanosecondToHuman(v: number): string {
  let suffix = "ns";
  if (v > 1e9) {
    v /= 1e9;
    suffix = "s";
  } else if (v > 1e6) {
    v /= 1e6;
    suffix = "ms";
  } else if (v > 1e3) {
    v /= 1e3;
    suffix = "us";
  }
  return `${goFixed(v, 1)}${suffix}`;
}

/**
 * Go's `%.Nf`: like `toFixed`, except that an exact tie rounds half to even (`%.0f` of 12.5 is "12").
 * @example goFixed(0.125 * 100, 0) // "12"
 */
export function goFixed(v: number, digits: number): string {
  // toFixed is exact about the value but rounds ties away from zero; a tie shows as 5 then zeros
  const long = Math.abs(v).toFixed(Math.min(100, digits + 30));
  const tail = long.slice(long.indexOf(".") + 1 + digits);
  if (!/^50*$/.test(tail)) return v.toFixed(digits);
  const scale = 10 ** digits;
  const down = Math.trunc(v * scale);
  const even = down % 2 === 0 ? down : down + Math.sign(v);
  return (even / scale).toFixed(digits);
}

/** A Result as NSQ's text stats print it: the values, humanised, comma separated. */
export function resultString(r: QuantileResult): string {
  return (r.percentiles ?? []).map((p) => nanosecondToHuman(p.value)).join(", ");
}
