/**
 * nsq_stat's flags (NSQ `apps/nsq_stat/nsq_stat.go`). No config file, as in NSQ. Durations are milliseconds.
 * @module
 */
import { z } from "zod/mini";
import { defineOptions, flag, OptionsError } from "../../core/options.ts";

const positive = [z.gt(0, "should be positive")];

export const statSpec = defineOptions(
  "nsq_stat",
  {
    topic: flag.string("", "NSQ topic"),
    channel: flag.string("", "NSQ channel"),
    interval: flag.duration(2_000, "duration of time between polling/printing output", { checks: positive }),
    "http-client-connect-timeout": flag.duration(2_000, "timeout for HTTP connect", { checks: positive }),
    "http-client-request-timeout": flag.duration(5_000, "timeout for HTTP request", { checks: positive }),
    // NSQ distinguishes "not given" from a value; 0 stands for "not given" (report until interrupted).
    count: flag.int(0, "number of reports", { checks: [z.minimum(0, "should be positive")] }),
    "nsqd-http-address": flag.strings("nsqd HTTP address (may be given multiple times)"),
    "lookupd-http-address": flag.strings("lookupd HTTP address (may be given multiple times)"),
  },
  (o) => {
    if (o.topic === "" || o.channel === "") throw new OptionsError("--topic and --channel are required");
    if (o.nsqdHttpAddress.length === 0 && o.lookupdHttpAddress.length === 0) {
      throw new OptionsError("--nsqd-http-address or --lookupd-http-address required");
    }
    if (o.nsqdHttpAddress.length > 0 && o.lookupdHttpAddress.length > 0) {
      throw new OptionsError("use --nsqd-http-address or --lookupd-http-address not both");
    }
    for (const [name, addrs] of [
      ["nsqd-http-address", o.nsqdHttpAddress],
      ["lookupd-http-address", o.lookupdHttpAddress],
    ] as const) {
      if (addrs.some((a) => a.startsWith("http"))) throw new OptionsError(`--${name} error - address should not contain scheme`);
    }
    return o;
  },
);

export type StatOptions = ReturnType<typeof statSpec.validate>;
