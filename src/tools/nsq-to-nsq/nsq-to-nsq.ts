/**
 * `nsq nsq-to-nsq` (NSQ's `nsq_to_nsq`): consume topics and re-publish each message to one destination nsqd
 * chosen by `--mode`, on `--destination-topic` (default: the topic it came from). Publishes are pipelined; a
 * message is finished when the destination answers OK and requeued with backoff when the publish fails, so a
 * destination that goes away loses nothing. Optional JSON filters decide what passes and which fields.
 * @module
 */
import { Consumer, type Message, Producer } from "../../core/client/index.ts";
import type { Logger } from "../../core/log.ts";
import { clientConfig, connectConsumer } from "../consume.ts";
import { chooserFor } from "../hostpool.ts";
import { TimerMetrics } from "../timer-metrics.ts";
import { JsonFilter } from "./json-filter.ts";
import type { NsqToNsqOptions } from "./options.ts";

export interface NsqToNsqIo {
  log: Logger;
  /** Aborting stops cleanly: publishes under way are answered and their messages finished or requeued. */
  signal?: AbortSignal;
}

/**
 * Runs until `signal` aborts.
 * @throws NsqError when a source nsqd cannot be connected to at start-up
 * @example await nsqToNsq({ ...nsqToNsqSpec.defaults(), topic: ["t"], nsqdTcpAddress: ["a:4150"], destinationNsqdTcpAddress: ["b:4150"] }, { log })
 */
export async function nsqToNsq(opts: NsqToNsqOptions, io: NsqToNsqIo): Promise<void> {
  const destinations = opts.destinationNsqdTcpAddress;
  const pcfg = clientConfig("nsq_to_nsq", opts.producerOpt);
  const producers = new Map(destinations.map((a) => [a, new Producer(a, { ...pcfg, logger: io.log })]));
  const chooser = chooserFor(opts.mode, destinations, "round-robin", (msg) => io.log.warn(msg))!;
  const filter = new JsonFilter(opts, (msg) => io.log.error(msg));
  const perAddress = new Map(
    destinations.map((a) => [a, new TimerMetrics(destinations.length === 1 ? 0 : opts.statusEvery, `[${a}]:`, io.log)]),
  );
  const aggregate = new TimerMetrics(opts.statusEvery, "[aggregate]:", io.log);

  const republish = (m: Message, topic: string): void => {
    const v = filter.apply(m.body);
    if (v.action === "drop") return;
    if (v.action === "requeue") throw new Error(v.reason);
    const choice = chooser.get();
    const started = performance.now();
    m.disableAutoResponse();
    producers
      .get(choice.host)!
      .publish(topic, v.body)
      .then(
        () => {
          choice.mark(false);
          m.finish();
        },
        (e: Error) => {
          choice.mark(true);
          io.log.error(`(${choice.host}) failed to publish to ${topic} - ${e.message}`);
          m.requeue(-1, true);
        },
      )
      .finally(() => {
        perAddress.get(choice.host)!.status(started);
        aggregate.status(started);
      });
  };

  const ccfg = clientConfig("nsq_to_nsq", opts.consumerOpt, opts.maxInFlight);
  const consumers = opts.topic.map((topic) => {
    const c = new Consumer(topic, opts.channel, { ...ccfg, logger: io.log });
    const destination = opts.destinationTopic || topic;
    // Synchronous: the publish is sent and the handler returns; the answer finishes or requeues the message.
    c.addHandler((m) => republish(m, destination));
    return c;
  });

  const stopRequested = new Promise<void>((resolve) => {
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  try {
    if (!io.signal?.aborted) {
      for (const c of consumers) await connectConsumer(c, opts, io.log);
      await stopRequested;
    }
  } finally {
    await Promise.all(consumers.map((c) => c.stop()));
    await Promise.all([...producers.values()].map((p) => p.stop()));
  }
}
