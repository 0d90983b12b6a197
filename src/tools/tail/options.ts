/**
 * nsq_tail's flags (NSQ `apps/nsq_tail/nsq_tail.go`). No config file, as in NSQ.
 * @module
 */
import { z } from "zod/mini";
import { defineOptions, flag, OptionsError } from "../../core/options.ts";

export const tailSpec = defineOptions(
  "nsq_tail",
  {
    topic: flag.strings("NSQ topic (may be given multiple times)"),
    channel: flag.string("", "NSQ channel"),
    "max-in-flight": flag.int(200, "max number of messages to allow in flight", {
      checks: [z.gt(0, "must be greater than 0")],
    }),
    n: flag.int(0, "total messages to show (will wait if starved)", { checks: [z.minimum(0, "must not be negative")] }),
    "print-topic": flag.bool(false, "print topic name where message was received"),
    "nsqd-tcp-address": flag.strings("nsqd TCP address (may be given multiple times)"),
    "lookupd-http-address": flag.strings("lookupd HTTP address (may be given multiple times)"),
    "consumer-opt": flag.strings(
      "option to passthrough to nsq.Consumer (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)",
    ),
  },
  (o) => {
    if (o.topic.length === 0) throw new OptionsError("--topic is required");
    // Beyond NSQ, which requires one of them: a local nsqd on its default port.
    if (o.nsqdTcpAddress.length === 0 && o.lookupdHttpAddress.length === 0) o.nsqdTcpAddress = ["127.0.0.1:4150"];
    if (o.nsqdTcpAddress.length > 0 && o.lookupdHttpAddress.length > 0) {
      throw new OptionsError("use --nsqd-tcp-address or --lookupd-http-address not both");
    }
    // NSQ picks a random ephemeral channel so several tails never share messages.
    if (o.channel === "") o.channel = `tail${String(Math.floor(Math.random() * 999_999)).padStart(6, "0")}#ephemeral`;
    return o;
  },
);

export type TailOptions = ReturnType<typeof tailSpec.validate>;
