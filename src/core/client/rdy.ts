/**
 * A Consumer's RDY: how much of max-in-flight each nsqd connection may use, and backoff (go-nsq
 * consumer.go's updateRDY, redistributeRDY and startStopContinueBackoff). It owns no socket and no clock
 * of its own, so it is tested with fake connections and a fake clock.
 *
 * Two regimes, by the budget (max-in-flight; 1 while testing the water in backoff; 0 during a backoff wait):
 *
 * - **spread**, connections ≤ budget: each gets `budget / connections` (rounded down, as go-nsq does).
 * - **rotate**, connections > budget: `budget` connections hold RDY 1 at a time and pass it on, in ring
 *   order, when they have received nothing for `lowRdyIdleTimeout` (or four round trips to their nsqd, if
 *   longer), or when they have held it for `lowRdyTimeout` and answer a message. go-nsq moves RDY only from a
 *   5 s loop that waits for a 10 s idle timeout, so a message on an idle nsqd waits 15–25 s; here the hand-over
 *   is driven by the events themselves and a message anywhere waits about one idle timeout per connection
 *   ahead of it in the ring.
 *
 * Both regimes count a connection as using `max(RDY, messages in flight)`, so messages in flight never exceed
 * max-in-flight: a connection's RDY is lowered first and another's raised only once it is free. The one
 * exception is a message nsqd had already sent when it read the lower RDY, as in any NSQ client.
 * @module
 */
import type { Logger } from "../log.ts";
import type { BackoffStrategy } from "./config.ts";

/** What the controller needs of a connection; {@link Conn} is one. */
export interface RdyConn {
  readonly addr: string;
  /** Messages delivered and not yet answered. */
  readonly inFlight: number;
  /** nsqd's `max_rdy_count` from IDENTIFY. */
  readonly maxRdyCount: number;
  /** The IDENTIFY round trip, milliseconds. */
  readonly rtt: number;
  /** Writes `RDY count` now, ahead of any FIN or REQ written after it. */
  sendRdy(count: number): void;
}

/** Time and timers, injectable for tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

/** The {@link ClientConfig} fields the controller reads. */
export interface RdyConfig {
  maxInFlight: number;
  lowRdyIdleTimeout: number;
  lowRdyTimeout: number;
  backoffStrategy: BackoffStrategy;
  backoffMultiplier: number;
  maxBackoffDuration: number;
}

/** How a message was answered: FIN, REQ with backoff, REQ without. */
export type BackoffSignal = "resume" | "backoff" | "continue";

interface State {
  rdy: number;
  /** When its RDY last went from 0 to more: the start of its turn. */
  since: number;
  /** Its last message, answer or RDY: idleness is counted from here. */
  active: number;
}

const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (t) => clearTimeout(t as Timer),
};

/** A rotating connection is idle after this many round trips to its nsqd, if that is longer than the timeout. */
const IDLE_RTTS = 4;

/**
 * @example
 * const rdy = new RdyController(config, log, "[t/c] ");
 * rdy.add(conn);                        // after SUB: RDY per the regime
 * rdy.onMessage(conn);                  // each delivery
 * rdy.onAnswered(conn, "resume");       // before the FIN is written (inFlight already lowered)
 * rdy.remove(conn);                     // no more RDY for it; its messages in flight still count
 * rdy.closed(conn);                     // gone
 */
export class RdyController {
  private readonly conns = new Map<RdyConn, State>();
  /** Connections given up (CLS sent, or dropped) whose messages in flight still count. */
  private readonly draining = new Set<RdyConn>();
  /** Ring position (in `conns` order) of the next connection to get RDY in rotation. */
  private cursor = 0;
  private max: number;
  private backoffCounter = 0;
  private backoffTimer: unknown = null;
  private idleTimer: unknown = null;
  private idleAt = Infinity;
  /** Budget was left unused for want of a free connection: look again when a message is answered. */
  private wanting = false;
  private stopped = false;

  constructor(
    private readonly cfg: RdyConfig,
    private readonly log: Logger,
    private readonly prefix = "",
    private readonly clock: Clock = realClock,
  ) {
    this.max = cfg.maxInFlight;
  }

  /** The current max-in-flight (the config's, until {@link setMaxInFlight}). */
  get maxInFlight(): number {
    return this.max;
  }

  /** RDY last sent to `c` (0 for a connection it does not know). */
  rdy(c: RdyConn): number {
    return this.conns.get(c)?.rdy ?? 0;
  }

  /** A new subscribed connection: it gets RDY per the regime (the others are lowered first if needed). */
  add(c: RdyConn): void {
    if (this.conns.has(c)) return;
    const now = this.clock.now();
    this.conns.set(c, { rdy: 0, since: now, active: now });
    this.rebalance();
  }

  /** No more RDY for `c` (it is closing); its messages in flight count until answered or {@link closed}. */
  remove(c: RdyConn): void {
    if (!this.conns.has(c)) return;
    this.dropFromRing(c);
    if (c.inFlight > 0) this.draining.add(c);
    this.rebalance();
  }

  /** `c` closed: forget it and hand its share to the others. */
  closed(c: RdyConn): void {
    const known = this.conns.has(c);
    if (known) this.dropFromRing(c);
    if (this.draining.delete(c) || known) this.rebalance();
  }

  /** Changes max-in-flight (0 pauses) and redistributes at once. */
  setMaxInFlight(n: number): void {
    if (n === this.max) return;
    this.max = n;
    this.rebalance();
  }

  /** A message arrived on `c`. */
  onMessage(c: RdyConn): void {
    const s = this.conns.get(c);
    if (s !== undefined) s.active = this.clock.now();
  }

  /**
   * A message on `c` was answered; call it after `c.inFlight` was lowered and before the FIN or REQ is written,
   * so a RDY 0 sent here reaches nsqd first and nothing more comes on `c`.
   */
  onAnswered(c: RdyConn, signal: BackoffSignal): void {
    if (this.stopped) return;
    const s = this.conns.get(c);
    const now = this.clock.now();
    if (s !== undefined) s.active = now;
    if (this.backoffSignal(signal)) return;
    if (this.draining.has(c) && c.inFlight === 0) {
      this.draining.delete(c);
      this.wanting = true;
    }
    if (s !== undefined && s.rdy > 0 && c.inFlight === 0 && this.rotating() && now - s.since >= this.cfg.lowRdyTimeout) {
      this.debug(`(${c.addr}) held RDY for ${Math.round(now - s.since)}ms, passing it on`);
      this.pass(c, s);
      this.wanting = true;
    }
    if (this.wanting) this.rebalance();
    else if (this.rotating()) this.armIdleTimer();
  }

  /** Stops for good: no more RDY, timers cleared. */
  stop(): void {
    this.stopped = true;
    this.clearIdleTimer();
    if (this.backoffTimer !== null) this.clock.clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
  }

  // --- distribution ---

  private budget(): number {
    if (this.backoffTimer !== null) return 0;
    return this.backoffCounter > 0 ? 1 : this.max;
  }

  private rotating(): boolean {
    return this.conns.size > this.budget();
  }

  /** Messages that may be in flight: each connection's RDY or its actual in-flight count, if higher. */
  private used(): number {
    let n = 0;
    for (const [c, s] of this.conns) n += Math.max(s.rdy, c.inFlight);
    for (const c of this.draining) n += c.inFlight;
    return n;
  }

  private rebalance(): void {
    this.wanting = false;
    if (this.stopped || this.conns.size === 0) {
      this.clearIdleTimer();
      return;
    }
    const budget = this.budget();
    if (this.conns.size <= budget) this.spread(budget);
    else this.rotate(budget);
  }

  private spread(budget: number): void {
    this.clearIdleTimer();
    const share = Math.trunc(budget / this.conns.size);
    // Lower first, so raising the others never overshoots.
    for (const [c, s] of this.conns) if (s.rdy > Math.min(share, c.maxRdyCount)) this.set(c, s, Math.min(share, c.maxRdyCount));
    for (const [c, s] of this.conns) {
      const target = Math.min(share, c.maxRdyCount);
      if (s.rdy >= target) continue;
      const grant = Math.min(target, budget - this.used() + Math.max(s.rdy, c.inFlight));
      // Raise in steps of at least a quarter, so a connection waiting for others to drain costs a few RDY, not one per answer.
      if (grant > s.rdy && (grant === target || s.rdy === 0 || grant - s.rdy >= Math.ceil(target / 4))) this.set(c, s, grant);
      if (grant < target) this.wanting = true;
    }
  }

  private rotate(budget: number): void {
    for (const [c, s] of this.conns) if (s.rdy > 1) this.set(c, s, 1);
    // Over budget (max-in-flight lowered, backoff): idle holders give up first.
    if (this.used() > budget) {
      const holders = [...this.conns].filter(([, s]) => s.rdy > 0).sort(([a], [b]) => a.inFlight - b.inFlight);
      for (const [c, s] of holders) {
        if (this.used() <= budget) break;
        this.set(c, s, 0);
      }
    }
    this.fill();
  }

  /** Gives RDY 1 to free connections in ring order while the budget allows. */
  private fill(): void {
    const budget = this.budget();
    let room = budget - this.used();
    const ring = [...this.conns];
    const n = ring.length;
    for (let i = 0; i < n && room > 0; i++) {
      const at = (this.cursor + i) % n;
      const [c, s] = ring[at]!;
      if (s.rdy > 0 || c.inFlight > 0 || c.maxRdyCount < 1) continue;
      this.set(c, s, 1);
      this.cursor = (at + 1) % n;
      room--;
    }
    if (room > 0 && n > budget) this.wanting = true;
    this.armIdleTimer();
  }

  private set(c: RdyConn, s: State, count: number): void {
    if (count === s.rdy || this.stopped) return;
    const now = this.clock.now();
    if (s.rdy === 0) s.since = now;
    s.rdy = count;
    if (count > 0) s.active = now;
    c.sendRdy(count);
  }

  /** Takes RDY from a holder; the ring continues after it, so the next turn goes to another connection. */
  private pass(c: RdyConn, s: State): void {
    this.set(c, s, 0);
    this.cursor = ([...this.conns.keys()].indexOf(c) + 1) % this.conns.size;
  }

  private dropFromRing(c: RdyConn): void {
    const at = [...this.conns.keys()].indexOf(c);
    this.conns.delete(c);
    if (at < this.cursor) this.cursor--;
    if (this.cursor >= this.conns.size) this.cursor = 0;
  }

  // --- rotation: passing RDY on from idle holders ---

  private idleTimeout(c: RdyConn): number {
    return Math.max(this.cfg.lowRdyIdleTimeout, IDLE_RTTS * c.rtt);
  }

  /** One timer for the earliest idle deadline; a holder's later activity only moves its deadline (checked when it fires). */
  private armIdleTimer(): void {
    if (!this.rotating() || this.stopped) {
      this.clearIdleTimer();
      return;
    }
    let due = Infinity;
    for (const [c, s] of this.conns) if (s.rdy > 0 && c.inFlight === 0) due = Math.min(due, s.active + this.idleTimeout(c));
    if (due === Infinity || due >= this.idleAt) return;
    this.clearIdleTimer();
    this.idleAt = due;
    this.idleTimer = this.clock.setTimeout(() => this.onIdleTimer(), Math.max(0, due - this.clock.now()));
  }

  private clearIdleTimer(): void {
    if (this.idleTimer !== null) this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.idleAt = Infinity;
  }

  private onIdleTimer(): void {
    this.idleTimer = null;
    this.idleAt = Infinity;
    if (this.stopped || !this.rotating()) return;
    const now = this.clock.now();
    let passed = false;
    for (const [c, s] of this.conns) {
      if (s.rdy > 0 && c.inFlight === 0 && now - s.active >= this.idleTimeout(c)) {
        this.debug(`(${c.addr}) idle for ${Math.round(now - s.active)}ms, passing RDY on`);
        this.pass(c, s);
        passed = true;
      }
    }
    if (passed) this.fill();
    else this.armIdleTimer();
  }

  // --- backoff (go-nsq startStopContinueBackoff) ---

  /** Applies a backoff signal; true when it changed the RDY of every connection. */
  private backoffSignal(signal: BackoffSignal): boolean {
    // While a backoff timer runs, results of messages already in flight change nothing.
    if (this.backoffTimer !== null) return false;
    let updated = false;
    if (signal === "resume" && this.backoffCounter > 0) {
      this.backoffCounter--;
      updated = true;
    } else if (signal === "backoff" && this.cfg.backoffMultiplier * 2 ** (this.backoffCounter + 1) <= this.cfg.maxBackoffDuration) {
      this.backoffCounter++;
      updated = true;
    }
    if (this.backoffCounter === 0 && updated) {
      this.log.warn(`${this.prefix}exiting backoff, returning all to RDY ${this.perConnMaxInFlight()}`);
      this.rebalance();
      return true;
    }
    if (this.backoffCounter > 0) {
      const d = Math.min(this.backoffDuration(this.backoffCounter), this.cfg.maxBackoffDuration);
      this.log.warn(`${this.prefix}backing off for ${Math.round(d)}ms (backoff level ${this.backoffCounter}), setting all to RDY 0`);
      this.startBackoffTimer(d);
      this.rebalance();
      return true;
    }
    return false;
  }

  /** go-nsq's perConnMaxInFlight, for the log line. */
  private perConnMaxInFlight(): number {
    const m = this.max;
    return Math.trunc(Math.min(Math.max(1, m / Math.max(1, this.conns.size)), m));
  }

  private backoffDuration(level: number): number {
    const d = this.cfg.backoffMultiplier * 2 ** level;
    return this.cfg.backoffStrategy === "full_jitter" ? Math.random() * d : d;
  }

  private startBackoffTimer(ms: number): void {
    this.backoffTimer = this.clock.setTimeout(() => {
      this.backoffTimer = null;
      this.resume();
    }, ms);
  }

  /** After a backoff wait: one connection gets RDY 1 to test the water. */
  private resume(): void {
    if (this.stopped) return;
    if (this.conns.size === 0) {
      this.log.warn(`${this.prefix}no connection available to resume, backing off for 1s`);
      this.startBackoffTimer(1000);
      return;
    }
    const before = new Map([...this.conns].map(([c, s]) => [c, s.rdy]));
    this.rebalance();
    const chosen = [...this.conns].find(([c, s]) => s.rdy > 0 && before.get(c) === 0);
    if (chosen === undefined) {
      this.log.warn(`${this.prefix}error resuming RDY 1 (messages still in flight), backing off for 1s`);
      this.startBackoffTimer(1000);
      this.rebalance();
      return;
    }
    this.log.warn(`${this.prefix}(${chosen[0].addr}) backoff timeout expired, sending RDY 1`);
  }

  private debug(msg: string): void {
    if (this.log.enabled("debug")) this.log.debug(`${this.prefix}${msg}`);
  }
}
