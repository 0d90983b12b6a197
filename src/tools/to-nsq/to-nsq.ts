/**
 * `nsq to-nsq` (NSQ's `to_nsq`): read stdin, split it on a one-byte delimiter, and publish each non-empty
 * record as one message to every nsqd given. Records are batched into MPUB per chunk read (each record
 * still one message), and reading stops while too many batches wait for nsqd's answer, so a large or
 * slow stdin is neither buffered whole nor cut short.
 * @module
 */
import { applyOptions, defaultConfig, NsqError, Producer } from "../../core/client/index.ts";
import type { Logger } from "../../core/log.ts";
import { NSQ_VERSION, VERSION } from "../../core/version.ts";
import type { ToNsqOptions } from "./options.ts";

export interface ToNsqIo {
  stdin: ReadableStream<Uint8Array>;
  log: Logger;
  /** Aborting stops reading; what was read is still published before returning (SIGINT, SIGTERM). */
  signal?: AbortSignal;
}

export interface ToNsqResult {
  /** Records published (to each nsqd). */
  records: number;
}

/** A batch is sent once it holds this many bytes (nsqd's --max-body-size default is 5 MiB). */
const BATCH_BYTES = 512 * 1024;
/** Batches sent and not yet answered, per nsqd, before reading pauses. */
const WINDOW = 8;

/**
 * Publishes stdin; resolves when stdin ended (or `signal` aborted) and every publish was answered.
 * @throws Error naming the nsqd and nsqd's error (e.g. `E_BAD_TOPIC`) when a publish fails
 * @example
 * const opts = { ...toNsqSpec.defaults(), topic: "events", nsqdTcpAddress: ["127.0.0.1:4150"] };
 * const { records } = await toNsq(opts, { stdin: Bun.stdin.stream(), log: createLogger() });
 */
export async function toNsq(opts: ToNsqOptions, io: ToNsqIo): Promise<ToNsqResult> {
  const cfg = defaultConfig();
  cfg.userAgent = `to_nsq/${NSQ_VERSION} nsq.ts/${VERSION}`;
  applyOptions(cfg, opts.producerOpt);
  const producers = opts.nsqdTcpAddress.map((addr) => new Producer(addr, { ...cfg, logger: io.log }));
  const delim = Buffer.from(opts.delimiter)[0]!;
  const topic = opts.topic;
  const windows = producers.map(() => [] as Promise<void>[]);
  let failure: Error | null = null;
  let records = 0;

  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  const limiter = opts.rate > 0 ? new RateLimiter(opts.rate, io.log) : null;

  const send = async (): Promise<void> => {
    if (batch.length === 0) return;
    const bodies = batch;
    batch = [];
    batchBytes = 0;
    records += bodies.length;
    for (const [i, p] of producers.entries()) {
      const sent = bodies.length === 1 ? p.publish(topic, bodies[0]!) : p.multiPublish(topic, bodies);
      const tracked = sent.catch((e: unknown) => {
        failure ??= new Error(`failed to publish to ${p.addr} - ${e instanceof NsqError ? `${e.code} ${e.desc}` : String(e)}`);
      });
      windows[i]!.push(tracked);
    }
    for (const w of windows) while (w.length > WINDOW) await w.shift();
  };

  // Returns a promise only when it has to wait, so the common case costs no await per record.
  const add = (rec: Uint8Array): Promise<void> | undefined => {
    if (rec.length === 0) return undefined;
    if (limiter && !limiter.take()) {
      return (async () => {
        await send();
        await limiter.wait();
        batch.push(rec);
        batchBytes += rec.length + 4;
      })();
    }
    batch.push(rec);
    batchBytes += rec.length + 4;
    return batchBytes >= BATCH_BYTES ? send() : undefined;
  };

  const reader = io.stdin.getReader();
  const onAbort = () => void reader.cancel().catch(() => {});
  io.signal?.addEventListener("abort", onAbort, { once: true });
  let carry: Uint8Array[] = [];
  try {
    while (failure === null && !io.signal?.aborted) {
      const { value, done } = await reader.read();
      if (done || value === undefined) break;
      let start = 0;
      for (;;) {
        const at = value.indexOf(delim, start);
        if (at === -1) break;
        let rec = value.subarray(start, at);
        if (carry.length > 0) {
          carry.push(rec);
          rec = Buffer.concat(carry);
          carry = [];
        }
        start = at + 1;
        const waiting = add(rec);
        if (waiting) await waiting;
        if (failure !== null) break;
      }
      // The rest has no delimiter yet; keep it (copied: the batch may be sent before it completes).
      if (start < value.length) carry.push(value.slice(start));
      // Send what this read completed, so a slow stdin is published as it comes.
      await send();
    }
    // A last record without a delimiter is a record too (NSQ's to_nsq drops its last byte instead).
    if (failure === null && carry.length > 0 && !io.signal?.aborted) await add(Buffer.concat(carry));
    await send();
    for (const w of windows) await Promise.all(w);
  } finally {
    io.signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
    await Promise.all(producers.map((p) => p.stop()));
  }
  if (failure !== null) throw failure;
  return { records };
}

/**
 * to_nsq's throttle: a token bucket filled at `rate` per second, starting with one token and never
 * holding more than one second's worth.
 */
class RateLimiter {
  private tokens = 1;
  private last = performance.now();

  constructor(
    private readonly rate: number,
    log: Logger,
  ) {
    log.info(`Throttling messages rate to max:${rate}/second`);
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Waits for the next token and takes it. */
  async wait(): Promise<void> {
    while (!this.take()) await Bun.sleep(Math.max(1, ((1 - this.tokens) * 1000) / this.rate));
  }
}
