/**
 * nsq_to_nsq's flags (NSQ `apps/nsq_to_nsq/nsq_to_nsq.go`). No config file, as in NSQ.
 * @module
 */
import { z } from "zod/mini";
import { defineOptions, flag, OptionsError } from "../../core/options.ts";
import { isValidChannelName, isValidTopicName } from "../../core/protocol/names.ts";
import { checkClientOptions, checkSources, consumerFlags, producerFlags } from "../consume.ts";

export const nsqToNsqSpec = defineOptions(
  "nsq_to_nsq",
  {
    topic: flag.strings("nsq topic (may be given multiple times)"),
    channel: flag.string("nsq_to_nsq", "nsq channel"),
    "destination-topic": flag.string("", "use this destination topic for all consumed topics (default is consumed topic name)"),
    ...consumerFlags(),
    ...producerFlags(),
    "destination-nsqd-tcp-address": flag.strings("destination nsqd TCP address (may be given multiple times)"),
    "status-every": flag.int(250, "the # of requests between logging status (per destination), 0 disables", {
      checks: [z.minimum(0, "must not be negative")],
    }),
    mode: flag.string("hostpool", "the upstream request mode options: round-robin, hostpool (default), epsilon-greedy"),
    "whitelist-json-field": flag.strings("for JSON messages: pass this field (may be given multiple times)"),
    "require-json-field": flag.string("", "for JSON messages: only pass messages that contain this field"),
    "require-json-value": flag.string("", "for JSON messages: only pass messages in which the required field has this value"),
  },
  (o) => {
    if (o.topic.length === 0 || o.channel === "") throw new OptionsError("--topic and --channel are required");
    for (const t of o.topic) if (!isValidTopicName(t)) throw new OptionsError("--topic is invalid");
    if (o.destinationTopic !== "" && !isValidTopicName(o.destinationTopic)) throw new OptionsError("--destination-topic is invalid");
    if (!isValidChannelName(o.channel)) throw new OptionsError("--channel is invalid");
    checkSources(o);
    if (o.destinationNsqdTcpAddress.length === 0) throw new OptionsError("--destination-nsqd-tcp-address required");
    checkClientOptions("producer-opt", o.producerOpt);
    // NSQ ignores the value without the field; refusing says so.
    if (o.requireJsonValue !== "" && o.requireJsonField === "") throw new OptionsError("--require-json-value requires --require-json-field");
    return o;
  },
);

export type NsqToNsqOptions = ReturnType<typeof nsqToNsqSpec.validate>;
