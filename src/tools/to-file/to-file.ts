/**
 * `nsq to-file` (NSQ's `nsq_to_file`): one {@link FileLogger} per topic, for the `--topic`s given or, with
 * `--topic-pattern` alone, for every matching topic lookupd knows, looked up now and every `--topic-refresh`
 * (NSQ's first lookup waits one refresh interval). SIGHUP closes every file (the next message opens the next
 * revision); SIGINT/SIGTERM stop the consumers, sync and finish what is held, close and move the files.
 * @module
 */
import { getLookupdTopics } from "../../core/clusterinfo/index.ts";
import type { Logger } from "../../core/log.ts";
import { clientConfig } from "../consume.ts";
import { HttpClient } from "../http-client.ts";
import { FileLogger } from "./file-logger.ts";
import type { ToFileOptions } from "./options.ts";

export interface ToFileIo {
  log: Logger;
  /** Aborting stops cleanly (SIGINT, SIGTERM). */
  signal?: AbortSignal;
  /** Registers the SIGHUP handler. */
  onHangup?: (rotate: () => void) => void;
}

/**
 * Runs until `signal` aborts, then stops every logger cleanly.
 * @throws NsqError when a `--topic`'s nsqd cannot be connected to at start-up; Error on a file error
 * @example await toFile({ ...toFileSpec.defaults(), topic: ["events"], nsqdTcpAddress: ["127.0.0.1:4150"] }, { log })
 */
export async function toFile(opts: ToFileOptions, io: ToFileIo): Promise<void> {
  const cfg = clientConfig("nsq_to_file", opts.consumerOpt, opts.maxInFlight);
  const loggers = new Map<string, FileLogger>();
  const creating = new Set<string>();
  const pattern = opts.topicPattern === "" ? null : new RegExp(opts.topicPattern);
  let fatal!: (e: Error) => void;
  const failed = new Promise<never>((_, reject) => (fatal = reject));
  failed.catch(() => {}); // observed through the races below
  let stop!: () => void;
  const stopRequested = new Promise<void>((resolve) => (stop = resolve));
  const onAbort = () => stop();
  io.signal?.addEventListener("abort", onAbort, { once: true });

  const addTopic = async (topic: string, given: boolean): Promise<void> => {
    if (loggers.has(topic) || creating.has(topic)) return;
    if (pattern !== null && !pattern.test(topic)) {
      io.log.warn(`skipping topic ${topic} (doesn't match pattern ${opts.topicPattern})`);
      return;
    }
    creating.add(topic);
    const fl = new FileLogger(opts, topic, cfg, io.log, fatal);
    try {
      await fl.start();
      loggers.set(topic, fl);
    } catch (e) {
      await fl.stop();
      if (given) throw e;
      io.log.error(`couldn't create logger for new topic ${topic}: ${(e as Error).message}`);
    } finally {
      creating.delete(topic);
    }
  };

  const http = new HttpClient(opts.httpClientConnectTimeout, opts.httpClientRequestTimeout);
  const refresh = async (): Promise<void> => {
    let topics: string[];
    try {
      const r = await getLookupdTopics(opts.lookupdHttpAddress, { timeoutMs: opts.httpClientRequestTimeout, fetch: http.fetch });
      for (const e of r.errors) io.log.error(`could not retrieve topic list: ${e.message}`);
      topics = r.value;
    } catch (e) {
      io.log.error(`could not retrieve topic list: ${(e as Error).message}`);
      return;
    }
    for (const t of topics) await addTopic(t, false);
  };

  let refresher: Timer | null = null;
  io.onHangup?.(() => {
    for (const fl of loggers.values()) fl.hup();
  });
  try {
    if (!io.signal?.aborted) {
      if (opts.topic.length > 0) {
        for (const t of opts.topic) await addTopic(t, true);
      } else {
        await refresh();
        refresher = setInterval(() => void refresh(), opts.topicRefresh);
      }
      await Promise.race([stopRequested, failed]);
    }
  } finally {
    io.signal?.removeEventListener("abort", onAbort);
    if (refresher !== null) clearInterval(refresher);
  }
  await Promise.race([Promise.all([...loggers.values()].map((fl) => fl.stop())), failed]);
}
