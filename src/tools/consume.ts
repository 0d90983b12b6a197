/**
 * What NSQ's consuming tools share (nsq_to_file, nsq_to_http, nsq_to_nsq): their source flags, the go-nsq
 * configuration they build from `--consumer-opt` / `--producer-opt`, and connecting a consumer to the
 * nsqd or lookupd given.
 * @module
 */
import { z } from "zod/mini";
import { applyOptions, type ClientConfig, type Consumer, defaultConfig } from "../core/client/index.ts";
import type { Logger } from "../core/log.ts";
import { flag, OptionsError } from "../core/options.ts";
import { NSQ_VERSION, VERSION } from "../core/version.ts";

/** `--nsqd-tcp-address`, `--lookupd-http-address`, `--consumer-opt` and `--max-in-flight`, with NSQ's help. */
export function consumerFlags() {
  return {
    "nsqd-tcp-address": flag.strings("nsqd TCP address (may be given multiple times)"),
    "lookupd-http-address": flag.strings("lookupd HTTP address (may be given multiple times)"),
    "consumer-opt": flag.strings(
      "option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)",
    ),
    "max-in-flight": flag.int(200, "max number of messages to allow in flight", { checks: [z.gt(0, "must be greater than 0")] }),
  };
}

/** `--producer-opt`, with NSQ's help. */
export function producerFlags() {
  return {
    "producer-opt": flag.strings(
      "option to passthrough to nsq.Producer (may be given multiple times, see http://godoc.org/github.com/nsqio/go-nsq#Config)",
    ),
  };
}

/** The sources a consuming tool reads from. */
export interface Sources {
  nsqdTcpAddress: string[];
  lookupdHttpAddress: string[];
}

/**
 * NSQ's checks: exactly one kind of source (`required` is the tool's own wording when none is given), and
 * `--consumer-opt` / `--producer-opt` values go-nsq's `Config.Set` accepts.
 * @throws OptionsError
 */
export function checkSources(o: Sources & { consumerOpt: string[] }, required = "--nsqd-tcp-address or --lookupd-http-address required"): void {
  if (o.nsqdTcpAddress.length === 0 && o.lookupdHttpAddress.length === 0) throw new OptionsError(required);
  if (o.nsqdTcpAddress.length > 0 && o.lookupdHttpAddress.length > 0) {
    throw new OptionsError("use --nsqd-tcp-address or --lookupd-http-address not both");
  }
  checkClientOptions("consumer-opt", o.consumerOpt);
}

/** @throws OptionsError naming the flag and go-nsq's reason */
export function checkClientOptions(name: string, opts: readonly string[]): void {
  try {
    applyOptions(defaultConfig(), opts);
  } catch (e) {
    throw new OptionsError(`--${name} ${(e as Error).message}`);
  }
}

/**
 * go-nsq's configuration for `program`: its user agent, the `-opt` values, then `maxInFlight` (the flag wins
 * over a `max_in_flight` option, as in NSQ).
 * @example const cfg = clientConfig("nsq_to_file", opts.consumerOpt, opts.maxInFlight);
 */
export function clientConfig(program: string, opts: readonly string[], maxInFlight?: number): ClientConfig {
  const cfg = defaultConfig();
  cfg.userAgent = `${program}/${NSQ_VERSION} nsq.ts/${VERSION}`;
  applyOptions(cfg, opts);
  if (maxInFlight !== undefined) cfg.maxInFlight = maxInFlight;
  return cfg;
}

/**
 * Connects `consumer` to the nsqd given, or starts lookupd discovery.
 * @throws NsqError naming the nsqd and the OS's reason when one cannot be connected to or subscribed
 */
export async function connectConsumer(consumer: Consumer, sources: Sources, log: Logger): Promise<void> {
  if (sources.lookupdHttpAddress.length > 0) {
    for (const a of sources.lookupdHttpAddress) log.info(`lookupd addr ${a}`);
    await consumer.connectToNsqLookupds(sources.lookupdHttpAddress);
  } else {
    await consumer.connectToNsqds(sources.nsqdTcpAddress);
  }
}
