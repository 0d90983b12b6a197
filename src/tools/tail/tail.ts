/**
 * `nsq tail` (NSQ's `nsq_tail`): consume topics and print each message body and a newline to stdout.
 * One consumer per topic on the same channel (by default a fresh `tail<6 digits>#ephemeral`), logs on
 * stderr, stops after `-n` messages or when `signal` aborts.
 * @module
 */
import { applyOptions, Consumer, defaultConfig, type Message } from "../../core/client/index.ts";
import type { Logger } from "../../core/log.ts";
import { NSQ_VERSION, VERSION } from "../../core/version.ts";
import { Output, type Sink } from "../output.ts";
import type { TailOptions } from "./options.ts";

export interface TailIo {
  /** Usually `Bun.stdout.writer()`. */
  stdout: Sink;
  log: Logger;
  /** Aborting stops the consumers cleanly (SIGINT, SIGTERM). */
  signal?: AbortSignal;
}

const NL = new Uint8Array([0x0a]);
const SEP = new TextEncoder().encode(" | ");

/**
 * Runs until `-n` messages were printed or `signal` aborts, then stops the consumers (CLS, answer what is
 * in flight, close) and flushes stdout.
 * @throws NsqError when an nsqd cannot be connected to or subscribed at start-up
 * @example
 * const opts = { ...tailSpec.defaults(), topic: ["events"], n: 10 };
 * await tail(opts, { stdout: Bun.stdout.writer(), log: createLogger() });
 */
export async function tail(opts: TailOptions, io: TailIo): Promise<{ shown: number }> {
  const out = new Output(io.stdout);
  const total = opts.n;
  // Don't ask for more messages than we want.
  const maxInFlight = total > 0 && total < opts.maxInFlight ? total : opts.maxInFlight;
  const cfg = defaultConfig();
  cfg.userAgent = `nsq_tail/${NSQ_VERSION} nsq.ts/${VERSION}`;
  cfg.maxInFlight = maxInFlight;
  applyOptions(cfg, opts.consumerOpt);

  let shown = 0;
  let finished = false;
  let done!: () => void;
  const stopRequested = new Promise<void>((resolve) => (done = resolve));

  const consumers = opts.topic.map((topic) => {
    const c = new Consumer(topic, opts.channel, { ...cfg, logger: io.log });
    const prefix = new TextEncoder().encode(topic);
    c.addHandler((m: Message) => {
      if (finished) {
        // Beyond -n: hand it back untouched for whoever reads this channel next.
        m.requeue(0, false);
        return undefined;
      }
      shown++;
      const blocked = opts.printTopic ? out.write(prefix, SEP, m.body, NL) : out.write(m.body, NL);
      if (total > 0 && shown >= total) {
        finished = true;
        done();
      }
      return blocked;
    });
    return c;
  });

  const onAbort = () => done();
  io.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (!io.signal?.aborted) {
      for (const c of consumers) {
        if (opts.lookupdHttpAddress.length > 0) {
          for (const a of opts.lookupdHttpAddress) io.log.info(`lookupd addr ${a}`);
          await c.connectToNsqLookupds(opts.lookupdHttpAddress);
        } else {
          await c.connectToNsqds(opts.nsqdTcpAddress);
        }
      }
      await stopRequested;
    }
  } finally {
    io.signal?.removeEventListener("abort", onAbort);
    finished = true;
    await Promise.all(consumers.map((c) => c.stop()));
    await out.end();
  }
  return { shown };
}
