/**
 * bitly/timer_metrics as nsq_to_http and nsq_to_nsq use it: keep the last `statusEvery` request durations
 * and, every `statusEvery` requests, log `<prefix> finished N - 99th: 1.23ms - 95th: 1.00ms - avg: 0.50ms`.
 * @module
 */
import type { Logger } from "../core/log.ts";

export class TimerMetrics {
  private readonly timings: number[] = [];
  private position = 0;

  constructor(
    private readonly statusEvery: number,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    if (statusEvery > 0 && statusEvery < 100) {
      log.warn(`use more than 100 status values for accurate percentiles (configured with ${statusEvery})`);
    }
  }

  /** Records one request that started at `startMs` (performance.now()). */
  status(startMs: number): void {
    if (this.statusEvery <= 0) return;
    const d = performance.now() - startMs;
    this.position++;
    let looped = false;
    if (this.position > this.statusEvery) {
      looped = true;
      this.position = 1;
    }
    if (this.position > this.timings.length) this.timings.push(d);
    else this.timings[this.position - 1] = d;
    if (looped) this.log.info(this.stats());
  }

  /** timer_metrics' `Stats.String()` over what is kept now. */
  stats(): string {
    const n = this.timings.length;
    const sorted = this.timings.toSorted((a, b) => a - b);
    const avg = n > 0 ? this.timings.reduce((s, v) => s + v, 0) / n : 0;
    const ms = (v: number) => v.toFixed(2);
    return `${this.prefix} finished ${n} - 99th: ${ms(percentile(99, sorted))}ms - 95th: ${ms(percentile(95, sorted))}ms - avg: ${ms(avg)}ms`;
  }
}

function percentile(perc: number, sorted: number[]): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(Math.ceil((perc / 100) * sorted.length + 0.5), sorted.length - 1);
  return sorted[i]!;
}
