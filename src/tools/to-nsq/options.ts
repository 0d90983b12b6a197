/**
 * to_nsq's flags (NSQ `apps/to_nsq/to_nsq.go`). No config file, as in NSQ.
 * @module
 */
import { z } from "zod/mini";
import { defineOptions, flag, OptionsError } from "../../core/options.ts";

export const toNsqSpec = defineOptions(
  "to_nsq",
  {
    topic: flag.string("", "NSQ topic to publish to"),
    delimiter: flag.string("\n", "character to split input from stdin"),
    "nsqd-tcp-address": flag.strings("destination nsqd TCP address (may be given multiple times)"),
    "producer-opt": flag.strings(
      "option to passthrough to nsq.Producer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)",
    ),
    rate: flag.int(0, "Throttle messages to n/second. 0 to disable", { checks: [z.minimum(0, "must not be negative")] }),
  },
  (o) => {
    if (o.topic === "") throw new OptionsError("--topic required");
    if (Buffer.byteLength(o.delimiter) !== 1) throw new OptionsError("--delimiter must be a single byte");
    // Beyond NSQ, which requires the flag: a local nsqd on its default port.
    if (o.nsqdTcpAddress.length === 0) o.nsqdTcpAddress = ["127.0.0.1:4150"];
    return o;
  },
);

export type ToNsqOptions = ReturnType<typeof toNsqSpec.validate>;
