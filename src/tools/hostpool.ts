/**
 * Choosing a destination for each message, as nsq_to_http and nsq_to_nsq do with `--mode`: round-robin, or
 * bitly/go-hostpool's pools. `hostpool` is go-hostpool's standard pool: round-robin over the hosts that did not
 * fail, a failed host left out for 30 s, then retried with its delay doubled up to 15 min (all failed: all
 * back). `epsilon-greedy` learns response times too: most requests go to hosts picked at random weighted by
 * 1 / (recent weighted average response time), and an exploration share (30%, decaying to 1%) round-robin.
 * @module
 */

/** One pick: the host, and how the request to it went. */
export interface HostChoice {
  readonly host: string;
  /** Report the outcome once (`failed` marks the host down); for epsilon-greedy it also ends the timing. */
  mark(failed: boolean): void;
}

export interface HostChooser {
  get(): HostChoice;
}

const noop = () => {};

/** Each call the next address, starting at the second, as NSQ's `counter % len` after an increment. */
export class RoundRobin implements HostChooser {
  private counter = 0;

  constructor(private readonly hosts: readonly string[]) {}

  get(): HostChoice {
    this.counter++;
    return { host: this.hosts[this.counter % this.hosts.length]!, mark: noop };
  }
}

interface Entry {
  host: string;
  dead: boolean;
  nextRetry: number;
  retryDelay: number;
  /** epsilon-greedy: per bucket, response-time sum (ms) and count */
  sums: number[];
  counts: number[];
}

const INITIAL_RETRY_DELAY = 30_000;
const MAX_RETRY_INTERVAL = 900_000;

/** go-hostpool's standard pool (`hostpool.New`). */
export class HostPool implements HostChooser {
  protected readonly entries: Entry[];
  private next = 0;

  constructor(
    hosts: readonly string[],
    protected readonly now: () => number = Date.now,
  ) {
    this.entries = hosts.map((host) => ({ host, dead: false, nextRetry: 0, retryDelay: INITIAL_RETRY_DELAY, sums: [], counts: [] }));
  }

  get(): HostChoice {
    const e = this.roundRobin();
    return { host: e.host, mark: this.marker(e) };
  }

  protected marker(e: Entry): (failed: boolean) => void {
    let marked = false;
    return (failed) => {
      if (marked) return;
      marked = true;
      if (failed) this.markFailed(e);
      else e.dead = false;
    };
  }

  protected markFailed(e: Entry): void {
    if (e.dead) return;
    e.dead = true;
    e.retryDelay = INITIAL_RETRY_DELAY;
    e.nextRetry = this.now() + e.retryDelay;
  }

  protected roundRobin(): Entry {
    const now = this.now();
    const n = this.entries.length;
    for (let i = 0; i < n; i++) {
      const at = (i + this.next) % n;
      const e = this.entries[at]!;
      if (!e.dead || e.nextRetry < now) {
        if (e.dead) this.willRetry(e);
        this.next = at + 1;
        return e;
      }
    }
    // every host is down: try them all again
    for (const e of this.entries) e.dead = false;
    this.next = 0;
    return this.entries[0]!;
  }

  protected willRetry(e: Entry): void {
    e.retryDelay = Math.min(e.retryDelay * 2, MAX_RETRY_INTERVAL);
    e.nextRetry = this.now() + e.retryDelay;
  }
}

const BUCKETS = 120;
const DECAY_DURATION = 5 * 60_000;
const INITIAL_EPSILON = 0.3;
const EPSILON_DECAY = 0.9;
const MIN_EPSILON = 0.01;

/**
 * go-hostpool's `NewEpsilonGreedy(hosts, 0, &LinearEpsilonValueCalculator{})`: response times are kept in 120
 * buckets over 5 minutes (go-hostpool turns them with a ticker; here the bucket is derived from the clock).
 */
export class EpsilonGreedyHostPool extends HostPool {
  private epsilon = INITIAL_EPSILON;
  private bucket: number;

  constructor(
    hosts: readonly string[],
    now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    super(hosts, now);
    for (const e of this.entries) {
      e.sums = new Array<number>(BUCKETS).fill(0);
      e.counts = new Array<number>(BUCKETS).fill(0);
    }
    this.bucket = this.currentBucket();
  }

  override get(): HostChoice {
    this.decay();
    const e = this.pick();
    const started = this.now();
    const mark = this.marker(e);
    return {
      host: e.host,
      mark: (failed) => {
        if (!failed) {
          const i = this.bucket % BUCKETS;
          e.counts[i]!++;
          e.sums[i]! += Math.trunc(this.now() - started);
        }
        mark(failed);
      },
    };
  }

  private pick(): Entry {
    if (this.random() < this.epsilon) {
      this.epsilon = Math.max(this.epsilon * EPSILON_DECAY, MIN_EPSILON);
      return this.roundRobin();
    }
    const now = this.now();
    const possible: [Entry, number][] = [];
    let sum = 0;
    for (const e of this.entries) {
      if (e.dead && e.nextRetry >= now) continue;
      const v = this.weightedAverage(e);
      if (v > 0) {
        possible.push([e, 1 / v]);
        sum += 1 / v;
      }
    }
    let ceiling = 0;
    const pick = possible.length > 0 ? this.random() : 0;
    for (const [e, value] of possible) {
      ceiling += value / sum;
      if (pick <= ceiling) {
        if (e.dead) this.willRetry(e);
        return e;
      }
    }
    return this.roundRobin();
  }

  /** Recent buckets weigh more; an empty bucket repeats the last value seen. */
  private weightedAverage(e: Entry): number {
    let value = 0;
    let last = 0;
    for (let i = 1; i <= BUCKETS; i++) {
      const at = (this.bucket + i) % BUCKETS;
      const weight = i / BUCKETS;
      if (e.counts[at]! > 0) last = e.sums[at]! / e.counts[at]!;
      value += last * weight;
    }
    return value;
  }

  private currentBucket(): number {
    return Math.floor(this.now() / (DECAY_DURATION / BUCKETS));
  }

  private decay(): void {
    const b = this.currentBucket();
    for (let k = this.bucket + 1; k <= Math.min(b, this.bucket + BUCKETS); k++) {
      for (const e of this.entries) {
        e.counts[k % BUCKETS] = 0;
        e.sums[k % BUCKETS] = 0;
      }
    }
    this.bucket = b;
  }
}

/**
 * NSQ's `--mode`: `round-robin`, `hostpool` and `epsilon-greedy` pick one destination per message. Any other
 * value means the tool's fallback, as in NSQ (nsq_to_http: every destination, `null` here; nsq_to_nsq:
 * round-robin), with a warning unless the value names it (`all`, or NSQ's older `multicast`).
 * @example chooserFor("hostpool", ["http://a/", "http://b/"], "all", log.warn)
 */
export function chooserFor(
  mode: string,
  hosts: readonly string[],
  fallback: "all" | "round-robin",
  warn: (msg: string) => void,
): HostChooser | null {
  switch (mode) {
    case "round-robin":
      return new RoundRobin(hosts);
    case "hostpool":
      return new HostPool(hosts);
    case "epsilon-greedy":
      return new EpsilonGreedyHostPool(hosts);
  }
  const named = fallback === "all" && (mode === "all" || mode === "multicast");
  const using = fallback === "all" ? "all destinations for each message" : "round-robin";
  if (!named) warn(`--mode=${mode} is not round-robin, hostpool or epsilon-greedy: using ${using}, as NSQ does`);
  return fallback === "all" ? null : new RoundRobin(hosts);
}
